"""Word (.docx, .doc) and Excel (.xlsx) files -> text, with tables as pipe rows under their headings."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from ..errors import LoadError
from ..tables import table_text

DOC_TIMEOUT_S = 60
OLE_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")  # every Word 97-2003 file is an OLE2 compound file


def docx_text(path: Path) -> str:
    """Paragraphs and tables in document order; Heading/标题 N styles become Markdown headings."""
    try:
        import docx  # python-docx
        from docx.table import Table
    except ImportError as e:  # pragma: no cover - a core dependency
        raise LoadError("缺少 python-docx，无法读取 .docx", "python-docx not installed") from e
    try:
        d = docx.Document(str(path))
    except Exception as e:
        raise LoadError("无法打开 .docx 文件（文件损坏或不是 Word 文档）", f"cannot open docx: {e}") from e
    lines: list[str] = []
    for block in d.iter_inner_content():
        if isinstance(block, Table):
            rows = _docx_rows(block)
            if rows:
                lines.extend(["", table_text(rows), ""])
            continue
        style = (block.style.name or "") if block.style is not None else ""
        m = re.match(r"(?:Heading|标题)\s*(\d)", style)
        text = block.text.strip()
        if not text:
            lines.append("")
        elif m:
            lines.append("#" * int(m.group(1)) + " " + text)
        else:
            lines.append(text)
    return "\n".join(lines)


def _docx_rows(table) -> list[list[str]]:
    """Cell texts row by row; a table nested in a cell is read as that cell's text."""
    rows = []
    for row in table.rows:
        try:
            rows.append([cell.text for cell in row.cells])
        except Exception:  # malformed grid (python-docx raises on some merged layouts): keep what reads
            continue
    return rows


def xlsx_text(path: Path) -> str:
    """Each non-empty sheet: its name as a heading, then its used cells as a table (first row the header)."""
    try:
        import openpyxl
    except ImportError as e:  # pragma: no cover - a core dependency
        raise LoadError("缺少 openpyxl，无法读取 .xlsx", "openpyxl not installed") from e
    try:
        wb = openpyxl.load_workbook(str(path), read_only=True, data_only=True)
    except Exception as e:
        raise LoadError("无法打开 .xlsx 文件（文件损坏或不是 Excel 工作簿）", f"cannot open xlsx: {e}") from e
    parts: list[str] = []
    try:
        for ws in wb.worksheets:
            rows = [[_cell(v) for v in row] for row in ws.iter_rows(values_only=True)]
            rows = [r for r in rows if any(r)]
            if not rows:
                continue
            width = max(i + 1 for r in rows for i, v in enumerate(r) if v)
            rows = [r[:width] + [""] * (width - len(r)) for r in rows]
            parts.append(f"# {ws.title}\n\n{table_text(rows)}")
    finally:
        wb.close()
    return "\n\n".join(parts)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def doc_text(path: Path) -> str:
    """Legacy Word (.doc) through Debian's antiword (tables as |-separated rows), else catdoc."""
    with open(path, "rb") as f:
        if f.read(8) != OLE_MAGIC:  # catdoc would pass any other file through as text
            raise LoadError("无法读取 .doc 文件（不是 Word 97-2003 文档）", "not an OLE2 compound file")
    for tool, args in (("antiword", ["-m", "UTF-8.txt", "-w", "0"]), ("catdoc", ["-d", "utf-8", "-w"])):
        exe = shutil.which(tool)
        if exe is None:
            continue
        try:
            run = subprocess.run([exe, *args, str(path)], capture_output=True, timeout=DOC_TIMEOUT_S)
        except subprocess.TimeoutExpired as e:
            raise LoadError("读取 .doc 文件超时", f"{tool} timed out") from e
        text = run.stdout.decode("utf-8", errors="replace")
        if run.returncode == 0 and text.strip():
            return _antiword_tables(text) if tool == "antiword" else text
    if not (shutil.which("antiword") or shutil.which("catdoc")):
        raise LoadError("读取 .doc 需要安装 antiword 或 catdoc（Debian：apt-get install antiword）",
                        "no antiword/catdoc on PATH")
    raise LoadError("无法读取 .doc 文件（文件损坏或不是 Word 97-2003 文档）", "antiword and catdoc failed")


def _antiword_tables(text: str) -> str:
    """antiword writes table rows as '|cell|cell|' lines: put them in the pipe form of rag/tables.py."""
    out = []
    for line in text.split("\n"):
        s = line.strip()
        if len(s) > 2 and s.startswith("|") and s.endswith("|"):
            out.append(table_text([[c for c in s[1:-1].split("|")]]))
        else:
            out.append(line)
    return "\n".join(out)
