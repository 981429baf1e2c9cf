"""The `local` store: an index folder of files (FAISS vectors, a sparse BM25 matrix, SQLite records, a manifest).

Layout of `index/<name>/`:
    CURRENT                    name of the live generation folder (replaced atomically)
    gen-<n>/manifest.json      embedding model, dimension, chunker settings, keyword tokenizer, per-document hashes
    gen-<n>/records.sqlite     documents (source text, section outline) and chunks, read by id on demand
    gen-<n>/vectors.npy        chunk embeddings, row = chunk id (memory-mapped; also the next ingest's cache)
    gen-<n>/vectors.faiss      the FAISS index: exact below `FLAT_BELOW` vectors, IVF (memory-mapped) beyond
    gen-<n>/kw_*.npy, kw_vocab.json   the keyword index (`rag.keyword.KeywordMatrix`, memory-mapped)
    (records.sqlite also holds the quantitative targets extracted at ingest, `rag/targets.py`)
    feedback.jsonl             user votes from the UI (outside generations: never lost on re-ingest)

A write builds a new generation and then swaps CURRENT with os.replace, so an ingest killed halfway leaves the
previous index loadable. An index in the first format (JSONL with token lists) is upgraded on first load, without
re-embedding.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError
from ..keyword import KeywordMatrix, tokenize, tokenizer_version
from ..types import Chunk
from .base import DocRecord, Ranked, check_compatible, top_ids
from .records import DocTable, Records, RecordsReader, TargetList, doc_targets, refresh_targets, stored_targets, text_key

log = logging.getLogger(__name__)
FORMAT_VERSION = 2
FLAT_BELOW = 100_000  # exact search below this many vectors; IVF beyond (recall@10 in benchmarks/scale.py)
EXACT_FILTER_BELOW = 50_000  # a filtered dense search over fewer chunks than this is exact (numpy), not IVF
MERGE_HIDDEN_UP_TO = 16_384  # a filter hiding at most this many chunks drops them from one wider search


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


_held: dict[Path, int] = {}
_held_lock = threading.RLock()


@contextlib.contextmanager
def write_lock(index_dir: Path) -> Iterator[None]:
    """One writer at a time per index folder (other processes and threads wait; the holder may re-enter, as an
    ingest that finds an old-format index upgrading it does)."""
    index_dir = Path(index_dir).resolve()
    index_dir.mkdir(parents=True, exist_ok=True)
    with _held_lock:
        if _held.get(index_dir):
            _held[index_dir] += 1
            try:
                yield
            finally:
                _held[index_dir] -= 1
            return
        with open(index_dir / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            _held[index_dir] = 1
            try:
                yield
            finally:
                _held[index_dir] = 0
                fcntl.flock(fh, fcntl.LOCK_UN)


def faiss_kind(setting: str, n: int) -> str:
    """The FAISS index type for n vectors: the setting, or by size when it is `auto`."""
    if setting != "auto":
        return setting
    return "flat" if n < FLAT_BELOW else "ivf"


def build_faiss(vectors: np.ndarray, kind: str = "flat", nprobe: int = 32):
    """A FAISS inner-product index over unit vectors: exact (flat), HNSW, or IVF for large corpora."""
    import faiss

    dim = vectors.shape[1] if vectors.ndim == 2 and vectors.shape[1] else 1
    n = len(vectors)
    if kind == "hnsw" and n:
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = 128
    elif kind == "ivf" and n >= 1000:
        nlist = int(np.clip(np.sqrt(n), 16, 4096))
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.niter = 10
        rng = np.random.default_rng(0)
        sample = np.sort(rng.choice(n, size=min(n, 30 * nlist), replace=False))
        index.train(np.ascontiguousarray(vectors[sample], dtype=np.float32))
        index.nprobe = min(nlist, nprobe)
    else:
        index = faiss.IndexFlatIP(dim)
    for start in range(0, n, 65536):  # in slices: `vectors` may be a memory map larger than RAM would like
        index.add(np.ascontiguousarray(vectors[start:start + 65536], dtype=np.float32))
    return index


class ChunkList(Sequence):
    """The chunks of a store in id order, read on demand."""

    def __init__(self, store: "LocalStore"):
        self._store = store

    def __len__(self) -> int:
        return len(self._store)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return self._store.chunks_at(range(len(self))[i])
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._store.chunks_at([i])[0]

    def __iter__(self) -> Iterator[Chunk]:
        if self._store.records is None:
            return iter(())
        return (c for _, c in self._store.records.all_chunks())


class LocalStore(RecordsReader):
    """One generation of a local index, memory-mapped; `write` makes the next generation."""

    name = "local"

    def __init__(self, path: Path, gen: Path | None = None, manifest: dict | None = None):
        self.path = Path(path)
        self.gen = gen
        self.manifest: dict[str, Any] = manifest or {}
        self.records: Records | None = None
        self._lock = threading.Lock()
        self._selections: dict[frozenset[str], _Selection] = {}  # allowed documents -> their rows (see _selection)
        if gen is None:
            self.summaries, self.docs = {}, {}
            self.vectors = np.zeros((0, 0), dtype=np.float32)
            self.kw = KeywordMatrix.build([])
            self.faiss_index = None
            self._doc_names, self._doc_index, self._doc_rows, self._doc_pos = [], np.zeros(0, np.int32), {}, {}
            self.targets = TargetList(list)
            return
        self.records = Records(gen / "records.sqlite")
        self.summaries = self.records.summaries()
        self.docs = DocTable(self.records, self.summaries)
        self.vectors = np.load(gen / "vectors.npy", mmap_mode="r", allow_pickle=False)
        self.kw = KeywordMatrix.load(gen)
        rows = self.records.doc_rows()
        self._doc_names = [d for d, _, _ in rows]
        self._doc_rows = {d: (s, c) for d, s, c in rows}
        self._doc_pos = {d: i for i, d in enumerate(self._doc_names)}
        counts = np.array([c for _, _, c in rows], dtype=np.int64)
        self._doc_index = np.repeat(np.arange(len(rows), dtype=np.int32), counts)
        n = int(manifest["n_chunks"])
        if self.vectors.shape != (n, manifest["embedding"]["dim"]) or self.kw.n != n or len(self._doc_index) != n:
            raise ValueError(f"vectors {self.vectors.shape}, keyword rows {self.kw.n}, chunk records "
                             f"{len(self._doc_index)} do not match {n} chunks")
        self.faiss_index = _read_faiss(gen / "vectors.faiss", n)
        self.chunks = ChunkList(self)
        self.targets = TargetList(lambda: stored_targets(self.records, self.docs, self.manifest, self.path))

    @property
    def keyword_stats(self) -> KeywordMatrix:
        return self.kw

    @property
    def dim(self) -> int:
        return int(self.manifest["embedding"]["dim"])

    def __len__(self) -> int:
        return len(self._doc_index)

    def doc_of(self, ids: np.ndarray) -> np.ndarray:
        """Document ids of chunk ids (object array)."""
        names = np.array(self._doc_names, dtype=object)
        return names[self._doc_index[np.asarray(ids, dtype=np.int64)]] if len(ids) else np.zeros(0, dtype=object)

    def _selection(self, allowed: Collection[str]) -> "_Selection":
        """The chunk rows of a set of allowed documents, worked out once per set: a retriever hands the same set
        (its default hides replaced versions) to every search, and building a row mask, a row list or a FAISS
        selector over a million chunks per question cost more than the search itself."""
        key = allowed if isinstance(allowed, frozenset) else frozenset(allowed)
        found = self._selections.get(key)
        if found is None:
            doc_ok = np.zeros(len(self._doc_names), dtype=bool)
            pos = [self._doc_pos[d] for d in key if d in self._doc_pos]
            doc_ok[np.asarray(pos, dtype=np.int64)] = True
            mask = doc_ok[self._doc_index]
            mask.flags.writeable = False
            found = _Selection(mask, int(np.count_nonzero(mask)))
            if len(self._selections) >= 16:
                self._selections.clear()
            self._selections[key] = found
        return found

    # -- search -----------------------------------------------------------------------------------------------
    def dense(self, query_vector: np.ndarray, k: int, allowed: Collection[str] | None) -> Ranked:
        """Cosine similarity through FAISS: every chunk's score for an exact index; the best k for IVF/HNSW."""
        n = len(self)
        q = np.ascontiguousarray(query_vector, dtype=np.float32).reshape(1, -1)
        if not n:
            return Ranked(np.zeros(0, np.int64), np.zeros(0, np.float32), 0.0, 0.0, True, lambda ids: np.zeros(0))
        if self.faiss_index.__class__.__name__ == "IndexFlatIP":
            full = np.full(n, -1.0, dtype=np.float32)
            with self._lock:
                scores, ids = self.faiss_index.search(q, n)
            valid = ids[0] >= 0
            full[ids[0][valid]] = scores[0][valid]
            return _ranked_from_full(full, self.mask_of(allowed), k, floor=None)
        sel = None if allowed is None else self._selection(allowed)
        hidden = 0 if sel is None else n - sel.count
        # A few rows hidden (the default filter hides replaced versions): one search for k + hidden rows, the
        # hidden ones dropped after, returns what a second search skipping them would (IVF scans the same lists).
        merged = 0 < hidden <= MERGE_HIDDEN_UP_TO
        with self._lock:
            top_s, top_i = self.faiss_index.search(q, max(k, 1) + (hidden if merged else 0))
            neg_s, _ = self.faiss_index.search(-q, 1)
        lo, hi = float(-neg_s[0][0]), float(top_s[0][0])
        exact = lambda ids: np.asarray(self.vectors[np.asarray(ids, dtype=np.int64)] @ q[0], dtype=np.float32)  # noqa: E731
        if sel is not None and sel.count <= EXACT_FILTER_BELOW:
            rows = sel.rows()
            scores = exact(rows)
            ids, scores = top_ids(scores, rows, k)
            return Ranked(ids, scores, lo, hi, len(rows) <= k, exact)
        if merged:
            s, i = top_s[0], top_i[0]
            keep = np.flatnonzero(i >= 0)
            keep = keep[sel.mask[i[keep]]][:k]
            return Ranked(i[keep].astype(np.int64), s[keep], lo, hi, False, exact)
        if hidden:  # many rows hidden: a search that skips them
            with self._lock:
                s, i = self.faiss_index.search(q, k, params=sel.search_params(self.faiss_index))
        else:
            s, i = top_s, top_i
        valid = i[0] >= 0
        return Ranked(i[0][valid].astype(np.int64), s[0][valid], lo, hi, False, exact)

    def keyword(self, query: str, tokens: list[str], k: int, allowed: Collection[str] | None) -> Ranked:
        """BM25 of every chunk (vectorised over the words' postings); the best k with a positive score."""
        full = self.kw.scores(tokens)
        return _ranked_from_full(full, self.mask_of(allowed), k, floor=0.0)

    def mask_of(self, allowed: Collection[str] | None) -> np.ndarray | None:
        """Which chunk rows belong to the allowed documents (None: all)."""
        if allowed is None:
            return None
        return self._selection(allowed).mask

    # -- writing ----------------------------------------------------------------------------------------------
    def vectors_for(self, text_keys: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors of texts embedded before, by content key (the ingest's embedding cache)."""
        if self.records is None or not len(self):
            return {}
        found = self.records.ids_for_keys(text_keys)
        return {key: np.asarray(self.vectors[i]) for key, i in found.items()}

    def write(self, added: list[tuple[DocRecord, list[Chunk], np.ndarray]], removed: Collection[str],
              manifest: dict[str, Any], tokens: list[list[str]] | None = None,
              sentences: Mapping[str, np.ndarray] | None = None) -> Path:
        """Write the next generation (this one minus `removed` and re-added documents, plus `added`) and switch
        CURRENT to it atomically; older generations are removed after."""
        from ..targets import EXTRACTOR_VERSION

        index_dir = self.path
        index_dir.mkdir(parents=True, exist_ok=True)
        gen = index_dir / f"gen-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6}"
        tmp = gen.with_name(gen.name + ".tmp")
        previous = current_generation(index_dir)
        tmp.mkdir()
        try:
            drop = set(removed) | {rec.doc.doc_id for rec, _, _ in added}
            drop &= set(self._doc_rows)
            keep = np.ones(len(self), dtype=bool)
            for d in drop:
                s, c = self._doc_rows[d]
                keep[s:s + c] = False
            keep_rows = np.flatnonzero(keep)
            records = Records(tmp / "records.sqlite", writable=True)
            if self.records is not None:
                records.close()
                shutil.copyfile(self.gen / "records.sqlite", tmp / "records.sqlite")
                records = Records(tmp / "records.sqlite", writable=True)
            records.begin()
            records.remove(drop)
            if drop:
                records.renumber()
            if self.records is not None and self.manifest.get("targets") != EXTRACTOR_VERSION:
                refresh_targets(records, [d for d in self.summaries if d not in drop], index_dir)
            next_id = len(keep_rows)
            new_chunks: list[Chunk] = []
            for rec, chunks, _ in added:
                records.add(rec, chunks, range(next_id, next_id + len(chunks)), doc_targets(rec, index_dir))
                next_id += len(chunks)
                new_chunks.extend(chunks)
            if sentences:
                records.put_sentences(sentences)
            if drop:
                records.prune_sentences()
            records.commit()
            n_docs = len(records.summaries())
            records.close()
            dim = int(manifest["embedding"]["dim"])
            vectors = np.lib.format.open_memmap(tmp / "vectors.npy", mode="w+", dtype=np.float32, shape=(next_id, dim))
            for start in range(0, len(keep_rows), 65536):
                part = keep_rows[start:start + 65536]
                vectors[start:start + len(part)] = self.vectors[part]
            pos = len(keep_rows)
            for _, chunks, vecs in added:
                vectors[pos:pos + len(chunks)] = vecs
                pos += len(chunks)
            vectors.flush()
            if tokens is None:
                tokens = _tokens(new_chunks, index_dir)
            kw = self.kw.changed(keep_rows, tokens) if self.kw.n else KeywordMatrix.build(tokens)
            kw.save(tmp)
            kind = faiss_kind(manifest.get("faiss", "auto"), next_id)
            import faiss

            faiss.write_index(build_faiss(vectors, kind, int(manifest.get("nprobe", 32))), str(tmp / "vectors.faiss"))
            del vectors
            manifest = dict(manifest, format=FORMAT_VERSION, n_chunks=next_id, n_docs=n_docs, faiss_kind=kind,
                            keyword=tokenizer_version(index_dir), targets=EXTRACTOR_VERSION)
            publish_generation(tmp, gen, index_dir, manifest)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        # Keep the generation just replaced (a reader may still be loading it); remove older ones and leftovers.
        keep_names = {gen.name, previous.name if previous else ""}
        for old in index_dir.glob("gen-*"):
            if old.name not in keep_names:
                shutil.rmtree(old, ignore_errors=True)
        return gen


class _Selection:
    """The rows of a set of allowed documents: a read-only mask, and on demand their ids and a FAISS IVF search
    parameter that skips the others (a bitmap: a lookup per vector scanned, whatever the set's size)."""

    def __init__(self, mask: np.ndarray, count: int):
        self.mask, self.count = mask, count
        self._rows: np.ndarray | None = None
        self._params = None

    def rows(self) -> np.ndarray:
        if self._rows is None:
            self._rows = np.flatnonzero(self.mask)
        return self._rows

    def search_params(self, index):
        """FAISS search parameters that skip the rows outside the set (IVF: with the index's nprobe)."""
        nprobe = getattr(index, "nprobe", None)
        if self._params is None or getattr(self._params[0], "nprobe", None) != nprobe:
            import faiss

            bitmap = np.packbits(self.mask, bitorder="little")
            sel = faiss.IDSelectorBitmap(bitmap)  # keeps `bitmap` referenced
            if nprobe is None:
                params = faiss.SearchParameters(sel=sel)
            else:
                params = faiss.SearchParametersIVF(sel=sel, nprobe=nprobe)
            self._params = (params, sel)  # the parameters must not outlive their selector
        return self._params[0]


def _ranked_from_full(full: np.ndarray, mask: np.ndarray | None, k: int, floor: float | None) -> Ranked:
    """A Ranked from every chunk's score: the best k allowed (above `floor` when given); exact for the rest."""
    lo, hi = (float(full.min()), float(full.max())) if len(full) else (0.0, 0.0)
    ok = np.ones(len(full), dtype=bool) if mask is None else mask
    if floor is not None:
        ok = ok & (full > floor)
    rows = np.flatnonzero(ok)
    ids, scores = top_ids(full[rows], rows, k)
    return Ranked(ids, scores, lo, hi, len(rows) <= k, lambda ids: full[np.asarray(ids, dtype=np.int64)], full)


def _tokens(chunks: list[Chunk], index_dir=None) -> list[list[str]]:
    """Keyword tokens per chunk (with the word lists of the index at `index_dir`); a text seen before in this batch
    is not cut again."""
    seen: dict[str, list[str]] = {}
    out = []
    for c in chunks:
        t = c.embed_text()
        toks = seen.get(t)
        if toks is None:
            toks = seen[t] = tokenize(t, index_dir=index_dir)
        out.append(toks)
    return out


def _read_faiss(path: Path, n: int):
    import faiss

    index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
    if index.ntotal != n:
        raise ValueError("faiss index size does not match the chunk records")
    return index


def publish_generation(tmp: Path, gen: Path, index_dir: Path, manifest: dict) -> None:
    """Make a fully written generation folder live: its manifest, everything synced, renamed into place, then the
    CURRENT pointer swapped atomically (a reader sees the old generation or the new one, never a half)."""
    (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    for p in tmp.iterdir():
        _fsync(p)
    tmp.rename(gen)
    pointer_tmp = index_dir / "CURRENT.tmp"
    pointer_tmp.write_text(gen.name, encoding="utf-8")
    _fsync(pointer_tmp)
    os.replace(pointer_tmp, index_dir / "CURRENT")


def _fsync(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _corrupt(index_dir: Path, e: Exception) -> IndexCorruptError:
    return IndexCorruptError(
        f"索引 {index_dir} 已损坏或不完整，请重建：rag ingest --rebuild --index {index_dir}",
        f"index {index_dir} is corrupt ({type(e).__name__}: {e}); rebuild it",
    )


def open_local(index_dir: Path, embedding: dict | None = None, chunker: dict | None = None,
               missing_ok: bool = False) -> LocalStore:
    """Open the live generation (checked against the settings when given); an index of the first format or an
    older keyword tokenizer is upgraded in place first (vectors kept, nothing re-embedded)."""
    index_dir = Path(index_dir)
    gen = current_generation(index_dir)
    if gen is None:
        if missing_ok:
            return LocalStore(index_dir)
        raise IndexNotFoundError(
            f"找不到索引 {index_dir}：请先运行 rag ingest --index {index_dir}",
            f"no index at {index_dir}; run `rag ingest --index {index_dir}` first",
        )
    try:
        manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    except Exception as e:
        raise _corrupt(index_dir, e) from e
    if embedding is not None and chunker is not None:
        check_compatible(manifest, embedding, chunker, index_dir)
    if manifest.get("format", 1) < FORMAT_VERSION or manifest.get("keyword") != tokenizer_version(index_dir):
        _upgrade(index_dir, gen, manifest)
        return open_local(index_dir, embedding, chunker, missing_ok)
    try:
        return LocalStore(index_dir, gen, manifest)
    except IndexMismatchError:
        raise
    except Exception as e:  # any unreadable piece means the index cannot be trusted
        raise _corrupt(index_dir, e) from e


def _upgrade(index_dir: Path, gen: Path, manifest: dict) -> None:
    """Rewrite an index of the first format (or with another keyword tokenizer) as the current format."""
    log.info("upgrading index %s (format %s, keyword %s) to format %s / %s", index_dir, manifest.get("format", 1),
             manifest.get("keyword"), FORMAT_VERSION, tokenizer_version(index_dir))
    try:
        with write_lock(index_dir):
            if current_generation(index_dir) != gen:
                return  # another process upgraded or rewrote it meanwhile
            if manifest.get("format", 1) >= 2:
                old = LocalStore(index_dir, gen, dict(manifest, keyword=tokenizer_version(index_dir)))
                by_doc: dict[str, list[Chunk]] = {}
                for _, c in old.records.all_chunks():
                    by_doc.setdefault(c.doc_id, []).append(c)
                added = [(old.docs[d], by_doc.get(d, []),
                          np.asarray(old.vectors[s:s + c])) for d, (s, c) in old._doc_rows.items()]
                # the sentence vectors come along (an index that has them stays complete)
                sentences = old.sentence_rows([text_key(c.embed_text()) for cs in by_doc.values() for c in cs])
            else:
                added = list(_read_format1(gen, int(manifest["embedding"]["dim"])))
                sentences = {}
            LocalStore(index_dir).write(added, (), manifest, sentences=sentences)
    except PermissionError as e:
        raise IndexMismatchError(
            f"索引 {index_dir} 是旧格式，需要升级但文件夹不可写：请运行 rag ingest --rebuild --index {index_dir} 重建",
            f"index {index_dir} is in an old format and its folder is not writable ({e}); rebuild it",
        ) from e
    except (IndexMismatchError, IndexNotFoundError):
        raise
    except Exception as e:
        raise _corrupt(index_dir, e) from e


def _read_format1(gen: Path, dim: int):
    """Documents with their chunks and vectors from a first-format generation (JSONL records)."""
    docs: dict[str, DocRecord] = {}
    for line in (gen / "docs.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            rec = DocRecord.from_json(json.loads(line))
            docs[rec.doc.doc_id] = rec
    chunks = [Chunk.from_dict(json.loads(line))
              for line in (gen / "chunks.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    vectors = np.load(gen / "vectors.npy", allow_pickle=False)
    if vectors.shape != (len(chunks), dim):
        raise ValueError(f"vectors shape {vectors.shape} does not match {len(chunks)} chunks")
    rows: dict[str, list[int]] = {}
    for i, c in enumerate(chunks):
        rows.setdefault(c.doc_id, []).append(i)
    for d, rec in docs.items():
        idx = rows.get(d, [])
        yield rec, [chunks[i] for i in idx], vectors[idx]


__all__ = ["LocalStore", "open_local", "current_generation", "read_manifest", "write_lock", "build_faiss",
           "faiss_kind", "text_key", "check_compatible", "FORMAT_VERSION"]
