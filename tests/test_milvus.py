"""The `milvus` store on a real Milvus Lite file: made from the local index's vectors, searched with the same
fusion, filters pushed down as Milvus expressions, documents added and removed incrementally."""

from __future__ import annotations

import pytest

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

import numpy as np  # noqa: E402

from rag.answer.features import sentence_texts  # noqa: E402
from rag.ingest import ingest  # noqa: E402
from rag.retriever import Filters, Retriever  # noqa: E402
from rag.store import copy_index, current_generation, open_local, open_store, text_key  # noqa: E402

from .test_index import NEW_DOC  # noqa: E402

QUESTIONS = ["对新落户企业的补助最高多少？", "人才住房政策", "医疗器械注册证奖励", "产业规模目标是多少"]


@pytest.fixture(scope="module")
def milvus_settings(tmp_path_factory, settings):
    folder = tmp_path_factory.mktemp("milvus")
    return settings.model_copy(update={"store": "milvus", "milvus_uri": str(folder / "lite.db"),
                                       "index_dir": folder / "index"})


@pytest.fixture(scope="module")
def milvus_index(milvus_settings, corpus_index):
    copy_index(open_local(corpus_index), milvus_settings.index_dir, milvus_settings)
    return milvus_settings.index_dir


@pytest.fixture(scope="module")
def milvus_retriever(milvus_index, milvus_settings, retriever):
    return Retriever.load(milvus_index, milvus_settings, embedder=retriever.embedder)


def test_milvus_index_holds_what_the_local_one_holds(milvus_retriever, retriever):
    store = milvus_retriever.index
    assert store.name == "milvus" and len(store) == len(retriever.index)
    assert set(store.docs) == set(retriever.index.docs)
    stats = store.client.get_collection_stats(store.collection)
    assert int(stats["row_count"]) == len(retriever.index)
    assert store.keyword_stats.n == len(store)
    for term in ("企业", "bi:企业"):
        assert store.keyword_stats.df(term) == retriever.bm25.df(term)
    # the sentence vectors the answer ranker reads come along
    chunks = retriever.index.chunks_at(range(len(retriever.index)))
    local, copied = retriever.index.sentence_vectors(chunks), store.sentence_vectors(chunks)
    assert len(copied) == len(local) == len(chunks)
    assert all(np.array_equal(copied[c], local[c]) for c in local)


def test_dense_search_matches_local(milvus_retriever, retriever):
    """HNSW over 120 vectors finds what exact search finds, with the same cosine scores."""
    for q in QUESTIONS:
        a = [(h.chunk.chunk_id, round(h.scores["dense"], 4)) for h in retriever.search(q, k=5, mode="dense")]
        b = [(h.chunk.chunk_id, round(h.scores["dense"], 4)) for h in milvus_retriever.search(q, k=5, mode="dense")]
        assert a == b, q


def test_hybrid_search_agrees_with_local(milvus_retriever, retriever):
    """Milvus's BM25 (jieba words) differs from ours (words and bigrams), so hybrid rankings are close, not
    equal: most of the local top 5 is in Milvus's top 5, and the best hit of keyword search is a real match."""
    overlap = []
    for q in QUESTIONS:
        a = {h.chunk.chunk_id for h in retriever.search(q, k=5)}
        b = {h.chunk.chunk_id for h in milvus_retriever.search(q, k=5)}
        overlap.append(len(a & b) / 5)
        kw = milvus_retriever.search(q, k=3, mode="keyword")
        assert kw and all(h.scores["keyword"] > 0 for h in kw)
    assert sum(overlap) / len(overlap) >= 0.6, overlap


def test_keyword_search_is_local_bm25_exactly(milvus_retriever, retriever):
    """Under `terms` Milvus's BM25 function counts PolicyQA's own tokens: the same chunks with the same scores."""
    assert milvus_retriever.index.keyword_mode == "terms"
    for q in QUESTIONS:
        a = [(h.chunk.chunk_id, round(h.scores["keyword"], 3)) for h in retriever.search(q, k=8, mode="keyword")]
        b = [(h.chunk.chunk_id, round(h.scores["keyword"], 3)) for h in milvus_retriever.search(q, k=8, mode="keyword")]
        assert a and a == b, q


def test_jieba_analyzer_mode_still_searches(corpus_index, milvus_settings, tmp_path, retriever):
    """RAG_MILVUS_KEYWORD=jieba: Milvus's own jieba analyzer over the text (kept for clients reading the collection)."""
    s = milvus_settings.model_copy(update={"milvus_keyword": "jieba", "index_dir": tmp_path / "jieba"})
    store = copy_index(open_local(corpus_index), s.index_dir, s)
    assert store.keyword_mode == "jieba" and store.manifest["milvus"]["keyword"] == "jieba"
    r = Retriever(store, retriever.embedder, s)
    hits = r.search("医疗器械注册证奖励", k=3, mode="keyword")
    assert hits and all(h.scores["keyword"] > 0 for h in hits)
    row = store.client.query(store.collection, filter="pk >= 0", output_fields=["text"], limit=1)
    assert row and any("\u4e00" <= ch <= "\u9fff" for ch in row[0]["text"])  # readable Chinese text in Milvus


