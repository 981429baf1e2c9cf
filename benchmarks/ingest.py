#!/usr/bin/env python
"""Ingest that survives, measured for real on a folder of documents (default: the 599 ncp2020 notices).

    python benchmarks/ingest.py resume [--docs DIR] [--kill-at 0.5]
        Copies a base index (built from corpus/ unless --base-index is given), starts `rag ingest DIR` on it in a
        subprocess whose stderr is a file, loads the old index every second while it runs, SIGKILLs it once about
        half of the new texts are in the resume cache, checks that the old index still loads, starts the same
        ingest again and reports: texts embedded before the kill, texts the second run embedded and took from the
        cache, the work done twice, whether the new index loads, and the largest gap between progress lines.
    python benchmarks/ingest.py throughput [--docs DIR] [--limit 60] [--rounds 3]
        The raw model's characters/s on the chunk texts of the first LIMIT documents against a full ingest's
        (parse workers + embedding + tokens + write) characters/s on the same files, in alternating rounds.

Both print a JSON object on stdout (--json) or a short table. Run with OMP_NUM_THREADS=1 on a quiet machine:
timings on a shared machine are noisy, so the load average is reported with them.
Data credit: ncp2020 notices (see eval/sets.json).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from rag.embed_cache import cached_count  # noqa: E402

NCP = Path(os.environ.get("NCP2020_DIR", ROOT.parent.parent / "shared" / "external" / "ncp2020")) / "docs"
if not NCP.is_dir():
    NCP = Path("/work/shared/external/ncp2020/docs")


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def unique_texts(files: list[Path]) -> dict[str, str]:
    """Chunk texts of the files (key -> text), as the ingest will see them."""
    from rag.ingest import _text_key
    from rag.parsing import load_and_chunk, parse_one
    from rag.settings import Settings

    chunker = Settings().chunker_settings()
    out: dict[str, str] = {}
    for i, f in enumerate(files):
        p = parse_one(load_and_chunk, i, f, chunker)
        for c in p.chunks:
            out[_text_key(c.embed_text())] = c.embed_text()
    return out


def progress_gaps(log: Path) -> tuple[int, float]:
    """Number of progress lines in a log and the largest gap between consecutive ones (seconds)."""
    stamps = [datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")
              for m in re.finditer(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) 入库进度", log.read_text(encoding="utf-8"), re.M)]
    gaps = [(b - a).total_seconds() for a, b in zip(stamps, stamps[1:])]
    return len(stamps), max(gaps, default=0.0)


def resume(args) -> dict:
    from rag.ingest import _text_key
    from rag.store import load_index

    work = Path(tempfile.mkdtemp(prefix="ingest-resume-"))
    index = work / "index"
    if args.base_index:
        shutil.copytree(args.base_index, index)
    else:
        say("building the base index from corpus/ …")
        subprocess.run([sys.executable, "-m", "rag.cli", "ingest", str(ROOT / "corpus"), "--index", str(index),
                        "--no-progress"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    base = load_index(index)
    base_keys = {_text_key(c.embed_text()) for c in base.chunks}
    files = sorted(p for p in Path(args.docs).rglob("*") if p.is_file())
    texts = {k: t for k, t in unique_texts(files).items() if k not in base_keys}
    total, total_chars = len(texts), sum(map(len, texts.values()))
    say(f"{len(files)} files, {total} new chunk texts, {total_chars} characters to embed")
    cmd = [sys.executable, "-m", "rag.cli", "ingest", str(args.docs), "--index", str(index), "--json"]
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))

    loads = {"ok": 0, "failed": 0}
    stop = threading.Event()

    def keep_loading() -> None:  # the old index must stay readable while the ingest runs and after it is killed
        while not stop.wait(1.0):
            try:
                idx = load_index(index)
                loads["ok" if set(idx.docs) >= set(base.docs) else "failed"] += 1
            except Exception:
                loads["failed"] += 1

    reader = threading.Thread(target=keep_loading, daemon=True)
    reader.start()
    log1 = work / "run1.log"
    t0 = time.perf_counter()
    with open(log1, "w") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
        target = int(total * args.kill_at)
        while proc.poll() is None and cached_count(index) < target:
            time.sleep(0.5)
        killed_after = time.perf_counter() - t0
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    time.sleep(2)  # a few more loads after the kill
    stop.set()
    reader.join()
    committed = cached_count(index)
    after_kill = load_index(index)
    old_intact = set(after_kill.docs) == set(base.docs) and len(after_kill.chunks) == len(base.chunks)
    say(f"killed after {killed_after:.0f} s with {committed} of {total} texts in the cache; old index intact: {old_intact}")

    log2 = work / "run2.log"
    t1 = time.perf_counter()
    with open(log2, "w") as err:
        out = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=err, text=True, check=True)
    second_s = time.perf_counter() - t1
    rep = json.loads(out.stdout)
    final = load_index(index)
    final_keys = {_text_key(c.embed_text()) for c in final.chunks}
    batch = 32
    done_twice = rep["n_embedded"] + committed - total  # embedded by both runs (0 when nothing was lost)
    lines1, gap1 = progress_gaps(log1)
    lines2, gap2 = progress_gaps(log2)
    result = {
        "docs": len(files), "new_texts": total, "new_chars": total_chars,
        "killed_after_s": round(killed_after, 1), "cached_at_kill": committed,
        "second_run": {"n_embedded": rep["n_embedded"], "n_resumed": rep["n_resumed"], "seconds": round(second_s, 1),
                       "chars_per_second": rep["chars_per_second"], "workers": rep["workers"]},
        "embedded_twice": done_twice,
        # the batch in flight at the kill was computed (perhaps) but never committed: at most one batch more
        "embedded_twice_bound": done_twice + batch,
        "embedded_twice_bound_pct": round(100 * (done_twice + batch) / max(committed, 1), 2),
        "old_index_loads_during": loads, "old_index_intact_after_kill": old_intact,
        "new_index_loads": set(final.docs) >= set(base.docs) and len(final.docs) == len(base.docs) + len(rep["added"]),
        "new_index_has_all_texts": set(texts) <= final_keys,
        "cache_left_after": (index / "embed_cache.sqlite").exists(),
        "progress_lines": [lines1, lines2], "progress_max_gap_s": [gap1, gap2],
        "load_average": os.getloadavg(),
    }
    shutil.rmtree(work, ignore_errors=True)
    return result


def throughput(args) -> dict:
    from rag.embeddings import get_embedder
    from rag.ingest import ingest
    from rag.settings import Settings

    files = sorted(p for p in Path(args.docs).rglob("*") if p.is_file())[: args.limit]
    work = Path(tempfile.mkdtemp(prefix="ingest-tp-"))
    subset = work / "docs"
    subset.mkdir()
    for f in files:
        shutil.copy(f, subset / f.name)
    texts = list(unique_texts(sorted(subset.iterdir())).values())
    chars = sum(map(len, texts))
    settings = Settings()
    embedder = get_embedder(settings.embed_backend, settings.embed_model or None)
    embedder.embed_passages(texts[:8])  # warm-up
    raw, ing, workers = [], [], 0
    for r in range(args.rounds):
        t = time.perf_counter()
        embedder.embed_passages(texts)
        raw.append(chars / (time.perf_counter() - t))
        index = work / f"index-{r}"
        rep = ingest([subset], settings, index_dir=index, embedder=embedder)
        assert rep.chars_embedded == chars, (rep.chars_embedded, chars)
        ing.append(rep.chars_per_second)
        workers = rep.workers
        shutil.rmtree(index)
        say(f"round {r + 1}: raw {raw[-1]:.0f} chars/s, ingest {ing[-1]:.0f} chars/s")
    shutil.rmtree(work, ignore_errors=True)
    ratios = [i / r for i, r in zip(ing, raw)]
    return {
        "docs": len(files), "texts": len(texts), "chars": chars, "rounds": args.rounds, "parse_workers": workers,
        "raw_chars_per_s": [round(x) for x in raw], "ingest_chars_per_s": [round(x) for x in ing],
        "ratio_per_round": [round(x, 3) for x in ratios], "ratio_median": round(statistics.median(ratios), 3),
        "load_average": os.getloadavg(),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    r = sub.add_parser("resume", help="kill an ingest halfway with SIGKILL and start it again")
    r.add_argument("--docs", type=Path, default=NCP)
    r.add_argument("--base-index", type=Path, help="an index to copy as the old index (default: build from corpus/)")
    r.add_argument("--kill-at", type=float, default=0.5, help="fraction of the new texts cached before the kill")
    t = sub.add_parser("throughput", help="raw model vs ingest characters per second on the same files")
    t.add_argument("--docs", type=Path, default=NCP)
    t.add_argument("--limit", type=int, default=60, help="first N files of the folder")
    t.add_argument("--rounds", type=int, default=3)
    for s in (r, t):
        s.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    result = resume(args) if args.what == "resume" else throughput(args)
    print(json.dumps(result, ensure_ascii=False, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
