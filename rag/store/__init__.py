"""Where an index lives, behind one interface (`Store`) and a name -> factory registry.

- `local` (default): files in the index folder (`rag.store.local`).
- `milvus`: a Milvus collection, on a Milvus Lite file or a Milvus server/cluster (`rag.store.milvus`, extra
  `milvus`); the index folder keeps the manifest and the document records.

`RAG_STORE` picks the backend; `--index` / `RAG_INDEX` names the index on either.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .base import DocRecord, DocSummary, KeywordStats, Ranked, Store, check_compatible
from .local import (
    FORMAT_VERSION, LocalStore, build_faiss, current_generation, open_local, read_manifest, write_lock,
)
from .records import text_key


def _open_milvus(index_dir: Path, settings, embedding=None, chunker=None, missing_ok: bool = False,
                 fresh: bool = False):
    from .milvus import open_milvus

    return open_milvus(index_dir, settings, embedding, chunker, missing_ok, fresh)


def _open_local(index_dir: Path, settings, embedding=None, chunker=None, missing_ok: bool = False,
                fresh: bool = False):
    return LocalStore(Path(index_dir)) if fresh else open_local(index_dir, embedding, chunker, missing_ok)


# name -> factory(index_dir, settings, embedding, chunker, missing_ok, fresh): the store of an index folder


STORES: dict[str, Callable[..., Any]] = {"local": _open_local, "milvus": _open_milvus}


def open_store(settings, index_dir: Path | None = None, check: bool = True, missing_ok: bool = False) -> Store:
    """The index named by `index_dir` (default: the settings' index) on the settings' store backend, checked
    against the embedding and chunker settings unless `check` is False."""
    from ..errors import BackendError

    index_dir = Path(index_dir or settings.index_dir)
    backend = _backend_of(index_dir, settings.store)
    if backend not in STORES:
        raise BackendError(f"未知的存储后端 {backend}，可选：{', '.join(STORES)}", f"unknown store backend {backend!r}")
    emb, chunker = (settings.embedding_fingerprint(), settings.chunker_settings().fingerprint()) if check else (None, None)
    return STORES[backend](index_dir, settings, emb, chunker, missing_ok)


def _backend_of(index_dir: Path, setting: str) -> str:
    """The backend an existing index was built on (its manifest says), else the setting."""
    manifest = read_manifest(index_dir)
    return (manifest or {}).get("store", setting)


def copy_index(src: LocalStore, dst_dir: Path, settings) -> Store:
    """A new index at `dst_dir` on the settings' backend holding what a local index holds: its documents,
    chunks and stored vectors (nothing is embedded again). How a Milvus index is made from a local one."""
    from ..keyword import tokenizer_version

    dst = STORES[settings.store](Path(dst_dir), settings, fresh=True)
    rows = src._doc_rows
    from .records import text_key

    added, sentences = [], {}
    for doc_id, (start, count) in rows.items():
        chunks = src.chunks_at(range(start, start + count))
        added.append((src.docs[doc_id], chunks, np.asarray(src.vectors[start:start + count])))
        stored = src.sentence_vectors(chunks)
        sentences.update({text_key(c.embed_text()): stored[c.chunk_id] for c in chunks if c.chunk_id in stored})
    manifest = {k: v for k, v in src.manifest.items() if k in ("embedding", "chunker", "documents", "faiss")}
    dst.write(added, (), dict(manifest, store=settings.store, keyword=tokenizer_version(dst_dir), copied_from=str(src.path)),
              sentences=sentences)
    return STORES[settings.store](Path(dst_dir), settings)


def load_index(index_dir: Path, embedding: dict | None = None, chunker: dict | None = None) -> LocalStore:
    """Open a local index folder (checked against the settings in force when they are given)."""
    from ..settings import Settings

    manifest = read_manifest(Path(index_dir)) or {}
    if manifest.get("store", "local") != "local":
        return _open_milvus(Path(index_dir), Settings(), embedding, chunker)
    return open_local(index_dir, embedding, chunker)


__all__ = ["DocRecord", "DocSummary", "KeywordStats", "Ranked", "Store", "STORES", "open_store", "load_index", "copy_index",
           "LocalStore", "current_generation", "read_manifest", "write_lock", "check_compatible", "build_faiss",
           "text_key", "FORMAT_VERSION"]
