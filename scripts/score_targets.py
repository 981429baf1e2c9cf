#!/usr/bin/env python
"""Score the targets extractor (`rag/targets.py`) against the hand-annotated targets in eval/targets_gold.jsonl.

    python scripts/score_targets.py --sets corpus,ncp2020,ncp2020-heldout --errors   # fitted-on sets, with errors
    python scripts/score_targets.py --sets ncp2020-heldout5                          # the fresh held-out set, once

Sets (the gold file's header says how each was sampled and the annotation rule): `corpus` (the five bundled
documents) and the ncp2020 sets `ncp2020`, `-heldout`, `-heldout2`, `-heldout3`, `-heldout4` are what the classifier
is fitted on (`scripts/fit_targets.py` reports their out-of-fold scores; heldout4 was scored once before it joined);
`ncp2020-heldout5` (29 notices) was annotated before any extractor ran on it and is never fitted on. Scores on the
fitted-on sets here are in-sample.
An extracted target matches a gold one when it is in the same document, its clause span covers the gold anchor's
figure and its value and unit agree (亿元 and 万元 compare after scaling). Precision counts every target extracted
from the annotated documents.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.answer.quantity import comparable_unit  # noqa: E402
from rag.loaders import load_document  # noqa: E402
from rag.targets import extract_targets  # noqa: E402

NCP2020_DOCS = Path(os.environ.get("NCP2020_DIR", "/work/shared/external/ncp2020")) / "docs"


@lru_cache(maxsize=None)
def _load(path: Path):
    """A document read once per run (the fitting script scores the same documents at many thresholds)."""
    return load_document(path)


def _source(set_name: str) -> Path:
    """The folder a set's documents are read from: the bundled corpus, or ncp2020 for every ncp2020* set."""
    return ROOT / "corpus" if set_name == "corpus" else NCP2020_DOCS
_FIGURE = re.compile(r"\d|[一二两三四五六七八九十百千]")


def _same(value: float, unit: str, g_value: float, g_unit: str) -> bool:
    u, f = comparable_unit(unit)
    gu, gf = comparable_unit(g_unit)
    return u == gu and abs(value * f - g_value * gf) <= 1e-6 * max(1.0, abs(g_value * gf))


def char_f1(a: str, b: str) -> float:
    """Character-overlap F1 of two measure names (what a reader would call the same measure scores high)."""
    from collections import Counter

    common = sum((Counter(a) & Counter(b)).values())
    return 0.0 if not common else 2 * common / (len(a) + len(b))


def _anchor_span(text: str, anchor: str, nth: int) -> tuple[int, int] | None:
    pos = -1
    for _ in range(nth + 1):
        pos = text.find(anchor, pos + 1)
        if pos < 0:
            return None
    return pos, pos + len(anchor)


def load_gold(gold_path: Path) -> tuple[dict, list[dict]]:
    """(header, annotated targets) of the gold file."""
    lines = [json.loads(x) for x in gold_path.read_text(encoding="utf-8").splitlines() if x.strip()]
    return lines[0], lines[1:]


def gold_spans(text: str, golds: list[dict], doc_id: str = "") -> list[tuple[int, int]]:
    """The character span of each gold target's anchor in the document's source text."""
    spans = []
    for g in golds:
        span = _anchor_span(text, g["anchor"], g.get("nth", 0))
        if span is None:
            raise SystemExit(f"anchor not found in {doc_id}: {g['anchor']!r}")
        spans.append(span)
    return spans


def matches(t, golds: list[dict], spans: list[tuple[int, int]], used: set[int]) -> int | None:
    """The first unused gold target an extracted one matches: its clause span covers the gold anchor and its value
    and unit agree."""
    return next((i for i, g in enumerate(golds) if i not in used
                 and t.start <= spans[i][1] and spans[i][0] < t.end
                 and _same(t.value, t.unit, g["value"], g["unit"])), None)


def score(gold_path: Path, show_errors: bool = False, sets: tuple[str, ...] = (), extract=None) -> dict:
    """Precision, recall, year and comparator accuracy per annotated set (all sets, or those named in `sets`).
    `extract(doc, set_name)` gives a document's targets (default: `rag.targets.extract_targets`)."""
    header, gold = load_gold(gold_path)
    extract = extract or (lambda doc, _set: extract_targets(doc.source_text, doc.doc_id, doc.region, doc.body_start))
    out = {}
    for name, docs in header["docs"].items():
        if sets and name not in sets:
            continue
        tp = fp = matched_gold = year_ok = comp_ok = 0
        measure_f1 = 0.0
        n_gold = sum(1 for g in gold if g["set"] == name)
        errors = []
        for doc_id in docs:
            doc = _load(_source(name) / doc_id)
            extracted = extract(doc, name)
            golds = [g for g in gold if g["set"] == name and g["doc"] == doc_id]
            spans = gold_spans(doc.source_text, golds, doc_id)
            used: set[int] = set()
            for t in extracted:
                hit = matches(t, golds, spans, used)
                if hit is None:
                    fp += 1
                    errors.append(f"  FALSE {doc_id[:12]} {t.value:g}{t.unit} {t.measure!r} in {t.quote[:40]!r}")
                    continue
                used.add(hit)
                tp += 1
                g = golds[hit]
                year_ok += t.year == g["year"]
                comp_ok += (t.comparator or "") == (g["comparator"] or "")
                measure_f1 += char_f1(t.measure, g["measure"])
            for i, g in enumerate(golds):
                if i not in used:
                    errors.append(f"  MISS  {doc_id[:12]} {g['value']:g}{g['unit']} {g['anchor']!r}")
            matched_gold += len(used)
        n_ext = tp + fp
        out[name] = {
            "documents": len(docs), "gold": n_gold, "extracted": n_ext,
            "precision": round(tp / n_ext, 3) if n_ext else None,
            "recall": round(matched_gold / n_gold, 3) if n_gold else None,
            "year_accuracy": round(year_ok / tp, 3) if tp else None,
            "comparator_accuracy": round(comp_ok / tp, 3) if tp else None,
            "measure_f1": round(measure_f1 / tp, 3) if tp else None,
            "tp": tp,
        }
        if show_errors:
            out[name]["errors"] = errors
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gold", default=str(ROOT / "eval" / "targets_gold.jsonl"))
    ap.add_argument("--errors", action="store_true", help="list misses and false extractions")
    ap.add_argument("--sets", default="", help="comma-separated set names (default: every set of the gold file)")
    args = ap.parse_args()
    result = score(Path(args.gold), args.errors, tuple(x for x in args.sets.split(",") if x))
    for name, r in result.items():
        errors = r.pop("errors", [])
        print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in r.items()))
        for e in errors:
            print(e)
    return 0


if __name__ == "__main__":
    sys.exit(main())
