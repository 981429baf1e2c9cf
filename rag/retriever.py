"""Hybrid retrieval: FAISS dense search and jieba BM25 fused, with filters by document and region."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from .embeddings import Embedder, get_embedder
from .filters import Filters
from .keyword import BM25, joined_terms, tokenize
from .settings import Settings
from .store import StoredIndex, load_index
from .types import Hit

if TYPE_CHECKING:
    from .query import QueryPlan

log = logging.getLogger(__name__)


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
        self._query_vectors: dict[str, np.ndarray] = {}  # one question is searched more than once (parts, places)
        from .versions import issued_on, version_map

        self.versions = version_map(self.index.docs)
        self._replaced_on = {d: issued_on(self.index.docs[v.superseded_by].doc.metadata)
                             for d, v in self.versions.items() if v.superseded_by}

    @classmethod
    def load(cls, index_dir, settings: Settings | None = None, embedder: Embedder | None = None) -> "Retriever":
        """Load an index from disk (checked against the settings) with the embedder it was built with."""
        settings = settings or Settings()
        index = load_index(index_dir, settings.embedding_fingerprint(), settings.chunker_settings().fingerprint())
        embedder = embedder or get_embedder(settings.embed_backend, settings.embed_model or None)
        return cls(index, embedder, settings)

    def allowed_docs(self, filters: Filters) -> set[str]:
        """The documents a filter lets through (see rag.filters.Filters.allows)."""
        return {d for d, rec in self.index.docs.items()
                if filters.allows(rec, self.versions.get(d), self._replaced_on.get(d, ""))}

    def _mask(self, filters: Filters) -> np.ndarray | None:
        if not filters and not self._replaced_on:  # replaced versions are hidden unless asked for
            return None
        allowed = self.allowed_docs(filters)
        return np.array([d in allowed for d in self._doc_of], dtype=bool)

    def dense_scores(self, query: str) -> np.ndarray:
        """Cosine similarity of the query to every chunk, through the FAISS index."""
        n = len(self.index.chunks)
        out = np.full(n, -1.0, dtype=np.float32)
        if not n:
            return out
        q = self._query_vectors.get(query)
        if q is None:
            q = self.embedder.embed_query(query)[None, :]
            if len(self._query_vectors) > 256:
                self._query_vectors.clear()
            self._query_vectors[query] = q
        with self._lock:
            scores, ids = self.index.faiss_index.search(q, n)
        valid = ids[0] >= 0
        out[ids[0][valid]] = scores[0][valid]
        return out

    def keyword_scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk (query words as jieba cuts them, plus index words that cut split)."""
        return self.bm25.scores(tokenize(query, for_query=True) + joined_terms(query, self.bm25.postings))

    def plan(self, question: str, rewritten: str | None = None) -> "QueryPlan":
        """Read a question (and its standalone rewrite, for a follow-up) into a QueryPlan with its places resolved
        to this index's documents and word lists overridable next to the index."""
        from .query import plan_question

        return plan_question(question, self.index.docs, rewritten=rewritten,
                             index_dir=self.settings.index_dir)

    def search(self, query: "QueryPlan | str", k: int | None = None, mode: str | None = None,
               filters=None) -> list[Hit]:
        """Top-k hits for a question (a QueryPlan, or a string read into one); each hit carries its fused score
        and per-signal scores.

        A question that puts places side by side ("A和B的目标分别是多少") is searched once per place, within that
        place's documents, and the results are interleaved so each place's best clause ranks near the top. A
        question about one place prefers that place's documents and also gets the best passages from within them.
        """
        k = k or self.settings.top_k
        return self.retrieve(query, k, mode, filters)[0][:k]

    def retrieve(self, query: "QueryPlan | str", k: int | None = None, mode: str | None = None,
                 filters=None) -> tuple[list[Hit], list[list[Hit]]]:
        """`search`, also returning the hits of each part of a question that compares places ([] otherwise). For
        a question about one place the hits may run past k: that place's own best passages are appended for the
        answerer to read."""
        k = k or self.settings.top_k
        plan = query if not isinstance(query, str) else self.plan(self._cut(query))
        filters = Filters.of(filters).merged(plan.filters)  # the question's own restrictions ('现行有效的')
        parts = self.search_parts(plan, k, mode, filters)
        if parts:
            return _interleave(parts + [self._search(self._cut(plan.text), k, mode, filters)], k), parts
        return self._search_one(plan, k, mode, filters), []

    def _search_one(self, plan, k: int, mode: str | None, filters) -> list[Hit]:
        text = self._cut(plan.text)
        # a replaced version of a place's document is not preferred (it is hidden unless asked for)
        docs = frozenset(d for d in plan.docs if d not in self._replaced_on)
        if not docs or len(docs) >= len(self.index.docs) or replace(Filters.of(filters), older_versions=False):
            return self._search(text, k, mode, filters)
        hits = self._search(text, k, mode, filters, docs)
        if all(h.chunk.doc_id in docs for h in hits):
            return hits
        # The place's own best passages may rank below other provinces' near-identical notices: add them after
        # the top k (the ranking itself stays as it was).
        seen = {h.chunk.chunk_id for h in hits}
        within = self._search(text, max(2, k // 2), mode, Filters(docs=tuple(sorted(docs))))
        extra = [h for h in within if h.chunk.chunk_id not in seen]
        return hits + [Hit(h.chunk, h.score, h.scores, rank=len(hits) + i + 1) for i, h in enumerate(extra)]

    def search_parts(self, plan, k: int | None = None, mode: str | None = None, filters=None) -> list[list[Hit]]:
        """Hits for each part of a question that compares places (one search within each place's documents);
        [] for a question of one part. The one place where per-place retrieval happens."""
        if not plan.parts or Filters.of(filters).docs:
            return []
        k = k or self.settings.top_k
        user = Filters.of(filters)
        allowed = self.allowed_docs(user) if user else None
        out = []
        for part in plan.parts:
            docs = tuple(d for d in part.docs if allowed is None or d in allowed)
            if part.docs and not docs:
                out.append([])
                continue
            f = replace(user, docs=docs) if docs else user
            out.append(self._search(self._cut(part.text), k, mode, f))
        return out

    def _cut(self, query: str) -> str:
        limit = self.settings.max_question_chars
        if len(query) > limit:  # the model reads ~512 tokens anyway; a pasted page would cost seconds to embed
            log.warning("query of %d chars cut to its first %d for retrieval", len(query), limit)
            return query[:limit]
        return query

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


def _interleave(lists: list[list[Hit]], k: int) -> list[Hit]:
    """Round-robin merge of ranked hit lists (first list first), without repeats, renumbered."""
    merged: list[Hit] = []
    seen: set[str] = set()
    for rank in range(max((len(x) for x in lists), default=0)):
        for hits in lists:
            if rank < len(hits) and hits[rank].chunk.chunk_id not in seen:
                seen.add(hits[rank].chunk.chunk_id)
                merged.append(hits[rank])
    return [Hit(h.chunk, h.score, h.scores, rank=i + 1) for i, h in enumerate(merged[:k])]


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
