"""The store seam and the local format: files without token lists, memory-mapped, an exact BM25 matrix that
survives changes, old indexes upgraded without re-embedding, FAISS type by size."""

from __future__ import annotations

import json
import math
import shutil
from collections import Counter

import numpy as np
import pytest

from rag.keyword import KeywordMatrix
from rag.retriever import Retriever
from rag.store import STORES, LocalStore, current_generation, open_store
from rag.store.local import FLAT_BELOW, build_faiss, faiss_kind


def _bm25(token_lists, query, k1=1.5, b=0.75):
    """BM25 written out term by term, the textbook way, as the reference."""
    n = len(token_lists)
    avgdl = sum(len(t) for t in token_lists) / n
    out = []
    for toks in token_lists:
        tf = Counter(toks)
        s = 0.0
        for term in set(query):
            df = sum(1 for t in token_lists if term in t)
            if not df or term not in tf:
                continue
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            s += idf * tf[term] * (k1 + 1) / (tf[term] + k1 * (1 - b + b * len(toks) / avgdl))
        out.append(s)
    return np.array(out)


DOCS = [["补贴", "企业", "补贴", "bi:补贴"], ["企业", "人才", "住房"], ["医疗", "器械", "企业", "注册", "注册"],
        ["人才", "补贴"]]


def test_registry_names_both_backends():
    assert set(STORES) == {"local", "milvus"}


def test_keyword_matrix_scores_are_bm25():
    m = KeywordMatrix.build(DOCS)
    for q in (["补贴"], ["企业", "注册"], ["人才", "住房", "没有的词"]):
        assert np.allclose(m.scores(q), _bm25(DOCS, q), atol=1e-5)
    assert m.df("企业") == 3 and "住房" in m and "没有的词" not in m


def test_keyword_matrix_change_equals_a_fresh_build(tmp_path):
    """Dropping rows and appending new ones gives the scores a fresh build of the same chunks gives."""
    m = KeywordMatrix.build(DOCS)
    changed = m.changed(np.array([0, 2]), [["住房", "补贴", "新词"]])
    fresh = KeywordMatrix.build([DOCS[0], DOCS[2], ["住房", "补贴", "新词"]])
    for q in (["补贴"], ["住房", "新词"], ["人才"]):
        assert np.allclose(changed.scores(q), fresh.scores(q))
    assert "人才" not in changed  # its chunks were dropped: df 0, though the word stays in the vocabulary
    changed.save(tmp_path)
    loaded = KeywordMatrix.load(tmp_path)
    assert isinstance(loaded.w_data, np.memmap)
    assert np.array_equal(loaded.scores(["补贴", "新词"]), changed.scores(["补贴", "新词"]))


def test_index_files_have_no_token_lists_and_load_memory_mapped(corpus_index, settings):
    gen = current_generation(corpus_index)
    names = {p.name for p in gen.iterdir()}
    assert {"manifest.json", "records.sqlite", "vectors.npy", "vectors.faiss", "kw_vocab.json"} <= names
    assert not any(n.endswith(".jsonl") for n in names)
    store = open_store(settings)
    assert isinstance(store, LocalStore) and isinstance(store.vectors, np.memmap)
    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format"] == 2 and manifest["faiss_kind"] == "flat" and manifest["store"] == "local"
    assert len(store) == manifest["n_chunks"] == sum(d["chunks"] for d in manifest["documents"].values())


