"""Document and chunk records in one SQLite file: read by id on demand, so a million chunks load in no time.

Tables: docs (record JSON with source text and outline, filter summary, the rows of its chunks), chunks (id, doc,
content key of the text the model embedded, chunk JSON), terms (keyword document frequencies, when a backend
keeps them here), targets (quantitative targets extracted at ingest, `rag.targets`, one row each), sentvecs (the
vectors of a chunk's sentences, float16 rows in `rag.answer.features.sentence_texts` order, by the chunk's content key;
the answer ranker compares them with the question). Both backends keep their records this way; `local` numbers chunk ids 0..n-1 in row order.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from ..types import Chunk, Document
from .base import DocRecord, DocSummary, summary_of

SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (doc_id TEXT PRIMARY KEY, summary TEXT NOT NULL, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (id INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, key TEXT NOT NULL, chunk TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE INDEX IF NOT EXISTS chunks_key ON chunks(key);
CREATE TABLE IF NOT EXISTS terms (term TEXT PRIMARY KEY, df INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS targets (doc_id TEXT NOT NULL, target TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS targets_doc ON targets(doc_id);
CREATE TABLE IF NOT EXISTS sentvecs (key TEXT PRIMARY KEY, vecs BLOB NOT NULL);
"""
_CACHE_ALL = 5000  # below this many documents every record read stays in memory (as the old JSONL index did)


