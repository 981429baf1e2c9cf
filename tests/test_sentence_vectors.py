"""Sentence vectors stored at ingest and the answer ranker's sentence-dense signals: on the real corpus index, with
the bundled embedding model; written with every chunk, kept through incremental ingest, pruned with their
documents, filled in for an index written without them, and read as missing (never a failure) when absent."""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import replace

import numpy as np

from rag.answer.features import FEATURES, candidates, features, sentence_texts
from rag.answer.select import select
from rag.answer.sentsim import SentenceSims
from rag.ingest import index_is_stale, ingest
from rag.retriever import Retriever
from rag.store import current_generation, load_index, text_key

from .conftest import CORPUS
from .test_index import NEW_DOC

SENT = [FEATURES.index(f) for f in ("sent_dense", "sent_dense_gap", "sent_dense_mean")]


def _rows(index_dir) -> int:
    with sqlite3.connect(current_generation(index_dir) / "records.sqlite") as db:
        return db.execute("SELECT COUNT(*) FROM sentvecs").fetchone()[0]


def test_every_chunk_has_the_vectors_of_its_sentences(corpus_index, retriever):
    index = load_index(corpus_index)
    chunks = list(index.chunks)
    stored = index.sentence_vectors(chunks)
    assert set(stored) == {c.chunk_id for c in chunks}
    assert all(stored[c.chunk_id].shape == (len(sentence_texts(c)), index.dim) for c in chunks)
    assert json.loads((current_generation(corpus_index) / "manifest.json").read_text())["sentences"] is True
    # each row is the model's vector of that sentence (stored as float16)
    chunk = max(chunks, key=lambda c: len(sentence_texts(c)))
    texts = sentence_texts(chunk)
    assert len(texts) >= 3
    fresh = retriever.embedder.embed_passages(texts)
    assert np.allclose(stored[chunk.chunk_id], fresh, atol=2e-3)
    assert not np.allclose(stored[chunk.chunk_id][0], stored[chunk.chunk_id][1], atol=2e-3)


def test_a_table_row_is_embedded_under_its_column_names(corpus_index):
    chunk = replace(load_index(corpus_index).chunks[0], text="| 地区 | 2025年目标 |\n| 东区 | 产值100亿元 |",
                    table_header="| 地区 | 2025年目标 |", chunk_id="table-test")
    texts = sentence_texts(chunk)
    assert len(texts) == 2 and "东区" in texts[1] and "2025年目标" in texts[1]  # the row under its header's names


def test_added_documents_get_them_and_removed_ones_take_them_along(index_copy, settings_factory, tmp_path):
    settings = settings_factory(index_copy)
    before = _rows(index_copy)
    doc = tmp_path / "measures.txt"
    doc.write_text(NEW_DOC, encoding="utf-8")
    report = ingest([doc], settings)
    index = load_index(index_copy)
    own = [c for c in index.chunks if c.doc_id == "measures.txt"]
    stored = index.sentence_vectors(own)
    assert set(stored) == {c.chunk_id for c in own}
    assert report.n_sentences_embedded == len({t for c in own for t in sentence_texts(c)}) > 0
    assert _rows(index_copy) == before + len({text_key(c.embed_text()) for c in own})
    # the other documents' rows were carried over, not recomputed
    assert len(index.sentence_vectors(list(index.chunks))) == len(index.chunks)

    ingest([], settings, remove=["measures.txt"])
    assert _rows(index_copy) == before


