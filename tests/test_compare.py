"""Comparison questions answered as cited tables, over the real index of the five bundled documents.

Each question compares two to four places on named aspects (or, naming none, on the aspects their documents share).
For every cell: it cites a document of its own row's place and never another place's; its text is its citation's
verified quote; 未提及 only where the row's documents hold none of the aspect's words (checked here against the
source text, and listed by hand in EXPECT_SILENT after reading the documents)."""

from __future__ import annotations

import json

import pytest

from rag.cli import main as cli_main
from rag.query.compare import aspect_words
from rag.verify import verify_quote

HENAN, ZHENGZHOU, SHAOXING, SHENZHEN, JINZHONG = (
    "000_58192326359d465c.txt", "001_663a42aec9d657f6.txt", "002_f4de1304f989fb29.txt",
    "003_221e538f8908b282.txt", "004_265051e95facd373.txt")
PLACE_DOCS = {"河南": {HENAN, ZHENGZHOU}, "郑州": {ZHENGZHOU}, "绍兴": {SHAOXING}, "深圳": {SHENZHEN},
              "山西": {JINZHONG}, "晋中": {JINZHONG}}

# question -> (row labels, columns or None when the question names no aspect)
QUESTIONS = {
    "比较河南、深圳、绍兴对医疗器械企业的资金支持": (["河南", "深圳", "绍兴"], ["资金支持"]),
    "深圳和山西在审批方面有什么不同": (["深圳", "山西"], ["审批"]),
    "对比河南和深圳的人才政策": (["河南", "深圳"], ["人才"]),
    "河南、深圳、绍兴、山西在用地和人才方面分别有哪些支持": (["河南", "深圳", "绍兴", "山西"], ["用地", "人才"]),
    # '人才引进' is one phrase about talent: 引进 (a word of 招商) completes it and adds no 招商 column
    "深圳与绍兴在人才引进方面有何异同": (["深圳", "绍兴"], ["人才"]),
    "比较河南和深圳的人才和招商引进": (["河南", "深圳"], ["人才", "招商"]),
    "比较郑州和晋中的医疗器械产业园": (["郑州", "晋中"], None),
    "比较郑州和深圳的用地政策": (["郑州", "深圳"], ["用地"]),
    "绍兴和深圳在金融方面的支持有什么区别": (["绍兴", "深圳"], ["金融"]),
    "对比深圳、绍兴和晋中的招商举措": (["深圳", "绍兴", "晋中"], ["招商"]),
    "河南和绍兴的平台建设分别是怎样的": (["河南", "绍兴"], ["平台"]),
    "深圳和郑州的税收优惠有何不同": (["深圳", "郑州"], ["税收"]),
}
# (question, row, column) cells that must say 未提及: a reader found none of the aspect's words in those documents
# (郑州's news report says nothing on land; no bundled document mentions taxes).
EXPECT_SILENT = {
    ("比较郑州和深圳的用地政策", "郑州", "用地"),
    ("深圳和郑州的税收优惠有何不同", "深圳", "税收"),
    ("深圳和郑州的税收优惠有何不同", "郑州", "税收"),
}


def _regional_docs(regions, title: str, body: str) -> dict:
    """Index records of one synthetic document per region ('{region}{title}', then body), for plans read without
    an index."""
    from types import SimpleNamespace

    return {f"d{i}.txt": SimpleNamespace(doc=SimpleNamespace(
        doc_id=f"d{i}.txt", date="", region=r, title=f"{r}{title}", metadata={"regions": [r]},
        source_text=f"{r}{title}\n{body}"))
        for i, r in enumerate(regions)}


@pytest.fixture(scope="module")
def answers(assistant):
    return {q: assistant.ask(q) for q in QUESTIONS}


def test_at_least_ten_comparisons_of_two_to_four_places():
    assert len(QUESTIONS) >= 10
    assert all(2 <= len(rows) <= 4 for rows, _ in QUESTIONS.values())


