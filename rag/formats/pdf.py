"""PDF -> text through pdfplumber: text lines and ruled tables in reading order, tables as pipe rows.

A page with no text layer but an image (a scan) is read by OCR (rag/ocr.py, the `ocr` extra); the spans of text
that came from OCR are returned so citations can say so.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..errors import LoadError
from ..tables import table_text

log = logging.getLogger(__name__)

# A page with fewer text-layer characters than this but an image on it is a scan (a stamp or page number may be text).
MIN_TEXT_CHARS = 20


def pdf_text(path: Path, ocr=None) -> tuple[str, list[tuple[int, int]]]:
    """(text, spans of it read by OCR). `ocr` is an OCR engine (rag.ocr); None takes the configured one when
    a scanned page needs it."""
    try:
        import pdfplumber
    except ImportError as e:  # pragma: no cover - a core dependency
        raise LoadError("缺少 pdfplumber，无法读取 .pdf", "pdfplumber not installed") from e
    parts: list[str] = []
    ocr_spans: list[tuple[int, int]] = []
    pos = 0
    try:
        with pdfplumber.open(str(path)) as pdf:
            for page in pdf.pages:
                text = _page_text(page)
                from_ocr = False
                if len(text.strip()) < MIN_TEXT_CHARS and page.images:
                    if ocr is None:
                        from ..ocr import default_engine

                        ocr = default_engine()
                    text, from_ocr = ocr.read_image(page.to_image(resolution=ocr.dpi).original), True
                if parts:
                    pos += 1
                if from_ocr and text.strip():
                    ocr_spans.append((pos, pos + len(text)))
                parts.append(text)
                pos += len(text)
    except LoadError:
        raise
    except Exception as e:
        what = f"{type(e).__name__} {e}".lower()
        if "password" in what or "encrypt" in what:
            raise LoadError("PDF 已加密，无法读取", f"encrypted pdf: {e}") from e
        raise LoadError("无法读取 PDF（文件损坏）", f"cannot read pdf: {e}") from e
    text = "\n".join(parts)
    if not text.strip():
        raise LoadError("PDF 中没有可提取的文字", "pdf has no text")
    return text, ocr_spans


def _page_text(page) -> str:
    """Text lines outside tables and the tables themselves, top to bottom."""
    tables = page.find_tables()
    boxes = [t.bbox for t in tables]

    def outside(obj) -> bool:
        if obj.get("object_type") != "char":
            return True
        x = (obj["x0"] + obj["x1"]) / 2
        y = (obj["top"] + obj["bottom"]) / 2
        return not any(x0 <= x <= x1 and top <= y <= bottom for x0, top, x1, bottom in boxes)

    rest = page.filter(outside) if boxes else page
    items: list[tuple[float, str]] = [(line["top"], line["text"]) for line in rest.extract_text_lines()]
    for t in tables:
        rows = t.extract()
        if rows:
            items.append((t.bbox[1], "\n" + table_text(rows) + "\n"))
    items.sort(key=lambda item: item[0])
    return "\n".join(text for _, text in items)
