"""The `milvus` store: chunks, vectors and BM25 in a Milvus collection; manifest and records in the index folder.

`RAG_STORE=milvus`, `RAG_MILVUS_URI` = a Milvus Lite file (default: `milvus.db` inside the index folder) or
`http(s)://host:19530` for a Milvus server or cluster, `RAG_MILVUS_TOKEN` for one that needs it. The index folder
(`--index`) keeps what a local index keeps except vectors and keyword index: the manifest (which collection) and
the records (documents and chunks by primary key, SQLite), in generations switched atomically like `local`.

Keyword search is Milvus's own BM25 function (k1=1.5, b=0.75, as `local`). What it counts is fixed when the
collection is made (`RAG_MILVUS_KEYWORD`, recorded in the manifest):
- `terms` (default): PolicyQA's keyword tokens (jieba search-mode words plus character bigrams, question words
  dropped from queries, `rag.keyword.tokenize`), each written as a short hash code that Milvus's `standard`
  tokenizer keeps whole. Milvus then scores exactly the BM25 `local` does (same terms, same statistics): measured on
  ncp2020, the jieba analyzer alone lost 0.05 hit@5 against local, all of it in the keyword signal.
- `jieba`: Milvus's jieba analyzer over the folded text the embedding model reads (readable in Milvus, for other
  clients of the same collection; on Milvus Lite the `jieba` package must be installed).
Vectors use an HNSW index (inner product). Document and region filters are Milvus
filter expressions. A write inserts the new chunks, switches the records, then deletes the old chunks: a reader
never sees a chunk its records do not know (it skips primary keys it cannot resolve).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import threading
import time
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BackendError, IndexCorruptError, IndexNotFoundError, MissingExtraError
from ..keyword import tokenize, tokenizer_version
from ..lexicon import load_list
from ..textnorm import fold
from ..types import Chunk
from .base import DocRecord, Ranked, check_compatible
from .local import _tokens, current_generation, publish_generation
from .records import DocTable, Records, RecordsReader, TargetList, doc_targets, refresh_targets, stored_targets

log = logging.getLogger(__name__)
FORMAT_VERSION = 2
MAX_LIMIT = 16384  # Milvus caps a search's limit (topk)
HNSW = {"M": 16, "efConstruction": 200}
EF_SEARCH = 128
MERGE_HIDDEN_UP_TO = 4096  # a filter hiding at most this many chunks drops them from one unfiltered search
BM25_PARAMS = {"bm25_k1": 1.5, "bm25_b": 0.75}


def _client(uri: str, token: str):
    try:
        from pymilvus import MilvusClient
    except ImportError as e:
        raise MissingExtraError("pymilvus", "milvus", "Milvus 存储后端") from e
    try:
        return MilvusClient(uri=uri, token=token) if token else MilvusClient(uri=uri)
    except Exception as e:
        raise BackendError(f"无法连接 Milvus（{uri}）：请检查 RAG_MILVUS_URI 和服务是否在运行",
                           f"cannot connect to Milvus at {uri}: {type(e).__name__}: {e}") from e


_CLIENTS: dict[tuple[str, str], Any] = {}
_CLIENTS_LOCK = threading.Lock()


class _LiteUnimplemented(logging.Filter):
    """Milvus Lite serves in this process and does not implement every RPC pymilvus tries (AllocTimestamp while
    waiting for an index); pymilvus goes on without it, but grpc logs each as an ERROR with a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Method not implemented" not in str(record.exc_info[1] if record.exc_info else record.getMessage())


def client_for(uri: str, token: str = ""):
    """One client per URI per process (a Milvus Lite file is served by one process)."""
    if not uri.startswith(("http://", "https://")):
        grpc_log = logging.getLogger("grpc._server")
        if not any(isinstance(f, _LiteUnimplemented) for f in grpc_log.filters):
            grpc_log.addFilter(_LiteUnimplemented())
    with _CLIENTS_LOCK:
        key = (uri, token)
        if key not in _CLIENTS:
            _CLIENTS[key] = _client(uri, token)
        return _CLIENTS[key]


