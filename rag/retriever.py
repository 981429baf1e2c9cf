"""Hybrid retrieval: FAISS dense search and jieba BM25 fused, with filters by document and region."""

from __future__ import annotations

import logging
from datetime import date
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .embeddings import Embedder, get_embedder
from .filters import Filters
from .keyword import joined_terms, tokenize
from .settings import Settings
from .store import Ranked, Store, open_store
from .store.base import top_ids
from .types import Hit

if TYPE_CHECKING:
    from .query import QueryPlan

log = logging.getLogger(__name__)


@dataclass
class Retriever:
    """Search one index by dense vectors, keywords, or both fused (weighted min-max or reciprocal rank).

    The index is any `Store` (local files or Milvus): each signal comes back as its best candidates plus the
    signal's range over the whole index; fusion happens here, the same for every backend. Weighted fusion is
    exact: candidates are widened until no chunk outside them could outscore the k-th (a threshold bound)."""

    index: Store
    embedder: Embedder
    settings: Settings = field(default_factory=Settings)

    def __post_init__(self) -> None:
        self.bm25 = self.index.keyword_stats  # document frequencies the answerer weighs question words by
        # one question is searched more than once (parts, places, the same set on two stores): vectors are kept
        # per embedder and text for the process
        e = self.embedder
        self._query_vectors = _QUERY_VECTORS.setdefault((type(e).__name__, getattr(e, "name", ""), e.dim), {})
        from .versions import issued_on, version_map

        headers = getattr(self.index, "doc_headers", None)  # titles and metadata, without reading every text
        self.versions = version_map(headers() if headers is not None else self.index.docs)
        self._allowed: dict[tuple, frozenset[str]] = {}  # filters' documents (metadata filters: by day)
        self._replaced_on = {d: issued_on(self.index.docs[v.superseded_by].doc.metadata)
                             for d, v in self.versions.items() if v.superseded_by}

    @classmethod
    def load(cls, index_dir, settings: Settings | None = None, embedder: Embedder | None = None) -> "Retriever":
        """Open an index (checked against the settings) with the embedder it was built with. The settings' index
        folder becomes `index_dir`: the word lists next to it are the ones its plans and query words are read with."""
        settings = (settings or Settings()).model_copy(update={"index_dir": Path(index_dir)})
        index = open_store(settings, index_dir)
        embedder = embedder or get_embedder(settings.embed_backend, settings.embed_model or None)
        return cls(index, embedder, settings)

    def allowed_docs(self, filters: Filters) -> frozenset[str]:
        """The documents a filter lets through (see rag.filters.Filters.allows).

        Documents, regions and replaced versions are read from the stores' summaries (no document record is
        read: a library of many thousand documents is not scanned per question); a filter on issuers, 文号 or
        dates reads every record once. Each answer is kept (a metadata filter's for the day): the index of a
        retriever never changes."""
        # One frozenset object per filter, kept: every search without a filter still hides replaced versions, and
        # a store keeps its own per-set work (row masks, FAISS selectors) keyed by the set it is handed again.
        key = (filters, date.today().isoformat()) if filters.by_metadata else (filters,)
        found = self._allowed.get(key)
        if found is not None:
            return found
        if not filters.by_metadata:
            summaries = self.index.summaries
            ids = [d for d in filters.docs if d in summaries] if filters.docs else summaries
            out = set()
            for d in ids:
                v = self.versions.get(d)
                if not filters.older_versions and not filters.docs and v is not None and not v.current:
                    continue
                if filters.regions and not set(summaries[d].regions) & set(filters.regions):
                    continue
                out.add(d)
            found = frozenset(out)
        else:
            found = frozenset(d for d, rec in self.index.docs.items()
                              if filters.allows(rec, self.versions.get(d), self._replaced_on.get(d, "")))
        if len(self._allowed) >= 256:
            self._allowed.clear()
        self._allowed[key] = found
        return found

    def query_vector(self, query: str) -> np.ndarray:
        """The query's embedding (cached per text)."""
        q = self._query_vectors.get(query)
        if q is None:
            q = self.embedder.embed_query(query)
            if len(self._query_vectors) > 4096:
                self._query_vectors.clear()
            self._query_vectors[query] = q
        return q

    def query_tokens(self, query: str) -> list[str]:
        """Query words as jieba cuts them, plus index words that cut split."""
        where = self.settings.index_dir
        return tokenize(query, for_query=True, index_dir=where) + joined_terms(query, self.bm25, index_dir=where)

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
        n = len(self.index)
        if not n or not query.strip():
            return []
        f = Filters.of(filters)
        allowed = self.allowed_docs(f) if f or self._replaced_on else None  # replaced versions hidden unless asked
        if allowed is not None and not allowed:
            return []
        q = self.query_vector(query) if mode in ("hybrid", "dense") else None
        tokens = self.query_tokens(query) if mode in ("hybrid", "keyword") else None
        prefer = prefer if mode == "hybrid" and self.settings.place_bonus else frozenset()
        want = max(CANDIDATES, 4 * k)
        while True:
            lists = [self.index.dense(q, want, allowed) if q is not None else None,
                     self.index.keyword(query, tokens, want, allowed) if tokens is not None else None]
            if prefer:
                # A question about one place ("某省…的发展目标") prefers that place's documents; a soft bonus,
                # not a filter, so a clause elsewhere that answers far better still ranks.
                within = set(prefer) if allowed is None else set(prefer) & allowed
                lists += [self.index.dense(q, want, within), self.index.keyword(query, tokens, want, within)]
            if all(r.full is not None for r in lists[:2] if r is not None):
                return self._fuse_full(lists[0], lists[1], k, mode, allowed, prefer)
            hits, exact = self._fuse(lists, k, mode, prefer)
            if exact or want >= n:
                return hits
            want *= 4

    def _fuse_full(self, dense: Ranked | None, kw: Ranked | None, k: int, mode: str, allowed: set[str] | None,
                   prefer: frozenset[str]) -> list[Hit]:
        """Fusion over every chunk's scores (a backend that computes them all, e.g. exact FAISS)."""
        n = len(self.index)
        d = dense.full if dense is not None else np.zeros(n, dtype=np.float32)
        s = kw.full if kw is not None else np.zeros(n, dtype=np.float32)
        if mode == "dense":
            fused = d.copy()
        elif mode == "keyword":
            fused = s.copy()
        elif self.settings.fusion == "rrf":
            w = self.settings.dense_weight
            fused = w * _rrf_full(d, self.settings.rrf_k) + (1 - w) * _rrf_full(s, self.settings.rrf_k, True)
        else:
            w = self.settings.dense_weight
            fused = w * _minmax(d, dense.lo, dense.hi) + (1 - w) * _minmax(s, kw.lo, kw.hi)
        if prefer:
            fused = fused + self.settings.place_bonus * np.isin(self.index.doc_of(np.arange(n)), list(prefer))
        if allowed is not None:
            fused = np.where(self.index.mask_of(allowed), fused, -np.inf)
        if mode == "keyword":
            fused = np.where(s > 0, fused, -np.inf)
        rows = np.flatnonzero(np.isfinite(fused))
        ids, _ = top_ids(fused[rows], rows, k)
        chunks = self.index.chunks_at(ids)
        return [Hit(chunk=c, score=float(fused[i]), scores={"dense": float(d[i]), "keyword": float(s[i])}, rank=r + 1)
                for r, (i, c) in enumerate(zip(ids, chunks))]

    def _fuse(self, lists: list[Ranked | None], k: int, mode: str, prefer: frozenset[str]) -> tuple[list[Hit], bool]:
        """Fuse the signals' candidates into the top k; also whether no chunk outside them could rank higher."""
        dense, kw = lists[0], lists[1]
        ids = np.unique(np.concatenate([r.ids for r in lists if r is not None]).astype(np.int64))
        if not len(ids):
            return [], all(r.complete for r in lists if r is not None)
        d = _scores_at(dense, ids) if dense is not None else np.zeros(len(ids), dtype=np.float32)
        s = _scores_at(kw, ids) if kw is not None else np.zeros(len(ids), dtype=np.float32)
        w = self.settings.dense_weight
        if mode == "dense":
            fused, ok = d, np.ones(len(ids), dtype=bool)
        elif mode == "keyword":
            fused, ok = s, s > 0
        elif self.settings.fusion == "rrf":
            fused = w * _rrf(dense, ids, self.settings.rrf_k) + (1 - w) * _rrf(kw, ids, self.settings.rrf_k, True)
            ok = np.ones(len(ids), dtype=bool)
        else:
            fused = w * _minmax(d, dense.lo, dense.hi) + (1 - w) * _minmax(s, kw.lo, kw.hi)
            ok = np.ones(len(ids), dtype=bool)
        if prefer:
            fused = fused + self.settings.place_bonus * np.isin(self.index.doc_of(ids), list(prefer))
        ids, fused, d, s = ids[ok], fused[ok], d[ok], s[ok]
        order = np.lexsort((ids, -fused))[:k]
        chunks = self.index.chunks_at(ids[order])
        hits = [Hit(chunk=c, score=float(fused[i]), scores={"dense": float(d[i]), "keyword": float(s[i])},
                    rank=r + 1) for r, (i, c) in enumerate(zip(order, chunks))]
        return hits, self._exact(lists, mode, fused[order], k)

    def _exact(self, lists: list[Ranked | None], mode: str, top: np.ndarray, k: int) -> bool:
        """Could a chunk outside the candidates outscore the k-th hit? (no: the hits are exact)"""
        if mode in ("dense", "keyword") or self.settings.fusion == "rrf":
            return True  # one signal's own top k; RRF over candidates is by construction over their ranks
        w = self.settings.dense_weight

        def bound(dense: Ranked, kw: Ranked) -> float:
            if dense.complete:
                return -np.inf  # every allowed chunk is a candidate already
            d_last = float(dense.scores[-1]) if len(dense.scores) else dense.lo
            k_last = 0.0 if kw.complete or not len(kw.scores) else float(kw.scores[-1])
            return (w * float(_minmax(np.float32([d_last]), dense.lo, dense.hi)[0])
                    + (1 - w) * float(_minmax(np.float32([k_last]), kw.lo, kw.hi)[0]))

        limit = bound(lists[0], lists[1])
        if len(lists) > 2:
            limit = max(limit, bound(lists[2], lists[3]) + self.settings.place_bonus)
        if limit == -np.inf:
            return True
        return len(top) >= k and float(top[-1]) >= limit


