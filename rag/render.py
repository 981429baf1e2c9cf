"""Plain-text rendering of an answer with its sources (CLI output, the UI's copy button)."""

from __future__ import annotations

from .types import Answer


def render_answer_text(answer: Answer, include_answer: bool = True, max_related: int = 3) -> str:
    """Answer text, then numbered sources: title, section path and the quoted clause."""
    lines: list[str] = []
    if include_answer:
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
