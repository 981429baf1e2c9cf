"""Quote verification, an invariant: every citation that leaves `Assistant.ask` matches its source span."""

from __future__ import annotations

import logging
import re

from .errors import RagError
from .textnorm import normalize_span
from .types import Answer, Citation

log = logging.getLogger(__name__)


class CitationError(RagError):
    """A citation's quote does not match the source text at its span."""


def quote_at(source_text: str, start: int, end: int) -> str:
    """The normalised text of a source span: what a quote of that span must equal."""
    if not (0 <= start <= end <= len(source_text)):
        return ""
    return normalize_span(source_text, start, end).text.strip()


def verify_quote(source_text: str, start: int, end: int, quote: str) -> bool:
    """True when `quote` is exactly the normalised source text at [start, end)."""
    return bool(quote) and quote_at(source_text, start, end) == quote


def check_citation(citation: Citation, source_text: str) -> None:
    """Raise CitationError (loudly) when a citation's quote is not its source span."""
    if not verify_quote(source_text, citation.start, citation.end, citation.quote):
        raise CitationError(
            f"引用[{citation.n}]与原文不符，已拒绝显示",
            f"citation [{citation.n}] of {citation.doc} at {citation.start}:{citation.end} does not match the source: "
            f"{citation.quote[:40]!r} != {quote_at(source_text, citation.start, citation.end)[:40]!r}",
        )


def enforce_verified(answer: Answer, sources: dict[str, str]) -> Answer:
    """Drop every citation whose quote does not match its source span, and its [n] markers from the text.

    `sources` maps doc id -> source text. Logs each dropped citation (English) so tampering is visible.
    """
    kept: list[Citation] = []
    dropped: list[int] = []
    for c in answer.citations:
        text = sources.get(c.doc)
        try:
            if text is None:
                raise CitationError("引用的文档不存在", f"citation [{c.n}] names unknown document {c.doc!r}")
            check_citation(c, text)
            kept.append(c)
        except CitationError as e:
            log.warning("dropped citation: %s", e.log_message)
            dropped.append(c.n)
    if dropped:
        body = answer.text
        for n in dropped:
            body = re.sub(rf"\[{n}\]", "", body)
        answer.text = body
        answer.citations = kept
        if answer.table is not None:  # a table cell whose quote failed is not shown either
            for row in answer.table.rows:
                for cell in row.cells:
                    if set(cell.citations) & set(dropped):
                        cell.text, cell.citations = "（引用未通过核验）", []
    return answer