def text_key(text: str) -> str:
    """Content key of a text the model embeds (the embedding cache is keyed by it)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class Records:
    """One records file, opened read-only for serving or read-write for building a new generation."""

    def __init__(self, path: Path, writable: bool = False):
        self.path = Path(path)
        if writable:
            self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self.db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + SCHEMA)
        else:
            self.db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
        self.lock = threading.Lock()

    def close(self) -> None:
        self.db.close()

    # -- reading ---------------------------------------------------------------------------------------------
    def summaries(self) -> dict[str, DocSummary]:
        with self.lock:
            rows = self.db.execute("SELECT summary FROM docs ORDER BY rowid").fetchall()
        out = {}
        for (s,) in rows:
            j = json.loads(s)
            out[j["doc_id"]] = DocSummary(j["doc_id"], j["title"], tuple(j["regions"]), j["date"], j["sha256"],
                                          j["source"], j["chunk_count"])
        return out

    def headers(self) -> dict[str, DocRecord]:
        """Every document as a record without its text and outline (title, source, metadata): what version chains
        read. Records written before the summaries carried metadata (or by an older official-fields reader) are
        read in full."""
        from ..official import OFFICIAL_VERSION

        with self.lock:
            rows = self.db.execute("SELECT doc_id, summary FROM docs ORDER BY rowid").fetchall()
        out: dict[str, DocRecord] = {}
        for doc_id, s in rows:
            j = json.loads(s)
            if (j.get("metadata") or {}).get("official_version") != OFFICIAL_VERSION:  # read by an older version
                rec = self.record(doc_id)
                if rec is not None:
                    out[doc_id] = DocRecord(Document(doc_id, rec.doc.source, rec.doc.title, "", rec.doc.sha256,
                                                     0, rec.doc.metadata), [], rec.chunk_count)
                continue
            out[doc_id] = DocRecord(Document(doc_id, j["source"], j["title"], "", j["sha256"], 0, j["metadata"]), [],
                                    j["chunk_count"])
        return out

    def record(self, doc_id: str) -> DocRecord | None:
        with self.lock:
            row = self.db.execute("SELECT record FROM docs WHERE doc_id=?", (doc_id,)).fetchone()
        if not row:
            return None
        rec = DocRecord.from_json(json.loads(row[0]))
        # Stored before the official fields (文号, dates, repeals) were read: read them from the stored text now
        from ..official import ensure_official

        ensure_official(rec.doc.metadata, rec.doc.title, rec.doc.source_text[rec.doc.body_start:])
        return rec

    def chunks(self, ids: Sequence[int]) -> list[Chunk]:
        """Chunks by id, in the order asked."""
        ids = [int(i) for i in ids]
        found: dict[int, Chunk] = {}
        with self.lock:
            for start in range(0, len(ids), 500):
                part = ids[start:start + 500]
                q = f"SELECT id, chunk FROM chunks WHERE id IN ({','.join('?' * len(part))})"
                for i, c in self.db.execute(q, part):
                    found[i] = Chunk.from_dict(json.loads(c))
        return [found[i] for i in ids]

    def chunks_of(self, doc_ids: Iterable[str]) -> list[Chunk]:
        """Every chunk of the given documents, in id order."""
        ids = [i for part in self.chunk_ids_of(doc_ids).values() for i in part]
        return self.chunks(sorted(ids))

    def targets(self) -> list:
        """Every stored target, documents in the order they were added."""
        from ..targets import Target

        with self.lock:
            rows = self.db.execute("SELECT target FROM targets ORDER BY rowid").fetchall()
        return [Target.from_dict(json.loads(t)) for (t,) in rows]

    def known_ids(self, ids: Sequence[int]) -> list[int]:
        """The ids among `ids` that have a chunk record."""
        ids = [int(i) for i in ids]
        out: list[int] = []
        with self.lock:
            for start in range(0, len(ids), 500):
                part = ids[start:start + 500]
                q = f"SELECT id FROM chunks WHERE id IN ({','.join('?' * len(part))})"
                out.extend(i for (i,) in self.db.execute(q, part))
        return out

    def count(self) -> int:
        with self.lock:
            return int(self.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    def all_chunks(self) -> Iterator[tuple[int, Chunk]]:
        with self.lock:
            rows = self.db.execute("SELECT id, chunk FROM chunks ORDER BY id").fetchall()
        for i, c in rows:
            yield i, Chunk.from_dict(json.loads(c))

    def chunk_ids_of(self, doc_ids: Iterable[str]) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        with self.lock:
            for d in doc_ids:
                out[d] = [i for (i,) in self.db.execute("SELECT id FROM chunks WHERE doc_id=? ORDER BY id", (d,))]
        return out

    def ids_for_keys(self, keys: Sequence[str]) -> dict[str, int]:
        """One chunk id per content key the index holds (the embedding cache)."""
        out: dict[str, int] = {}
        keys = list(dict.fromkeys(keys))
        with self.lock:
            for start in range(0, len(keys), 500):
                part = keys[start:start + 500]
                q = f"SELECT key, MIN(id) FROM chunks WHERE key IN ({','.join('?' * len(part))}) GROUP BY key"
                out.update(dict(self.db.execute(q, part).fetchall()))
        return out

    def sentence_vectors(self, keys: Sequence[str], dim: int) -> dict[str, np.ndarray]:
        """The sentence vectors (n_sentences x dim, float32) stored for chunks by content key; keys without any
        (an index written before they were stored, or with them switched off) are left out."""
        out: dict[str, np.ndarray] = {}
        keys = list(dict.fromkeys(keys))
        try:
            with self.lock:
                for start in range(0, len(keys), 500):
                    part = keys[start:start + 500]
                    q = f"SELECT key, vecs FROM sentvecs WHERE key IN ({','.join('?' * len(part))})"
                    for k, v in self.db.execute(q, part):
                        if dim and len(v) % (2 * dim) == 0:
                            out[k] = np.frombuffer(v, dtype=np.float16).reshape(-1, dim).astype(np.float32)
        except sqlite3.OperationalError:  # records written before sentence vectors existed: no such table
            return {}
        return out

    def chunks_without_sentences(self, doc_ids: Collection[str] | None = None) -> list[Chunk]:
        """Chunks (of the given documents, or all) whose sentence vectors are not stored."""
        try:
            with self.lock:
                rows = self.db.execute("SELECT doc_id, chunk FROM chunks WHERE key NOT IN (SELECT key FROM sentvecs)"
                                       " ORDER BY id").fetchall()
        except sqlite3.OperationalError:
            with self.lock:
                rows = self.db.execute("SELECT doc_id, chunk FROM chunks ORDER BY id").fetchall()
        return [Chunk.from_dict(json.loads(c)) for d, c in rows if doc_ids is None or d in doc_ids]

    def doc_rows(self) -> list[tuple[str, int, int]]:
        """(doc id, first chunk id, chunk count) per document, in chunk order."""
        with self.lock:
            return self.db.execute(
                "SELECT doc_id, MIN(id), COUNT(*) FROM chunks GROUP BY doc_id ORDER BY MIN(id)").fetchall()

    def terms(self) -> dict[str, int]:
        with self.lock:
            return dict(self.db.execute("SELECT term, df FROM terms WHERE df > 0").fetchall())

    # -- writing ---------------------------------------------------------------------------------------------
    def add(self, rec: DocRecord, chunks: list[Chunk], ids: Sequence[int], targets: Sequence = ()) -> None:
        s = summary_of(rec)
        summary = {"doc_id": s.doc_id, "title": s.title, "regions": list(s.regions), "date": s.date,
                   "sha256": s.sha256, "source": s.source, "chunk_count": s.chunk_count,
                   "metadata": rec.doc.metadata}  # what version chains read, without the text
        self.db.execute("INSERT OR REPLACE INTO docs VALUES (?,?,?)",
                        (rec.doc.doc_id, json.dumps(summary, ensure_ascii=False),
                         json.dumps(rec.to_json(), ensure_ascii=False)))
        self.db.executemany("INSERT INTO chunks VALUES (?,?,?,?)", [
            (int(i), c.doc_id, text_key(c.embed_text()), json.dumps(c.to_dict(), ensure_ascii=False))
            for i, c in zip(ids, chunks)])
        self.set_targets(rec.doc.doc_id, targets)

    def put_sentences(self, vectors: Mapping[str, np.ndarray]) -> None:
        """Store sentence vectors by chunk content key (float16, half the bytes of the chunk vectors' float32:
        plenty for comparing one sentence with one question)."""
        self.db.executemany("INSERT OR REPLACE INTO sentvecs VALUES (?, ?)",
                            [(k, np.ascontiguousarray(v, dtype=np.float16).tobytes()) for k, v in vectors.items()])

    def prune_sentences(self) -> None:
        """Drop the sentence vectors of chunk texts no longer in the index."""
        self.db.execute("DELETE FROM sentvecs WHERE key NOT IN (SELECT key FROM chunks)")

    def set_targets(self, doc_id: str, targets: Sequence) -> None:
        """Replace a document's stored targets."""
        self.db.execute("DELETE FROM targets WHERE doc_id=?", (doc_id,))
        self.db.executemany("INSERT INTO targets VALUES (?,?)",
                            [(doc_id, json.dumps(t.to_dict(), ensure_ascii=False)) for t in targets])

    def remove(self, doc_ids: Iterable[str]) -> None:
        for d in doc_ids:
            self.db.execute("DELETE FROM docs WHERE doc_id=?", (d,))
            self.db.execute("DELETE FROM chunks WHERE doc_id=?", (d,))
            self.db.execute("DELETE FROM targets WHERE doc_id=?", (d,))

    def renumber(self) -> None:
        """Chunk ids 0..n-1 in their order (after removals), as `local`'s vector and keyword rows are."""
        for statement in (  # one by one: executescript would commit the transaction around them
            "CREATE TABLE chunks_new (id INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, key TEXT NOT NULL, "
            "chunk TEXT NOT NULL)",
            "INSERT INTO chunks_new SELECT ROW_NUMBER() OVER (ORDER BY id) - 1, doc_id, key, chunk FROM chunks",
            "DROP TABLE chunks", "ALTER TABLE chunks_new RENAME TO chunks",
            "CREATE INDEX chunks_doc ON chunks(doc_id)", "CREATE INDEX chunks_key ON chunks(key)",
        ):
            self.db.execute(statement)

    def update_terms(self, delta: dict[str, int]) -> None:
        self.db.executemany("INSERT INTO terms VALUES (?, ?) ON CONFLICT(term) DO UPDATE SET df = df + excluded.df",
                            list(delta.items()))

    def begin(self) -> None:
        self.db.execute("BEGIN")

    def commit(self) -> None:
        self.db.execute("COMMIT")


