"""Hybrid retrieval: FAISS dense search and jieba BM25 fused, with filters by document and region."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import numpy as np

from .embeddings import Embedder, get_embedder
from .keyword import BM25, joined_terms, tokenize
from .settings import Settings
from .store import StoredIndex, load_index
from .types import Hit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Filters:
    """Restrict retrieval to some documents (doc ids) and/or regions (any of the document's regions)."""

    docs: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()

    @classmethod
    def of(cls, value: "Filters | dict | None") -> "Filters":
        if value is None:
            return cls()
        if isinstance(value, Filters):
            return value
        return cls(tuple(value.get("docs") or ()), tuple(value.get("regions") or ()))

    def __bool__(self) -> bool:
        return bool(self.docs or self.regions)


@dataclass
class Retriever:
    """Search one index by dense vectors, keywords, or both fused (weighted min-max or reciprocal rank)."""

    index: StoredIndex
    embedder: Embedder
    settings: Settings = field(default_factory=Settings)

    def __post_init__(self) -> None:
        self.bm25 = BM25(self.index.tokens)
        self._doc_of = np.array([c.doc_id for c in self.index.chunks], dtype=object)
        self._lock = threading.Lock()

    @classmethod
    def load(cls, index_dir, settings: Settings | None = None, embedder: Embedder | None = None) -> "Retriever":
        """Load an index from disk (checked against the settings) with the embedder it was built with."""
        settings = settings or Settings()
        index = load_index(index_dir, settings.embedding_fingerprint(), settings.chunker_settings().fingerprint())
        embedder = embedder or get_embedder(settings.embed_backend, settings.embed_model or None)
        return cls(index, embedder, settings)

    def _mask(self, filters: Filters) -> np.ndarray | None:
        if not filters:
            return None
        allowed = set()
        for doc_id, rec in self.index.docs.items():
            ok_doc = not filters.docs or doc_id in filters.docs
            regions = set(rec.doc.metadata.get("regions") or []) | {rec.doc.region}
            ok_region = not filters.regions or bool(regions & set(filters.regions))
            if ok_doc and ok_region:
                allowed.add(doc_id)
        return np.array([d in allowed for d in self._doc_of], dtype=bool)

    def dense_scores(self, query: str) -> np.ndarray:
        """Cosine similarity of the query to every chunk, through the FAISS index."""
        n = len(self.index.chunks)
        out = np.full(n, -1.0, dtype=np.float32)
        if not n:
            return out
        q = self.embedder.embed_query(query)[None, :]
        with self._lock:
            scores, ids = self.index.faiss_index.search(q, n)
        valid = ids[0] >= 0
        out[ids[0][valid]] = scores[0][valid]
        return out

    def keyword_scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk (query words as jieba cuts them, plus index words that cut split)."""
        return self.bm25.scores(tokenize(query, for_query=True) + joined_terms(query, self.bm25.postings))

    def place_groups(self, query: str) -> list[tuple[str, frozenset[str]]]:
        """Places named in the query with the documents about each (by region metadata or title)."""
        from .metadata import places_in

        groups: list[tuple[str, frozenset[str]]] = []
        for place in places_in(query):
            docs = frozenset(
                d for d, rec in self.index.docs.items()
                if any(place in r for r in (rec.doc.metadata.get("regions") or [])) or place in rec.doc.title
            )
            if docs and all(docs != g for _, g in groups):
                groups.append((place, docs))
        return groups

    def region_groups(self, query: str) -> list[tuple[str, frozenset[str]]]:
        """Places named in the query with their documents, when two or more point at different documents
        (a comparison across regions); else []."""
        groups = self.place_groups(query)
        return groups if len(groups) >= 2 else []

    def search(self, query: str, k: int | None = None, mode: str | None = None, filters=None) -> list[Hit]:
        """Top-k hits for a query; each hit carries its fused score and per-signal scores.

        A question that compares regions ("某省和某市的目标分别是多少") is searched once per region, restricted to
        that region's documents, and the results are interleaved so each region's best clause ranks near the top.
        """
        k = k or self.settings.top_k
        limit = self.settings.max_question_chars
        if len(query) > limit:  # the model reads ~512 tokens anyway; a pasted page would cost seconds to embed
            log.warning("query of %d chars cut to its first %d for retrieval", len(query), limit)
            query = query[:limit]
        groups = [] if Filters.of(filters) else self.place_groups(query)
        if len(groups) >= 2:
            return self._search_by_region(query, groups, k, mode)
        prefer = groups[0][1] if groups and len(groups[0][1]) < len(self.index.docs) else frozenset()
        return self._search(query, k, mode, filters, prefer)

    def _search_by_region(self, query: str, groups, k: int, mode: str | None) -> list[Hit]:
        places = [p for p, _ in groups]
        per_group = []
        for place, docs in groups:
            sub = query
            for other in places:
                if other != place and other not in place:
                    sub = sub.replace(other, "")
            per_group.append(self._search(sub, k, mode, Filters(docs=tuple(sorted(docs)))))
        merged: list[Hit] = []
        seen: set[str] = set()
        for rank in range(k):
            for hits in per_group:
                if rank < len(hits) and hits[rank].chunk.chunk_id not in seen:
                    seen.add(hits[rank].chunk.chunk_id)
                    merged.append(hits[rank])
        for hit in self._search(query, k, mode, None):  # whatever the whole question finds fills the rest
            if hit.chunk.chunk_id not in seen:
                seen.add(hit.chunk.chunk_id)
                merged.append(hit)
        return [Hit(h.chunk, h.score, h.scores, rank=i + 1) for i, h in enumerate(merged[:k])]

    def _search(self, query: str, k: int, mode: str | None, filters, prefer: frozenset[str] = frozenset()) -> list[Hit]:
        mode = mode or self.settings.retrieval_mode
        n = len(self.index.chunks)
        if not n or not query.strip():
            return []
        dense = self.dense_scores(query) if mode in ("hybrid", "dense") else np.zeros(n, dtype=np.float32)
        kw = self.keyword_scores(query) if mode in ("hybrid", "keyword") else np.zeros(n, dtype=np.float32)
        if mode == "dense":
            fused = dense.copy()
        elif mode == "keyword":
            fused = kw.copy()
        else:
            fused = self._fuse(dense, kw)
            if prefer and self.settings.place_bonus:
                # A question about one place ("某省…的发展目标") prefers that place's documents; a soft bonus,
                # not a filter, so a clause elsewhere that answers far better still ranks.
                fused = fused + self.settings.place_bonus * np.isin(self._doc_of, list(prefer))
        mask = self._mask(Filters.of(filters))
        if mask is not None:
            fused = np.where(mask, fused, -np.inf)
        if mode == "keyword":
            fused = np.where(kw > 0, fused, -np.inf)
        order = np.argsort(-fused, kind="stable")[:k]
        hits = []
        for rank, i in enumerate(order):
            if not np.isfinite(fused[i]):
                break
            hits.append(
                Hit(
                    chunk=self.index.chunks[i],
                    score=float(fused[i]),
                    scores={"dense": float(dense[i]), "keyword": float(kw[i])},
                    rank=rank + 1,
                )
            )
        return hits

    def _fuse(self, dense: np.ndarray, kw: np.ndarray) -> np.ndarray:
        w = self.settings.dense_weight
        if self.settings.fusion == "rrf":
            return w * _rrf(dense, self.settings.rrf_k) + (1 - w) * _rrf(kw, self.settings.rrf_k, zero_is_missing=True)
        return w * _minmax(dense) + (1 - w) * _minmax(kw)


def _minmax(x: np.ndarray) -> np.ndarray:
    lo, hi = float(x.min()), float(x.max())
    if hi - lo < 1e-9:
        return np.zeros_like(x)
    return (x - lo) / (hi - lo)


def _rrf(scores: np.ndarray, k: int, zero_is_missing: bool = False) -> np.ndarray:
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(len(scores), dtype=np.float32)
    ranks[order] = np.arange(1, len(scores) + 1, dtype=np.float32)
    out = 1.0 / (k + ranks)
    if zero_is_missing:
        out = np.where(scores > 0, out, 0.0)
    return out
