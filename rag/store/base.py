"""What retrieval and ingest need from storage, whatever the backend: the `Store` protocol and its value types."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..errors import IndexMismatchError
from ..types import Chunk, Document, Section


@dataclass
class DocRecord:
    """A document as stored in the index: the Document plus its section outline and chunk count."""

    doc: Document
    sections: list[Section] = field(default_factory=list)
    chunk_count: int = 0

    def to_json(self) -> dict[str, Any]:
        d = self.doc
        return {
            "doc_id": d.doc_id, "source": d.source, "title": d.title, "sha256": d.sha256,
            "body_start": d.body_start, "metadata": d.metadata, "source_text": d.source_text,
            "sections": [[s.path, s.start, s.end, s.level] for s in self.sections], "chunk_count": self.chunk_count,
        }

    def summary(self) -> dict[str, Any]:
        """The JSON form of `rag docs --json` and the HTTP API's document list."""
        d = self.doc
        return {"doc": d.doc_id, "title": d.title, "region": d.region, "date": d.date, "chunks": self.chunk_count,
                "sections": len(self.sections)}

    @classmethod
    def from_json(cls, j: dict[str, Any]) -> "DocRecord":
        doc = Document(
            doc_id=j["doc_id"], source=j["source"], title=j["title"], source_text=j["source_text"],
            sha256=j["sha256"], body_start=j.get("body_start", 0), metadata=j.get("metadata", {}),
        )
        return cls(doc, [Section(p, s, e, lv) for p, s, e, lv in j.get("sections", [])], j.get("chunk_count", 0))


@dataclass
class Ranked:
    """One retrieval signal for one query: the best chunks (store ids, best first) among those a filter allows,
    the signal's minimum and maximum over the whole index (unfiltered: min-max fusion reads them), and the exact
    score of any other chunk (`score_of`). `complete`: every allowed chunk with a non-zero score is listed."""

    ids: np.ndarray
    scores: np.ndarray
    lo: float
    hi: float
    complete: bool
    score_of: Callable[[np.ndarray], np.ndarray]
    full: np.ndarray | None = None  # every chunk's score (unfiltered), when the backend computed them anyway


@dataclass(frozen=True)
class DocSummary:
    """What filters and listings read about a document without its text: id, title, regions, date."""

    doc_id: str
    title: str
    regions: tuple[str, ...]
    date: str
    sha256: str
    source: str
    chunk_count: int


@runtime_checkable
class KeywordStats(Protocol):
    """Document frequencies of the keyword index's words (the answerer weighs question words by them)."""

    n: int

    def df(self, term: str) -> int: ...

    def __contains__(self, term: object) -> bool: ...


class Store(Protocol):
    """An index: chunks with vectors and keyword statistics, document records, and a manifest.

    Chunks are addressed by an integer id the store hands out (a row for `local`, a primary key for `milvus`).
    `allowed` is a set of document ids a search is restricted to (None: all).
    """

    name: str
    path: Path
    manifest: dict[str, Any]
    docs: Mapping[str, DocRecord]
    summaries: Mapping[str, DocSummary]
    keyword_stats: KeywordStats
    targets: Sequence[Any]  # rag.targets.Target of every document, extracted at ingest

    def __len__(self) -> int: ...

    def chunks_at(self, ids: Sequence[int]) -> list[Chunk]: ...

    def chunks_of(self, doc_ids: Collection[str]) -> list[Chunk]: ...

    def doc_headers(self) -> Mapping[str, DocRecord]: ...

    def dense(self, query_vector: np.ndarray, k: int, allowed: Collection[str] | None) -> Ranked: ...

    def keyword(self, query: str, tokens: list[str], k: int, allowed: Collection[str] | None) -> Ranked: ...

    def vectors_for(self, text_keys: Sequence[str]) -> dict[str, np.ndarray]: ...

    def sentence_vectors(self, chunks: Sequence[Chunk]) -> dict[str, np.ndarray]: ...

    def sentence_rows(self, keys: Sequence[str]) -> dict[str, np.ndarray]: ...

    def chunks_without_sentences(self, doc_ids: Collection[str]) -> list[Chunk]: ...

    def write(self, added: list[tuple[DocRecord, list[Chunk], np.ndarray]], removed: Collection[str],
              manifest: dict[str, Any], tokens: list[list[str]] | None = None,
              sentences: Mapping[str, np.ndarray] | None = None) -> None: ...


def check_compatible(manifest: dict[str, Any], embedding: dict, chunker: dict, index_dir: Path) -> None:
    """Refuse an index built under other settings, saying how to rebuild it."""
    built = manifest.get("embedding", {})
    if built.get("backend") != embedding["backend"] or built.get("model") != embedding["model"]:
        raise IndexMismatchError(
            f"索引 {index_dir} 是用嵌入模型 {built.get('backend')}:{built.get('model')} 构建的，"
            f"当前设置为 {embedding['backend']}:{embedding['model']}。"
            f"请重建索引：rag ingest --rebuild --index {index_dir}（或改回原来的模型设置）",
            f"index {index_dir} was built with {built.get('backend')}:{built.get('model')}, settings ask for "
            f"{embedding['backend']}:{embedding['model']}; rebuild with `rag ingest --rebuild --index {index_dir}`",
        )
    if manifest.get("chunker") != chunker:
        raise IndexMismatchError(
            f"索引 {index_dir} 的分块设置 {manifest.get('chunker')} 与当前设置 {chunker} 不同。"
            f"请重建索引：rag ingest --rebuild --index {index_dir}",
            f"index {index_dir} chunker settings {manifest.get('chunker')} differ from {chunker}; rebuild",
        )


def summary_of(rec: DocRecord) -> DocSummary:
    """The filter-relevant part of a document record."""
    d = rec.doc
    regions = tuple(dict.fromkeys([*(d.metadata.get("regions") or []), d.region]))
    return DocSummary(d.doc_id, d.title, regions, d.date, d.sha256, d.source, rec.chunk_count)


def top_ids(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best (ids, scores), ties broken by smaller id (as a stable sort over ids in order would)."""
    if len(scores) > k:
        part = np.argpartition(-scores, k - 1)[:k]
        kth = scores[part].min()
        # keep every tie of the k-th score so the id order decides among them
        part = np.flatnonzero(scores >= kth)
        scores, ids = scores[part], ids[part]
    order = np.lexsort((ids, -scores))[:k]
    return ids[order], scores[order]
