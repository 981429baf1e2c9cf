"""Core data types that flow unchanged through every stage: load -> chunk -> embed -> store -> retrieve -> answer."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any


def content_id(*parts: str, length: int = 16) -> str:
    """Stable id from content: the same parts always give the same id."""
    h = hashlib.sha1("\x1f".join(parts).encode("utf-8"))
    return h.hexdigest()[:length]


@dataclass(frozen=True)
class Section:
    """One heading of a document: its full path and where its span starts and ends in the source text."""

    path: str
    start: int
    end: int
    level: int


@dataclass(frozen=True)
class Document:
    """A loaded source document.

    `source_text` is the decoded original (for .txt/.md/.html the file text; for .docx/.pdf the extracted
    text); every offset in the system points into it. `body_start` skips front matter.
    """

    doc_id: str
    source: str
    title: str
    source_text: str
    sha256: str
    body_start: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def region(self) -> str:
        return str(self.metadata.get("region") or "")

    @property
    def date(self) -> str:
        return str(self.metadata.get("date") or "")


@dataclass(frozen=True)
class Chunk:
    """A retrievable piece of one document, with its section path and its span in the source text.

    Invariant: `normalize_span(document.source_text, start, end).text.strip() == text`.
    """

    chunk_id: str
    doc_id: str
    section_path: str
    text: str
    start: int
    end: int
    title: str = ""
    table_header: str = ""  # rows of a table: its header row, which the text holds only in the table's first chunk

    def embed_text(self) -> str:
        """What the embedding model and keyword index see: title and section path give context
        (a title the text already starts with, as in a one-line passage, is not repeated); rows of a table
        are read under their header row."""
        title = "" if self.title and self.title[:20] in self.text[: len(self.title) + 40] else self.title
        head = " > ".join(p for p in (title, self.section_path) if p)
        text = self.text
        if self.table_header and not text.startswith(self.table_header):
            text = f"{self.table_header}\n{text}"
        return f"{head}\n{text}" if head else text

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Chunk":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score and the score of each signal (dense, keyword)."""

    chunk: Chunk
    score: float
    scores: dict[str, float] = field(default_factory=dict)
    rank: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of `rag search --json` and the HTTP API's search."""
        c = self.chunk
        return {
            "chunk_id": c.chunk_id, "doc": c.doc_id, "title": c.title, "section": c.section_path, "text": c.text,
            "start": c.start, "end": c.end, "score": round(self.score, 6),
            "scores": {k: round(v, 6) for k, v in self.scores.items()},
        }


@dataclass(frozen=True)
class Citation:
    """A verified quote: number n in the answer, the document and section it comes from, and its exact span."""

    n: int
    doc: str
    title: str
    section: str
    quote: str
    start: int
    end: int
    chunk_id: str = ""
    ocr: bool = False  # the quoted text was read by OCR (verified against the stored OCR text, not the image)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "doc": self.doc,
            "title": self.title,
            "section": self.section,
            "quote": self.quote,
            "start": self.start,
            "end": self.end,
            "ocr": self.ocr,
        }


@dataclass
class TableCell:
    """One cell of a comparison table: a short verified quote with its citation numbers, or 未提及 (no citations)."""

    text: str
    citations: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "citations": list(self.citations)}


@dataclass
class TableRow:
    """One row: a place or document (`label`), the document its cells quote (`doc`), one cell per column."""

    label: str
    doc: str
    cells: list[TableCell] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "doc": self.doc, "cells": [c.to_dict() for c in self.cells]}


@dataclass
class AnswerTable:
    """A comparison answer as a table: one column per aspect asked, one row per place or document."""

    columns: list[str]
    rows: list[TableRow] = field(default_factory=list)
    summary: str = ""  # what is said above the table (the ranking a superlative question asks for)
    corner: str = "地区/文件"  # heading of the row-label column ('变化' in a change table between two versions)

    def to_dict(self) -> dict[str, Any]:
        return {"columns": list(self.columns), "rows": [r.to_dict() for r in self.rows], "summary": self.summary,
                "corner": self.corner}


@dataclass
class Answer:
    """What `Assistant.ask` returns: answer text with [n] markers, the citations, and how it got there."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    refused: bool = False
    hits: list[Hit] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    question: str = ""
    rewritten_question: str = ""
    notice: str = ""
    backend: str = "extractive"
    confidence: float | None = None  # fitted probability that the best candidate answers (the refusal gate's input)
    generation: str = ""  # the index generation every hit and citation came from (see Assistant.generation)
    table: AnswerTable | None = None  # a comparison question's table (its cells cite the same citations)

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer": self.text,
            "refused": self.refused,
            "citations": [c.to_dict() for c in self.citations],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "notice": self.notice,
            "backend": self.backend,
            "rewritten_question": self.rewritten_question,
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "generation": self.generation,
            "table": self.table.to_dict() if self.table is not None else None,
        }
