"""The extractive answerer on real questions over the real corpus index: the right clause, quoted verbatim,
from the right section; the wrong-year figure never presented as the answer; honest refusals.

Questions are phrased by hand for these tests (not copied from eval/qa.jsonl) so they also check that the cues
generalise beyond the eval set.
"""

from __future__ import annotations

import pytest

from rag.answer import AnswerContext
from rag.answer.base import REFUSAL
from rag.answer.cues import analyze, target_questions
from rag.answer.extractive import ExtractiveAnswerer
from rag.verify import verify_quote

XINXIANG = "（四）新乡市特色治疗设备及高值医用耗材产业园区"
HENAN = "000_58192326359d465c.txt"
YUECHENG = "002_f4de1304f989fb29.txt"
SHENZHEN = "003_221e538f8908b282.txt"
JINZHONG = "004_265051e95facd373.txt"


def assert_verified(assistant, answer):
    """Every citation's quote is the source text at its span, and its [n] marker is in the answer."""
    assert answer.citations, answer.text
    for c in answer.citations:
        source = assistant.document(c.doc).doc.source_text
        assert verify_quote(source, c.start, c.end, c.quote), c
        assert f"[{c.n}]" in answer.text
        assert len(c.quote) <= 120, "quote the clause, not the page"


def test_number_question_quotes_the_figure_with_its_unit(assistant):
    a = assistant.ask("深圳截至2021年底有多少家医疗器械生产类企业？")
    assert not a.refused
    assert "1800多家" in a.text
    assert_verified(assistant, a)
    c = a.citations[0]
    assert c.doc == SHENZHEN
    assert c.section.endswith("（一）发展现状")
    assert "1800多家" in c.quote


def test_distractor_2030_question_gets_the_2030_clause_not_the_2027_one(assistant):
    a = assistant.ask("新乡的那个园区，2030年产业规模要做到多少？")
    assert not a.refused
    assert "500亿元" in a.text
    assert "200亿元" not in a.text  # the 2027 target sits in the same sentence; it is not the answer
    assert_verified(assistant, a)
    c = a.citations[0]
    assert XINXIANG in c.section
    assert "2030年" in c.quote and "500亿元" in c.quote
    assert "2027" not in c.quote
    # The clause lacks its subject; the answer names the park (outside the quote) so it reads on its own.
    assert a.text.startswith("新乡市特色治疗设备及高值医用耗材产业园区")


def test_distractor_2027_question_gets_the_2027_clause(assistant):
    a = assistant.ask("新乡园区2027年的产业规模目标是多少亿元？")
    assert "200亿元" in a.text and "500亿元" not in a.text
    assert XINXIANG in a.citations[0].section


def test_year_in_an_earlier_sentence_of_the_paragraph_counts(assistant):
    """'到2027年，…企业达到10家以上，医疗器械产品达到600种以上' speaks about 2027 in its later clauses too."""
    a = assistant.ask("越城区到2027年医疗器械产品要达到多少种？")
    assert "600种以上" in a.text
    assert a.citations[0].doc == YUECHENG
    assert a.citations[0].section.endswith("（二）产业结构不断优化")


def test_list_question_quotes_the_whole_enumeration(assistant):
    a = assistant.ask("河南的园区要搭建的四个服务平台分别是什么？")
    assert not a.refused
    for item in ("投融资服务平台", "临床研究服务平台", "成果研发转化平台", "一体化平台"):
        assert item in a.citations[0].quote
    assert a.citations[0].section == "三、重点任务 > （三）搭建公共服务平台"
    assert_verified(assistant, a)


def test_list_spread_over_sentences_quotes_each_item(assistant):
    """'设立产业子基金…；探索设立产业并购基金…；设立产业种子基金…' are three sentences: the answer cites all three."""
    a = assistant.ask("越城区打算设立哪些产业基金？")
    assert not a.refused
    for fund in ("产业子基金", "产业并购基金", "产业种子基金"):
        assert fund in a.text
    assert len(a.citations) == 3
    assert all(c.section.endswith("15.加快构建多元化资金支持渠道") for c in a.citations)
    assert_verified(assistant, a)


def test_number_question_without_a_year_shows_each_years_figure(assistant):
    """Asked no year, the 2027 and the 2035 target of the same measure are both shown, each with its year."""
    a = assistant.ask("越城区对研发投入占比提了什么目标？")
    assert "50%以上" in a.text and "6%以上" in a.text
    assert a.text.index("2027") < a.text.index("2035")
    assert_verified(assistant, a)


def test_where_question_quotes_the_site(assistant):
    a = assistant.ask("商丘的园区建在什么地方？")
    assert "商丘高新区" in a.text
    assert a.citations[0].section.endswith("（六）商丘市智慧医疗及康复设备产业园区")


