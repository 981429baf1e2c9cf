"""Loaders: a file on disk -> a `Document` (decoded text, title, metadata). I/O lives here and in `store`.

Supported: .txt, .md (YAML front matter), .html/.htm, .docx, .doc, .xlsx, .pdf (text layer, or OCR for scans)
and page images .png/.jpg (OCR). Text files are decoded as UTF-8 (with or without BOM), UTF-16 with BOM, or
GBK/GB18030, in that order. Tables of every format become pipe rows (rag/tables.py); the readers of each format
live in rag/formats/. A file that cannot be read raises `LoadError` with a reason in Chinese (for users) and
English (for logs); the caller skips it and goes on.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from pathlib import Path

from .errors import LoadError
from .formats import html, office, pdf
from .metadata import extract_metadata
from .types import Document

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | IMAGE_SUFFIXES | {".docx", ".doc", ".xlsx", ".pdf"}
MAX_FILE_BYTES = 50 * 1024 * 1024

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode text bytes; return (text, encoding name). Raises LoadError for binary or undecodable data."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as e:
            raise LoadError("文件编码无法识别（UTF-16 解码失败）", f"undecodable UTF-16: {e}") from e
    if b"\x00" in data[:4096]:
        raise LoadError("这是二进制文件，不是文本文档", "binary file (NUL bytes)")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
        return text, "gb18030"
    except UnicodeDecodeError:
        pass
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
        if best is not None:
            return str(best), best.encoding
    except ImportError:  # optional: only a fallback for rare encodings
        pass
    raise LoadError("文件编码无法识别（不是 UTF-8 或 GBK）", "could not detect text encoding")


def split_front_matter(text: str) -> tuple[dict[str, str], int]:
    """Parse simple YAML front matter (key: value lines); return (fields, offset where the body starts)."""
    m = _FRONT_MATTER.match(text)
    if not m:
        return {}, 0
    fields: dict[str, str] = {}
    for line in m.group(1).splitlines():
        km = re.match(r"^([A-Za-z_][\w-]*)\s*:\s*(.*)$", line)
        if km:
            fields[km.group(1).lower()] = km.group(2).strip().strip("'\"")
    return fields, m.end()


def _is_text_char(ch: str) -> bool:
    """Characters real text is made of: printable ones, every kind of space and line break (U+3000, NBSP, \\r…),
    and invisible format marks (zero-width space, BOM). `str.isprintable()` alone calls the spaces unprintable."""
    return ch.isprintable() or ch.isspace() or unicodedata.category(ch) == "Cf"


def doc_id_for(path: Path) -> str:
    """Documents are known by their file name (what users see and what `rag search --json` reports)."""
    return path.name


def load_document(path: str | Path) -> Document:
    """Read one file into a Document. Raises LoadError (with a Chinese reason) when it cannot."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise LoadError(
            f"不支持的文件类型 {suffix or '（无扩展名）'}，支持 .txt .md .html .docx .doc .xlsx .pdf .png .jpg",
            f"unsupported type {suffix}",
        )
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise LoadError(f"文件过大（{size // 1024 // 1024} MB，上限 50 MB）", f"file too large: {size} bytes")
        data = path.read_bytes()
    except LoadError:
        raise
    except OSError as e:
        raise LoadError("无法读取文件（不存在或没有权限）", f"cannot read file: {e}") from e
    sha = hashlib.sha256(data).hexdigest()
    if not data.strip():
        raise LoadError("文件是空的", "empty file")
    ocr_spans: list[tuple[int, int]] = []
    if suffix in TEXT_SUFFIXES:
        text, encoding = decode_bytes(data)
    elif suffix in HTML_SUFFIXES:
        text, encoding = html.html_text(data), "html"
    elif suffix == ".docx":
        text, encoding = office.docx_text(path), "docx"
    elif suffix == ".doc":
        text, encoding = office.doc_text(path), "doc"
    elif suffix == ".xlsx":
        text, encoding = office.xlsx_text(path), "xlsx"
    elif suffix in IMAGE_SUFFIXES:
        from .ocr import read_image_file

        text, encoding = read_image_file(path), "ocr"
        ocr_spans = [(0, len(text))]
    else:
        text, ocr_spans = pdf.pdf_text(path)
        encoding = "pdf"
    doc = document_from_text(text, source=str(path), doc_id=doc_id_for(path), sha256=sha, encoding=encoding)
    if ocr_spans:
        # Quotes of this text are verified against the OCR text stored here; citations say it came from OCR.
        doc.metadata["ocr"] = True
        doc.metadata["ocr_spans"] = [list(span) for span in ocr_spans]
    return doc


def document_from_text(
    text: str, source: str, doc_id: str, sha256: str | None = None, encoding: str = "utf-8"
) -> Document:
    """Build a Document from decoded text: front matter, title and metadata are read here."""
    from .textnorm import normalize_text

    fields, body_start = split_front_matter(text)
    body_norm = normalize_text(text[body_start:])
    if len(re.sub(r"\s", "", body_norm)) < 2:
        raise LoadError("文件中没有可用的文字内容", "no text content")
    printable = sum(map(_is_text_char, text))
    if printable < 0.9 * len(text):
        raise LoadError("文件内容像是二进制或乱码，无法作为文本读取", "content is mostly unprintable")
    meta = extract_metadata(body_norm, fields, text[body_start:])
    meta["encoding"] = encoding
    sha = sha256 or hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Document(
        doc_id=doc_id,
        source=source,
        title=meta.pop("title"),
        source_text=text,
        sha256=sha,
        body_start=body_start,
        metadata=meta,
    )


def find_files(paths: list[str | Path]) -> list[Path]:
    """Expand files and folders (recursively) into a sorted list of candidate files."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            # Hidden entries are skipped only below the folder given: ~/.cache/x/docs itself is what the user asked for.
            found.extend(
                f for f in sorted(p.rglob("*"))
                if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts)
            )
        else:
            found.append(p)
    return found
