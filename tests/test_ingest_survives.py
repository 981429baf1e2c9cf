"""Ingest that survives: a killed ingest resumes from the embedding cache, progress reaches a log, a parser that
crashes costs only its file, a full disk or an unwritable cache leaves the old index as it was.

All with the real model, real files and real processes (the ingest runs as `rag ingest` in a subprocess and is
killed with SIGKILL). The full-size measurement (ncp2020, 599 notices) is `benchmarks/ingest.py resume`.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.answer.features import sentence_texts
from rag.embed_cache import cached_count
from rag.errors import StorageError
from rag.ingest import _text_key, ingest
from rag.parsing import CRASH_REASON, load_and_chunk, parse_one
from rag.store import load_index

from .conftest import ROOT
from .crash_parser import parse as crashing_parser

LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) 入库进度 (\S+?)：文档 (\d+)/(\d+)，分块 (\d+)/(\d+)(.*)$")


def _notice(seed: int, articles: int) -> str:
    """A notice of many short articles: one chunk each, every text distinct."""
    lines = [f"关于第{seed}批园区建设项目的通知"]
    for i in range(1, articles + 1):
        lines += [f"第{i}条", f"第{seed}批第{i}个项目由园区管理委员会负责推进，项目资金按照第{i}阶段的建设进度分期拨付，"
                             f"申报单位应当在每年第{i % 4 + 1}季度提交第{seed * 100 + i}号进展报告，逾期未报的暂停拨付。"]
    return "\n".join(lines)


def _rag(*args: str, **kw):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-m", "rag.cli", *args], cwd=ROOT, env=env, **kw)


def _children(pid: int) -> list[int]:
    """Process ids whose parent is `pid` (Linux /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


@pytest.fixture(scope="module")
def killed_and_resumed(corpus_index, settings_factory, tmp_path_factory):
    """`rag ingest` of two notices (80 chunks) killed with SIGKILL once a batch is in the cache, then run again."""
    tmp = tmp_path_factory.mktemp("resume")
    index = tmp / "index"
    shutil.copytree(corpus_index, index)
    before = load_index(index)
    docs = tmp / "docs"
    docs.mkdir()
    for seed in (1, 2):
        (docs / f"notice{seed}.txt").write_text(_notice(seed, 40), encoding="utf-8")
    chunker = settings_factory(index).chunker_settings()
    chunks = [c for i, f in enumerate(sorted(docs.iterdir())) for c in parse_one(load_and_chunk, i, f, chunker).chunks]
    # what the ingest embeds: each chunk's text and each of its sentences (the answer ranker's sentence vectors)
    chunk_texts = {_text_key(c.embed_text()) for c in chunks}
    texts = chunk_texts | {_text_key(t) for c in chunks for t in sentence_texts(c)}
    with open(tmp / "run1.log", "w") as err:
        proc = _rag("ingest", str(docs), "--index", str(index), "--json", stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + 600
        while proc.poll() is None and cached_count(index) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = _children(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)  # mid-ingest: some batches committed, the rest not embedded yet
        proc.wait(timeout=60)
    deadline = time.monotonic() + 60
    while any(Path(f"/proc/{w}").exists() for w in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    orphans = [w for w in workers if Path(f"/proc/{w}").exists()]
    cached = cached_count(index)
    after_kill = load_index(index)
    with open(tmp / "run2.log", "w") as err:
        second = _rag("ingest", str(docs), "--index", str(index), "--json", stdout=subprocess.PIPE, stderr=err, text=True)
        out, _ = second.communicate(timeout=900)
    assert second.returncode == 0, (tmp / "run2.log").read_text(encoding="utf-8")
    return {"index": index, "before": before, "after_kill": after_kill, "texts": texts, "chunk_texts": chunk_texts, "cached": cached,
            "report": json.loads(out), "log": (tmp / "run2.log").read_text(encoding="utf-8"), "docs": docs,
            "workers": workers, "orphans": orphans}


def test_killed_ingest_restarts_where_it_stopped(killed_and_resumed):
    r = killed_and_resumed
    assert 0 < r["cached"] < len(r["texts"]), "the kill should land between the first batch and the last"
    report = r["report"]
    # every vector committed before the kill is reused...
    assert report["n_resumed"] + report["n_sentences_resumed"] == r["cached"]
    # ...and only the rest is embedded
    assert report["n_embedded"] + report["n_sentences_embedded"] == len(r["texts"]) - r["cached"]
    assert report["added"] == ["notice1.txt", "notice2.txt"]


def test_parse_workers_of_a_killed_ingest_exit_too(killed_and_resumed):
    assert killed_and_resumed["workers"], "the ingest should have parse workers"
    assert killed_and_resumed["orphans"] == []


def test_killed_ingest_leaves_the_old_index_and_the_restart_a_loadable_one(killed_and_resumed):
    r = killed_and_resumed
    before, after_kill = r["before"], r["after_kill"]
    assert set(after_kill.docs) == set(before.docs) and len(after_kill.chunks) == len(before.chunks)
    final = load_index(r["index"])
    assert set(final.docs) == set(before.docs) | {"notice1.txt", "notice2.txt"}
    assert {_text_key(c.embed_text()) for c in final.chunks} >= r["chunk_texts"]
    assert len(final.vectors) == len(final.chunks)
    assert not (r["index"] / "embed_cache.sqlite").exists()  # its vectors are in the index now


def test_progress_lines_reach_a_log_file(killed_and_resumed):
    """stderr is a file, not a terminal: timestamped lines with documents, chunks, speed and time left."""
    lines = [m for m in map(LINE.match, killed_and_resumed["log"].splitlines()) if m]
    assert len(lines) >= 3
    stages = [m.group(2) for m in lines]
    assert "计算向量" in stages and stages[-1] == "完成"
    speed = [m for m in lines if m.group(2) == "计算向量" and "字/秒" in m.group(7)]
    assert speed and re.search(r"预计剩余 \d+(秒|分)", speed[0].group(7))
    done = [int(m.group(3)) for m in lines]
    assert done == sorted(done) and lines[-1].group(3) == lines[-1].group(4) == "2"
    # every chunk of the two new notices was counted: as many as the restarted ingest added to the index
    added = len(load_index(killed_and_resumed["index"]).chunks) - len(killed_and_resumed["before"].chunks)
    assert lines[-1].group(5) == lines[-1].group(6) == str(added)


def test_a_parser_that_crashes_its_worker_costs_only_that_file(index_copy, settings_factory, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a-good.txt").write_text(_notice(3, 2), encoding="utf-8")
    (docs / "b-kill-worker.txt").write_text(_notice(4, 2), encoding="utf-8")
    (docs / "c-raise-error.txt").write_text(_notice(5, 2), encoding="utf-8")
    (docs / "d-good.txt").write_text(_notice(6, 2), encoding="utf-8")
    report = ingest([docs], settings_factory(index_copy, ingest_workers=1), parser=crashing_parser)
    assert report.workers == 1
    assert report.added == ["a-good.txt", "d-good.txt"]
    reasons = {Path(f).name: r for f, r in report.skipped}
    assert reasons == {"b-kill-worker.txt": CRASH_REASON, "c-raise-error.txt": "解析文件时出错（RecursionError），已跳过"}
    assert {"a-good.txt", "d-good.txt"} <= set(load_index(index_copy).docs)


def test_full_disk_while_writing_keeps_the_old_index_and_the_vectors(index_copy, settings_factory, tmp_path):
    """A file-size limit (RLIMIT_FSIZE) stands in for a full disk: writes past it fail as they would with ENOSPC."""
    before = load_index(index_copy)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notice7.txt").write_text(_notice(7, 3), encoding="utf-8")
    limit = lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (150_000, 150_000))  # noqa: E731
    proc = _rag("ingest", str(docs), "--index", str(index_copy), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True, preexec_fn=limit)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 2
    assert "磁盘空间不足" in err and "原有索引未改动" in err and "Traceback" not in err
    after = load_index(index_copy)
    assert set(after.docs) == set(before.docs) and len(after.chunks) == len(before.chunks)
    report = ingest([docs], settings_factory(index_copy))  # space again: the vectors computed before are reused
    assert report.n_embedded == 0 and report.n_resumed == load_index(index_copy).docs["notice7.txt"].chunk_count > 0
    assert report.n_sentences_embedded == 0 and report.n_sentences_resumed > 0


def test_an_unwritable_cache_is_a_clear_message_and_the_old_index_stays(index_copy, settings_factory, tmp_path):
    before = load_index(index_copy)
    (index_copy / "embed_cache.sqlite").mkdir()  # cannot be opened as a database file
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notice8.txt").write_text(_notice(8, 2), encoding="utf-8")
    with pytest.raises(StorageError) as err:
        ingest([docs], settings_factory(index_copy))
    assert "向量缓存" in str(err.value) and "原有索引未改动" in str(err.value)
    assert len(load_index(index_copy).chunks) == len(before.chunks)
