#!/usr/bin/env python
"""Speed of PolicyQA on this machine, all measured in one run:

- ingest of the corpus from scratch (seconds, characters/s) beside the embedding model's raw encode throughput on
  the very same chunk texts (characters/s and the ratio: embedding should dominate ingest), in alternating rounds
  after one warm-up encode, medians compared;
- re-ingest of the unchanged corpus (seconds);
- retrieval and `Assistant.ask` latency p50/p95, warm (after a warm-up call), over the eval questions;
- `import rag` and `rag --help` wall time in fresh processes (median of several runs).

    python benchmarks/speed.py [--json] [--runs 7] [--rounds 3]

Timings on a shared machine are noisy: the load average is reported with them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import eval_metrics as M  # noqa: E402
from rag.eval_report import _text_table, fmt  # noqa: E402

# Targets from the foundation and answers issues: (key, limit, higher_is_better)
BARS = [
    ("ingest_seconds", 60.0, False), ("ingest_vs_raw_ratio", 0.90, True), ("reingest_seconds", 2.0, False),
    ("retrieval_ms_p50", 30.0, False), ("ask_ms_p50", 100.0, False), ("import_rag_seconds", 1.0, False),
    ("rag_help_seconds", 1.0, False),
]


def wall_times(cmd: list[str], runs: int) -> list[float]:
    """Wall time of a command in fresh processes, `runs` times."""
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, capture_output=True, check=True)
        out.append(time.perf_counter() - t0)
    return out


def timed_calls(fn, inputs) -> list[float]:
    """Milliseconds of fn(x) for every x, after one warm-up call."""
    fn("预热查询：产业园区的发展目标是什么")
    out = []
    for x in inputs:
        t0 = time.perf_counter()
        fn(x)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--runs", type=int, default=7, help="fresh processes per start-up measurement (median)")
    p.add_argument("--rounds", type=int, default=3, help="alternating raw-encode / ingest rounds (median)")
    p.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    p.add_argument("--questions", type=Path, default=ROOT / "eval" / "qa.jsonl")
    args = p.parse_args(argv)
    say = lambda msg: print(msg, file=sys.stderr, flush=True)

    from rag.assistant import Assistant
    from rag.embeddings import get_embedder
    from rag.evaluate import load_items
    from rag.ingest import ingest
    from rag.retriever import Retriever
    from rag.settings import Settings
    from rag.store import load_index

    r: dict = {"load_average_start": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count()}
    settings = Settings(corpus_dir=args.corpus)
    t0 = time.perf_counter()
    embedder = get_embedder(settings.embed_backend, settings.embed_model or None)
    r["model_load_seconds"] = time.perf_counter() - t0

    tmp = Path(tempfile.mkdtemp(prefix="policyqa-speed-"))
    try:
        s = settings.model_copy(update={"index_dir": tmp / "index"})
        # One short encode first, so neither measurement pays the engine's first-call set-up; then ingest and raw
        # encode of the texts that ingest embedded alternate, round by round, so a noisy neighbour slows both
        # alike; medians are compared.
        embedder.embed_passages(["预热：医疗器械产业园区"])
        raw_runs, ingest_runs, texts = [], [], []
        for n in range(args.rounds):
            say(f"第 {n + 1}/{args.rounds} 轮：从零构建索引 + 原始编码 / "
                f"round {n + 1}: ingest from scratch, raw encode …")
            index_dir = tmp / f"index-{n}"
            rep = ingest([args.corpus], s, index_dir=index_dir, embedder=embedder)
            ingest_runs.append(rep)
            texts = texts or list(dict.fromkeys(c.embed_text() for c in load_index(index_dir).chunks))
            t0 = time.perf_counter()
            embedder.embed_passages(texts)
            raw_runs.append(time.perf_counter() - t0)
        rep = sorted(ingest_runs, key=lambda x: x.seconds)[len(ingest_runs) // 2]
        raw_s = statistics.median(raw_runs)
        raw_chars = sum(map(len, texts))
        if rep.chars_embedded != raw_chars:
            raise SystemExit(f"ingest embedded {rep.chars_embedded} chars, raw encode {raw_chars}: not the same texts")
        r.update(ingest_seconds=rep.seconds, ingest_embed_seconds=rep.embed_seconds, ingest_docs=rep.n_docs,
                 ingest_chunks=rep.n_chunks, ingest_chars=rep.chars_embedded, ingest_chars_per_s=rep.chars_per_second,
                 ingest_seconds_by_round=[x.seconds for x in ingest_runs], raw_encode_seconds_by_round=raw_runs,
                 raw_encode_seconds=raw_s, raw_encode_chars_per_s=raw_chars / raw_s)
        r["ingest_vs_raw_ratio"] = r["ingest_chars_per_s"] / r["raw_encode_chars_per_s"]
        retriever = Retriever.load(index_dir, s, embedder)
        say("重新导入未变语料 / re-ingest unchanged …")
        rep2 = ingest([args.corpus], s, index_dir=index_dir, embedder=embedder)
        r.update(reingest_seconds=rep2.seconds, reingest_embedded=rep2.n_embedded)

        questions = [it.question for it in load_items(args.questions)] if args.questions.exists() else [
            "新乡市园区2030年产业规模目标是多少？", "深圳2021年高端医疗器械产业营业收入是多少？"]
        r["n_questions"] = len(questions)
        say(f"检索延迟 / retrieval latency over {len(questions)} questions …")
        lat = timed_calls(lambda q: retriever.search(q, k=s.top_k), questions)
        r.update(retrieval_ms_p50=M.percentile(lat, 50), retrieval_ms_p95=M.percentile(lat, 95))
        say("回答延迟 / ask latency …")
        assistant = Assistant(retriever, s)
        lat = timed_calls(assistant.ask, questions)
        r.update(ask_ms_p50=M.percentile(lat, 50), ask_ms_p95=M.percentile(lat, 95))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    say(f"启动时间 / start-up, {args.runs} fresh processes each …")
    rag_script = shutil.which("rag", path=str(Path(sys.executable).parent)) or shutil.which("rag")
    py = wall_times([sys.executable, "-c", "pass"], args.runs)
    imp = wall_times([sys.executable, "-c", "import rag"], args.runs)
    hlp = wall_times([rag_script, "--help"] if rag_script else [sys.executable, "-m", "rag.cli", "--help"], args.runs)
    r.update(python_startup_seconds=statistics.median(py), import_rag_seconds=statistics.median(imp),
             rag_help_seconds=statistics.median(hlp))
    r["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    r["bars"] = {k: {"limit": lim, "value": r[k], "met": (r[k] >= lim) if hi else (r[k] <= lim)} for k, lim, hi in BARS}
    r = M.rounded(r)
    if args.json:
        print(json.dumps(r, ensure_ascii=False))
        return 0
    rows = [
        ["ingest from scratch", f"{fmt(r['ingest_seconds'])} s",
         f"{r['ingest_docs']} docs, {r['ingest_chunks']} chunks, {r['ingest_chars']:,} chars, "
         f"{r['ingest_chars_per_s']:.0f} chars/s (embedding {fmt(r['ingest_embed_seconds'])} s)"],
        ["raw encode, same texts", f"{fmt(r['raw_encode_seconds'])} s", f"{r['raw_encode_chars_per_s']:.0f} chars/s"],
        ["rounds (ingest / raw)", str(args.rounds), " ".join(
            f"{fmt(a)}/{fmt(b)}" for a, b in zip(r["ingest_seconds_by_round"], r["raw_encode_seconds_by_round"]))],
        ["ingest / raw throughput", f"{r['ingest_vs_raw_ratio']:.2f}", "1.00 = ingest costs nothing beyond embedding"],
        ["re-ingest unchanged", f"{fmt(r['reingest_seconds'])} s", f"{r['reingest_embedded']} chunks embedded"],
        ["retrieval (warm)", f"p50 {fmt(r['retrieval_ms_p50'])} ms", f"p95 {fmt(r['retrieval_ms_p95'])} ms, "
                                                                     f"{r['n_questions']} questions"],
        ["ask (warm)", f"p50 {fmt(r['ask_ms_p50'])} ms", f"p95 {fmt(r['ask_ms_p95'])} ms"],
        ["import rag", f"{fmt(r['import_rag_seconds'])} s", f"median of {args.runs}; bare python "
                                                           f"{fmt(r['python_startup_seconds'])} s"],
        ["rag --help", f"{fmt(r['rag_help_seconds'])} s", f"median of {args.runs}"],
        ["model load", f"{fmt(r['model_load_seconds'])} s", "once per process"],
    ]
    print(_text_table(["measure", "value", "detail"], rows))
    print("bars: " + ", ".join(f"{k} {'met' if v['met'] else 'NOT met'} ({fmt(v['value'])} vs {v['limit']})"
                               for k, v in r["bars"].items()))
    print(f"load average {r['load_average_start']} -> {r['load_average_end']} on {r['cpus']} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