def doc_targets(rec: DocRecord, index_dir: Path) -> list:
    """A document's quantitative targets (none when the extractor trips on it: logged, never costs a write)."""
    from ..targets import all_targets

    return all_targets([rec], str(index_dir))


def refresh_targets(records: Records, keep: Iterable[str], index_dir: Path) -> None:
    """Extract again the targets of documents kept from a generation written by another extractor version."""
    for doc_id in keep:
        rec = records.record(doc_id)
        if rec is not None:
            records.set_targets(doc_id, doc_targets(rec, index_dir))


def stored_targets(records: Records | None, docs: Mapping[str, DocRecord], manifest: dict, index_dir: Path) -> list:
    """The index's targets: as stored when this extractor wrote them, else extracted afresh from the documents
    (pure and fast; an index that predates them, or of another extractor version)."""
    from ..targets import EXTRACTOR_VERSION, all_targets

    if records is None:
        return []
    if manifest.get("targets") == EXTRACTOR_VERSION:
        return records.targets()
    return all_targets(list(docs.values()), str(index_dir))


class TargetList(Sequence):
    """The index's targets, read from the records on first use (large indexes need not read them at load)."""

    def __init__(self, load):
        self._load, self._items = load, None

    def _all(self) -> list:
        if self._items is None:
            self._items = self._load()
        return self._items

    def __getitem__(self, i):
        return self._all()[i]

    def __len__(self) -> int:
        return len(self._all())

    def __iter__(self):
        return iter(self._all())