def close_clients() -> None:
    """Close this process's Milvus clients (a Milvus Lite file can then be opened by another process)."""
    with _CLIENTS_LOCK:
        for (uri, _), c in _CLIENTS.items():
            try:
                c.close()
                if not uri.startswith(("http://", "https://")):
                    from milvus_lite.server_manager import server_manager_instance

                    server_manager_instance.release_server(uri)  # the Lite server runs in this process
            except Exception:  # closing is best effort
                pass
        _CLIENTS.clear()


def collection_name(index_dir: Path, salt: str = "") -> str:
    """A collection name for an index folder: its name (letters, digits, _) and a hash of its full path."""
    base = re.sub(r"[^0-9A-Za-z_]", "_", Path(index_dir).name)[:40] or "index"
    h = hashlib.sha1((str(Path(index_dir).resolve()) + salt).encode()).hexdigest()[:10]
    return f"policyqa_{base}_{h}"


def _uri(index_dir: Path, settings, manifest: dict | None) -> str:
    if settings is not None and settings.milvus_uri:
        return settings.milvus_uri
    if manifest and manifest.get("milvus", {}).get("uri"):
        return manifest["milvus"]["uri"]
    return str(Path(index_dir).resolve() / "milvus.db")


_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"
MAX_TEXT = 65535  # Milvus VARCHAR limit (bytes)


@lru_cache(maxsize=1 << 20)
def term_code(term: str) -> str:
    """A keyword token as one lower-case alphanumeric word of at most 10 characters (51 bits of its BLAKE2 hash):
    Milvus's `standard` tokenizer keeps it whole, so its BM25 counts our tokens, not its own cut."""
    h = int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=8).digest(), "big") >> 13
    out = []
    while h:
        h, r = divmod(h, 36)
        out.append(_B36[r])
    return "".join(reversed(out)) or "0"


def terms_text(tokens: Sequence[str]) -> str:
    """The text field of a chunk under `terms`: its tokens' codes, space-separated (cut at Milvus's length limit,
    which only a chunk of several thousand characters reaches)."""
    text = " ".join(term_code(t) for t in tokens)
    if len(text) > MAX_TEXT:
        text = text[:text.rfind(" ", 0, MAX_TEXT)]
    return text


def _quote(values: Collection[str]) -> str:
    return "[" + ",".join(json.dumps(v, ensure_ascii=False) for v in values) + "]"


class TermStats:
    """Document frequencies of our keyword tokenizer's words over the indexed chunks (for the answerer)."""

    def __init__(self, df: dict[str, int], n: int):
        self._df, self.n = df, n

    def df(self, term: str) -> int:
        return self._df.get(term, 0)

    def __contains__(self, term: object) -> bool:
        return self._df.get(term, 0) > 0  # type: ignore[arg-type]


