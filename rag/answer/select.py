"""Answer selection and the refusal gate: the fitted model scores every candidate span of the hits.

`select` returns the candidates ranked by the fitted probability that each carries the answer; `Selection.ok`
is the one refusal gate: the best candidate's probability must reach the threshold chosen on dev data
(`refuse_below` in `rag/data/answer_model.json`, written by `scripts/fit_answerer.py`). The pipeline
(`Assistant.stream`) applies the gate before any answerer runs, so it holds in every retrieval mode and for the
LLM answerers too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..query import QueryPlan
from ..types import Hit
from .features import Candidate, QuestionStats, candidates, features
from .model import AnswerModel, load_model


@dataclass
class Selection:
    """Candidates of one (part of a) question, best first, with their probabilities."""

    plan: QueryPlan
    ranked: list[tuple[float, Candidate]] = field(default_factory=list)
    refuse_below: float = 0.5

    @property
    def best(self) -> Candidate | None:
        return self.ranked[0][1] if self.ranked else None

    @property
    def confidence(self) -> float:
        """The fitted probability that the best candidate answers (0 when there is none)."""
        return self.ranked[0][0] if self.ranked else 0.0

    @property
    def ok(self) -> bool:
        """The gate: answer only when the best candidate is likely enough to answer."""
        return bool(self.ranked) and self.confidence >= self.refuse_below and not self.plan.missing_places


def select(plan: QueryPlan, hits: list[Hit], docs: dict, bm25=None, model: AnswerModel | None = None,
           refuse_below: float | None = None) -> Selection:
    """Score every candidate span of the hits for the plan; best first."""
    model = model or load_model()
    threshold = model.refuse_below if refuse_below is None else refuse_below
    cands = candidates(hits)
    if not cands:
        return Selection(plan, [], threshold)
    X = features(plan, cands, hits, docs, bm25, QuestionStats(plan, bm25))
    cols = _columns(model)
    p = model.probability(X[:, cols] if cols is not None else X)
    order = np.argsort(-p, kind="stable")
    return Selection(plan, [(float(p[i]), cands[i]) for i in order], threshold)


def _columns(model: AnswerModel):
    from .features import FEATURES

    if tuple(model.features) == FEATURES:
        return None
    index = {f: i for i, f in enumerate(FEATURES)}
    return [index[f] for f in model.features]