@pytest.mark.parametrize("question", list(QUESTIONS))
def test_comparison_is_a_table_whose_cells_cite_their_own_rows_document(question, answers, assistant):
    answer = answers[question]
    labels, columns = QUESTIONS[question]
    table = answer.table
    assert table is not None, answer.text
    assert [r.label for r in table.rows] == labels
    if columns is not None:
        assert table.columns == columns
    else:
        assert 2 <= len(table.columns) <= 4  # the aspects the documents share
    docs = {r.doc.doc_id: r.doc.source_text for r in assistant.documents()}
    by_n = {c.n: c for c in answer.citations}
    for row in table.rows:
        own = PLACE_DOCS[row.label]
        for col, cell in zip(table.columns, row.cells):
            silent = (question, row.label, col) in EXPECT_SILENT
            if cell.text == "未提及":
                assert silent, f"{row.label}/{col} said 未提及"
                assert not any(w in docs[d] for d in own for w in aspect_words(col)), f"{row.label} mentions {col}"
                assert cell.citations == []
                continue
            assert not silent
            assert cell.citations, f"{row.label}/{col} has no citation"
            for n in cell.citations:
                c = by_n[n]
                assert c.doc in own, f"{row.label}/{col} quotes {c.doc}"  # never another place's document
                assert c.quote == cell.text
                assert verify_quote(docs[c.doc], c.start, c.end, c.quote)
                assert any(w in c.quote for w in aspect_words(col))
                assert len(c.quote) <= 130  # a short quote, not a whole section
            if cell.citations:
                assert row.doc in own


def test_a_table_with_nothing_to_quote_refuses_but_keeps_its_rows(answers):
    answer = answers["深圳和郑州的税收优惠有何不同"]
    assert answer.refused and answer.table is not None
    assert all(c.text == "未提及" for r in answer.table.rows for c in r.cells)


def test_superlative_sorts_only_figures_of_the_same_measure_and_unit():
    from rag.answer.compare import cell_figures, rank_figures
    from rag.types import AnswerTable, TableCell, TableRow

    table = AnswerTable(["规模"], [
        TableRow("甲", "a", [TableCell("到2027年产业规模超过700亿元", [1])]),
        TableRow("乙", "b", [TableCell("产业规模达到5000万元", [2])]),
        TableRow("丙", "c", [TableCell("研发投入占比达到6%以上", [3])]),
        TableRow("丁", "d", [TableCell("加快产业集聚", [4])]),
    ])
    text = rank_figures(*cell_figures(table), "high")
    assert text.startswith("按“规模”（亿元）比较：甲 700亿元[1] > 乙 5000万元[2]，最高的是甲。")
    assert "丙（规模，单位%）" in text and "丁（没有数字）" in text
    assert rank_figures(*cell_figures(table), "low").index("乙") < rank_figures(*cell_figures(table), "low").index("甲 ")


def test_a_question_that_is_not_a_comparison_has_no_table(assistant):
    answer = assistant.ask("深圳2021年高端医疗器械产业营业收入是多少？")
    assert answer.table is None and answer.to_dict()["table"] is None


