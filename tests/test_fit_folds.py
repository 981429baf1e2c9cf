"""The answer fit's folds are by document: no document's questions are split across folds, and with `--split all`
the report halves are folds of their own, so the out-of-fold scores of a report-half question come from a ranker
that never saw its document."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from rag.evaluate import EvalItem, split_of

spec = importlib.util.spec_from_file_location(
    "fit_answerer", Path(__file__).resolve().parent.parent / "scripts" / "fit_answerer.py")
fit_answerer = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fit_answerer)


def items():
    return [EvalItem(id=f"q{i}", question="问题", type="fact", must_contain=("x",), doc=(f"doc{i % 40}.txt",))
            for i in range(200)]


def test_folds_follow_documents_and_halves():
    by_doc: dict[str, set[int]] = {}
    for split in ("fit", "all"):
        for it in items():
            by_doc.setdefault((split, it.doc[0]), set()).add(fit_answerer.fold_of(it, split))
    assert all(len(f) == 1 for f in by_doc.values())  # one fold per document
    all_folds = {it.id: fit_answerer.fold_of(it, "all") for it in items()}
    assert set(all_folds.values()) == {0, 1, 2, 3}
    for it in items():
        assert (all_folds[it.id] >= 2) == (split_of(it) == "report")
        assert fit_answerer.fold_of(it, "fit") in (0, 1)
        assert all_folds[it.id] % 2 == fit_answerer.fold_of(it, "fit")
