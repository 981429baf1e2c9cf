#!/usr/bin/env python
"""Retrieval on the CMRC 2018 trial set: our hybrid retriever beside every baseline, same metrics as `rag eval`.

Each passage (context) is one document; each question is an item whose first answer text is its must_contain.
The passages are written as .txt files into a cache folder and indexed with `rag.ingest`; the index is cached under
~/.cache/policyqa/ keyed by the settings that shape it, so reruns skip the embedding. Loader and index are
`rag.eval_sets`' (shared with `rag eval cmrc`, which measures answers too).

    python benchmarks/cmrc.py                      # table: hybrid + keyword, dense, langchain_naive, chatchat
    python benchmarks/cmrc.py --json               # one JSON object on stdout
    python benchmarks/cmrc.py --variants           # also hybrid under other fusion settings
    python benchmarks/cmrc.py --chunk-max-chars 500 --systems hybrid,dense   # an index variant

Data: CMRC 2018 (Cui et al., "A Span-Extraction Dataset for Chinese Machine Reading Comprehension",
EMNLP-IJCNLP 2019), CC BY-SA 4.0. It is read from its local path and never copied into this repository.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag import eval_metrics as M  # noqa: E402
from rag import eval_sets  # noqa: E402
from rag.baselines import BASELINE_NAMES, VECTOR_CACHE, PolicyQASystem, build_systems  # noqa: E402
from rag.evaluate import EvalItem, doc_hit_rows, run_retrieval, summarize_retrieval  # noqa: E402
from rag.eval_report import fmt  # noqa: E402

DEFAULT_DATA = Path("/work/shared/external/cmrc2018_trial.json")
CACHE = eval_sets.CACHE_DIR
CREDIT = ("CMRC 2018 trial set — Cui et al., \"A Span-Extraction Dataset for Chinese Machine Reading Comprehension\", "
          "EMNLP-IJCNLP 2019 — licensed CC BY-SA 4.0 (https://github.com/ymcui/cmrc2018); read locally, not redistributed.")
BARS = {"hit_at_1": 0.96, "hit_at_5": 0.99}
# Retrieval-time variants of the hybrid (no re-indexing needed): (label, settings overrides)
VARIANTS = [
    ("weighted w=0.3", {"fusion": "weighted", "dense_weight": 0.3}),
    ("weighted w=0.5", {"fusion": "weighted", "dense_weight": 0.5}),
    ("weighted w=0.6", {"fusion": "weighted", "dense_weight": 0.6}),
    ("weighted w=0.7", {"fusion": "weighted", "dense_weight": 0.7}),
    ("weighted w=0.8", {"fusion": "weighted", "dense_weight": 0.8}),
    ("rrf w=0.5", {"fusion": "rrf", "dense_weight": 0.5}),
    ("rrf w=0.7", {"fusion": "rrf", "dense_weight": 0.7}),
]
log = logging.getLogger("benchmarks.cmrc")


def load_cmrc(path: Path) -> tuple[list[tuple[str, str]], list[EvalItem]]:
    """Passages as (doc id, text) and questions as eval items (first answer text = must_contain)."""
    try:
        return eval_sets.load_cmrc(path)
    except eval_sets.EvalSetError as e:
        sys.exit(f"{e}（用 --data 指定）/ {e.log_message}")


def build_index(passages: list[tuple[str, str]], settings, data_sha: str, say) -> Path:
    """The passages indexed in the cache folder, shared with `rag eval cmrc` (an unchanged index is reused)."""
    t0 = time.perf_counter()
    try:
        index_dir = eval_sets.cmrc_index(passages, settings, data_sha, say)
    except eval_sets.EvalSetError as e:
        sys.exit(f"{e} / {e.log_message}")
    say(f"索引 {index_dir}：{len(passages)} 篇，用时 {time.perf_counter() - t0:.1f} 秒")
    return index_dir


def without_titles(retriever, say):
    """Diagnostic: the same chunks, embedded and tokenised from their text alone (no title/section prefix).

    A one-line passage gets its first 120 characters as the title, and `Chunk.embed_text` puts that title in
    front of every chunk of the passage, so all chunks of a passage look alike to the dense model. This variant
    measures what that prefix costs. Built in memory (vectors cached with the baselines' ones)."""
    from dataclasses import replace as dc_replace

    import numpy as np

    from rag.baselines import VECTOR_CACHE, langchain_embeddings
    from rag.keyword import tokenize
    from rag.retriever import Retriever
    from rag.store import build_faiss

    texts = [c.text for c in retriever.index.chunks]
    say(f"  无标题前缀的向量 / embedding {len(texts)} chunk texts without the title prefix …")
    vectors = np.asarray(langchain_embeddings(retriever.embedder, VECTOR_CACHE).embed_documents(texts), dtype=np.float32)
    index = dc_replace(retriever.index, vectors=vectors, tokens=[tokenize(t) for t in texts],
                       faiss_index=build_faiss(vectors))
    return Retriever(index, retriever.embedder, retriever.settings)


class QueryCachingEmbedder:
    """Wraps an embedder so the fusion variants (same questions, same index) embed each question once.
    Variant latencies are therefore not comparable and are left out."""

    def __init__(self, embedder):
        self.inner, self.name, self.dim = embedder, embedder.name, embedder.dim
        self.backend = getattr(embedder, "backend", "")
        self._q: dict[str, object] = {}

    def embed_query(self, text: str):
        if text not in self._q:
            self._q[text] = self.inner.embed_query(text)
        return self._q[text]

    def embed_passages(self, texts, progress=None):
        return self.inner.embed_passages(texts, progress)


def table(rows: list[tuple[str, dict]]) -> str:
    cols = [("hit_at_1", "hit@1"), ("hit_at_3", "hit@3"), ("hit_at_5", "hit@5"), ("hit_at_600ch", "@600ch"),
            ("hit_at_1500ch", "@1500ch"), ("mrr", "mrr"), ("doc_hit_at_1", "doc@1"), ("doc_hit_at_5", "doc@5"),
            ("latency_ms_p50", "p50ms"), ("latency_ms_p95", "p95ms"), ("n_chunks", "chunks")]
    from rag.eval_report import _text_table

    return _text_table(["system"] + [h for _, h in cols], [[n] + [fmt(m.get(k)) for k, _ in cols] for n, m in rows])


def score(system, items) -> dict:
    run = run_retrieval(system, items)
    out = summarize_retrieval(run, items, extra_rows=doc_hit_rows(run, items))
    out.pop("by_type", None)  # one type only
    out["n_chunks"] = getattr(system, "n_chunks", None)
    return M.rounded(out)


def bars_verdict(systems: dict[str, dict], main: str = "hybrid") -> dict:
    """Whether the main system reaches each bar and is at least as high as the best baseline."""
    out = {}
    for key, bar in BARS.items():
        ours = systems[main].get(key) or 0.0
        best_name, best = max(((n, m.get(key) or 0.0) for n, m in systems.items() if n != main),
                              key=lambda x: x[1], default=("", 0.0))
        out[key] = {"bar": bar, "hybrid": ours, "best_baseline": best_name, "best_baseline_value": best,
                    "meets_bar": ours >= bar, "beats_best_baseline": ours >= best, "met": ours >= bar and ours >= best}
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--systems", default=",".join(("hybrid",) + BASELINE_NAMES), help="comma-separated")
    p.add_argument("--variants", action="store_true", help="also run the hybrid under other fusion settings")
    p.add_argument("--limit", type=int, help="only the first N questions")
    p.add_argument("--no-title", action="store_true",
                   help="diagnostic: our systems on chunks embedded/tokenised without the title prefix")
    for name, typ in (("chunk-max-chars", int), ("chunk-min-chars", int), ("fusion", str), ("dense-weight", float),
                      ("rrf-k", int)):
        p.add_argument(f"--{name}", type=typ, help=f"Settings override ({name.replace('-', '_')})")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    say = lambda msg: print(msg, file=sys.stderr, flush=True)

    from rag.retriever import Retriever
    from rag.settings import Settings

    overrides = {k: v for k, v in {
        "chunk_max_chars": args.chunk_max_chars, "chunk_min_chars": args.chunk_min_chars, "fusion": args.fusion,
        "dense_weight": args.dense_weight, "rrf_k": args.rrf_k}.items() if v is not None}
    settings = Settings().model_copy(update=overrides)
    data_sha = hashlib.sha256(args.data.read_bytes()).hexdigest() if args.data.exists() else ""
    passages, items = load_cmrc(args.data)
    if args.limit:
        items = items[: args.limit]
    say(CREDIT)
    index_dir = build_index(passages, settings, data_sha, say)
    retriever = Retriever.load(index_dir, settings.model_copy(update={"index_dir": index_dir}))
    vec_cache = CACHE / f"baseline-vectors-{settings.embed_backend}-{hashlib.sha1(retriever.embedder.name.encode()).hexdigest()[:8]}.npz"
    VECTOR_CACHE.load(vec_cache)

    if args.no_title:
        retriever = without_titles(retriever, say)
        VECTOR_CACHE.save(vec_cache)
    results: dict[str, dict] = {}
    names = [n.strip() for n in args.systems.split(",") if n.strip()]
    for system in build_systems(retriever, names, progress=lambda n: say(f"准备 {n} …")):
        say(f"检索评测 {system.name}：{len(items)} 题")
        results[system.name] = score(system, items)
        VECTOR_CACHE.save(vec_cache)  # embedding the baselines' chunks is the slow part: keep it for reruns
    variants: dict[str, dict] = {}
    if args.variants:
        cached = QueryCachingEmbedder(retriever.embedder)
        for label, upd in VARIANTS:
            s = retriever.settings.model_copy(update=upd)
            say(f"检索评测 hybrid [{label}]")
            m = score(PolicyQASystem(Retriever(retriever.index, cached, s), "hybrid", f"hybrid [{label}]"), items)
            variants[label] = {k: v for k, v in m.items() if not k.startswith("latency")}
    out = {
        "dataset": str(args.data), "credit": CREDIT, "n_passages": len(passages), "n": len(items),
        "settings": {**{k: getattr(settings, k) for k in ("embed_backend", "chunk_max_chars", "chunk_min_chars",
                                                            "fusion", "dense_weight", "rrf_k")},
                     "chunk_title_prefix": not args.no_title},
        "systems": results, "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    if "hybrid" in results and len(results) > 1:
        out["bars"] = bars_verdict(results)
    if variants:
        out["variants"] = variants
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
        return 0
    print(f"CMRC 2018 trial: {len(passages)} passages, {len(items)} questions; settings {out['settings']}")
    print(table(list(results.items()) + [(f"hybrid [{k}]", v) for k, v in variants.items()]))
    for key, v in (out.get("bars") or {}).items():
        print(f"bar {key} >= {v['bar']}: hybrid {v['hybrid']:.3f} ({'met' if v['meets_bar'] else 'NOT met'}); "
              f"best baseline {v['best_baseline']} {v['best_baseline_value']:.3f} "
              f"({'hybrid >= best' if v['beats_best_baseline'] else 'hybrid BELOW best'})")
    print("doc@k: a chunk of the question's passage is in the top k (passage-level hit).")
    print(CREDIT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
