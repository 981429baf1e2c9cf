"""Questions about a document itself ('这个行动计划是哪天发布的', '是哪几个部门联合发的', '文号', '什么时候施行',
'有效期', '到哪年为止'): answered from the official facts read at ingest, quoting the line the fact is written on."""

from __future__ import annotations

import pytest

from rag.query.docfacts import read_doc_fact
from rag.verify import verify_quote

from .conftest import corpus_plus


@pytest.mark.parametrize("question, field", [
    ("深圳这个高端医疗器械产业集群行动计划是哪天发布的？", "published"),
    ("国务院办公厅那份深化药械监管改革的意见是哪天印发的？", "published"),
    ("这个高端医械行动计划是哪几个部门联合发的？", "issuers"),
    ("《关于推动企业有序复工复产的通知》是由哪个部门印发的？", "issuers"),
    ("那份若干措施是哪天开始施行的？", "effective"),
    ("这个方案的文号是什么", "doc_number"),
    ("这份文件有效期到什么时候", "valid_until"),
    ("该办法有效期几年", "valid_until"),
    ("深圳这个计划到哪年为止？", "period"),
    ("越城这个实施意见的规划期是哪几年？", "period"),
])
def test_plan_reads_a_question_about_the_document(question, field):
    assert read_doc_fact(question).field == field


@pytest.mark.parametrize("question", [
    "首台(套)保险补偿项目2024年的评审名单是谁发布的？",  # a list the document reports, not the document
    "四川省关于免费健康申报证明有效期至什么时候？",  # a certificate's validity
    "人身安全保护令有效期多长？",
    "外商投资的负面清单由谁发布？",
    "河南、越城区和深圳这三份医疗器械政策，远期目标分别定到哪一年？",
    "园区什么时候开工建设？",
])
def test_other_questions_are_not_about_the_document(question):
    assert read_doc_fact(question) is None


def test_a_yes_no_question_is_not_a_document_fact():
    from rag.query import plan_question

    assert plan_question("企业的措施执行期间可以延期吗？").doc_fact is None
    assert plan_question("这个方案的实施期是哪几年？").doc_fact.field == "period"


def test_a_quoted_title_is_kept():
    ask = read_doc_fact("《关于推动企业有序复工复产的通知》是由哪个部门印发的？")
    assert ask.title == "关于推动企业有序复工复产的通知"


def _checked(assistant, answer):
    """Every citation of a doc-fact answer verifies against its document's source text."""
    assert answer.backend == "doc_fact" and not answer.refused and answer.citations
    for c in answer.citations:
        assert f"[{c.n}]" in answer.text
        assert verify_quote(assistant.retriever.index.docs[c.doc].doc.source_text, c.start, c.end, c.quote)
    return answer


def test_issue_date_issuers_and_years_of_a_bundled_document(assistant):
    answer = _checked(assistant, assistant.ask("深圳这个高端医疗器械产业集群行动计划是哪天发布的？"))
    (c,) = answer.citations
    assert "深圳" in c.title and "2022-06-06" in answer.text and "2022-06-06" in c.quote

    answer = _checked(assistant, assistant.ask("深圳这个高端医械行动计划是哪几个部门联合发的？"))
    bodies = ["深圳市发展和改革委员会", "深圳市科技创新委员会", "深圳市工业和信息化局", "深圳市市场监督管理局",
              "深圳市卫生健康委员会"]
    assert all(b in answer.text and any(b in c.quote for c in answer.citations) for b in bodies)

    answer = _checked(assistant, assistant.ask("越城这个实施意见的规划期是哪几年？"))
    assert "越城" in answer.citations[0].title and "2035" in answer.text and "2035" in answer.citations[0].quote


def test_the_validity_of_a_plan_that_states_none_is_the_years_it_covers(assistant):
    """A plan with no 有效期 of its own answers '有效期到哪一年' with the years its title covers, saying that it states
    no validity, and cites where the years are written."""
    answer = _checked(assistant, assistant.ask("深圳行动计划有效期到哪一年？"))
    assert answer.backend == "doc_fact" and "没有写明有效期" in answer.text and "2025年为止" in answer.text
    assert "2025" in answer.citations[0].quote and "深圳" in answer.citations[0].title


def test_a_document_word_no_retrieved_title_holds_goes_to_ordinary_answering(assistant):
    # '规划' names no retrieved document here (the news report's title has no 规划): the clause is looked for
    answer = assistant.ask("郑州高新MedPark医械产业园的产业生态规划是谁发布的？")
    assert answer.backend != "doc_fact"
    answer = assistant.ask("《某个没有收录的通知》是哪天发布的？")
    assert answer.backend != "doc_fact"


NOTICE = """示例市人民政府办公室关于促进小微企业发展若干措施的通知
示政办〔2023〕7号

各区人民政府，市政府各部门：
　　为促进小微企业发展，经市政府同意，现将有关措施通知如下：
　　一、对新设立的小微企业给予一次性开办补助。
　　二、小微企业首次贷款的，按贷款利息的一半给予贴息。
　　三、本通知自印发之日起施行，有效期至2025年12月31日。

示例市人民政府办公室
2023年3月15日
"""


@pytest.fixture(scope="module")
def notice_assistant(corpus_index, tmp_path_factory, settings_factory):
    """The session's bundled index plus one notice written for this test."""
    return corpus_plus(tmp_path_factory, corpus_index, settings_factory, "notice.txt", NOTICE)


def test_effective_from_issue_cites_both_lines(notice_assistant):
    answer = _checked(notice_assistant, notice_assistant.ask("示例市促进小微企业发展的通知是从哪天开始施行的？"))
    assert len(answer.citations) == 2
    assert "自印发之日起施行" in answer.citations[0].quote and "2023年3月15日" in answer.citations[1].quote
    assert "2023-03-15" in answer.text


def test_number_and_validity(notice_assistant):
    answer = _checked(notice_assistant, notice_assistant.ask("示例市这个小微企业通知的文号是什么？"))
    assert "示政办〔2023〕7号" in answer.text and "示政办〔2023〕7号" in answer.citations[0].quote
    answer = _checked(notice_assistant, notice_assistant.ask("这个小微企业通知的有效期到什么时候？"))
    assert "2025年12月31日" in answer.text and "有效期至2025年12月31日" in answer.citations[0].quote


def test_a_filter_that_excludes_the_document_is_kept(notice_assistant):
    from rag.filters import Filters

    others = Filters(docs=tuple(d for d in notice_assistant.retriever.index.docs if d != "notice.txt"))
    answer = notice_assistant.ask("示例市这个小微企业通知的文号是什么？", filters=others)
    assert all(c.doc != "notice.txt" for c in answer.citations)
