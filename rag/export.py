"""Take an answer away: Markdown and Word (.docx) files carrying the question, the answer (a comparison as a table)
and a sources appendix (title, section path, quote, and where to find it: file and character span).

Works on the JSON form of an answer (`Answer.to_dict()`), so the CLI, the UI and the API export the same thing. The
targets view exports the same way (`targets_markdown`, `targets_docx`). python-docx is imported only here.
"""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path

from .errors import RagError

SOURCES_HEADING = "来源"
NOT_MENTIONED = "未提及"


class ExportError(RagError):
    """An export file could not be written."""


def _cell_text(cell: dict) -> str:
    text = str(cell.get("text", "")).rstrip("。；; ")
    cits = list(cell.get("citations") or [])
    parts = text.split("；")
    if len(cits) > 1 and len(parts) == len(cits):
        return "；".join(f"{p.rstrip('。；; ')}[{n}]" for p, n in zip(parts, cits))
    return text + "".join(f"[{n}]" for n in cits)


def _where(c: dict) -> str:
    return f"{c.get('doc', '')}，第 {c.get('start')}–{c.get('end')} 字"


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def answer_markdown(answer: dict, question: str = "") -> str:
    """An answer as a Markdown document: question, answer (or table), sources appendix."""
    question = question or answer.get("question", "")
    lines = ["# 政策问答", "", f"**问题：** {question}", "", "## 回答", ""]
    table = answer.get("table")
    if table:
        if table.get("summary"):
            lines += [table["summary"], ""]
        cols = table.get("columns") or []
        corner = table.get("corner") or "地区/文件"
        lines.append(f"| {_md_escape(corner)} | " + " | ".join(_md_escape(c) for c in cols) + " |")
        lines.append("|" + "---|" * (len(cols) + 1))
        for row in table.get("rows") or []:
            cells = [_md_escape(_cell_text(c)) for c in row.get("cells") or []]
            lines.append("| " + " | ".join([_md_escape(row.get("label", ""))] + cells) + " |")
    else:
        lines.append(str(answer.get("answer", "")))
    lines += ["", f"## {SOURCES_HEADING}", ""]
    cits = answer.get("citations") or []
    if not cits:
        lines.append("（无）")
    for c in cits:
        section = f" > {c['section']}" if c.get("section") else ""
        lines.append(f"[{c['n']}] 《{c.get('title', '')}》{section}")
        lines.append(f"    “{c.get('quote', '')}”")
        lines.append(f"    出处：{_where(c)}")
    lines += ["", f"导出时间：{_dt.datetime.now().strftime('%Y-%m-%d %H:%M')}", ""]
    return "\n".join(lines)


def _docx():
    try:
        import docx  # python-docx
    except ImportError as e:  # a core dependency; only a broken install lacks it
        raise ExportError("无法导出 Word 文件：缺少 python-docx（pip install python-docx）",
                          "python-docx is not installed") from e
    return docx


def _add_sources(doc, cits: list[dict]) -> None:
    doc.add_heading(SOURCES_HEADING, level=2)
    if not cits:
        doc.add_paragraph("（无）")
    for c in cits:
        section = f" > {c['section']}" if c.get("section") else ""
        p = doc.add_paragraph()
        p.add_run(f"[{c['n']}] 《{c.get('title', '')}》{section}").bold = True
        doc.add_paragraph(f"“{c.get('quote', '')}”")
        doc.add_paragraph(f"出处：{_where(c)}")


def answer_docx(answer: dict, path: str | Path, question: str = "") -> Path:
    """Write an answer as a .docx file: question, answer (a comparison as a Word table), sources appendix."""
    docx = _docx()
    question = question or answer.get("question", "")
    doc = docx.Document()
    doc.add_heading("政策问答", level=1)
    p = doc.add_paragraph()
    p.add_run("问题：").bold = True
    p.add_run(question)
    doc.add_heading("回答", level=2)
    table = answer.get("table")
    if table:
        if table.get("summary"):
            doc.add_paragraph(table["summary"])
        cols = table.get("columns") or []
        rows = table.get("rows") or []
        t = doc.add_table(rows=len(rows) + 1, cols=len(cols) + 1)
        t.style = "Table Grid"
        for j, name in enumerate([table.get("corner") or "地区/文件", *cols]):
            t.cell(0, j).text = str(name)
        for i, row in enumerate(rows, 1):
            t.cell(i, 0).text = str(row.get("label", ""))
            for j, cell in enumerate(row.get("cells") or [], 1):
                t.cell(i, j).text = _cell_text(cell)
    else:
        doc.add_paragraph(str(answer.get("answer", "")))
    _add_sources(doc, answer.get("citations") or [])
    return _save(doc, path)


