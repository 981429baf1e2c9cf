"""The index on disk: FAISS vectors, chunk and document records (JSONL, never pickle), BM25 tokens, a manifest.

Layout of `index/<name>/`:
    CURRENT              name of the live generation folder (replaced atomically)
    gen-<n>/manifest.json   embedding model, dimension, chunker settings, keyword tokenizer, per-document hashes
    gen-<n>/docs.jsonl      documents with their source text and section outline
    gen-<n>/chunks.jsonl    chunks with their keyword tokens
    gen-<n>/vectors.npy     chunk embeddings (also the embedding cache for the next ingest)
    gen-<n>/vectors.faiss   the FAISS index
    gen-<n>/targets.jsonl   quantitative targets extracted from the documents (`rag/targets.py`)
    feedback.jsonl          user votes from the UI (outside generations: never lost on re-ingest)

A write builds a new generation and then swaps CURRENT with os.replace, so an ingest killed halfway leaves the
previous index loadable.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError
from .keyword import TOKENIZER_VERSION, tokenize
from .official import ensure_official
from .types import Chunk, Document, Section

log = logging.getLogger(__name__)
FORMAT_VERSION = 1


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
class StoredIndex:
    """Everything one generation of an index holds, loaded into memory."""

    path: Path
    manifest: dict[str, Any]
    docs: dict[str, DocRecord]
    chunks: list[Chunk]
    tokens: list[list[str]]
    vectors: np.ndarray
    faiss_index: Any = None
    targets: list = field(default_factory=list)  # rag.targets.Target, extracted at ingest

    @property
    def dim(self) -> int:
        return int(self.manifest["embedding"]["dim"])


def current_generation(index_dir: Path) -> Path | None:
    """The live generation folder, or None when the index does not exist."""
    pointer = Path(index_dir) / "CURRENT"
    if not pointer.exists():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    gen = Path(index_dir) / name
    return gen if name and gen.is_dir() else None


def read_manifest(index_dir: Path) -> dict[str, Any] | None:
    """The manifest of the live generation, or None when there is no readable index."""
    gen = current_generation(index_dir)
    if gen is None:
        return None
    try:
        return json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


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


def load_index(index_dir: Path, embedding: dict | None = None, chunker: dict | None = None) -> StoredIndex:
    """Load the live generation; check it against the settings in force when they are given."""
    index_dir = Path(index_dir)
    gen = current_generation(index_dir)
    if gen is None:
        raise IndexNotFoundError(
            f"找不到索引 {index_dir}：请先运行 rag ingest --index {index_dir}",
            f"no index at {index_dir}; run `rag ingest --index {index_dir}` first",
        )
    try:
        manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
        if embedding is not None and chunker is not None:
            check_compatible(manifest, embedding, chunker, index_dir)
        docs = {}
        for line in _read_lines(gen / "docs.jsonl"):
            rec = DocRecord.from_json(json.loads(line))
            docs[rec.doc.doc_id] = rec
            # Stored before the official fields (文号, dates, repeals) were read: read them from the stored text
            # now; the next ingest writes them back. Vectors and chunks are untouched.
            ensure_official(rec.doc.metadata, rec.doc.title, rec.doc.source_text[rec.doc.body_start:])
        chunks, tokens = [], []
        for line in _read_lines(gen / "chunks.jsonl"):
            j = json.loads(line)
            tokens.append(j.pop("tokens", []))
            chunks.append(Chunk.from_dict(j))
        if manifest.get("keyword") != TOKENIZER_VERSION:  # older keyword index: re-tokenise, no re-embedding
            log.info("index %s keyword tokens are %s, re-tokenising with %s", index_dir, manifest.get("keyword"),
                     TOKENIZER_VERSION)
            tokens = [tokenize(c.embed_text()) for c in chunks]
        vectors = np.load(gen / "vectors.npy", allow_pickle=False)
        if vectors.shape != (len(chunks), manifest["embedding"]["dim"]):
            raise ValueError(f"vectors shape {vectors.shape} does not match {len(chunks)} chunks")
        faiss_index = _read_faiss(gen / "vectors.faiss", vectors, manifest.get("faiss", "flat"))
        targets = _read_targets(gen, manifest, docs, index_dir)
    except IndexMismatchError:
        raise
    except Exception as e:  # any unreadable piece means the index cannot be trusted
        raise IndexCorruptError(
            f"索引 {index_dir} 已损坏或不完整，请重建：rag ingest --rebuild --index {index_dir}",
            f"index {index_dir} is corrupt ({type(e).__name__}: {e}); rebuild it",
        ) from e
    return StoredIndex(index_dir, manifest, docs, chunks, tokens, vectors, faiss_index, targets)


def _read_targets(gen: Path, manifest: dict[str, Any], docs: dict[str, DocRecord], index_dir: Path) -> list:
    """The stored targets; extracted afresh (pure and fast) when the index predates them or another extractor."""
    from .targets import EXTRACTOR_VERSION, Target, all_targets

    path = gen / "targets.jsonl"
    if manifest.get("targets") == EXTRACTOR_VERSION and path.exists():
        return [Target.from_dict(json.loads(line)) for line in _read_lines(path)]
    log.info("index %s has no targets of extractor %s: extracting them", index_dir, EXTRACTOR_VERSION)
    return all_targets(list(docs.values()), str(index_dir))


def _read_lines(path: Path) -> Iterator[str]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield line


def build_faiss(vectors: np.ndarray, kind: str = "flat"):
    """A FAISS inner-product index over unit vectors: exact (flat), HNSW, or IVF for large corpora."""
    import faiss

    dim = vectors.shape[1] if vectors.ndim == 2 and vectors.shape[1] else 1
    n = len(vectors)
    if kind == "hnsw" and n:
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = 128
    elif kind == "ivf" and n >= 1000:
        nlist = max(16, int(np.sqrt(n)))
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors)
        index.nprobe = min(nlist, 16)
    else:
        index = faiss.IndexFlatIP(dim)
    if n:
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def _read_faiss(path: Path, vectors: np.ndarray, kind: str):
    import faiss

    if path.exists():
        index = faiss.read_index(str(path))
        if index.ntotal != len(vectors):
            raise ValueError("faiss index size does not match the chunk records")
        return index
    return build_faiss(vectors, kind)


@contextlib.contextmanager
def write_lock(index_dir: Path) -> Iterator[None]:
    """One writer at a time per index folder (other processes wait)."""
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def write_index(
    index_dir: Path,
    docs: list[DocRecord],
    chunks: list[Chunk],
    tokens: list[list[str]],
    vectors: np.ndarray,
    manifest: dict[str, Any],
    targets: list | None = None,
) -> Path:
    """Write a new generation and switch CURRENT to it atomically; older generations are removed after."""
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    gen = index_dir / f"gen-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    tmp = gen.with_name(gen.name + ".tmp")
    previous = current_generation(index_dir)
    tmp.mkdir()
    try:
        manifest = dict(manifest, format=FORMAT_VERSION, n_chunks=len(chunks), n_docs=len(docs))
        _write_json(tmp / "manifest.json", manifest)
        with open(tmp / "docs.jsonl", "w", encoding="utf-8") as f:
            for rec in docs:
                f.write(json.dumps(rec.to_json(), ensure_ascii=False) + "\n")
        with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as f:
            for chunk, toks in zip(chunks, tokens):
                f.write(json.dumps({**chunk.to_dict(), "tokens": toks}, ensure_ascii=False) + "\n")
        if targets is not None:
            with open(tmp / "targets.jsonl", "w", encoding="utf-8") as f:
                for t in targets:
                    f.write(json.dumps(t.to_dict(), ensure_ascii=False) + "\n")
        np.save(tmp / "vectors.npy", np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
        import faiss

        faiss.write_index(build_faiss(vectors, manifest.get("faiss", "flat")), str(tmp / "vectors.faiss"))
        for p in tmp.iterdir():
            _fsync(p)
        tmp.rename(gen)
        pointer_tmp = index_dir / "CURRENT.tmp"
        pointer_tmp.write_text(gen.name, encoding="utf-8")
        _fsync(pointer_tmp)
        os.replace(pointer_tmp, index_dir / "CURRENT")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    # Keep the generation just replaced (a reader may still be loading it); remove older ones and leftovers.
    keep = {gen.name, previous.name if previous else ""}
    for old in index_dir.glob("gen-*"):
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)
    return gen


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2), encoding="utf-8")


def _fsync(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())
