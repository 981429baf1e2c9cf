"""Ingest: files -> documents -> chunks -> embeddings -> a new index generation.

Incremental: an unchanged document (same file hash, same chunker) keeps its chunks and vectors; a chunk whose text
was embedded before reuses its vector (cache by content hash), so adding one document embeds only its chunks and
re-ingesting an unchanged corpus embeds nothing and writes nothing.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .chunker import chunk_document
from .embeddings import Embedder, get_embedder
from .errors import (
    BackendError, IndexCorruptError, IndexMismatchError, IndexNotFoundError, InputError, LoadError, RagError,
)
from .keyword import TOKENIZER_VERSION, tokenize
from .loaders import SUPPORTED_SUFFIXES, doc_id_for, find_files, load_document
from .settings import Settings
from .store import DocRecord, StoredIndex, load_index, write_index, write_lock

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class IngestReport:
    """What an ingest did: documents by outcome, chunk counts, skipped files with reasons, and speed."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, Chinese reason)
    n_docs: int = 0
    n_chunks: int = 0
    n_embedded: int = 0
    chars_embedded: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0
    wrote: bool = False

    @property
    def chars_per_second(self) -> float:
        return self.chars_embedded / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        return {
            "added": self.added, "updated": self.updated, "unchanged": self.unchanged, "removed": self.removed,
            "skipped": [{"file": f, "reason": r} for f, r in self.skipped], "n_docs": self.n_docs,
            "n_chunks": self.n_chunks, "n_embedded": self.n_embedded, "chars_embedded": self.chars_embedded,
            "seconds": round(self.seconds, 3), "embed_seconds": round(self.embed_seconds, 3),
            "chars_per_second": round(self.chars_per_second, 1), "wrote": self.wrote,
        }


def _text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _existing(index_dir: Path, settings: Settings, rebuild: bool) -> StoredIndex | None:
    if rebuild:
        return None
    try:
        return load_index(index_dir, settings.embedding_fingerprint(), settings.chunker_settings().fingerprint())
    except IndexNotFoundError:
        return None
    except IndexCorruptError as e:
        log.warning("existing index unreadable, building a fresh one: %s", e.log_message)
        return None
    except IndexMismatchError:
        raise


