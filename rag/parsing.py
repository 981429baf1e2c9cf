"""Files -> documents and chunks, parsed in worker processes while the main process embeds.

A parser that raises skips its file with a Chinese reason. A parser that kills its worker (a crash in a native PDF
or DOCX library, memory exhaustion) breaks the whole pool, so the files that were in flight are parsed again one at
a time in a fresh pool: the one that breaks it alone is skipped, the others are parsed as usual.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from .chunker import ChunkerSettings, chunk_document
from .errors import LoadError
from .loaders import load_document
from .store import DocRecord
from .types import Chunk

log = logging.getLogger(__name__)

CRASH_REASON = "解析此文件时解析程序异常退出（文件可能已损坏），已跳过"


@dataclass
class Parsed:
    """One file's outcome: its record and chunks, or the reason it was skipped."""

    index: int  # position in the ingest's list of files
    path: Path
    record: DocRecord | None = None
    chunks: list[Chunk] = field(default_factory=list)
    reason: str = ""  # Chinese, for users
    log_reason: str = ""  # English, for logs


def load_and_chunk(path: Path, chunker: ChunkerSettings) -> tuple[DocRecord, list[Chunk]]:
    """The default parser: load one file and chunk it by section."""
    doc = load_document(path)
    chunks, sections = chunk_document(doc, chunker)
    return DocRecord(doc, sections, len(chunks)), chunks


Parser = Callable[[Path, ChunkerSettings], tuple[DocRecord, list[Chunk]]]


def parse_one(parser: Parser, index: int, path: Path, chunker: ChunkerSettings) -> Parsed:
    """Run the parser on one file and turn any exception into a skip reason (runs in a worker)."""
    try:
        record, chunks = parser(path, chunker)
    except LoadError as e:
        return Parsed(index, path, reason=str(e), log_reason=e.log_message)
    except Exception as e:  # a parser bug or a hostile file must cost that file only
        return Parsed(index, path, reason=f"解析文件时出错（{type(e).__name__}），已跳过",
                      log_reason=f"parser raised {type(e).__name__}: {e}")
    if not chunks:
        return Parsed(index, path, reason="文件中没有可用的文字内容", log_reason="no chunks")
    return Parsed(index, path, record, chunks)


def default_workers() -> int:
    """One parse worker per core the embedding model leaves free, at least one, at most four."""
    return max(1, min(4, (os.cpu_count() or 1) - 1))


def _exit_with_parent(parent: int) -> None:
    """In a worker: exit when the ingesting process is gone (killed with SIGKILL, it cannot stop its pool; an idle
    worker would otherwise wait on the task queue forever, since it holds that pipe's write end itself)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


class ParsePool:
    """Parses `jobs` ((index, path) pairs) ahead of the consumer; `take()` returns the files finished so far.

    `workers=0` parses in the calling process, one file per `take()` (no crash isolation: for tiny ingests).
    """

    def __init__(self, jobs: list[tuple[int, Path]], chunker: ChunkerSettings, workers: int,
                 parser: Parser = load_and_chunk):
        self._todo = deque(jobs)
        self.total = len(jobs)
        self._sizes = {i: _size(path) for i, path in jobs}
        self.remaining_bytes = sum(self._sizes.values())
        self._suspects: deque[tuple[int, Path]] = deque()  # in flight when a worker died: parsed one at a time
        self._inflight: dict[Future, tuple[int, Path]] = {}
        self._chunker, self._parser, self._workers = chunker, parser, workers
        self._pool: ProcessPoolExecutor | None = None
        if workers > 0 and jobs:
            self._pool = self._new_pool()
        self.workers = workers if self._pool is not None else 0

    def size_of(self, index: int) -> int:
        """Bytes of a file handed out by take() (they no longer count in `remaining_bytes`)."""
        size = self._sizes.pop(index, 0)
        self.remaining_bytes -= size
        return size

    def _new_pool(self) -> ProcessPoolExecutor | None:
        # spawn, not fork: the parent may hold model threads and locks that a forked child would inherit mid-use
        pool = ProcessPoolExecutor(self._workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_exit_with_parent, initargs=(os.getpid(),))
        try:
            pool.submit(os.getpid).result(timeout=120)  # workers can start here (not e.g. a script read from stdin)
        except Exception as e:
            log.warning("parse workers unavailable (%s: %s); parsing in the ingesting process", type(e).__name__, e)
            pool.shutdown(wait=False, cancel_futures=True)
            return None
        return pool

    @property
    def done(self) -> bool:
        return not (self._todo or self._suspects or self._inflight)

    def take(self, block: bool) -> list[Parsed]:
        """Files parsed since the last call; with `block`, waits until at least one is ready (unless all are done)."""
        if self._pool is None:
            if not self._todo:
                return []
            index, path = self._todo.popleft()
            return [parse_one(self._parser, index, path, self._chunker)]
        self._fill()
        if not self._inflight:
            return []
        ready, _ = wait(self._inflight, timeout=None if block else 0, return_when=FIRST_COMPLETED)
        out: list[Parsed] = []
        broken = False
        for fut in ready:
            try:
                out.append(fut.result())
                del self._inflight[fut]
            except BrokenProcessPool:
                broken = True
        if broken:
            out.extend(self._recover())
        return out

    def _fill(self) -> None:
        if self._suspects:  # isolating: exactly one suspect in flight, nothing else
            if not self._inflight:
                job = self._suspects.popleft()
                self._inflight[self._pool.submit(parse_one, self._parser, *job, self._chunker)] = job
            return
        while self._todo and len(self._inflight) < 16 * self._workers:  # parsed well ahead of the model
            job = self._todo.popleft()
            self._inflight[self._pool.submit(parse_one, self._parser, *job, self._chunker)] = job

    def _recover(self) -> list[Parsed]:
        """A worker died: keep what finished, skip the culprit when it is known, re-run the rest one by one."""
        wait(self._inflight)
        out, lost = [], []
        for fut, job in self._inflight.items():
            if fut.exception() is None:
                out.append(fut.result())
            else:
                lost.append(job)
        self._inflight.clear()
        if len(lost) == 1:  # the only file not finished is the one the worker was parsing when it died
            index, path = lost[0]
            log.warning("parser crashed its worker on %s; skipped", path)
            out.append(Parsed(index, path, reason=CRASH_REASON, log_reason="parser process died (crash)"))
        else:
            self._suspects.extend(sorted(lost))
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new_pool()
        if self._pool is None:  # cannot start workers any more: parse the rest here
            self._todo = deque(sorted([*self._suspects, *self._todo]))
            self._suspects.clear()
        return out

    def close(self) -> None:
        """Stop the workers (also when the ingest is abandoned midway)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
