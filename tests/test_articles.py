"""Documents numbered by article (laws, regulations): articles are sections and chunks of their own, items stay
inside their article. Fixtures are real statutes (tests/fixtures/laws, a few articles each)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.chunker import ChunkerSettings, chunk_document, section_at
from rag.loaders import document_from_text, load_document
from rag.textnorm import normalize_span

LAWS = Path(__file__).parent / "fixtures" / "laws"
LABOUR = LAWS / "劳动合同法(2012-12-28).md"
PLANTING = LAWS / "河南省义务植树条例(2018-09-30).md"


@pytest.fixture(scope="module")
def labour():
    doc = load_document(LABOUR)
    return (doc, *chunk_document(doc, ChunkerSettings()))


def test_every_article_is_a_section_under_its_chapter(labour):
    doc, _, sections = labour
    articles = [s.path for s in sections if s.level == 9]
    assert articles == ["第一章 总则 > 第一条", "第二章 劳动合同的订立 > 第十条", "第二章 劳动合同的订立 > 第十四条"]
    pos = doc.source_text.index("劳动者在该用人单位连续工作满十年的")  # item (一) of article 14
    assert section_at(sections, pos) == "第二章 劳动合同的订立 > 第十四条"


def test_articles_never_share_a_chunk_and_a_long_one_keeps_its_heading(labour):
    doc, chunks, _ = labour
    for c in chunks:
        assert normalize_span(doc.source_text, c.start, c.end).text.strip() == c.text
        assert len(re.findall(r"(?m)^第[一二三四五六七八九十百]+条", c.text)) <= 1, c.text
    by_path = {}
    for c in chunks:
        by_path.setdefault(c.section_path, []).append(c)
    ten = by_path["第二章 劳动合同的订立 > 第十条"]
    assert len(ten) == 1 and "劳动关系自用工之日起建立" in ten[0].text  # its three paragraphs (款), one chunk
    fourteen = by_path["第二章 劳动合同的订立 > 第十四条"]
    assert len(fourteen) >= 2  # 324 characters: split, every piece still named 第十四条
    assert fourteen[0].text.startswith("第十四条") and "视为用人单位与劳动者已订立无固定期限劳动合同" in fourteen[-1].text
    assert not any("第十条" in c.text for c in fourteen)
    preamble = [c for c in chunks if not c.section_path]
    assert preamble and "第一条" not in preamble[0].text


def test_a_markdown_section_heading_does_not_run_into_its_first_article():
    text = ("# 某法\n\n## 第六章 涉案财物\n\n### 第二节 向外国请求查封、扣押、冻结涉案财物\n\n"
            "第四十二条 外国可以请求协助查封、扣押、冻结涉案财物。\n\n第四十三条 办案机关应当审查。\n\n"
            "第四十四条 本法自公布之日起施行。\n")
    doc = document_from_text(text, source="t.md", doc_id="t.md")
    _, sections = chunk_document(doc)
    assert "第六章 涉案财物 > 第二节 向外国请求查封、扣押、冻结涉案财物 > 第四十二条" in {s.path for s in sections}


def test_articles_without_chapters(tmp_path):
    doc = load_document(PLANTING)
    chunks, sections = chunk_document(doc)
    assert [s.path for s in sections if s.level == 9] == ["第五条", "第六条", "第十七条"]
    five = [c for c in chunks if c.section_path == "第五条"]
    assert len(five) == 1 and "其他月份开展义务植树活动" in five[0].text  # both of its paragraphs (款)


# -- lookup by number ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def laws_assistant(corpus_index, tmp_path_factory, settings_factory):
    """A real index of the five bundled documents (the session's) plus the two statute excerpts."""
    import shutil

    from rag.assistant import Assistant
    from rag.ingest import ingest

    index_dir = tmp_path_factory.mktemp("laws") / "index"
    shutil.copytree(corpus_index, index_dir)
    settings = settings_factory(index_dir)
    report = ingest([LAWS], settings)
    assert report.n_docs == 7 and report.added == [LABOUR.name, PLANTING.name]
    return Assistant.load(index_dir, settings)


@pytest.mark.parametrize("question", [
    "《中华人民共和国劳动合同法》第十条规定了什么？",
    "劳动合同法第10条",
    "劳动合同法的第十条是怎么规定的",
    "中华人民共和国劳动合同法第十条",
])
def test_an_article_is_quoted_whole_and_cited(laws_assistant, question):
    ans = laws_assistant.ask(question)
    assert not ans.refused and ans.backend == "article"
    assert "建立劳动关系，应当订立书面劳动合同。" in ans.text
    assert "劳动关系自用工之日起建立。" in ans.text  # its last paragraph too: the whole article, verbatim
    (cit,) = ans.citations
    assert cit.doc == LABOUR.name and cit.section == "第二章 劳动合同的订立 > 第十条"
    doc = laws_assistant.document(LABOUR.name).doc
    assert normalize_span(doc.source_text, cit.start, cit.end).text.strip() == cit.quote
    assert cit.quote.startswith("第十条") and "第十四条" not in cit.quote


def test_a_paragraph_and_an_item(laws_assistant):
    ans = laws_assistant.ask("劳动合同法第十四条第三款")
    (cit,) = ans.citations
    assert cit.quote == "用人单位自用工之日起满一年不与劳动者订立书面劳动合同的，视为用人单位与劳动者已订立无固定期限劳动合同。"
    assert cit.section.endswith("第十四条 > 第三款")
    ans = laws_assistant.ask("劳动合同法第十四条第二款第（一）项说的是什么")
    assert ans.citations[0].quote == "（一）劳动者在该用人单位连续工作满十年的；"
    ans = laws_assistant.ask("劳动合同法第十四条第二款")  # the paragraph with its items
    assert ans.citations[0].quote.startswith("用人单位与劳动者协商一致") and "续订劳动合同的。" in ans.citations[0].quote


def test_a_local_regulation_named_short_and_a_missing_article(laws_assistant):
    ans = laws_assistant.ask("义务植树条例第6条规定哪些人应当参加义务植树？")
    assert not ans.refused and "男性十八至六十周岁" in ans.text and ans.citations[0].doc == PLANTING.name
    ans = laws_assistant.ask("河南义务植树条例第五条第二款")
    assert ans.citations[0].quote.startswith("县级以上人民政府绿化委员会也可以")
    ans = laws_assistant.ask("《河南省义务植树条例》第九十九条规定了什么？")
    assert ans.refused and not ans.citations
    assert "没有第九十九条" in ans.text and "河南省义务植树条例" in ans.text


def test_plan_reads_numbers_and_names(laws_assistant):
    plan = laws_assistant.retriever.plan("劳动合同法第十四条第二款第（一）项")
    (ref,) = plan.articles.refs
    assert (ref.article, ref.paragraph, ref.item) == (14, 2, 1)
    assert plan.articles.docs == (LABOUR.name,)
    assert laws_assistant.retriever.plan("第十四条讲了什么").articles.docs == ()
    assert laws_assistant.retriever.plan("2025年产业规模目标是多少").articles is None


def test_a_question_without_an_article_still_goes_to_retrieval(laws_assistant):
    ans = laws_assistant.ask("义务植树月是几月？")
    assert ans.backend != "article"


def test_a_cross_reference_links_to_the_article_it_names(laws_assistant):
    from rag.articles import cross_references
    from webui.render import source_html

    record = laws_assistant.document(PLANTING.name)
    text = record.doc.source_text
    ((s, e, ts, te),) = cross_references(record)
    assert text[s:e] == "本条例第六条" and text[ts:te].startswith("第六条 凡居住在本省行政区域内的公民")
    html = source_html(record, text.index("第十七条"), text.index("第十七条") + 10)
    m = re.search(r'<a class="view-src xref" href="([^"]+)"[^>]*>本条例第六条</a>', html)
    assert m and f"s={ts}&amp;e={te}" in m.group(1)
    labour = laws_assistant.document(LABOUR.name)  # '本法第三十九条': not in the excerpt, so no link
    assert cross_references(labour) == [] and "xref" not in source_html(labour, 0, 5)


def test_eval_metric_article_quoted(laws_assistant):
    from rag.evaluate import EvalItem, run_answers, summarize_answers

    items = [
        EvalItem(id="a", question="劳动合同法第十条", type="article", must_contain=("建立劳动关系，应当订立书面劳动合同。",)),
        EvalItem(id="b", question="劳动合同法第十四条第三款", type="paragraph",
                 must_contain=("用人单位自用工之日起满一年不与劳动者订立书面劳动合同的，",)),
        EvalItem(id="c", question="劳动合同法第十条", type="article", must_contain=("无固定期限劳动合同，是指",)),
    ]
    run = run_answers(laws_assistant, items)
    summary = summarize_answers(run, items, laws_assistant.retriever.index.docs)
    assert summary["article_quoted"] == pytest.approx(2 / 3)  # c: 第十条 does not say that
    assert summary["refusal_rate"] == 0 and summary["citation_valid"] == 1


@pytest.mark.parametrize("question,expected", [
    ("《中华人民共和国劳动合同法》第十条", ["劳动合同法(2012-01-01).md"]),
    ("劳动法第三条", ["劳动法(2018-01-01).md"]),  # not 劳动合同法
    ("消法第二十条", ["消费者权益保护法(2013-01-01).md"]),  # a short name (lexicon law_aliases)
    ("妇女权益保护法第十条", ["妇女权益保障法(2022-01-01).md"]),  # misspelt: near title, not another '…权益保护法'
    ("2018年的妇女权益保障法第十条", ["妇女权益保障法(2018-01-01).md"]),  # the version of the year asked
    ("刑事司法协助法第三条", ["国际刑事司法协助法(2018-01-01).md"]),  # the end of a title
    ("信阳大气污染防治条例第十条", ["信阳市大气污染防治条例(2019-01-01).md"]),
    ("大气污染防治条例第十条", ["信阳市大气污染防治条例(2019-01-01).md", "郑州市大气污染防治条例(2020-01-01).md"]),
    ("民法典第十条", []),
])
def test_document_names_resolve_to_titles(question, expected):
    from rag.query.articles import read_articles
    from rag.store import DocRecord

    titles = {"劳动合同法(2012-01-01).md": "中华人民共和国劳动合同法", "劳动法(2018-01-01).md": "中华人民共和国劳动法",
              "消费者权益保护法(2013-01-01).md": "中华人民共和国消费者权益保护法",
              "归侨侨眷权益保护法(2009-01-01).md": "中华人民共和国归侨侨眷权益保护法",
              "妇女权益保障法(2018-01-01).md": "中华人民共和国妇女权益保障法", "妇女权益保障法(2022-01-01).md": "中华人民共和国妇女权益保障法",
              "国际刑事司法协助法(2018-01-01).md": "中华人民共和国国际刑事司法协助法",
              "信阳市大气污染防治条例(2019-01-01).md": "信阳市大气污染防治条例", "郑州市大气污染防治条例(2020-01-01).md": "郑州市大气污染防治条例"}
    docs = {d: DocRecord(document_from_text(f"# {t}\n", source=d, doc_id=d)) for d, t in titles.items()}
    got = read_articles(question, docs, years=(2018,) if "2018" in question else ())
    assert sorted(got.docs) == sorted(expected)


def test_documents_compared_by_title_are_rows_of_their_own_clauses(laws_assistant):
    """Two documents named by title in a comparison ('劳动合同法和义务植树条例分别怎么规定…'), none a place the
    question names: a row per document, each cell quoting its own document (or 未提及)."""
    from rag.query import plan_question
    from rag.query.compare import compare_plan, named_documents

    docs = laws_assistant.retriever.index.docs
    q = "《劳动合同法》和义务植树条例对单位的义务分别怎么规定？"
    assert [d for _, d in named_documents(q, docs)] == [(LABOUR.name,), (PLANTING.name,)]
    cplan = compare_plan(plan_question(q, docs), docs)
    assert cplan is not None and [r.docs for r in cplan.rows] == [(LABOUR.name,), (PLANTING.name,)]
    answer = laws_assistant.ask(q)
    assert answer.table is not None and [r.doc for r in answer.table.rows] == [LABOUR.name, PLANTING.name]
    by_n = {c.n: c for c in answer.citations}
    cited = 0
    for row in answer.table.rows:
        for cell in row.cells:
            for n in cell.citations:
                assert by_n[n].doc == row.doc
                cited += 1
    assert cited >= 2
    # a title's last words alone name no document: '条例' is no row
    assert len(named_documents("这些条例和办法分别怎么规定？", docs)) < 2


def test_a_statutes_chapters_and_a_chapters_articles_are_counted_from_its_headings(laws_assistant):
    """'劳动合同法一共有几章' counts the document's chapters; '第二章有几条' the articles under that chapter; every
    heading listed is a verified citation."""
    from rag.verify import verify_quote

    record = laws_assistant.retriever.index.docs[LABOUR.name]
    chapters = [s for s in record.sections if " > " not in s.path and s.path.lstrip().startswith("第")
                and "章" in s.path[:6]]
    answer = laws_assistant.ask("劳动合同法一共有几章？")
    assert answer.backend == "outline" and f"共{len(chapters)}章：" in answer.text, answer.text
    assert [c.section for c in answer.citations] == [s.path for s in sorted(chapters, key=lambda s: s.start)]
    second = next(s for s in chapters if s.path.startswith("第二章"))
    inside = [s for s in record.sections if s.path.startswith(second.path + " > ")]
    articles = [s for s in inside if s.level == min(x.level for x in inside)]
    answer = laws_assistant.ask("劳动合同法第二章有几条？")
    assert answer.backend == "outline" and f"共{len(articles)}条：" in answer.text, answer.text
    for c in answer.citations:
        assert c.doc == LABOUR.name and verify_quote(record.doc.source_text, c.start, c.end, c.quote)
        assert c.section.startswith(second.path + " > ")