def test_filters_are_pushed_down(milvus_retriever):
    store = milvus_retriever.index
    doc = sorted(store.docs)[0]
    hits = milvus_retriever.search(QUESTIONS[0], k=5, filters=Filters(docs=(doc,)))
    assert hits and all(h.chunk.doc_id == doc for h in hits)
    region = next(r for s in store.summaries.values() for r in s.regions if r)
    allowed = {d for d, s in store.summaries.items() if region in s.regions}
    hits = milvus_retriever.search(QUESTIONS[1], k=5, filters=Filters(regions=(region,)))
    assert hits and all(h.chunk.doc_id in allowed for h in hits)
    assert store._filter({doc}) == f'doc_id in ["{doc}"]'
    most = set(store.summaries) - {doc}  # hiding one document sends that one id, not all the others
    assert store._filter(most) == f'doc_id not in ["{doc}"]' and store._filter(set(store.summaries)) == ""
    hits = milvus_retriever.search(QUESTIONS[0], k=5, filters=Filters(docs=tuple(sorted(most))))
    assert hits and all(h.chunk.doc_id != doc for h in hits)


def test_incremental_add_and_remove(milvus_index, milvus_settings, tmp_path, retriever):
    new = tmp_path / "measures.txt"
    new.write_text(NEW_DOC, encoding="utf-8")
    before = current_generation(milvus_index)
    report = ingest([new], milvus_settings, index_dir=milvus_index, embedder=retriever.embedder)
    assert report.added == ["measures.txt"] and report.wrote
    store = open_store(milvus_settings, milvus_index)
    assert current_generation(milvus_index) != before and "measures.txt" in store.docs
    r = Retriever(store, retriever.embedder, milvus_settings)
    own = r.search("首次取得第三类医疗器械注册证奖励多少", k=3, filters=Filters(docs=("measures.txt",)))
    assert own and all(h.chunk.doc_id == "measures.txt" for h in own)  # its chunks are in the collection
    assert "measures.txt" in {h.chunk.doc_id for h in r.search("首次取得第三类医疗器械注册证奖励多少", k=5)}
    added = store.chunks_of(["measures.txt"])
    stored = store.sentence_vectors(added)
    assert set(stored) == {c.chunk_id for c in added}
    assert all(len(stored[c.chunk_id]) == len(sentence_texts(c)) for c in added)
    n_with = len(store)

    ingest([], milvus_settings, index_dir=milvus_index, remove=["measures.txt"], embedder=retriever.embedder)
    store = open_store(milvus_settings, milvus_index)
    assert "measures.txt" not in store.docs and len(store) < n_with
    rows = store.client.query(store.collection, filter='doc_id == "measures.txt"', output_fields=["pk"])
    assert rows == []
    assert store.sentence_rows([text_key(c.embed_text()) for c in added]) == {}  # pruned with its chunks
    r = Retriever(store, retriever.embedder, milvus_settings)
    assert all(h.chunk.doc_id != "measures.txt" for h in r.search("第三类医疗器械注册证", k=5))


def test_eval_copy_is_remade_when_the_local_index_changed_its_chunker(index_copy, milvus_settings, tmp_path):
    """`rag eval --stores milvus` reuses its Milvus copy of a set's index while the local index is the same, and
    remakes it when the local one was rebuilt under other chunker settings (same documents, other chunks)."""
    import json

    from rag.eval_sets import on_store

    s = milvus_settings.model_copy(update={"milvus_uri": str(tmp_path / "evalcopy.db")})
    target = on_store(index_copy, s)
    first = current_generation(target)
    assert on_store(index_copy, s) == target and current_generation(target) == first  # unchanged: reused
    path = first / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(dict(manifest, chunker={**manifest["chunker"], "version": 1})), encoding="utf-8")
    on_store(index_copy, s)
    again = current_generation(target)
    assert again != first
    assert json.loads((again / "manifest.json").read_text(encoding="utf-8"))["chunker"] == manifest["chunker"]


def test_hiding_a_few_documents_is_one_search_per_signal(milvus_retriever, monkeypatch):
    """A filter that hides a few documents (the default hides replaced versions) is one unfiltered search per
    signal with the hidden chunks dropped after; it finds what the filter expression finds, with the same scores,
    and the score of a chunk outside the list is its exact inner product (a point read, not a filtered search)."""
    import numpy as np

    import rag.store.milvus as milvus

    store = milvus_retriever.index
    calls = []
    real_search = store.client.search
    monkeypatch.setattr(store.client, "search", lambda *a, **k: calls.append(k.get("filter")) or real_search(*a, **k))
    for q in QUESTIONS:
        v = milvus_retriever.query_vector(q)
        tokens = milvus_retriever.query_tokens(q)
        best = store.chunks_at(store.dense(v, 1, None).ids)[0].doc_id  # hide the document that ranks first
        most = frozenset(store.summaries) - {best}
        hidden = {c.chunk_id for c in store.chunks_of([best])}
        for signal in ("dense", "keyword"):
            search = (lambda s: store.dense(v, 20, s)) if signal == "dense" else (
                lambda s: store.keyword(q, tokens, 20, s))
            store._hidden_cache.clear()
            calls.clear()
            fast = search(most)
            assert calls == [""], (q, signal)  # one search, no filter expression
            monkeypatch.setattr(milvus, "MERGE_HIDDEN_UP_TO", -1)
            store._hidden_cache.clear()
            plain = search(most)
            monkeypatch.setattr(milvus, "MERGE_HIDDEN_UP_TO", 4096)
            store._hidden_cache.clear()
            assert len(fast.ids) and fast.ids.tolist() == plain.ids.tolist(), (q, signal)
            assert np.allclose(fast.scores, plain.scores, atol=1e-5) and (fast.lo, fast.hi) == (plain.lo, plain.hi)
            assert not hidden & {c.chunk_id for c in store.chunks_at(fast.ids)}
            if signal == "dense":
                assert np.allclose(fast.score_of(fast.ids), fast.scores, atol=1e-5)