_QUERY_VECTORS: dict[tuple, dict[str, np.ndarray]] = {}
CANDIDATES = 200  # first candidates per signal; widened while the threshold bound says more could rank


def _scores_at(r: Ranked, ids: np.ndarray) -> np.ndarray:
    """The signal's score of each id: from its list where listed, else exactly from the store."""
    out = np.zeros(len(ids), dtype=np.float32)
    if not len(ids):
        return out
    order = np.argsort(r.ids, kind="stable")
    listed = r.ids[order]
    pos = np.minimum(np.searchsorted(listed, ids), max(len(listed) - 1, 0))
    found = listed[pos] == ids if len(listed) else np.zeros(len(ids), dtype=bool)
    out[found] = np.asarray(r.scores)[order[pos[found]]]
    missing = np.flatnonzero(~found)
    if len(missing) and not r.complete:  # a complete list holds every allowed chunk that scores above zero
        out[missing] = r.score_of(ids[missing])
    return out


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


def _minmax(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    if hi - lo < 1e-9:
        return np.zeros_like(x)
    return (x - lo) / (hi - lo)


def _rrf_full(scores: np.ndarray, k: int, zero_is_missing: bool = False) -> np.ndarray:
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(len(scores), dtype=np.float32)
    ranks[order] = np.arange(1, len(scores) + 1, dtype=np.float32)
    out = 1.0 / (k + ranks)
    if zero_is_missing:
        out = np.where(scores > 0, out, 0.0)
    return out


def _rrf(r: Ranked, ids: np.ndarray, k: int, zero_is_missing: bool = False) -> np.ndarray:
    """Reciprocal rank of each candidate in the signal's list (a candidate it did not list: beyond it)."""
    rank = {int(i): j + 1 for j, i in enumerate(r.ids)}
    scores = _scores_at(r, ids)
    out = np.array([1.0 / (k + rank.get(int(i), len(r.ids) + 1)) for i in ids], dtype=np.float32)
    if zero_is_missing:
        out = np.where(scores > 0, out, 0.0)
    return out