class MilvusStore(RecordsReader):
    """An index whose chunks live in one Milvus collection (see module docstring)."""

    name = "milvus"

    def __init__(self, path: Path, settings, gen: Path | None = None, manifest: dict | None = None):
        self.path = Path(path)
        self.gen = gen
        self.manifest: dict[str, Any] = manifest or {}
        self.uri = _uri(self.path, settings, self.manifest)
        token = settings.milvus_token.get_secret_value() if settings is not None else ""
        self.client = client_for(self.uri, token)
        self.collection = self.manifest.get("milvus", {}).get("collection", "")
        # a collection keeps the keyword mode it was made with (an older one without the field used jieba)
        self.keyword_mode = self.manifest.get("milvus", {}).get(
            "keyword", "jieba" if self.manifest else (settings.milvus_keyword if settings is not None else "terms"))
        self.records: Records | None = None
        self.summaries: dict = {}
        self.docs: Any = {}
        self._n = 0
        self.keyword_stats = TermStats({}, 0)
        self._hidden_cache: dict[frozenset[str], np.ndarray | None] = {}
        self.targets = TargetList(lambda: stored_targets(self.records, self.docs, self.manifest, self.path))
        if gen is not None:
            self.records = Records(gen / "records.sqlite")
            self.summaries = self.records.summaries()
            self.docs = DocTable(self.records, self.summaries)
            self._n = int(self.manifest["n_chunks"])
            self.keyword_stats = TermStats(self.records.terms(), self._n)
            if not self.client.has_collection(self.collection):
                raise ValueError(f"collection {self.collection} not found at {self.uri}")
            self.client.load_collection(self.collection)

    def __len__(self) -> int:
        return self._n

    @property
    def dim(self) -> int:
        return int(self.manifest["embedding"]["dim"])

    def doc_of(self, ids: np.ndarray) -> np.ndarray:
        return np.array([c.doc_id for c in self.chunks_at(ids)], dtype=object)

    # -- search -----------------------------------------------------------------------------------------------
    def _filter(self, allowed: Collection[str] | None) -> str:
        """The Milvus expression for a set of allowed documents: the shorter of `in` the set and `not in` the rest
        (hiding a few replaced versions must not send every other document id with each search)."""
        if allowed is None:
            return ""
        allowed = set(allowed)
        if 2 * len(allowed) <= len(self.summaries):
            return f"doc_id in {_quote(sorted(allowed))}"
        excluded = [d for d in self.summaries if d not in allowed]
        return f"doc_id not in {_quote(sorted(excluded))}" if excluded else ""

    def _search(self, data, field: str, limit: int, flt: str, params: dict) -> tuple[np.ndarray, np.ndarray]:
        limit = max(1, min(limit, MAX_LIMIT))
        res = self.client.search(self.collection, data=[data], anns_field=field, limit=limit, filter=flt,
                                 search_params=params, output_fields=["pk"])
        ids = np.array([int(h["pk"] if "pk" in h else h["id"]) for h in res[0]], dtype=np.int64)
        scores = np.array([float(h["distance"]) for h in res[0]], dtype=np.float32)
        return ids, scores

    def _known(self, ids: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Drop primary keys the records do not know (chunks of a write still in progress)."""
        if not len(ids):
            return ids, scores
        known = set(self.records.known_ids(ids.tolist())) if self.records is not None else set()
        keep = np.array([int(i) in known for i in ids], dtype=bool)
        return ids[keep], scores[keep]

    def _hidden(self, allowed: Collection[str] | None) -> np.ndarray | None:
        """Primary keys of the chunks a set of allowed documents leaves out, when they are few (sorted; empty:
        none), else None. Worked out once per set: the retriever hands the same set to every search."""
        if allowed is None:
            return np.zeros(0, dtype=np.int64)
        key = allowed if isinstance(allowed, frozenset) else frozenset(allowed)
        if key in self._hidden_cache:
            return self._hidden_cache[key]
        out = None
        excluded = [d for d in self.summaries if d not in key]
        if sum(self.summaries[d].chunk_count for d in excluded) <= MERGE_HIDDEN_UP_TO and self.records is not None:
            out = np.sort(np.array([i for ids in self.records.chunk_ids_of(excluded).values() for i in ids],
                                   dtype=np.int64))
        if len(self._hidden_cache) >= 16:
            self._hidden_cache.clear()
        self._hidden_cache[key] = out
        return out

    def _unfiltered(self, data: list, field: str, k: int, hidden: np.ndarray, params: dict):
        """One search without a filter for k + len(hidden) hits per query, the hidden ones dropped after: each
        search of Milvus Lite walks every row in Python whatever its filter, so a filter that hides a few chunks
        costs a second search (for the unfiltered best score) and one search is cheaper than two."""
        limit = max(1, min(k + len(hidden), MAX_LIMIT))
        res = self.client.search(self.collection, data=data, anns_field=field, limit=limit, filter="",
                                 search_params=params, output_fields=["pk"])
        out = []
        for hits in res:
            ids = np.array([int(h["pk"] if "pk" in h else h["id"]) for h in hits], dtype=np.int64)
            scores = np.array([float(h["distance"]) for h in hits], dtype=np.float32)
            ids, scores = self._known(ids, scores)
            best = scores[:1]
            keep = ~np.isin(ids, hidden) if len(hidden) else np.ones(len(ids), dtype=bool)
            out.append((ids[keep][:k], scores[keep][:k], best))
        return out

    def dense(self, query_vector: np.ndarray, k: int, allowed: Collection[str] | None) -> Ranked:
        q = np.asarray(query_vector, dtype=np.float32).tolist()
        neg_q = (-np.asarray(query_vector, dtype=np.float32)).tolist()
        params = {"metric_type": "IP", "params": {"ef": max(EF_SEARCH, min(k, MAX_LIMIT))}}
        hidden = self._hidden(allowed)
        if hidden is not None and k + len(hidden) <= MAX_LIMIT:
            (ids, scores, best), (_, _, neg) = self._unfiltered([q, neg_q], "dense", k, hidden, params)
            top = (ids, best)
        else:
            flt = self._filter(allowed)
            ids, scores = self._known(*self._search(q, "dense", k, flt, params))
            top = ids, scores
            if flt:
                top = self._known(*self._search(q, "dense", 1, "", params))
            _, neg = self._search(neg_q, "dense", 1, "", params)
        lo = float(-neg[0]) if len(neg) else 0.0
        hi = float(top[1][0]) if len(top[1]) else 0.0
        qv = np.asarray(query_vector, dtype=np.float32)

        def score_of(other: np.ndarray) -> np.ndarray:
            return self._dense_scores_of(qv, other, missing=lo)

        return Ranked(ids, scores, lo, hi, len(ids) < min(k, MAX_LIMIT), score_of)

    def _dense_scores_of(self, q: np.ndarray, ids: np.ndarray, missing: float) -> np.ndarray:
        """Exact inner products of the query with chunks' stored vectors (read by primary key: a point read,
        where a search filtered to the keys walks every row)."""
        out = np.full(len(ids), missing, dtype=np.float32)
        if not len(ids):
            return out
        pos = {int(i): j for j, i in enumerate(ids)}
        keys = list(pos)
        for start in range(0, len(keys), 1000):
            rows = self.client.get(self.collection, ids=keys[start:start + 1000], output_fields=["dense"])
            if not rows:
                continue
            vecs = np.asarray([r["dense"] for r in rows], dtype=np.float32)
            for r, s in zip(rows, (vecs @ q).tolist()):
                out[pos[int(r["pk"])]] = s
        return out

    def keyword(self, query: str, tokens: list[str], k: int, allowed: Collection[str] | None) -> Ranked:
        text = fold(query) if self.keyword_mode == "jieba" else terms_text(list(dict.fromkeys(tokens)))
        if not text.strip():
            return Ranked(np.zeros(0, np.int64), np.zeros(0, np.float32), 0.0, 0.0, True,
                          lambda ids: np.zeros(len(ids), dtype=np.float32))
        params = {"metric_type": "BM25"}
        hidden = self._hidden(allowed)
        if hidden is not None and k + len(hidden) <= MAX_LIMIT:
            ((ids, scores, best),) = self._unfiltered([text], "sparse", k, hidden, params)
            flt = ""
        else:
            flt = self._filter(allowed)
            ids, scores = self._known(*self._search(text, "sparse", k, flt, params))
            best = scores[:1]
        scores = np.abs(scores)  # Milvus Lite reports -score as a distance, a server the score
        keep = scores > 0
        ids, scores = ids[keep], scores[keep]
        hi = float(np.abs(best[0])) if len(best) else 0.0
        if flt:
            _, top = self._search(text, "sparse", 1, "", params)
            hi = float(np.abs(top[0])) if len(top) else 0.0

        def score_of(other: np.ndarray) -> np.ndarray:
            return np.abs(self._scores_of(text, "sparse", other, params, missing=0.0))

        return Ranked(ids, scores, 0.0, hi, len(ids) < min(k, MAX_LIMIT), score_of)

    def _scores_of(self, data, field: str, ids: np.ndarray, params: dict, missing: float) -> np.ndarray:
        out = np.full(len(ids), missing, dtype=np.float32)
        if not len(ids):
            return out
        pos = {int(i): j for j, i in enumerate(ids)}
        for start in range(0, len(ids), MAX_LIMIT):
            part = [int(i) for i in ids[start:start + MAX_LIMIT]]
            got, scores = self._search(data, field, len(part), f"pk in {part}", params)
            for i, s in zip(got.tolist(), scores.tolist()):
                out[pos[i]] = s
        return out

    # -- writing ----------------------------------------------------------------------------------------------
    def vectors_for(self, text_keys: Sequence[str]) -> dict[str, np.ndarray]:
        if self.records is None or not self._n:
            return {}
        found = self.records.ids_for_keys(text_keys)
        if not found:
            return {}
        by_pk: dict[int, np.ndarray] = {}
        pks = list(found.values())
        for start in range(0, len(pks), 1000):
            for row in self.client.get(self.collection, ids=pks[start:start + 1000], output_fields=["dense"]):
                by_pk[int(row["pk"])] = np.asarray(row["dense"], dtype=np.float32)
        return {key: by_pk[pk] for key, pk in found.items() if pk in by_pk}

    def _create(self, name: str, dim: int) -> None:
        from pymilvus import DataType, Function, FunctionType

        schema = self.client.create_schema(auto_id=False)
        schema.add_field("pk", DataType.INT64, is_primary=True)
        schema.add_field("doc_id", DataType.VARCHAR, max_length=1024)
        schema.add_field("regions", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=64, max_length=128)
        schema.add_field("date", DataType.VARCHAR, max_length=64)
        if self.keyword_mode == "jieba":
            terms = load_list("policy_terms", self.path)
            analyzer = {"tokenizer": {"type": "jieba", "dict": ["_default_", *terms], "mode": "search"}}
        else:
            analyzer = {"tokenizer": "standard"}
        schema.add_field("text", DataType.VARCHAR, max_length=65535, enable_analyzer=True, analyzer_params=analyzer)
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
        schema.add_function(Function(name="text_bm25", function_type=FunctionType.BM25, input_field_names=["text"],
                                     output_field_names=["sparse"]))
        index = self.client.prepare_index_params()
        index.add_index(field_name="dense", index_type="HNSW", metric_type="IP", params=HNSW)
        index.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                        params=BM25_PARAMS)
        self.client.create_collection(name, schema=schema, index_params=index)

    def write(self, added: list[tuple[DocRecord, list[Chunk], np.ndarray]], removed: Collection[str],
              manifest: dict[str, Any], tokens: list[list[str]] | None = None,
              sentences: Mapping[str, np.ndarray] | None = None) -> Path:
        """Insert the new chunks, write the next records generation and switch to it, then delete the chunks of
        removed and replaced documents."""
        from ..targets import EXTRACTOR_VERSION

        index_dir = self.path
        index_dir.mkdir(parents=True, exist_ok=True)
        dim = int(manifest["embedding"]["dim"])
        fresh = self.gen is None
        collection = self.collection if not fresh else collection_name(index_dir, salt=str(time.time_ns()))
        if fresh:
            self._create(collection, dim)
        gen = index_dir / f"gen-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6}"
        tmp = gen.with_name(gen.name + ".tmp")
        previous = current_generation(index_dir)
        tmp.mkdir()
        inserted: list[int] = []
        try:
            if self.records is not None:
                shutil.copyfile(self.gen / "records.sqlite", tmp / "records.sqlite")
            records = Records(tmp / "records.sqlite", writable=True)
            drop = (set(removed) | {rec.doc.doc_id for rec, _, _ in added}) & set(self.summaries)
            old_ids = [i for ids in records.chunk_ids_of(drop).values() for i in ids]
            delta: Counter = Counter()
            for c in records.chunks(old_ids):
                delta.update({t: -1 for t in set(tokenize(c.embed_text(), index_dir=index_dir))})
            next_pk = int(self.manifest.get("next_pk", 0))
            records.begin()
            records.remove(drop)
            if self.records is not None and self.manifest.get("targets") != EXTRACTOR_VERSION:
                refresh_targets(records, [d for d in self.summaries if d not in drop], index_dir)
            rows = []
            if tokens is None:
                tokens = _tokens([c for _, chunks, _ in added for c in chunks], index_dir)
            new_tokens = iter(tokens)
            for rec, chunks, vecs in added:
                ids = list(range(next_pk, next_pk + len(chunks)))
                next_pk += len(chunks)
                records.add(rec, chunks, ids, doc_targets(rec, index_dir))
                regions = [r for r in dict.fromkeys([*(rec.doc.metadata.get("regions") or []), rec.doc.region]) if r]
                for pk, c, v in zip(ids, chunks, vecs):
                    toks = next(new_tokens)
                    delta.update({t: 1 for t in set(toks)})
                    text = fold(c.embed_text())[:20000] if self.keyword_mode == "jieba" else terms_text(toks)
                    rows.append({"pk": pk, "doc_id": c.doc_id, "regions": regions[:64], "date": rec.doc.date[:64],
                                 "text": text, "dense": np.asarray(v, dtype=np.float32).tolist()})
                    if len(rows) >= 1000:
                        self.client.insert(collection, rows)
                        inserted.extend(r["pk"] for r in rows)
                        rows = []
            if rows:
                self.client.insert(collection, rows)
                inserted.extend(r["pk"] for r in rows)
            records.update_terms(dict(delta))
            if sentences:
                records.put_sentences(sentences)
            if drop:
                records.prune_sentences()
            records.commit()
            n_docs = len(records.summaries())
            n_chunks = records.count()
            records.close()
            self.client.flush(collection)
            manifest = dict(manifest, store="milvus", format=FORMAT_VERSION, n_chunks=n_chunks, n_docs=n_docs,
                            next_pk=next_pk, keyword=tokenizer_version(index_dir), targets=EXTRACTOR_VERSION,
                            milvus={"collection": collection, "uri": "" if self.uri.startswith("http") else self.uri,
                                    "keyword": self.keyword_mode})
            publish_generation(tmp, gen, index_dir, manifest)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            if fresh:
                self.client.drop_collection(collection)
            elif inserted:
                self.client.delete(collection, ids=inserted)
            raise
        if old_ids and not fresh:
            for start in range(0, len(old_ids), 10000):
                self.client.delete(collection, ids=old_ids[start:start + 10000])
        if fresh and self.collection and self.collection != collection and self.client.has_collection(self.collection):
            self.client.drop_collection(self.collection)
        keep_names = {gen.name, previous.name if previous else ""}
        for old in index_dir.glob("gen-*"):
            if old.name not in keep_names:
                shutil.rmtree(old, ignore_errors=True)
        return gen


def open_milvus(index_dir: Path, settings, embedding: dict | None = None, chunker: dict | None = None,
                missing_ok: bool = False, fresh: bool = False) -> MilvusStore:
    """The Milvus index named by an index folder (see module docstring)."""
    index_dir = Path(index_dir)
    gen = current_generation(index_dir)
    manifest = None
    if gen is not None:
        try:
            manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
        except Exception as e:
            raise IndexCorruptError(f"索引 {index_dir} 已损坏或不完整，请重建：rag ingest --rebuild --index {index_dir}",
                                    f"index {index_dir} manifest unreadable: {e}") from e
    if fresh or gen is None:
        if gen is None and not missing_ok and not fresh:
            raise IndexNotFoundError(f"找不到索引 {index_dir}：请先运行 rag ingest --index {index_dir}",
                                     f"no index at {index_dir}; run `rag ingest --index {index_dir}` first")
        store = MilvusStore(index_dir, settings, None, None)
        if manifest and manifest.get("store") == "milvus":
            store.collection = manifest.get("milvus", {}).get("collection", "")  # dropped after the rebuild
        return store
    if manifest.get("store") != "milvus":
        raise IndexCorruptError(
            f"索引 {index_dir} 不是 Milvus 索引（是 {manifest.get('store', 'local')}）：请换一个 --index 或重建",
            f"index {index_dir} is a {manifest.get('store', 'local')} index, not milvus")
    if embedding is not None and chunker is not None:
        check_compatible(manifest, embedding, chunker, index_dir)
    try:
        return MilvusStore(index_dir, settings, gen, manifest)
    except (BackendError, MissingExtraError):
        raise
    except Exception as e:
        raise IndexCorruptError(f"Milvus 索引 {index_dir} 无法打开（集合缺失或记录损坏），请重建：rag ingest --rebuild --index {index_dir}",
                                f"milvus index {index_dir} cannot be opened: {type(e).__name__}: {e}") from e
