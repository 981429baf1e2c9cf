"""Filtered search on the local store, fast path against a plain reference: the bundled corpus plus a law in two
versions (the older one hidden by default). The store works out each set of allowed documents once (a row mask, a
FAISS bitmap selector), and when a filter hides only a few rows it drops them from one wider IVF search instead of
running a second, filtered one. The reference below does what the store did before: a mask built document by
document and a FAISS search restricted to the allowed rows by an id list. Every hit, rank and score must be equal.
"""

from __future__ import annotations

import numpy as np
import pytest

from rag.filters import Filters
from rag.retriever import Retriever
from rag.store import LocalStore, open_store
from rag.store import local as local_store
from rag.store.base import Ranked, top_ids
from tests.test_versions import NEW, OLD, versions_index  # noqa: F401  (the fixture)

QUESTIONS = ["对新落户企业的补助最高多少？", "人才住房政策", "医疗器械注册证奖励", "水利工程管理单位的职责是什么",
             "违反本条例规定的如何处罚", "水利工程的管理范围和保护范围如何划定", "发展目标"]


class ReferenceStore(LocalStore):
    """The filtered searches written the plain way (per-document mask, FAISS search over an id list)."""

    def mask_of(self, allowed):
        if allowed is None:
            return None
        mask = np.zeros(len(self), dtype=bool)
        for d in allowed:
            if d in self._doc_rows:
                s, c = self._doc_rows[d]
                mask[s:s + c] = True
        return mask

    def dense(self, query_vector, k, allowed):
        if self.faiss_index.__class__.__name__ == "IndexFlatIP":
            return super().dense(query_vector, k, allowed)
        import faiss

        q = np.ascontiguousarray(query_vector, dtype=np.float32).reshape(1, -1)
        top_s, top_i = self.faiss_index.search(q, max(k, 1))
        neg_s, _ = self.faiss_index.search(-q, 1)
        lo, hi = float(-neg_s[0][0]), float(top_s[0][0])
        exact = lambda ids: np.asarray(self.vectors[np.asarray(ids, dtype=np.int64)] @ q[0], dtype=np.float32)  # noqa: E731
        if allowed is not None:
            rows = np.flatnonzero(self.mask_of(allowed))
            if len(rows) <= local_store.EXACT_FILTER_BELOW:
                ids, scores = top_ids(exact(rows), rows, k)
                return Ranked(ids, scores, lo, hi, len(rows) <= k, exact)
            params = faiss.SearchParametersIVF(sel=faiss.IDSelectorBatch(rows), nprobe=self.faiss_index.nprobe)
            top_s, top_i = self.faiss_index.search(q, k, params=params)
        valid = top_i[0] >= 0
        return Ranked(top_i[0][valid].astype(np.int64), top_s[0][valid], lo, hi, False, exact)

    def keyword(self, query, tokens, k, allowed):
        full = self.kw.scores(tokens)
        return local_store._ranked_from_full(full, self.mask_of(allowed), k, floor=0.0)


def _small_ivf(vectors: np.ndarray):
    """An IVF index over the corpus vectors, searching few lists (so a filter changes what it finds)."""
    import faiss

    x = np.ascontiguousarray(vectors, dtype=np.float32)
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(x.shape[1]), x.shape[1], 8, faiss.METRIC_INNER_PRODUCT)
    index.train(x)
    index.add(x)
    index.nprobe = 2
    return index


@pytest.fixture(scope="module")
def store_pair(versions_index, settings_factory):  # noqa: F811
    settings = settings_factory(versions_index)
    fast = open_store(settings, versions_index)
    ref = ReferenceStore(fast.path, fast.gen, fast.manifest)
    return settings, fast, ref


@pytest.mark.parametrize("kind", ["flat", "ivf-merged", "ivf-selector"])
def test_filtered_search_equals_the_plain_reference(store_pair, assistant, monkeypatch, kind):
    import rag.retriever

    settings, fast, ref = store_pair
    # few candidates per signal: the IVF lists searched hold more chunks than asked for, so a hidden chunk left in
    # (or an allowed one lost) changes the hits; the widening of candidates runs too
    monkeypatch.setattr(rag.retriever, "CANDIDATES", 1)
    if kind != "flat":
        ivf = _small_ivf(np.asarray(fast.vectors))
        monkeypatch.setattr(fast, "faiss_index", ivf)
        monkeypatch.setattr(ref, "faiss_index", ivf)
        monkeypatch.setattr(local_store, "EXACT_FILTER_BELOW", 0)  # filtered searches go through FAISS
        monkeypatch.setattr(local_store, "MERGE_HIDDEN_UP_TO", 10**9 if kind == "ivf-merged" else 0)
    embedder = assistant.retriever.embedder
    r_fast, r_ref = Retriever(fast, embedder, settings), Retriever(ref, embedder, settings)
    assert r_fast._replaced_on == {OLD: r_fast._replaced_on[OLD]}  # the older version is hidden by default
    hidden = len(fast) - int(fast.mask_of(r_fast.allowed_docs(Filters())).sum())
    assert 0 < hidden == fast.docs[OLD].chunk_count
    region = fast.summaries[NEW].regions[0]
    filters = [None, Filters(older_versions=True), Filters(docs=(OLD, NEW)), Filters(regions=(region,)),
               Filters(regions=(region,), older_versions=True)]
    seen_old = {None: False, True: False}
    for q in QUESTIONS:
        for f in filters:
            for mode in ("hybrid", "dense", "keyword"):
                for k in (5, 30):
                    got = [(h.chunk.chunk_id, h.score, h.scores["dense"], h.scores["keyword"])
                           for h in r_fast._search(q, k, mode, f)]
                    want = [(h.chunk.chunk_id, h.score, h.scores["dense"], h.scores["keyword"])
                            for h in r_ref._search(q, k, mode, f)]
                    assert got == want, (kind, q, f, mode, k)
                    has_old = any(cid in _old_chunks(fast) for cid, *_ in got)
                    if f is None:
                        assert not has_old, (kind, q, mode)  # hidden unless asked for
                    elif f.older_versions:
                        seen_old[True] |= has_old
    assert seen_old[True]  # asked for, the older version is found


def test_the_default_filter_is_worked_out_once(store_pair, assistant):
    """The retriever hands the store the same set for every unfiltered search; the store keeps its rows."""
    settings, fast, _ = store_pair
    r = Retriever(fast, assistant.retriever.embedder, settings)
    a = r.allowed_docs(Filters())
    assert r.allowed_docs(Filters()) is a and OLD not in a and NEW in a
    assert fast._selection(a) is fast._selection(a)
    with pytest.raises(ValueError):  # shared between searches: nobody may write into it
        fast.mask_of(a)[0] = False


_OLD_CHUNKS: dict[int, set[str]] = {}


def _old_chunks(store) -> set[str]:
    if id(store) not in _OLD_CHUNKS:
        _OLD_CHUNKS[id(store)] = {c.chunk_id for c in store.chunks_of([OLD])}
    return _OLD_CHUNKS[id(store)]
