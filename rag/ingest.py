"""Ingest: files -> documents -> chunks -> embeddings -> a new index generation.

Incremental: an unchanged document (same file hash, same chunker) keeps its chunks and vectors; a chunk whose text
was embedded before reuses its vector (cache by content hash), so adding one document embeds only its chunks and
re-ingesting an unchanged corpus embeds nothing and writes nothing.

A pipeline: files are parsed and chunked in worker processes (rag.parsing) while this process embeds what is parsed,
batch by batch; each batch is committed to the resume cache (rag.embed_cache) at once, so an ingest killed at any
point and started again embeds only what it had not finished. The new generation is switched in atomically at the
end (rag.store), so the previous index stays readable throughout.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .embed_cache import EmbeddingCache, storage_error
from .embeddings import Embedder, get_embedder
from .errors import BackendError, IndexCorruptError, IndexMismatchError, InputError, RagError
from .keyword import tokenize, tokenizer_version
from .loaders import SUPPORTED_SUFFIXES, doc_id_for, find_files
from .parsing import Parsed, ParsePool, Parser, default_workers, load_and_chunk
from .progress import IngestProgress, Progress
from .settings import Settings
from .answer.features import sentence_texts
from .store import Store, open_store, text_key, write_lock

log = logging.getLogger(__name__)

__all__ = ["IngestProgress", "IngestReport", "Progress", "index_is_stale", "ingest"]


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
    n_embedded: int = 0  # texts sent to the embedding model in this run
    n_resumed: int = 0  # texts whose vectors an interrupted earlier run had left in the resume cache
    n_sentences_embedded: int = 0  # sentences embedded for the answer ranker (settings.sentence_vectors)
    n_sentences_resumed: int = 0  # sentences whose vectors an interrupted earlier run had left in the cache
    chars_embedded: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0
    workers: int = 0  # parse worker processes (0: parsed in this process)
    wrote: bool = False

    @property
    def chars_per_second(self) -> float:
        return self.chars_embedded / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        return {
            "added": self.added, "updated": self.updated, "unchanged": self.unchanged, "removed": self.removed,
            "skipped": [{"file": f, "reason": r} for f, r in self.skipped], "n_docs": self.n_docs,
            "n_chunks": self.n_chunks, "n_embedded": self.n_embedded, "n_resumed": self.n_resumed,
            "n_sentences_embedded": self.n_sentences_embedded, "n_sentences_resumed": self.n_sentences_resumed,
            "chars_embedded": self.chars_embedded, "seconds": round(self.seconds, 3),
            "embed_seconds": round(self.embed_seconds, 3), "chars_per_second": round(self.chars_per_second, 1),
            "workers": self.workers, "wrote": self.wrote,
        }


_text_key = text_key


def _existing(index_dir: Path, settings: Settings, rebuild: bool) -> Store:
    """The index to update: the one there, or an empty one on --rebuild or when what is there is unreadable."""
    if rebuild:
        return _fresh(settings, index_dir)
    try:
        return open_store(settings, index_dir, missing_ok=True)
    except IndexCorruptError as e:
        log.warning("existing index unreadable, building a fresh one: %s", e.log_message)
        return _fresh(settings, index_dir)


def _donor(settings: Settings, index_dir: Path) -> Store | None:
    """On --rebuild, the index being replaced when its vectors come from the same embedding model: a text it holds
    (most of them when only the chunker changed) is not embedded again. None when there is none or it is unreadable."""
    try:
        store = open_store(settings, index_dir, check=False, missing_ok=True)
    except Exception as e:  # a damaged old index only costs re-embedding
        log.info("index %s not usable as a vector cache for the rebuild: %s", index_dir, e)
        return None
    built = store.manifest.get("embedding", {})
    want = settings.embedding_fingerprint()
    if not len(store) or (built.get("backend"), built.get("model")) != (want["backend"], want["model"]):
        return None
    return store


def _fresh(settings: Settings, index_dir: Path) -> Store:
    """An empty store of the configured backend at `index_dir` (its next write replaces whatever is there)."""
    from .store import STORES

    return STORES[settings.store](index_dir, settings, fresh=True)


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
    parser: Parser = load_and_chunk,
) -> IngestReport:
    """Add or update the documents under `paths` in the index (see module docstring).

    `prune` also removes indexed documents that are no longer among the files found; `remove` names doc ids to drop.
    `require_documents` makes an ingest that finds no readable document (and prunes or removes nothing) an
    InputError, raised before anything is written (the `rag ingest` command; an upload lists its rejects instead).
    `parser` turns one file into a record and chunks in a worker process (settings.ingest_workers of them).
    """
    t0 = time.perf_counter()
    index_dir = Path(index_dir or settings.index_dir)
    report = IngestReport()
    chunker = settings.chunker_settings()
    with write_lock(index_dir):
        old = _existing(index_dir, settings, rebuild)
        old_docs = dict(old.summaries)
        own = index_dir.resolve()
        files = [f for f in find_files(paths) if own not in f.resolve().parents]  # never index the index itself
        found_ids: set[str] = set()
        jobs: list[tuple[int, Path]] = []
        keep_ids: list[str] = []
        for i, path in enumerate(files):
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
                if sha == prev.sha256:
                    keep_ids.append(doc_id)
                    report.unchanged.append(doc_id)
                    continue
            jobs.append((i, path))
        run = _Run(settings, index_dir, old, embedder, progress, t0,
                   donor=_donor(settings, index_dir) if rebuild else None)
        if settings.sentence_vectors and old_docs:  # an index written before sentence vectors were stored
            run.backfill = old.chunks_without_sentences(
                set(old_docs) - {doc_id_for(p) for _, p in jobs} - set(remove or []))
        workers = default_workers() if settings.ingest_workers is None else settings.ingest_workers
        pool = ParsePool(jobs, chunker, workers, parser)
        report.workers = pool.workers
        try:
            return _finish(paths, settings, index_dir, old, run.embed_as_parsed(pool, report), run, report,
                           keep_ids, found_ids, prune, remove, require_documents)
        finally:
            pool.close()
            run.finish()


def _finish(paths, settings: Settings, index_dir: Path, old: Store, parsed: list[Parsed], run: "_Run",
            report: IngestReport, keep_ids: list[str], found_ids: set[str], prune: bool, remove: list[str] | None,
            require_documents: bool) -> IngestReport:
    """Decide what the new generation holds (kept, new, updated, removed documents) and write it."""
    old_docs = old.summaries
    chunker = settings.chunker_settings()
    new_docs = [(p.record, p.chunks, p.record.doc.doc_id in old_docs) for p in parsed]
    for rec, _, is_update in new_docs:
        (report.updated if is_update else report.added).append(rec.doc.doc_id)
    if require_documents and not new_docs and not keep_ids and not prune and not remove:
        raise _nothing_found(paths, report.skipped)
    dropped = set(remove or [])
    if prune:  # only documents that came from the folders being synced (uploads elsewhere stay)
        roots = [Path(p).resolve() for p in paths]
        dropped |= {
            d for d in set(old_docs) - found_ids
            if any(r == Path(old_docs[d].source).resolve().parent or r in Path(old_docs[d].source).resolve().parents for r in roots)
        }
    replaced = {rec.doc.doc_id for rec, _, _ in new_docs}
    report.removed = sorted(d for d in dropped if d in old_docs and d not in replaced)

    sentences = {key: np.stack([run.vectors[_text_key(t)] for t in texts]) if texts
                 else np.zeros((0, run.dim()), dtype=np.float32) for key, texts in run.sentences_wanted.items()}
    sentences.update(run.sentence_rows)
    if not new_docs and not report.removed and old_docs and not sentences:
        report.n_docs, report.n_chunks = len(old_docs), len(old)
        report.seconds = time.perf_counter() - run.t0
        return report  # nothing changed: nothing to embed, nothing to write
    added = [(rec, chunks, np.stack([run.vectors[_text_key(c.embed_text())] for c in chunks]))
             for rec, chunks, _ in new_docs]
    kept = {d: s for d, s in old_docs.items() if d not in dropped and d not in replaced}
    documents = {d: {"source": s.source, "sha256": s.sha256, "chunks": s.chunk_count} for d, s in kept.items()}
    documents.update({r.doc.doc_id: {"source": r.doc.source, "sha256": r.doc.sha256, "chunks": r.chunk_count}
                      for r, _, _ in added})
    manifest = {
        "store": old.name,
        "embedding": {**settings.embedding_fingerprint(), "dim": run.dim()},
        "chunker": chunker.fingerprint(),
        "faiss": settings.faiss_index,
        "nprobe": settings.nprobe,
        "keyword": tokenizer_version(index_dir),
        "documents": documents,
        "sentences": settings.sentence_vectors,
    }
    run.report("write")
    try:
        old.write(added, set(report.removed), manifest, tokens=run.tokens_in_order(parsed), sentences=sentences)
    except OSError as e:  # disk full, no permission: the store removed its half-written generation
        raise storage_error("写入索引", "writing the index", e, index_dir) from e
    run.written()
    report.wrote = True
    report.n_docs, report.n_chunks = len(documents), sum(d["chunks"] for d in documents.values())
    report.seconds = time.perf_counter() - run.t0
    return report


class _Run:
    """The embedding side of one ingest: takes parsed files as they come, embeds their new texts in batches, commits
    each batch to the resume cache, tokenises chunks in a thread, and reports progress."""

    def __init__(self, settings: Settings, index_dir: Path, old: Store, embedder: Embedder | None,
                 progress: Progress | None, t0: float, donor: Store | None = None):
        self.settings, self.index_dir, self.progress, self.t0 = settings, index_dir, progress, t0
        self._embedder = embedder
        self.old = old
        self.donor = donor  # on --rebuild: the index replaced, whose vectors of the same model are reused
        self.vectors: dict[str, np.ndarray] = {}
        self._dim = int(old.manifest["embedding"]["dim"]) if len(old.summaries) else 0
        if not self._dim and donor is not None:
            self._dim = int(donor.manifest["embedding"]["dim"])
        self.cache: EmbeddingCache | None = None
        self._tokens: dict[int, Future] = {}
        self._tokenizer = ThreadPoolExecutor(max_workers=1)  # jieba runs while the model (GIL released) encodes
        self.docs_total = self.docs_done = self.chunks_total = self.chunks_done = 0
        self.chars_embedded, self.embed_started = 0, None
        # sentence vectors (settings.sentence_vectors): chunk content key -> its sentences' vectors, for chunks
        # whose rows the live index does not hold; `backfill` are kept chunks of an index written without them
        self.sentence_rows: dict[str, np.ndarray] = {}
        self.sentences_wanted: dict[str, list[str]] = {}
        self.backfill: list = []

    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_embedder(self.settings.embed_backend, self.settings.embed_model or None)
        return self._embedder

    def dim(self) -> int:
        if not self._dim:
            self._dim = self.embedder().dim
        return self._dim

    def embed_as_parsed(self, pool: ParsePool, report: IngestReport) -> list[Parsed]:
        """Run the pipeline until every file is parsed and every new text embedded; parsed files in file order."""
        self.docs_total = pool.total
        if pool.done and not self.backfill:
            return []
        batch, dim = getattr(self.embedder(), "batch_size", 32), self.dim()
        self.cache = EmbeddingCache(self.index_dir, self.settings.embedding_fingerprint(), dim)
        resumable = self.cache.load()
        parsed: dict[int, Parsed] = {}
        queue: deque[tuple[str, str, bool]] = deque()  # (text key, text, is a chunk's) waiting for the model
        queued: set[str] = set()
        doc_ends: deque[int] = deque()  # per parsed document, the number of texts embedded when it is complete
        n_done = n_queued = 0
        queued_chars = parsed_bytes = all_chars = 0

        def progress_now() -> None:
            while doc_ends and doc_ends[0] <= n_done:
                doc_ends.popleft()
                self.docs_done += 1
            self.chunks_done = self.chunks_total - (n_queued - n_done)
            # Characters left: those waiting for the model, plus the unparsed files at the characters per byte of
            # all chunks seen so far (not only the uncached ones: a resumed run's cached head says nothing of its tail)
            left = queued_chars - self.chars_embedded
            if parsed_bytes and pool.remaining_bytes:
                left += all_chars * pool.remaining_bytes / parsed_bytes
            self.report("embed" if self.embed_started else "read", left)

        def need(key: str, text: str, is_chunk: bool) -> bool:
            """Queue a text for the model unless its vector is at hand or in the resume cache; True when queued."""
            nonlocal queued_chars
            if key in self.vectors or key in queued:
                return False
            vec = resumable.get(key)
            if vec is not None and len(vec) == dim:
                self.vectors[key] = vec
                if is_chunk:
                    report.n_resumed += 1
                else:
                    report.n_sentences_resumed += 1
                return False
            queue.append((key, text, is_chunk))
            queued.add(key)
            queued_chars += len(text)
            return True

        def want_sentences(chunks) -> None:
            """Queue the sentences of chunks whose sentence vectors no index at hand holds."""
            nonlocal all_chars
            if not self.settings.sentence_vectors:
                return
            keys = {_text_key(c.embed_text()): c for c in chunks}
            keys = {k: c for k, c in keys.items() if k not in self.sentences_wanted and k not in self.sentence_rows}
            held = set(self.old.sentence_rows(list(keys))) if len(self.old) else set()
            if self.donor is not None:
                self.sentence_rows.update(self.donor.sentence_rows([k for k in keys if k not in held]))
            for key, c in keys.items():
                if key in held or key in self.sentence_rows:
                    continue
                texts = sentence_texts(c)
                self.sentences_wanted[key] = texts
                for t in texts:
                    all_chars += len(t)
                    need(_text_key(t), t, False)

        self.report("read")
        want_sentences(self.backfill)
        while True:
            for res in pool.take(block=not queue and not pool.done):
                parsed_bytes += pool.size_of(res.index)
                if res.record is None:
                    log.warning("skipped %s: %s", res.path, res.log_reason)
                    report.skipped.append((str(res.path), res.reason))
                    self.docs_total -= 1
                    continue
                parsed[res.index] = res
                self.chunks_total += len(res.chunks)
                all_chars += sum(len(c.embed_text()) for c in res.chunks)
                self._tokens[res.index] = self._tokenizer.submit(
                    lambda cs=res.chunks: [tokenize(c.embed_text(), index_dir=self.index_dir) for c in cs])
                # the live index is the first cache: a text it holds is never embedded again
                keys = [_text_key(c.embed_text()) for c in res.chunks]
                self.vectors.update(self.old.vectors_for(keys))
                if self.donor is not None:
                    self.vectors.update(self.donor.vectors_for([k for k in keys if k not in self.vectors]))
                for c in res.chunks:
                    text = c.embed_text()
                    n_queued += need(_text_key(text), text, True)
                want_sentences(res.chunks)
                doc_ends.append(n_queued)
            progress_now()
            if queue:
                todo = [queue.popleft() for _ in range(min(batch, len(queue)))]
                te = time.perf_counter()
                if self.embed_started is None:
                    self.embed_started = te
                    self.report("embed", None)
                vecs = self._embed([t for _, t, _ in todo])
                report.embed_seconds += time.perf_counter() - te
                keys = [k for k, _, _ in todo]
                self.cache.put(keys, vecs)
                self.vectors.update(zip(keys, vecs))
                chunk_texts = sum(1 for *_, is_chunk in todo if is_chunk)
                n_done += chunk_texts
                report.n_embedded += chunk_texts
                report.n_sentences_embedded += len(todo) - chunk_texts
                self.chars_embedded += sum(len(t) for _, t, _ in todo)
                report.chars_embedded = self.chars_embedded
            progress_now()
            if not queue and pool.done:
                break
        return [parsed[i] for i in sorted(parsed)]

    def _embed(self, texts: list[str]) -> np.ndarray:
        try:
            return self.embedder().embed_passages(texts)
        except RagError:
            raise
        except Exception as e:  # the model failed mid-way: nothing is written, the live index stays
            raise BackendError(
                f"计算向量时嵌入模型出错（{type(e).__name__}）：原有索引未改动，已算好的向量保存在缓存中，请检查模型后重试",
                f"embedding {len(texts)} chunks failed ({type(e).__name__}: {e}); index left as it was",
            ) from e

    def tokens_in_order(self, parsed: list[Parsed]) -> list[list[str]]:
        return [toks for p in parsed for toks in self._tokens[p.index].result()]

    def snapshot(self, stage: str, chars_left: float | None = None) -> IngestProgress:
        elapsed = time.perf_counter() - self.t0
        rate = self.chars_embedded / (time.perf_counter() - self.embed_started) if self.embed_started else 0.0
        eta = chars_left / rate if rate and chars_left is not None else None
        return IngestProgress(stage, self.docs_done, self.docs_total, self.chunks_done, self.chunks_total,
                              self.chars_embedded, rate, eta, elapsed)

    def report(self, stage: str, chars_left: float | None = None) -> None:
        if self.progress:
            self.progress(self.snapshot(stage, chars_left))

    def written(self) -> None:
        """The new generation is live and holds every vector: the resume cache has nothing left to offer."""
        if self.cache is not None:
            self.cache.clear()
            self.cache = None

    def finish(self) -> None:
        self._tokenizer.shutdown(wait=True)
        if self.cache is not None:
            self.cache.close()
            self.cache = None
        self.report("end")


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
    from .store import FORMAT_VERSION, check_compatible, read_manifest

    index_dir = Path(index_dir or settings.index_dir)
    manifest = read_manifest(index_dir)
    if manifest is None:
        return True
    try:
        check_compatible(manifest, settings.embedding_fingerprint(), settings.chunker_settings().fingerprint(), index_dir)
    except IndexMismatchError:
        return True
    if manifest.get("keyword") != tokenizer_version(index_dir) or manifest.get("format", 1) < FORMAT_VERSION:
        return True  # an older keyword index or format: loading upgrades it without re-embedding
    if settings.sentence_vectors and not manifest.get("sentences"):
        return True  # written without sentence vectors: an ingest adds them (the chunks' vectors are kept)
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