def test_an_index_written_without_them_is_filled_in_without_re_embedding_its_chunks(index_copy, settings_factory):
    gen = current_generation(index_copy)
    with sqlite3.connect(gen / "records.sqlite") as db:
        db.execute("DROP TABLE sentvecs")  # as records written before sentence vectors existed
    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    del manifest["sentences"]
    (gen / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    settings = settings_factory(index_copy)
    old = load_index(index_copy)
    assert old.sentence_vectors(list(old.chunks)) == {}  # read as absent, not an error
    assert index_is_stale(settings, index_copy, CORPUS)  # so the app's start-up ingest fills them in

    report = ingest([CORPUS], settings)
    assert report.wrote and report.n_embedded == 0 and report.n_sentences_embedded > 0
    index = load_index(index_copy)
    assert len(index.sentence_vectors(list(index.chunks))) == len(index.chunks)
    assert np.array_equal(np.asarray(index.vectors), np.asarray(old.vectors))
    assert not index_is_stale(settings, index_copy, CORPUS)
    again = ingest([CORPUS], settings)
    assert not again.wrote and again.n_sentences_embedded == 0


def test_switched_off_nothing_is_embedded_for_them_and_answers_still_come(index_copy, settings_factory, tmp_path,
                                                                         retriever):
    settings = settings_factory(index_copy, sentence_vectors=False)
    doc = tmp_path / "measures.txt"
    doc.write_text(NEW_DOC, encoding="utf-8")
    report = ingest([doc], settings, embedder=retriever.embedder)
    assert report.n_sentences_embedded == 0 and report.n_embedded > 0
    index = load_index(index_copy)
    own = [c for c in index.chunks if c.doc_id == "measures.txt"]
    assert index.sentence_vectors(own) == {}
    r = Retriever(index, retriever.embedder, settings)
    plan = r.plan("首次取得第三类医疗器械注册证的产品奖励多少？")
    hits = [h for h in r.search(plan, k=5) if h.chunk.doc_id == "measures.txt"]
    assert hits
    cands = candidates(hits)
    X = features(plan, cands, hits, index.docs, r.bm25, sims=SentenceSims.of(r)(plan.text, [h.chunk for h in hits]))
    assert np.isnan(X[:, SENT]).all()  # missing, as the ranker reads it
    best = select(plan, hits, index.docs, r.bm25, sims=SentenceSims.of(r)).best
    assert best is not None and "300万元" in best.text


def test_signals_are_the_question_similarity_of_a_candidates_sentences(retriever, settings):
    plan = retriever.plan("医疗器械注册证审批时限压缩多少？")
    hits = retriever.search(plan, k=5)
    cands = candidates(hits)
    sims = SentenceSims.of(retriever)(plan.text, [h.chunk for h in hits])
    X = features(plan, cands, hits, retriever.index.docs, retriever.bm25, sims=sims)
    q = retriever.query_vector(plan.text)
    c = next(c for c in cands if c.kind == "run")
    own = retriever.index.sentence_vectors([c.hit.chunk])[c.hit.chunk.chunk_id][c.lo: c.hi + 1] @ q
    row = X[cands.index(c)]
    assert np.isclose(row[SENT[0]], own.max(), atol=1e-5) and np.isclose(row[SENT[2]], own.mean(), atol=1e-5)
    assert np.isclose(X[:, SENT[1]].max(), 0.0) and (X[:, SENT[1]] <= 0).all()
    assert np.allclose(X[:, SENT[1]], X[:, SENT[0]] - X[:, SENT[0]].max())
    # without the similarities the same candidates get the same other signals and missing sentence ones
    Y = features(plan, cands, hits, retriever.index.docs, retriever.bm25)
    assert np.isnan(Y[:, SENT]).all()
    others = [i for i in range(len(FEATURES)) if i not in SENT]
    assert np.array_equal(X[:, others], Y[:, others])


def test_a_damaged_row_or_a_failing_model_costs_the_signal_not_the_answer(index_copy, settings, retriever, caplog):
    gen = current_generation(index_copy)
    index = load_index(index_copy)
    chunk = index.chunks[0]
    with sqlite3.connect(gen / "records.sqlite") as db:
        db.execute("UPDATE sentvecs SET vecs = ? WHERE key = ?", (b"\x00" * 7, text_key(chunk.embed_text())))
    index = load_index(index_copy)
    assert chunk.chunk_id not in index.sentence_vectors([chunk])
    assert len(index.sentence_vectors(list(index.chunks))) == len(index.chunks) - 1

    def broken(_question):
        raise RuntimeError("model gone")

    sims = SentenceSims(index.sentence_vectors, broken)
    with caplog.at_level(logging.WARNING, logger="rag.answer.sentsim"):
        assert sims("问题", list(index.chunks[:3])) == {}
    assert "ranking without them" in caplog.text
