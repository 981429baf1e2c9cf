"""Export: an answer (a comparison as a table) and the targets view as Markdown and Word files with a sources
appendix; the plain-text copy keeps the sources."""

from __future__ import annotations

import docx
import pytest

from rag.errors import RagError
from rag.export import export_answer, export_targets
from rag.render import render_answer_text
from rag.types import Answer, AnswerTable, Citation, TableCell, TableRow

CIT = [Citation(1, "a.txt", "甲市实施方案", "三、保障措施 > （二）资金支持", "设立产业基金，支持企业做大做强。", 100, 116),
       Citation(2, "b.txt", "乙省行动计划", "六、保障措施", "加大资金支持。", 40, 47)]


def _answer() -> Answer:
    table = AnswerTable(["资金支持", "用地"], [
        TableRow("甲市", "a.txt", [TableCell(CIT[0].quote, [1]), TableCell("未提及")]),
        TableRow("乙省", "b.txt", [TableCell(CIT[1].quote, [2]), TableCell("未提及")]),
    ])
    return Answer(text="甲市：…[1]；乙省：…[2]。", citations=CIT, table=table, question="比较甲市和乙省的资金支持与用地")


def test_answer_exports_to_markdown_and_docx_with_a_sources_appendix(tmp_path):
    a = _answer()
    md, dx = export_answer(a.to_dict(), tmp_path / "out", question=a.question)
    text = md.read_text(encoding="utf-8")
    assert "**问题：** 比较甲市和乙省的资金支持与用地" in text
    assert "| 甲市 | 设立产业基金，支持企业做大做强[1] | 未提及 |" in text
    assert "[1] 《甲市实施方案》 > 三、保障措施 > （二）资金支持" in text and "出处：a.txt，第 100–116 字" in text
    d = docx.Document(str(dx))
    rows = [[c.text for c in r.cells] for r in d.tables[0].rows]
    assert rows == [["地区/文件", "资金支持", "用地"], ["甲市", "设立产业基金，支持企业做大做强[1]", "未提及"],
                    ["乙省", "加大资金支持[2]", "未提及"]]
    paras = "\n".join(p.text for p in d.paragraphs)
    assert "问题：比较甲市和乙省的资金支持与用地" in paras
    assert "“加大资金支持。”" in paras and "出处：b.txt，第 40–47 字" in paras


def test_plain_text_copy_keeps_the_table_and_the_sources():
    text = render_answer_text(_answer())
    assert text.startswith("| 地区/文件 | 资金支持 | 用地 |")
    assert "来源：" in text and "“设立产业基金，支持企业做大做强。”" in text and "a.txt，第 100–116 字" in text


def test_targets_view_exports_and_an_unwritable_place_is_a_chinese_error(tmp_path):
    rows = [{"place": "甲市", "doc": "a.txt", "year": 2030, "measure": "产业规模", "value": 90, "unit": "亿元",
             "comparator": "超过", "quote": "到2030年产业规模超过90亿元", "start": 5, "end": 20,
             "section": "二、园区布局 > （一）乙园区"}]
    md, dx = export_targets(rows, {"a.txt": "甲市实施方案"}, tmp_path / "t")
    assert ("| 甲市 | 二、园区布局 > （一）乙园区 | 2030 | 产业规模 | 超过90亿元 | 到2030年产业规模超过90亿元 | "
            "《甲市实施方案》a.txt，第 5–20 字 |") in md.read_text(encoding="utf-8")
    assert [c.text for c in docx.Document(str(dx)).tables[0].rows[1].cells][:5] == [
        "甲市", "二、园区布局 > （一）乙园区", "2030", "产业规模", "超过90亿元"]
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RagError) as e:
        export_answer(_answer().to_dict(), blocker / "sub" / "out")
    assert "无法写入" in str(e.value)


def test_old_export_folders_are_removed_when_a_new_export_starts(tmp_path):
    """A long-running UI writes every export to a folder of its own; those of earlier exports older than an hour are
    removed at the next export, younger ones (a download may still be on its way) and other folders are kept."""
    import os
    import time

    from webui.handlers import EXPORT_KEEP_S, EXPORT_PREFIX, export_folder

    now = time.time()
    old, young, other = tmp_path / f"{EXPORT_PREFIX}old", tmp_path / f"{EXPORT_PREFIX}young", tmp_path / "other-old"
    for folder in (old, young, other):
        folder.mkdir()
        (folder / "答案.md").write_text("x", encoding="utf-8")
    for folder in (old, other):
        os.utime(folder, (now - EXPORT_KEEP_S - 60, now - EXPORT_KEEP_S - 60))
    new = export_folder(tmp_path, now=now)
    assert new.is_dir() and new.parent == tmp_path and new.name.startswith(EXPORT_PREFIX)
    assert not old.exists()
    assert (young / "答案.md").exists() and (other / "答案.md").exists()
