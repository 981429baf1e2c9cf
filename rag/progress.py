"""Ingest progress: what the ingest reports (IngestProgress) and how it is shown.

On a terminal a bar is redrawn after every batch; anywhere else (a log file, a service, CI) one line is written every
few seconds from a timer, so a slow batch never leaves the log silent, with documents, chunks, characters per
second and the estimated time left.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TextIO

STAGES = {"read": "读取文件", "embed": "计算向量", "write": "写入索引", "end": "完成"}


@dataclass(frozen=True)
class IngestProgress:
    """A snapshot of an ingest. Totals of chunks and characters grow while files are still being parsed."""

    stage: str  # read | embed | write | end
    docs_done: int = 0  # documents parsed with every chunk's vector ready
    docs_total: int = 0  # documents to parse in this ingest
    chunks_done: int = 0
    chunks_total: int = 0  # chunks of the documents parsed so far
    chars_embedded: int = 0
    chars_per_second: float = 0.0
    eta_seconds: float | None = None
    elapsed: float = 0.0


Progress = Callable[[IngestProgress], None]


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "估算中"
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}小时{s % 3600 // 60:02d}分"
    return f"{s // 60}分{s % 60:02d}秒" if s >= 60 else f"{s}秒"


def describe(p: IngestProgress) -> str:
    """One line: stage, documents, chunks, characters per second, time used and left."""
    parts = [f"{STAGES.get(p.stage, p.stage)}：文档 {p.docs_done}/{p.docs_total}，分块 {p.chunks_done}/{p.chunks_total}"]
    if p.chars_embedded:
        parts.append(f"{p.chars_per_second:,.0f} 字/秒")
    parts.append(f"已用 {_duration(p.elapsed)}")
    if p.stage in {"read", "embed"}:
        parts.append(f"预计剩余 {_duration(p.eta_seconds)}")
    return "，".join(parts)


class LogLines:
    """Writes a timestamped progress line at the first event, every `interval` seconds after, and at the end."""

    def __init__(self, stream: TextIO, interval: float = 5.0):
        self.stream, self.interval = stream, interval
        self._last: IngestProgress | None = None
        self._at = 0.0  # monotonic time of the last snapshot
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __call__(self, p: IngestProgress) -> None:
        with self._lock:
            last = self._last
            self._last, self._at = p, time.monotonic()
        if last is None and p.stage == "end":
            return  # an ingest with nothing to do: no progress to tell
        # a line when something new is known: the first event, a new stage, the first speed estimate, the end
        rate_known = p.eta_seconds is not None and (last is None or last.eta_seconds is None)
        if last is None or last.stage != p.stage or rate_known or p.stage == "end":
            self._write(p)
        if p.stage == "end":  # ready for the next ingest (a rebuild after a refused incremental one)
            self._stop.set()
            self._thread, self._last, self._stop = None, None, threading.Event()
        elif self._thread is None:
            self._thread = threading.Thread(target=self._tick, args=(self._stop,), name="ingest-progress", daemon=True)
            self._thread.start()

    def _tick(self, stop: threading.Event) -> None:
        while not stop.wait(self.interval):
            with self._lock:
                p, at = self._last, self._at
            if p is not None:  # between batches: the same counts, time moved on
                waited = time.monotonic() - at
                eta = max(0.0, p.eta_seconds - waited) if p.eta_seconds is not None else None
                self._write(replace(p, elapsed=p.elapsed + waited, eta_seconds=eta))

    def _write(self, p: IngestProgress) -> None:
        self.stream.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} 入库进度 {describe(p)}\n")
        self.stream.flush()


class TerminalBar:
    """A bar redrawn in place on a terminal."""

    def __init__(self, stream: TextIO, width: int = 24):
        self.stream, self.width = stream, width

    def __call__(self, p: IngestProgress) -> None:
        if p.stage == "end" and not p.docs_total:
            return
        total = p.docs_total or 1
        filled = int(self.width * min(p.docs_done, total) / total)
        bar = "#" * filled + "." * (self.width - filled)
        end = "\n" if p.stage == "end" else ""
        self.stream.write(f"\r\x1b[K[{bar}] {describe(p)}{end}")
        self.stream.flush()


def progress_reporter(stream: TextIO | None = None, interval: float = 5.0) -> Progress:
    """A bar on a terminal, timestamped lines every `interval` seconds elsewhere."""
    stream = stream or sys.stderr
    return TerminalBar(stream) if stream.isatty() else LogLines(stream, interval)
