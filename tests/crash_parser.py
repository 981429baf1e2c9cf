"""A parser for tests/test_ingest_survives.py: the real one, except on files named to break it.

A native PDF/DOCX library that segfaults, or the OOM killer, cannot be summoned on demand, so a file whose name
contains `kill-worker` makes this parser kill its own worker process (SIGKILL, as the OOM killer does) and one
containing `raise-error` raises as a buggy parser would. Every other file goes through the real loader and chunker.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from rag.parsing import load_and_chunk


def parse(path: Path, chunker):
    if "kill-worker" in path.name:
        os.kill(os.getpid(), signal.SIGKILL)
    if "raise-error" in path.name:
        raise RecursionError("maximum recursion depth exceeded while parsing")
    return load_and_chunk(path, chunker)