def test_cross_document_question_cites_one_clause_per_region(assistant):
    a = assistant.ask("河南和越城区2027年的产业规模目标分别是多少？")
    assert not a.refused
    assert "700亿元" in a.text and "300亿元" in a.text
    docs = [c.doc for c in a.citations]
    assert HENAN in docs and YUECHENG in docs
    by_doc = {c.doc: c for c in a.citations}
    assert by_doc[HENAN].section == "一、总体要求"
    assert by_doc[YUECHENG].section.endswith("（三）产业能级加速跃升")
    assert "1500亿元" not in a.text and "1000亿元" not in a.text  # the 2030/2035 targets are not the answer
    assert_verified(assistant, a)


def test_cross_document_searches_the_region_the_top_hits_missed(assistant):
    """Each region named gets its own clause even when retrieval's top hits come from one document only."""
    q = "深圳和晋中分别有多少家医疗器械生产企业？"
    hits = assistant.retriever.search(q, k=assistant.settings.top_k, filters={"docs": [SHENZHEN]})
    ctx = AnswerContext(docs=assistant.retriever.index.docs, retriever=assistant.retriever)
    a = ExtractiveAnswerer(assistant.settings).answer(q, hits, ctx)
    assert "1800多家" in a.text and "27家" in a.text
    assert {c.doc for c in a.citations} == {SHENZHEN, JINZHONG}


def test_unanswerable_region_refuses_and_keeps_the_nearest_passages(assistant):
    a = assistant.ask("洛阳的医疗器械产业园区2030年产业规模目标是多少？")
    assert a.refused
    assert a.text == REFUSAL
    assert not a.citations
    assert a.hits, "the nearest passages stay available as 可能相关"


@pytest.mark.parametrize(
    "question",
    [
        "杭州的医疗器械产业园区选址在哪里？",  # 杭州 is only mentioned in passing by a 绍兴 document
        "深圳对医疗器械企业的房租补贴是每平方米多少元？",  # a figure the corpus never states
        "信阳的园区2035年产业规模目标是多少？",  # the document sets 2027 and 2030 targets only
        "晋中开发区医疗器械产业园的总投资是多少亿元？",
        "晋中开发区对医疗器械企业有哪些贷款贴息政策？",  # a topic no document names
    ],
)
def test_questions_the_corpus_cannot_answer_refuse(assistant, question):
    a = assistant.ask(question)
    assert a.refused and a.text == REFUSAL, a.text


@pytest.mark.parametrize(
    "question, expected",
    [
        ("长垣那个耗材园区到2030年要做到多大？", "500亿元"),  # 长垣 is named only in the section body
        ("信阳那个高端医疗设备园区2027年的规模目标呢？", "50亿元"),
        ("晋中那个医械产业园离武宿机场有多远？", "7公里"),
    ],
)
def test_reworded_answerable_questions_do_not_refuse(assistant, question, expected):
    a = assistant.ask(question)
    assert not a.refused, a.text
    assert expected in a.text


def test_cues_read_the_kind_of_answer_asked_for():
    c = analyze("新乡那个园区2030年的规模目标是多少亿元？")
    assert c.wants_number and c.years == (2030,) and "money" in c.unit_classes
    assert analyze("河南“一站四中心四平台”里的四个平台分别是什么？").list_size == 4
    assert analyze("深圳哪个区负责做体外诊断示范？").which == "区"
    assert analyze("郑州高新区对入驻企业给多少房租减免？").focus[:1] == ("房租",)


def test_parallel_questions_are_split_per_region():
    q = "深圳2025年的营收目标和越城2035年的全口径产值目标分别是多少？"
    c = analyze(q)
    assert len(c.targets) == 2
    qs = target_questions(q, list(c.targets))
    assert "深圳" in qs[0] and "越城" not in qs[0] and "2025" in qs[0] and "多少" in qs[0]
    assert "越城" in qs[1] and "深圳" not in qs[1]
    # A place inside a name is not a second region: one target, no split.
    assert len(analyze("晋中医疗器械产业园离太原武宿国际机场多远？").targets) == 1


ARTICLES_DOC = """苏州市人民政府办公室关于印发《苏州市促进生物医药及高端医疗器械产业高质量发展若干措施》的通知

各市、区人民政府，苏州工业园区、苏州高新区管委会；市各委办局，各直属单位：
《苏州市促进生物医药及高端医疗器械产业高质量发展若干措施》已经市政府同意，现印发给你们，请认真贯彻执行。

苏州市促进生物医药及高端医疗器械产业高质量发展若干措施

第一条 支持创新产品研发。对进入国家创新医疗器械特别审查程序的产品，给予最高100万元奖励。
第二条 支持临床试验。对在本市医疗机构开展临床试验的企业，按临床试验费用的30%给予补助，单个企业每年最高300万元。
第三条 支持产业化落地。对新落户的医疗器械生产项目，按设备投资额的10%给予补助，最高不超过2000万元。
第四条 本措施自2023年6月1日起施行，有效期至2025年12月31日。到2025年，全市高端医疗器械产业规模突破800亿元。
"""


@pytest.fixture(scope="module")
def articles_assistant(tmp_path_factory, corpus_index, settings_factory):
    """The corpus index plus a policy document of another shape (numbered articles 第X条), written for this test:
    the answerer must work on documents it was not tuned on."""
    import shutil

    from rag.assistant import Assistant

    root = tmp_path_factory.mktemp("articles")
    index = root / "index"
    shutil.copytree(corpus_index, index)
    doc = root / "suzhou_measures.txt"
    doc.write_text(ARTICLES_DOC, encoding="utf-8")
    a = Assistant.load(index, settings_factory(index))
    assert a.add_files([doc]).added
    return a