def ingest(
    paths: list[str | Path],
    settings: Settings,
    index_dir: Path | None = None,
    embedder: Embedder | None = None,
    rebuild: bool = False,
    prune: bool = False,
    remove: list[str] | None = None,
    progress: Progress | None = None,
    require_documents: bool = False,
) -> IngestReport:
    """Add or update the documents under `paths` in the index (see module docstring).

    `prune` also removes indexed documents that are no longer among the files found; `remove` names doc ids to drop.
    `require_documents` makes an ingest that finds no readable document (and prunes or removes nothing) an
    InputError, raised before anything is written (the `rag ingest` command; an upload lists its rejects instead).
    """
    t0 = time.perf_counter()
    index_dir = Path(index_dir or settings.index_dir)
    report = IngestReport()
    chunker = settings.chunker_settings()
    with write_lock(index_dir):
        old = _existing(index_dir, settings, rebuild)
        old_docs = dict(old.docs) if old else {}
        own = index_dir.resolve()
        files = [f for f in find_files(paths) if own not in f.resolve().parents]  # never index the index itself
        found_ids: set[str] = set()
        new_docs: list[tuple[DocRecord, list, bool]] = []  # (record, chunks, is_update)
        keep_ids: list[str] = []
        for i, path in enumerate(files):
            if progress:
                progress("read", i + 1, len(files))
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                if path.suffix:  # silently pass over files without an extension (READMEs of tools, etc.)
                    report.skipped.append((str(path), f"不支持的文件类型 {path.suffix}"))
                continue
            doc_id = doc_id_for(path)
            found_ids.add(doc_id)
            prev = old_docs.get(doc_id)
            if prev is not None:
                try:
                    sha = hashlib.sha256(path.read_bytes()).hexdigest()
                except OSError as e:
                    report.skipped.append((str(path), f"无法读取文件：{e.strerror or e}"))
                    continue
                if sha == prev.doc.sha256:
                    keep_ids.append(doc_id)
                    report.unchanged.append(doc_id)
                    continue
            try:
                doc = load_document(path)
            except LoadError as e:
                log.warning("skipped %s: %s", path, e.log_message)
                report.skipped.append((str(path), str(e)))
                continue
            chunks, sections = chunk_document(doc, chunker)
            if not chunks:
                report.skipped.append((str(path), "文件中没有可用的文字内容"))
                continue
            new_docs.append((DocRecord(doc, sections, len(chunks)), chunks, prev is not None))
            (report.updated if prev is not None else report.added).append(doc_id)
        if require_documents and not new_docs and not keep_ids and not prune and not remove:
            raise _nothing_found(paths, report.skipped)
        dropped = set(remove or [])
        if prune:  # only documents that came from the folders being synced (uploads elsewhere stay)
            roots = [Path(p).resolve() for p in paths]
            dropped |= {
                d for d in set(old_docs) - found_ids
                if any(r == Path(old_docs[d].doc.source).resolve().parent or r in Path(old_docs[d].doc.source).resolve().parents for r in roots)
            }
        replaced = {rec.doc.doc_id for rec, _, _ in new_docs}
        report.removed = sorted(d for d in dropped if d in old_docs and d not in replaced)

        # Assemble: kept documents first (their chunks and vectors as they were), then new/updated ones.
        records: list[DocRecord] = []
        all_chunks, all_tokens, vec_parts = [], [], []
        if old is not None:
            kept = [d for d in old.docs if d not in dropped and d not in replaced]
            kept_set = set(kept)
            idx = [i for i, c in enumerate(old.chunks) if c.doc_id in kept_set]
            records.extend(old.docs[d] for d in kept)
            all_chunks.extend(old.chunks[i] for i in idx)
            all_tokens.extend(old.tokens[i] for i in idx)
            if idx:
                vec_parts.append(old.vectors[idx])
        retokenised = old is not None and old.manifest.get("keyword") != TOKENIZER_VERSION
        if not new_docs and not report.removed and old is not None and not retokenised:
            report.n_docs, report.n_chunks = len(old.docs), len(old.chunks)
            report.seconds = time.perf_counter() - t0
            return report  # nothing changed: nothing to embed, nothing to write
        cache: dict[str, np.ndarray] = {}
        if old is not None:
            cache = {_text_key(c.embed_text()): old.vectors[i] for i, c in enumerate(old.chunks)}
        new_chunks = [c for _, chunks, _ in new_docs for c in chunks]
        to_embed = [c.embed_text() for c in new_chunks if _text_key(c.embed_text()) not in cache]
        to_embed = list(dict.fromkeys(to_embed))
        embedder = embedder or get_embedder(settings.embed_backend, settings.embed_model or None)
        # Keyword tokens (and jieba's dictionary load, ~0.7 s) are made in a thread while the embedding model,
        # which releases the GIL, encodes: ingest then costs little beyond the embedding itself.
        with ThreadPoolExecutor(max_workers=1) as pool:
            new_tokens = pool.submit(lambda: [tokenize(c.embed_text()) for c in new_chunks])
            te = time.perf_counter()
            if to_embed:
                try:
                    vecs = embedder.embed_passages(
                        to_embed, progress=(lambda n: progress("embed", n, len(to_embed))) if progress else None
                    )
                except RagError:
                    raise
                except Exception as e:  # the model failed mid-way: nothing is written, the live index stays
                    raise BackendError(
                        f"计算向量时嵌入模型出错（{type(e).__name__}）：原有索引未改动，请检查模型后重试",
                        f"embedding {len(to_embed)} chunks failed ({type(e).__name__}: {e}); index left as it was",
                    ) from e
                cache.update({_text_key(t): v for t, v in zip(to_embed, vecs)})
            report.embed_seconds = time.perf_counter() - te
            all_new_tokens = new_tokens.result()
        report.n_embedded = len(to_embed)
        report.chars_embedded = sum(len(t) for t in to_embed)
        for rec, chunks, _ in new_docs:
            records.append(rec)
            all_chunks.extend(chunks)
        all_tokens.extend(all_new_tokens)
        if new_chunks:
            vec_parts.append(np.stack([cache[_text_key(c.embed_text())] for c in new_chunks]))
        dim = embedder.dim
        vectors = np.concatenate(vec_parts) if vec_parts else np.zeros((0, dim), dtype=np.float32)
        manifest = {
            "embedding": {**settings.embedding_fingerprint(), "dim": dim},
            "chunker": chunker.fingerprint(),
            "faiss": settings.faiss_index,
            "keyword": TOKENIZER_VERSION,
            "documents": {
                r.doc.doc_id: {"source": r.doc.source, "sha256": r.doc.sha256, "chunks": r.chunk_count} for r in records
            },
        }
        if progress:
            progress("write", 0, 1)
        write_index(index_dir, records, all_chunks, all_tokens, vectors, manifest)
        report.wrote = True
        report.n_docs, report.n_chunks = len(records), len(all_chunks)
    report.seconds = time.perf_counter() - t0
    return report


def _nothing_found(paths: list[str | Path], skipped: list[tuple[str, str]]) -> InputError:
    """The error for an ingest that found no document it could read: where it looked and why files were skipped."""
    where = "、".join(str(p) for p in paths) or "（未指定路径）"
    reasons = "；".join(f"{Path(f).name}：{r}" for f, r in skipped[:5]) + (" 等" if len(skipped) > 5 else "")
    why = f"跳过了 {len(skipped)} 个文件——{reasons}" if skipped else "文件夹是空的，或只有隐藏文件和无扩展名的文件"
    return InputError(
        f"在 {where} 中没有找到可读取的文档（{why}）。支持 .txt .md .html .docx .pdf；索引未改动。",
        f"no readable document under {[str(p) for p in paths]} ({len(skipped)} skipped); index left as it was",
    )


def index_is_stale(settings: Settings, index_dir: Path | None = None, corpus: Path | None = None) -> bool:
    """True when the index is missing, unreadable, built under other settings, or behind the corpus folder."""
    from .store import check_compatible, read_manifest

    index_dir = Path(index_dir or settings.index_dir)
    manifest = read_manifest(index_dir)
    if manifest is None:
        return True
    try:
        check_compatible(manifest, settings.embedding_fingerprint(), settings.chunker_settings().fingerprint(), index_dir)
    except IndexMismatchError:
        return True
    if manifest.get("keyword") != TOKENIZER_VERSION:
        return True  # an ingest rewrites the keyword tokens without re-embedding
    docs = manifest.get("documents", {})
    for path in find_files([corpus or settings.corpus_dir]):
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            continue
        rec = docs.get(doc_id_for(path))
        try:
            if rec is None or hashlib.sha256(path.read_bytes()).hexdigest() != rec["sha256"]:
                return True
        except OSError:
            continue
    return False