class DocTable(Mapping):
    """Document records by id, read from the records file on demand (all kept for small indexes, recent ones
    for large)."""

    def __init__(self, records: Records, summaries: dict[str, DocSummary]):
        self._records = records
        self._summaries = summaries
        self._cache: OrderedDict[str, DocRecord] = OrderedDict()
        self._limit = None if len(summaries) <= _CACHE_ALL else 1024
        self._lock = threading.Lock()

    def __getitem__(self, doc_id: str) -> DocRecord:
        with self._lock:
            rec = self._cache.get(doc_id)
            if rec is not None:
                self._cache.move_to_end(doc_id)
                return rec
        if doc_id not in self._summaries:
            raise KeyError(doc_id)
        rec = self._records.record(doc_id)
        if rec is None:
            raise KeyError(doc_id)
        with self._lock:
            self._cache[doc_id] = rec
            if self._limit is not None and len(self._cache) > self._limit:
                self._cache.popitem(last=False)
        return rec

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._summaries

    def __iter__(self) -> Iterator[str]:
        return iter(self._summaries)

    def __len__(self) -> int:
        return len(self._summaries)


class RecordsReader:
    """What both stores read from their SQLite records (`self.records`, None before anything was written)."""

    records: Records | None

    def chunks_at(self, ids) -> list[Chunk]:
        return self.records.chunks(list(ids)) if self.records is not None else []

    def doc_headers(self) -> dict[str, DocRecord]:
        """Every document's title, source and metadata without its text (version chains read these)."""
        return self.records.headers() if self.records is not None else {}

    def chunks_of(self, doc_ids: Collection[str]) -> list[Chunk]:
        """Every chunk of the given documents, in id order."""
        return self.records.chunks_of(doc_ids) if self.records is not None else []

    def sentence_vectors(self, chunks: Sequence[Chunk]) -> dict[str, np.ndarray]:
        """The stored sentence vectors of chunks, by chunk id (chunks without any are left out)."""
        by_key: dict[str, list[str]] = {}
        for c in chunks:
            by_key.setdefault(text_key(c.embed_text()), []).append(c.chunk_id)
        return {cid: v for key, v in self.sentence_rows(list(by_key)).items() for cid in by_key[key]}

    def sentence_rows(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored sentence vectors of chunk texts by content key (keys without any are left out)."""
        if self.records is None or not keys:
            return {}
        dim = int((getattr(self, "manifest", None) or {}).get("embedding", {}).get("dim", 0))
        return self.records.sentence_vectors(keys, dim)

    def chunks_without_sentences(self, doc_ids: Collection[str]) -> list[Chunk]:
        """Chunks of the given documents whose sentence vectors are not stored (an index written before they were)."""
        return self.records.chunks_without_sentences(set(doc_ids)) if self.records is not None and doc_ids else []
