"""Build citations from spans of chunk text: exact source offsets, the precise section path, the verified quote."""

from __future__ import annotations

from ..chunker import section_at
from ..store import DocRecord
from ..textnorm import normalize_span
from ..types import Chunk, Citation
from ..verify import quote_at


def source_span(record: DocRecord, chunk: Chunk, a: int, b: int) -> tuple[int, int]:
    """Map a span [a, b) of `chunk.text` to offsets in the document's source text."""
    raw = record.doc.source_text
    norm = normalize_span(raw, chunk.start, chunk.end)
    lead = len(norm.text) - len(norm.text.lstrip())
    return norm.source_span(a + lead, b + lead)


def make_citation(n: int, record: DocRecord, chunk: Chunk, a: int, b: int) -> Citation:
    """Citation number n for chunk.text[a:b]; its quote is read back from the source span, so it verifies."""
    s, e = source_span(record, chunk, a, b)
    return Citation(
        n=n,
        doc=record.doc.doc_id,
        title=record.doc.title,
        section=section_at(record.sections, s) or chunk.section_path,
        quote=quote_at(record.doc.source_text, s, e),
        start=s,
        end=e,
        chunk_id=chunk.chunk_id,
        ocr=from_ocr(record, s, e),
    )


def from_ocr(record: DocRecord, start: int, end: int) -> bool:
    """True when a source span overlaps text the loader read by OCR (Document.metadata['ocr_spans'])."""
    return any(a < end and start < b for a, b in record.doc.metadata.get("ocr_spans") or ())