def _write_format1(src, dst):
    """A first-format index (JSONL records with per-chunk token lists) of the same documents, as it was."""
    from rag.keyword import tokenize

    store = open_store(src)
    gen = dst / "gen-old"
    gen.mkdir(parents=True)
    manifest = dict(store.manifest, format=1)
    for key in ("faiss_kind", "store", "nprobe"):
        manifest.pop(key, None)
    (gen / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    with open(gen / "docs.jsonl", "w", encoding="utf-8") as f:
        for d in store.docs:
            f.write(json.dumps(store.docs[d].to_json(), ensure_ascii=False) + "\n")
    with open(gen / "chunks.jsonl", "w", encoding="utf-8") as f:
        for c in store.chunks:
            f.write(json.dumps({**c.to_dict(), "tokens": tokenize(c.embed_text())}, ensure_ascii=False) + "\n")
    np.save(gen / "vectors.npy", np.asarray(store.vectors))
    import faiss

    faiss.write_index(build_faiss(np.asarray(store.vectors)), str(gen / "vectors.faiss"))
    (dst / "CURRENT").write_text("gen-old", encoding="utf-8")


def test_first_format_index_is_upgraded_on_load_with_the_same_results(settings, retriever, tmp_path,
                                                                      settings_factory):
    old = tmp_path / "old"
    _write_format1(settings, old)
    upgraded = Retriever.load(old, settings_factory(old), embedder=retriever.embedder)
    manifest = json.loads((current_generation(old) / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format"] == 2
    for q in ("对新落户企业的补助最高多少？", "人才住房政策", "医疗器械注册证奖励"):
        for mode in ("hybrid", "keyword", "dense"):
            a = [(h.chunk.chunk_id, round(h.score, 5)) for h in retriever.search(q, k=8, mode=mode)]
            b = [(h.chunk.chunk_id, round(h.score, 5)) for h in upgraded.search(q, k=8, mode=mode)]
            assert a == b, (q, mode)


def test_faiss_type_follows_size():
    assert faiss_kind("auto", FLAT_BELOW - 1) == "flat" and faiss_kind("auto", FLAT_BELOW) == "ivf"
    assert faiss_kind("hnsw", 10) == "hnsw"
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((40, 32)).astype(np.float32)
    x = centers[rng.integers(0, 40, 4000)] + 0.1 * rng.standard_normal((4000, 32)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ivf = build_faiss(x, "ivf")
    assert type(ivf).__name__ == "IndexIVFFlat"
    _, found = ivf.search(x[:50], 1)
    assert (found[:, 0] == np.arange(50)).mean() > 0.9


def test_candidate_fusion_is_exact_when_candidates_are_few(retriever, monkeypatch):
    """With one candidate per signal to start, the threshold check widens the candidates until the fused top k
    is the one scoring every chunk gives."""
    import rag.retriever as r

    q = "对首次取得医疗器械注册证的产品奖励多少"
    full = [(h.chunk.chunk_id, round(h.score, 6)) for h in retriever.search(q, k=6)]
    monkeypatch.setattr(r, "CANDIDATES", 1)
    few = [(h.chunk.chunk_id, round(h.score, 6)) for h in retriever._search(q, 6, "hybrid", None)]
    monkeypatch.undo()
    assert few == [(h.chunk.chunk_id, round(h.score, 6)) for h in retriever._search(q, 6, "hybrid", None)]
    assert len(full) == 6


def test_unreadable_keyword_files_are_a_clear_rebuild_message(index_copy, settings_factory):
    from rag.errors import IndexCorruptError

    (current_generation(index_copy) / "kw_w_data.npy").write_bytes(b"garbage")
    with pytest.raises(IndexCorruptError, match="rag ingest --rebuild"):
        open_store(settings_factory(index_copy))


def test_copy_keeps_the_local_index_intact(corpus_index, tmp_path, settings_factory):
    dst = tmp_path / "copy"
    shutil.copytree(corpus_index, dst)
    store = open_store(settings_factory(dst))
    before = current_generation(dst)
    store.write([], [next(iter(store.docs))], store.manifest)
    after = open_store(settings_factory(dst))
    assert current_generation(dst) != before and len(after.docs) == len(store.docs) - 1
    assert len(after) == len(store) - store.summaries[next(iter(store.docs))].chunk_count


def _records_of_every_kind():
    """Real documents of every kind the chunker and loaders know: a PDF with a table (chunks carry table_header),
    statutes (articles, official metadata with revisions), two versions of one regulation (the last one marked
    as OCR output: ocr flag and spans), and a plan setting targets, with chunks and sections as ingest makes them."""
    from rag.chunker import chunk_document
    from rag.loaders import document_from_text, load_document
    from rag.store import DocRecord

    fixtures = __import__("pathlib").Path(__file__).parent / "fixtures"
    paths = [fixtures / "tables_plan.pdf", *sorted((fixtures / "laws").glob("*.md")),
             *sorted((fixtures / "versions").glob("*条例*.md"))]
    plan = document_from_text("某市产业发展规划\n\n一、发展目标\n到2027年，全市新能源汽车产业规模超过500亿元，"
                              "培育规模以上企业不少于30家。\n", "plan.txt", "plan.txt")
    out = []
    for i, path in enumerate([*paths, None]):
        doc = load_document(path) if path else plan
        if i == len(paths) - 1:  # the last regulation
            doc.metadata["ocr"] = True
            doc.metadata["ocr_spans"] = [[0, 40], [100, 180]]
        chunks, sections = chunk_document(doc)
        out.append((DocRecord(doc, sections, len(chunks)), chunks))
    return out


@pytest.mark.parametrize("backend", ["local", "milvus"])
def test_every_document_and_chunk_field_survives_the_store(backend, tmp_path, settings):
    """What ingest hands a store comes back field for field: chunks (table_header too), document metadata
    (official fields, versions' dates, OCR flag and spans), section outlines, and the targets extracted."""
    from rag.store.records import doc_targets

    if backend == "milvus":
        pytest.importorskip("pymilvus")
        pytest.importorskip("milvus_lite")
    made = _records_of_every_kind()
    assert any(c.table_header for _, chunks in made for c in chunks)
    assert any(rec.doc.metadata.get("revisions") or rec.doc.metadata.get("doc_number") for rec, _ in made)
    rng = np.random.default_rng(0)
    added = []
    for rec, chunks in made:
        v = rng.standard_normal((len(chunks), 8)).astype(np.float32)
        added.append((rec, chunks, v / np.linalg.norm(v, axis=1, keepdims=True)))
    s = settings.model_copy(update={"store": backend, "milvus_uri": str(tmp_path / "lite.db"),
                                    "index_dir": tmp_path / "index"})
    manifest = {"embedding": {"backend": "test", "model": "random", "dim": 8}, "chunker": {"v": 0}}
    STORES[backend](s.index_dir, s, fresh=True).write(added, (), manifest)
    store = open_store(s, check=False)
    assert store.name == backend and len(store) == sum(len(c) for _, c in made)
    for rec, chunks, _ in added:
        d = rec.doc.doc_id
        assert store.chunks_of([d]) == chunks
        back = store.docs[d]
        assert back.doc == rec.doc and back.sections == rec.sections and back.chunk_count == rec.chunk_count
        head = store.doc_headers()[d].doc
        assert (head.title, head.source, head.metadata) == (rec.doc.title, rec.doc.source, rec.doc.metadata)
        assert [t for t in store.targets if t.doc == d] == doc_targets(rec, s.index_dir)
    assert {t.doc for t in store.targets} >= {"plan.txt"}
    ocr = store.docs[made[-2][0].doc.doc_id].doc.metadata
    assert ocr["ocr"] is True and ocr["ocr_spans"] == [[0, 40], [100, 180]]
    if backend == "milvus":
        from rag.store.milvus import close_clients

        close_clients()
