"""Plain-text rendering of an answer with its sources (CLI output, the UI's copy button)."""

from __future__ import annotations

from .types import Answer, AnswerTable

NOT_MENTIONED = "未提及"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").strip()


def cell_with_marks(cell) -> str:
    """A cell's text with its [n] markers: after each of its quotes when it joins several ('甲[1]；乙[2]')."""
    text = cell.text.rstrip("。；; ")
    parts = text.split("；")
    if len(cell.citations) > 1 and len(parts) == len(cell.citations):
        return "；".join(f"{p.rstrip('。；; ')}[{n}]" for p, n in zip(parts, cell.citations))
    return text + "".join(f"[{n}]" for n in cell.citations)


def markdown_table(table: AnswerTable) -> str:
    """A comparison table as a Markdown table: one row per place or document, each cell its quote and [n]."""
    lines = ["| " + " | ".join([_md_cell(table.corner), *map(_md_cell, table.columns)]) + " |",
             "|" + "---|" * (len(table.columns) + 1)]
    for row in table.rows:
        cells = [_md_cell(cell_with_marks(c)) for c in row.cells]
        lines.append("| " + " | ".join([_md_cell(row.label), *cells]) + " |")
    return "\n".join(lines)


def render_answer_text(answer: Answer, include_answer: bool = True, max_related: int = 3) -> str:
    """Answer text (a comparison as a Markdown table), then numbered sources: title, section path, quoted clause."""
    lines: list[str] = []
    if include_answer and answer.table is not None:
        if answer.table.summary:
            lines.append(answer.table.summary)
        lines.append(markdown_table(answer.table))
    elif include_answer:
        lines.append(answer.text)
    if answer.notice:
        lines.append(f"（{answer.notice}）")
    if answer.rewritten_question and answer.rewritten_question != answer.question:
        lines.append(f"（已理解为：{answer.rewritten_question}）")
    if answer.citations:
        lines.append("")
        lines.append("来源：")
        for c in answer.citations:
            section = f" > {c.section}" if c.section else ""
            lines.append(f"[{c.n}] 《{c.title}》{section}")
            ocr = "，OCR 识别文本" if c.ocr else ""
            lines.append(f"    “{c.quote}”  （{c.doc}，第 {c.start}–{c.end} 字{ocr}）")
    elif answer.refused and answer.hits:
        lines.append("")
        lines.append("可能相关：")
        for h in answer.hits[:max_related]:
            section = f" > {h.chunk.section_path}" if h.chunk.section_path else ""
            snippet = h.chunk.text.replace("\n", " ")
            lines.append(f"- 《{h.chunk.title}》{section}")
            lines.append(f"    {snippet[:120]}{'…' if len(snippet) > 120 else ''}")
    return "\n".join(lines)