def test_new_document_money_question_keeps_rate_and_cap(articles_assistant):
    a = articles_assistant.ask("苏州企业在本市开展临床试验，最多能拿到多少补助？")
    assert not a.refused, a.text
    c = a.citations[0]
    assert c.doc == "suzhou_measures.txt" and c.section == "第二条"
    assert "300万元" in c.quote and "30%" in c.quote  # the rate clause is not a rival figure for a money question
    assert not c.quote.startswith("第二条")  # the article number is the section, not part of the answer


def test_new_document_date_and_missing_year(articles_assistant):
    a = articles_assistant.ask("苏州这些措施从哪天开始施行？")
    assert "2023年6月1日" in a.text
    assert articles_assistant.ask("苏州2030年高端医疗器械产业规模目标是多少？").refused


def test_new_document_joins_a_cross_document_question(articles_assistant):
    a = articles_assistant.ask("苏州和深圳到2025年的高端医疗器械产业目标分别是多少？")
    assert {c.doc for c in a.citations} == {"suzhou_measures.txt", SHENZHEN}
    by_doc = {c.doc: c for c in a.citations}
    assert "800亿元" in by_doc["suzhou_measures.txt"].quote
    # 深圳's 2025 targets are 650亿元 value added and 2000亿元 revenue; either answers, a 2021 figure would not.
    assert "650亿元" in a.text or "2000亿元" in a.text
    assert "805亿元" not in a.text


def test_which_firms_question_is_answered_by_the_named_firms_not_the_count(assistant):
    """'哪些企业入选' wants the firms' names; the sentence that only counts them ('郑州市有2家') is not the answer."""
    a = assistant.ask("郑州有哪些企业入选了首台套保险补偿？")
    assert not a.refused
    assert "恒天久大" in a.text and "赛为" in a.text
    assert_verified(assistant, a)
    assert a.citations[0].doc == "001_663a42aec9d657f6.txt"


def test_how_much_money_is_answered_by_a_sum_or_not_at_all(assistant):
    """'能补多少钱' asks for money: the Shenzhen plan names no subsidy sum, and a count ('注册批件15个') is not one."""
    a = assistant.ask("深圳能补多少钱给新注册的三类器械？")
    assert a.refused, a.text
    b = assistant.ask("深圳2025年高端医疗器械产业营业收入要达到多少钱？")
    assert not b.refused and "2000亿元" in b.text
    assert_verified(assistant, b)


@pytest.mark.parametrize("question", [
    "深圳有多少家医疗器械上市企业？",  # the plan says listed firms rank first nationally, never how many
    "晋中医疗器械产业园总投资是多少？",  # the article gives no investment sum ('5家晋中企业' is not one)
    "深圳有多少个国家级医疗器械创新中心？",  # '一批' is no count
])
def test_number_questions_the_documents_give_no_figure_for_refuse(assistant, question):
    """A figure of another thing in the same sentence ('生产类企业1800多家', '备案3937个') is not the answer."""
    a = assistant.ask(question)
    assert a.refused, a.text


def test_count_of_firms_is_answered_with_the_firms_count(assistant):
    a = assistant.ask("晋中医疗器械产业园有多少家企业入驻？")
    assert not a.refused and "8户" in a.text, a.text
    assert_verified(assistant, a)


def test_a_figure_whose_subject_is_in_the_clause_before_is_still_found(tmp_path, settings_factory):
    """'…规模力争突破3000亿元；到2030年，力争达到5000亿元' names its subject once: the 2030 clause answers a 2030
    question although it says nothing of 规模 itself (a document in the 第X条 style this corpus does not have)."""
    from rag.assistant import Assistant
    from rag.ingest import ingest

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "measures.txt").write_text(
        "苏州工业园区关于支持生物医药产业高质量发展的若干措施\n第一章 总则\n"
        "第一条 本措施适用于在园区注册的生物医药和医疗器械企业。\n"
        "第二条 到2027年，园区生物医药产业规模力争突破3000亿元；到2030年，力争达到5000亿元。\n"
        "第二章 支持创新研发\n第三条 对新获批的创新医疗器械，一次性给予300万元奖励。\n", encoding="gbk")
    s = settings_factory(tmp_path / "index")
    ingest([folder], s)
    a = Assistant.load(tmp_path / "index", s).ask("苏州工业园区2030年生物医药产业规模目标是多少？")
    assert not a.refused and "5000亿元" in a.text and "3000亿元" not in a.text, a.text


def test_share_question_is_read_as_a_share(assistant):
    """jieba alone cuts '占比要达到' as 占/比要: the question then asked about '比要' and was refused."""
    a = assistant.ask("深圳医疗器械企业研发投入占比要达到多少？")
    assert not a.refused and "10%" in a.text, a.text
    assert_verified(assistant, a)