def test_cli_prints_a_markdown_table_and_json_carries_it(corpus_index, capsys):
    q = "比较郑州和深圳的用地政策"
    assert cli_main(["ask", q, "--index", str(corpus_index)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| 地区/文件 | 用地 |\n|---|---|\n| 郑州 | 未提及 |\n| 深圳 | ")
    assert "来源：" in out and "[1]" in out
    assert cli_main(["ask", q, "--index", str(corpus_index), "--json"]) == 0
    j = json.loads(capsys.readouterr().out)
    assert j["table"]["columns"] == ["用地"]
    assert [r["label"] for r in j["table"]["rows"]] == ["郑州", "深圳"]
    assert j["table"]["rows"][0]["cells"] == [{"text": "未提及", "citations": []}]
    cell = j["table"]["rows"][1]["cells"][0]
    assert cell["citations"] == [1] and j["citations"][0]["doc"] == SHENZHEN and j["citations"][0]["quote"] == cell["text"]


def test_naming_no_place_compares_every_regional_document_only_in_a_small_index():
    """'各地…分别' with no place named: a row per regional document when the index holds a few of them; in a library
    of many regional notices the question is answered as a plain question, not as a table of all of them."""
    from rag.query import plan_question
    from rag.query.compare import MAX_ALL_ROWS, compare_plan

    def library(n):
        regions = ["河北省", "山西省", "辽宁省", "吉林省", "江苏省", "浙江省", "安徽省", "福建省", "江西省", "山东省",
                   "湖北省", "湖南省"][:n]
        return _regional_docs(regions, "关于支持企业的若干措施", "一、资金支持\n设立专项资金。\n二、人才支持\n引进人才。")

    q = "各地对企业的资金支持政策分别是什么？"
    small = library(3)
    cplan = compare_plan(plan_question(q, small), small)
    assert cplan is not None and len(cplan.rows) == 3
    large = library(MAX_ALL_ROWS + 2)
    assert compare_plan(plan_question(q, large), large) is None



def test_a_word_of_the_comparison_itself_is_never_a_column():
    """'比较甲和乙的政策' names no aspect: the columns are the aspects both documents share, not a column '比较' quoting
    any clause that happens to hold the word; '有何异同' asked about one aspect gives that aspect alone."""
    from rag.query import plan_question
    from rag.query.compare import compare_plan

    docs = _regional_docs(["河北省", "山西省"], "关于支持医疗器械企业的若干措施",
                          "一、资金支持\n设立专项资金，给予补贴。\n二、人才支持\n引进高层次人才团队。\n三、会展\n举办医疗器械展会，发挥比较优势。")
    plain = compare_plan(plan_question("比较河北和山西的政策", docs), docs)
    assert plain is not None and not plain.named_aspects
    assert {"资金支持", "人才"} <= set(plain.aspects) and not any("比较" in a for a in plain.aspects)
    assert "比较" not in plain.focus_words
    one = compare_plan(plan_question("河北和山西在展会方面有何异同", docs), docs)
    assert one is not None and one.aspects == ("展会",) and one.cell_words == (("展会",),)


def test_what_a_question_compares_in_a_zai_phrase_is_its_column():
    """A question with no ask word and no aspect of the vocabulary still names what it compares in a '在…上/方面'
    phrase: that is its one column, not the aspects the documents share."""
    from rag.query import plan_question
    from rag.query.compare import compare_plan

    docs = _regional_docs(["河北省", "山西省"], "关于支持医疗器械企业的若干措施",
                          "一、资金支持\n设立专项资金，给予补贴。\n二、人才支持\n引进高层次人才团队。\n三、会展\n举办医疗器械高峰论坛和创新创业大赛。")
    cplan = compare_plan(plan_question("比较一下河北和山西在办论坛、大赛这类活动上的说法", docs), docs)
    assert cplan is not None and cplan.named_aspects
    assert len(cplan.aspects) == 1 and {"论坛", "大赛"} <= set(cplan.cell_words[0])
    # a question without such a phrase keeps the shared aspects
    assert not compare_plan(plan_question("比较河北和山西的政策", docs), docs).named_aspects
    # a scope put first ('在会展端，…'), with an ask word after the places: the scope is the column, not the words
    # next to the ask word ('支持', '企业'), which every clause of such documents holds
    cplan = compare_plan(plan_question("在会展端，河北和山西分别怎么支持医疗器械企业？", docs), docs)
    assert cplan is not None and cplan.aspects == ("会展",) and cplan.cell_words == (("会展",),)


def test_the_verb_of_a_how_ask_and_a_documents_own_name_are_never_columns():
    """'…分别是怎么安排的' asks how, not about 安排; '乙意见' names the document (its title ends so), not a subject. The
    column is what the question is about: the word next to the ask word when there is one, else its other words."""
    from rag.query import plan_question
    from rag.query.compare import compare_plan

    docs = _regional_docs(["河北省", "山西省"], "关于支持医疗器械产业发展的实施意见",
                          "一、平台\n建设手术机器人临床应用中心。\n二、人才支持\n引进脑机接口领域人才团队。")
    cplan = compare_plan(plan_question("河北和山西的文件里，脑机接口分别是怎么安排的？", docs), docs)
    assert cplan is not None and cplan.aspects == ("脑机接口",)
    cplan = compare_plan(plan_question("手术机器人在河北方案和山西意见里分别是怎么安排的？", docs), docs)
    assert cplan is not None and cplan.aspects == ("手术机器人",)
    assert not {"安排", "意见"} & set(cplan.cell_words[0])
    # a word after an ask word that asks what, not how, is still the column
    cplan = compare_plan(plan_question("河北和山西分别有哪些人才政策？", docs), docs)
    assert cplan is not None and "人才" in cplan.aspects[0]


def test_a_cell_quoting_from_a_run_of_sentences_takes_the_one_closest_to_the_row_question():
    """The best candidate of a row may span two or three sentences that all hold an aspect word; the cell quotes the
    one whose stored sentence vector is most similar to the row's question, not simply the first; without sentence
    vectors (or when they do not match the chunk's sentences) it keeps the first."""
    import numpy as np

    from rag.answer.compare import _closest
    from rag.answer.features import Candidate, sentence_bounds
    from rag.types import Chunk, Hit

    text = "新增30家医疗器械创新载体。年均新申报医疗器械产品800个以上。医疗器械产业集聚发展。"
    chunk = Chunk("c1", "d.txt", "二、目标", text, 0, len(text))
    spans = sentence_bounds(chunk)
    assert len(spans) == 3
    c = Candidate(Hit(chunk, 1.0), 0, spans[0][0], spans[2][1], 0, 2, 3, "run")
    assert _closest(c, spans, np.array([0.2, 0.7, 0.4], np.float32)) == spans[1]
    assert _closest(c, spans, None) == spans[0]
    assert _closest(c, spans, np.array([0.2, 0.7], np.float32)) == spans[0]  # vectors of another segmentation


def test_each_of_two_years_asked_is_not_a_table_of_every_region():
    """'2027年和2035年分别要到多少' names no place: its 分别 goes over the two years, so it is no table with a row per
    regional document; '各地…分别' and a targets question by year still are tables."""
    from rag.query import plan_question
    from rag.query.compare import compare_plan

    docs = _regional_docs(["河北省", "山西省"], "关于支持医疗器械企业的若干措施",
                          "一、发展目标\n到2027年，新兴产业企业数占比达到60%以上。到2035年，占比提升至80%。")
    assert compare_plan(plan_question("新兴产业企业数占比2027年和2035年分别要到多少？", docs), docs) is None
    regions = compare_plan(plan_question("各地新兴产业企业数占比分别要到多少？", docs), docs)
    assert regions is not None and len(regions.rows) == 2
    by_year = compare_plan(plan_question("2027年和2035年的目标分别是多少？", docs), docs)
    assert by_year is not None and by_year.by_year


def test_a_target_described_in_other_words_is_a_table_of_clauses_not_of_every_figure(assistant):
    """'各自的总体目标是要建成什么样的…' asks what the goal is, not a figure: the cells quote a statement of each
    row's own document on its goal, not every number of the plans (the targets table's 量化目标 column)."""
    answer = assistant.ask("深圳和越城各自的总体目标，是要建成什么样的产业高地？")
    table = answer.table
    assert table is not None and table.columns != ["量化目标"]
    by_n = {c.n: c for c in answer.citations}
    for row, own in zip(table.rows, (SHENZHEN, SHAOXING)):
        assert len(row.cells[0].citations) == 1 and by_n[row.cells[0].citations[0]].doc == own
    # a figure asked of the same targets still comes from the table of figures
    assert assistant.ask("深圳和越城的产业规模目标分别是多少？").table.columns == ["量化目标"]


def test_a_numbered_heading_is_not_a_cells_statement():
    from rag.answer.compare import _usable

    words = ("规模",)
    assert not _usable("（一）产业规模持续壮大，集聚效应显著增强。", words)
    assert _usable("到2025年，全市产业规模达到650亿元，营业收入达到2000亿元。", words)
    # a heading followed by a statement on the same line
    assert _usable("（一）扩大产业规模。到2025年，全市产业规模达到650亿元。", words)


def test_a_bracketed_note_of_who_is_responsible_is_not_a_cells_statement(assistant):
    """Plans close a measure with '（…金融监管局…按职责分工负责）': it holds the aspect's word but says who acts,
    not what is done; a cell quotes what the document does on the aspect instead."""
    from rag.answer.compare import _usable

    words = ("金融",)
    assert not _usable("（省发展改革委、财政厅、省委金融办按职责分工负责）", words)
    assert not _usable("（牵头单位：区金融服务中心", words)
    assert _usable("定期开展面向园区的投融资对接和上市培训，推出金融产品包（试行）。", words)
    answer = assistant.ask("各地对园区企业的金融支持有什么不同？")
    assert answer.table is not None
    texts = [c.text for r in answer.table.rows for c in r.cells if c.citations]
    assert len(texts) >= 3 and not any(t.lstrip().startswith(("（", "(")) for t in texts), texts


def test_two_places_targets_asked_without_a_comparison_word_are_a_table(assistant):
    """'甲和乙的产业规模目标是多少' compares the two places' targets though it says neither 比较 nor 分别: a row per
    place, each quoting its own document's targets."""
    answer = assistant.ask("河南和深圳的产业规模目标是多少？")
    table = answer.table
    assert table is not None and table.columns == ["量化目标"] and [r.label for r in table.rows] == ["河南", "深圳"]
    by_n = {c.n: c for c in answer.citations}
    for row in table.rows:
        assert row.cells[0].citations
        assert all(by_n[n].doc in PLACE_DOCS[row.label] for n in row.cells[0].citations)


@pytest.mark.parametrize("question, word", [("哪些地区提到了脑机接口？", "脑机接口"),
                                            ("哪些文件提到了首台套？", "首台套")])
def test_which_places_mention_something_is_a_table_saying_which(question, word, assistant):
    """'哪些地区提到了X': a row per regional document, and the answer names those whose text speaks of X (brackets
    aside: '首台（套）' is 首台套) and those whose text does not; each named row quotes a clause of its own that does."""
    import re as re_

    answer = assistant.ask(question)
    table = answer.table
    docs = assistant.retriever.index.docs
    assert table is not None and table.summary.startswith("提到的有：")
    said_part, _, silent_part = table.summary.partition("（各引一句原文）。")
    by_n = {c.n: c for c in answer.citations}
    for row in table.rows:
        text = re_.sub(r"[（）()]", "", "".join(docs[d].doc.source_text for d in [row.doc] if d in docs))
        if word in text:
            assert row.label in said_part and row.cells[0].citations, row.label
            quote = re_.sub(r"[（）()]", "", by_n[row.cells[0].citations[0]].quote)
            assert word in quote and by_n[row.cells[0].citations[0]].doc == row.doc
        else:
            assert row.label in silent_part and row.cells[0].text == "未提及", row.label
    assert len([r for r in table.rows if r.cells[0].citations]) >= 2


def test_which_places_asked_of_nothing_is_no_table_of_shared_aspects(assistant):
    from rag.query import plan_question
    from rag.query.compare import compare_plan

    docs = assistant.retriever.index.docs
    assert compare_plan(plan_question("哪些地区提到了？", docs), docs) is None
    assert compare_plan(plan_question("哪些地区提到了脑机接口？", docs), docs).which
