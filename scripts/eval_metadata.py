"""Precision and recall of the official metadata (rag/official.py) against hand-checked annotations.

    python scripts/eval_metadata.py [eval/metadata_gold.jsonl]

Each line of the gold file names a file (paths as in eval/sets.json) and the values a reader finds in it; a field
left out means the document states none, so a value extracted for it counts against precision. List fields
(issuers, repeals) are scored per item.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rag.eval_sets import expand_path
from rag.loaders import load_document

FIELDS = ("doc_number", "issuers", "written", "published", "effective", "valid_until", "valid_until_text", "repeals")


def _items(value) -> set[str]:
    if not value:
        return set()
    return {str(v).replace(" ", "") for v in (value if isinstance(value, list) else [value])}


def score(gold_file: Path) -> dict[str, dict[str, float]]:
    """Per field: extracted, gold and correct item counts, precision and recall."""
    counts = {f: [0, 0, 0] for f in FIELDS}
    misses = []
    for line in gold_file.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        gold = json.loads(line)
        meta = load_document(expand_path(gold["file"])).metadata
        for f in FIELDS:
            got, want = _items(meta.get(f)), _items(gold.get(f))
            counts[f][0] += len(got)
            counts[f][1] += len(want)
            counts[f][2] += len(got & want)
            if got != want:
                misses.append((Path(gold["file"]).name[:24], f, sorted(got), sorted(want)))
    out = {}
    for f, (n_got, n_gold, ok) in counts.items():
        out[f] = {"extracted": n_got, "gold": n_gold, "correct": ok,
                  "precision": ok / n_got if n_got else 1.0, "recall": ok / n_gold if n_gold else 1.0}
    out["_misses"] = misses
    return out


def main() -> None:
    gold_file = Path(sys.argv[1] if len(sys.argv) > 1 else "eval/metadata_gold.jsonl")
    result = score(gold_file)
    misses = result.pop("_misses")
    print(f"{'field':16} {'extracted':>9} {'gold':>5} {'correct':>7} {'P':>6} {'R':>6}")
    total = [0, 0, 0]
    for f, r in result.items():
        print(f"{f:16} {r['extracted']:9d} {r['gold']:5d} {r['correct']:7d} {r['precision']:6.2f} {r['recall']:6.2f}")
        total = [total[0] + r["extracted"], total[1] + r["gold"], total[2] + r["correct"]]
    print(f"{'all':16} {total[0]:9d} {total[1]:5d} {total[2]:7d} {total[2] / max(total[0], 1):6.2f} "
          f"{total[2] / max(total[1], 1):6.2f}")
    for name, f, got, want in misses:
        print(f"  {name} {f}: got {got} want {want}")


if __name__ == "__main__":
    main()
