"""More formats, each read from a real file: Word 97-2003 (.doc, through Debian's antiword) and Excel (.xlsx)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.chunker import chunk_document
from rag.loaders import load_document

from .table_docs import HEADER, ROWS, TITLE, row_line, write_plan_xlsx

FIXTURES = Path(__file__).parent / "fixtures"
HEADER_LINE = "| " + " | ".join(HEADER) + " |"


@pytest.mark.skipif(not (shutil.which("antiword") or shutil.which("catdoc")),
                    reason="antiword/catdoc missing: scripts/test.sh installs them (apt)")
def test_doc_is_read_with_its_table():
    # tables_plan.doc is LibreOffice's conversion of the plan (tests/fixtures/make_fixtures.py)
    doc = load_document(FIXTURES / "tables_plan.doc")
    assert doc.title == TITLE
    assert doc.metadata["encoding"] == "doc"
    chunks, _ = chunk_document(doc)
    table_rows = [line for c in chunks if c.table_header for line in c.text.split("\n") if line != HEADER_LINE]
    assert table_rows == [row_line(name) for name, *_ in ROWS]
    assert {c.section_path for c in chunks} == {"一、发展目标", "二、保障措施"}


def test_xlsx_sheet_is_a_table_under_the_sheet_name(tmp_path):
    doc = load_document(write_plan_xlsx(tmp_path / "targets.xlsx"))
    assert doc.source_text.startswith("# 区县目标\n")
    chunks, _ = chunk_document(doc)
    assert all(c.table_header == HEADER_LINE for c in chunks)
    rows = [line for c in chunks for line in c.text.split("\n") if line != HEADER_LINE]
    assert rows == [row_line(name) for name, *_ in ROWS]


def test_xlsx_numbers_and_empty_cells(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["项目", "金额（万元）", "备注"])
    ws.append(["研发补助", 500, None])
    ws.append([None, None, None])
    ws.append(["人才奖励", 12.5, "分三年拨付"])
    wb.save(tmp_path / "n.xlsx")
    text = load_document(tmp_path / "n.xlsx").source_text
    assert "| 研发补助 | 500 |  |" in text and "| 人才奖励 | 12.5 | 分三年拨付 |" in text