def _save(doc, path: str | Path) -> Path:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        doc.save(str(path))
    except OSError as e:
        raise ExportError(f"无法写入文件 {path}：{e.strerror or e}", f"cannot write {path}: {e}") from e
    return path


def _write_text(path: Path, text: str) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as e:
        raise ExportError(f"无法写入文件 {path}：{e.strerror or e}", f"cannot write {path}: {e}") from e
    return path


def export_answer(answer: dict, base: str | Path, question: str = "") -> list[Path]:
    """Write `<base>.md` and `<base>.docx` for an answer; return both paths."""
    base = Path(base)
    stem = base.with_suffix("") if base.suffix.lower() in (".md", ".docx") else base
    md = _write_text(stem.with_suffix(".md"), answer_markdown(answer, question))
    return [md, answer_docx(answer, stem.with_suffix(".docx"), question)]


# -- the targets view ----------------------------------------------------------------------------
def _target_rows(targets: list[dict], titles: dict[str, str]) -> list[list[str]]:
    rows = []
    for t in targets:
        value = t.get("value")
        rows.append([t.get("place") or "—", t.get("section") or "—", str(t.get("year") or "—"), t.get("measure", ""),
                     f"{t.get('comparator') or ''}{value}{t.get('unit', '')}", t.get("quote", ""),
                     f"《{titles.get(t.get('doc', ''), t.get('doc', ''))}》{t.get('doc', '')}，第 {t.get('start')}–{t.get('end')} 字"])
    return rows


TARGET_COLUMNS = ["地区", "章节", "年份", "指标", "目标值", "原文", "出处"]


def targets_markdown(targets: list[dict], titles: dict[str, str], heading: str = "量化目标") -> str:
    """The targets view as a Markdown table, each row with its clause and where to find it."""
    lines = [f"# {heading}", "", "| " + " | ".join(TARGET_COLUMNS) + " |", "|" + "---|" * len(TARGET_COLUMNS)]
    for row in _target_rows(targets, titles):
        lines.append("| " + " | ".join(_md_escape(x) for x in row) + " |")
    lines += ["", f"共 {len(targets)} 条。", ""]
    return "\n".join(lines)


def export_targets(targets: list[dict], titles: dict[str, str], base: str | Path, heading: str = "量化目标"
                   ) -> list[Path]:
    """Write `<base>.md` and `<base>.docx` of a targets view; return both paths."""
    docx = _docx()
    base = Path(base)
    stem = base.with_suffix("") if base.suffix.lower() in (".md", ".docx") else base
    md = _write_text(stem.with_suffix(".md"), targets_markdown(targets, titles, heading))
    doc = docx.Document()
    doc.add_heading(heading, level=1)
    rows = _target_rows(targets, titles)
    t = doc.add_table(rows=len(rows) + 1, cols=len(TARGET_COLUMNS))
    t.style = "Table Grid"
    for j, name in enumerate(TARGET_COLUMNS):
        t.cell(0, j).text = name
    for i, row in enumerate(rows, 1):
        for j, value in enumerate(row):
            t.cell(i, j).text = str(value)
    doc.add_paragraph(f"共 {len(targets)} 条。")
    return [md, _save(doc, stem.with_suffix(".docx"))]


def safe_stem(text: str, limit: int = 24) -> str:
    """A file name from a question: its first characters, with nothing a file system would refuse."""
    stem = re.sub(r"[\\/:*?\"<>|\s。，？！、；：“”‘’（）()]+", "_", text.strip())[:limit].strip("_")
    return stem or "answer"
