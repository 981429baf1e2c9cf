"""The resume cache: every embedding an ingest computes is committed here as soon as its batch is done.

An ingest killed at any point (SIGKILL, reboot, a full disk) and started again finds the vectors it had already
paid for and embeds only the rest. Entries are keyed by the embedding model's fingerprint and the SHA-1 of the text,
so a cache never hands one model's vectors to another. The file is SQLite in WAL mode with synchronous=FULL: a
batch is either entirely committed or absent after a crash, never torn. It lives beside the index generations
(`<index>/embed_cache.sqlite`) and is emptied once a new generation holding those vectors is live, so it never holds
more than the work of one interrupted ingest.
"""

from __future__ import annotations

import errno
import json
import logging
import sqlite3
from pathlib import Path

import numpy as np

from .errors import StorageError

log = logging.getLogger(__name__)
CACHE_FILE = "embed_cache.sqlite"


def storage_error(what_zh: str, what_en: str, e: BaseException, path: Path) -> StorageError:
    """A StorageError naming the likely cause (disk full, no permission) of an OS or SQLite write failure."""
    code = getattr(e, "errno", None)
    text = str(e).lower()
    if code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) or "full" in text or "too large" in text:
        why = "磁盘空间不足"
    elif code in (errno.EACCES, errno.EPERM, errno.EROFS) or "readonly" in text or "permission" in text:
        why = "没有写权限（或磁盘只读）"
    else:
        why = f"写入失败：{getattr(e, 'strerror', None) or e}"
    return StorageError(
        f"{what_zh}失败：{why}（{path}）。原有索引未改动；已计算的向量保存在缓存中，腾出空间或修正权限后重新运行即可接着做",
        f"{what_en} failed at {path} ({type(e).__name__}: {e}); the previous index is untouched",
    )


def cached_count(index_dir: Path) -> int:
    """How many vectors an index folder's cache holds, read without taking a write lock (0 when there is no cache
    yet, or its table is not created yet): what a watcher of a running ingest reads."""
    path = Path(index_dir) / CACHE_FILE
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT count(*) FROM vectors").fetchone()[0]
    except sqlite3.Error:
        return 0


class EmbeddingCache:
    """Vectors by (model fingerprint, text hash), committed batch by batch."""

    def __init__(self, index_dir: Path, model: dict, dim: int):
        self.path = Path(index_dir) / CACHE_FILE
        self.model = json.dumps(model, sort_keys=True)
        self.dim = dim
        self._open()

    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS vectors (model TEXT, key TEXT, vec BLOB, PRIMARY KEY (model, key))"
                " WITHOUT ROWID"
            )
        except (sqlite3.Error, OSError) as e:
            raise storage_error("打开向量缓存", "opening the embedding cache", e, self.path) from e

    def load(self) -> dict[str, np.ndarray]:
        """Every vector cached for this model (a vector of the wrong size, from a damaged file, is left out)."""
        try:
            rows = self._db.execute("SELECT key, vec FROM vectors WHERE model = ?", (self.model,)).fetchall()
        except sqlite3.DatabaseError as e:  # a damaged cache costs re-embedding, never the ingest
            log.warning("embedding cache %s unreadable, starting it afresh: %s", self.path, e)
            self.clear()
            self._open()
            return {}
        size = 4 * self.dim
        return {k: np.frombuffer(v, dtype=np.float32).copy() for k, v in rows if len(v) == size}

    def put(self, keys: list[str], vectors: np.ndarray) -> None:
        """Commit one batch of vectors (durable when this returns)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        try:
            with self._db:  # one transaction per batch
                self._db.execute("BEGIN")
                self._db.executemany(
                    "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                    [(self.model, k, v.tobytes()) for k, v in zip(keys, vectors)],
                )
        except (sqlite3.Error, OSError) as e:
            raise storage_error("写入向量缓存", "writing the embedding cache", e, self.path) from e

    def close(self) -> None:
        self._db.close()

    def clear(self) -> None:
        """Remove the cache file (its vectors are in the live index now)."""
        self.close()
        for suffix in ("", "-wal", "-shm"):
            Path(str(self.path) + suffix).unlink(missing_ok=True)
