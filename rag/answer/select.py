"""Answer selection and the refusal gate: the fitted model scores every candidate span of the hits.

`select` returns the candidates ranked by the fitted ranker; `Selection.ok` is the one refusal gate: the fitted
probability that the best candidate answers must reach the threshold chosen on dev data
(`refuse_below` in `rag/data/answer_model.json`, written by `scripts/fit_answerer.py`). The pipeline
(`Assistant.stream`) applies the gate before any answerer runs, so it holds in every retrieval mode and for the
LLM answerers too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..query import QueryPlan
from ..query.plan import same_area
from ..types import Hit
from .features import (FEATURES, GATE_FEATURES, Candidate, QuestionStats, candidates, features, gate_features,
                       signal_columns)
from .model import AnswerModel, ModelError, load_model
from .quantity import states_span, states_sum
from .sentsim import SentenceSims


@dataclass
class Selection:
    """Candidates of one (part of a) question, best first, with their ranker scores, and the gate's probability
    that the best one answers."""

    plan: QueryPlan
    ranked: list[tuple[float, Candidate]] = field(default_factory=list)
    refuse_below: float = 0.5
    confidence: float = 0.0
    other_year: bool = False  # the question names a year that no top candidate holds, the best one names others
    other_place: bool = False  # no document is about the place asked about; the best one is about another place
    no_measure: bool = False  # a count typed ('多少亿元') or a sum asked; the best span states no such figure
    sentence_sims: dict = field(default_factory=dict)  # chunk id -> question similarity of its stored sentences

    @property
    def best(self) -> Candidate | None:
        return self.ranked[0][1] if self.ranked else None

    @property
    def ok(self) -> bool:
        """The gate: answer only when the best candidate is likely enough to answer."""
        # A question with no content word (only punctuation or ask words) names nothing a clause could answer; a
        # place no document mentions cannot be answered by any of them.
        # Likewise a year asked about ('2030年的目标') that none of the best clauses holds while the best speaks of
        # another year ('到2025年'): the documents state the other year's figure, not the one asked. On the fitting
        # sets' year questions this held for 11 unanswerable and 0 answerable ones; the monotone gate, which reads
        # each signal alone, could not learn the conjunction.
        # And a place asked about that no document is about (mentioned in passing at most), while the best clause
        # comes from a document about another place: that place's rules do not answer for the one asked about
        # (a national document, about no place, still does).
        # And a count or sum asked in a measure the question types ('多少亿元', '几家') while the best span holds
        # no figure of that kind: the clause is about the subject but does not state the figure. On the run's
        # details of all dev sets this held for 8 unanswerable questions, 3 answered wrongly and 1 answered right.
        # Likewise a sum or rate asked by what it measures ('补贴标准是多少', '罚多少钱') while the best span states no
        # sum or share at all (`lacks_sum`), and a length of time asked outright ('几天内') while it states none
        # (`lacks_span`).
        return (bool(self.ranked) and bool(self.plan.terms) and self.confidence >= self.refuse_below
                and not self.plan.missing_places and not self.other_year and not self.other_place
                and not self.no_measure)


def select(plan: QueryPlan, hits: list[Hit], docs: dict, bm25=None, model: AnswerModel | None = None,
           refuse_below: float | None = None, sims: SentenceSims | None = None) -> Selection:
    """Score every candidate span of the hits for the plan; best first. `sims` gives the question similarity of
    the hits' stored sentence vectors (`SentenceSims.of(retriever)`); without it that signal is missing."""
    model = model or load_model()
    threshold = model.refuse_below if refuse_below is None else refuse_below
    cands = candidates(hits)
    if not cands:
        return Selection(plan, [], threshold)
    similar = sims(plan.text, [h.chunk for h in hits]) if sims is not None else None
    X = features(plan, cands, hits, docs, bm25, QuestionStats(plan, bm25), similar)
    # the ranker may read a subset of the signals (an ablation fitted with --drop-features), never unknown ones
    if not model.signals <= set(FEATURES) or tuple(model.gate_features) != GATE_FEATURES:
        raise ModelError("回答模型与当前代码的特征不一致，请运行 scripts/fit_answerer.py 重新拟合",
                         "answer model features differ from the code's; refit with scripts/fit_answerer.py")
    # the gate reads the scores of the ranker it was calibrated on (the answer ranker unless kept apart)
    if model.gate.ranker is None:
        raw = gate_raw = model.scores(signal_columns(X, model.features))
    else:
        gate_raw = model.gate.ranker.raw_score(signal_columns(X, model.gate.ranker_features))
        raw = model.scores(signal_columns(X, model.features), gate_raw)
    order = np.argsort(-raw, kind="stable")
    g = gate_features(X, gate_raw)
    confidence = model.gate.probability(g)
    at = {f: i for i, f in enumerate(GATE_FEATURES)}
    other_year = bool(plan.years) and g[at["top_year_match"]] == 0 and g[at["best_year_other"]] > 0
    best = cands[int(order[0])]
    other_place = about_other_place(plan, docs.get(best.hit.chunk.doc_id), best.hit.chunk.text)
    no_measure = (lacks_measure(plan, float(X[int(order[0]), FEATURES.index("has_qty_ok")]))
                  or lacks_sum(plan, best.text) or lacks_span(plan, best.text))
    return Selection(plan, [(float(raw[i]), cands[i]) for i in order], threshold, confidence, other_year,
                     other_place, no_measure, similar or {})


_ORDINAL_ASK = re.compile(r"第\s*(?:几|多少)")


def lacks_measure(plan: QueryPlan, has_qty_ok: float) -> bool:
    """True when the question counts in a measure it types after 多少/几 ('多少亿元', '几家'; not an ordinal
    '第几名') and the span holds no quantity of that kind: its `has_qty_ok` signal (`features.qty_ok`: the same
    class, or another count) is 0."""
    return bool(plan.unit_words) and not _ORDINAL_ASK.search(plan.text) and has_qty_ok == 0


_SUMS = (frozenset({"money"}), frozenset({"percent"}))
# How long or how often, asked outright: not a question that only names a 期限 ('延长期限内享受哪些待遇')
_SPAN_ASK = re.compile(r"多久|多长的?时间|(?:多少|几)个?(?:天|日|月|年|周|小时|工作日)")
_CLOSED = re.compile(r"[吗么][？?！!。\s]*$")  # '费率是统一定的吗': asks whether, not how much


def lacks_sum(plan: QueryPlan, text: str) -> bool:
    """True when the question asks for a sum or a rate by what it measures ('补贴标准是多少', '罚多少钱', '税率是多少';
    no measure word typed after 多少: `lacks_measure` reads those) and the span states no sum, share or rate at all
    (`quantity.states_sum`): it speaks of the subsidy or the fine without its figure. On the details of all sets
    this held for 20 unanswerable questions and 4 answered wrongly, and 1 answered right (15, 3 and 1 on the sets
    used for fitting)."""
    return (plan.answer_type == "amount" and not plan.unit_words and plan.unit_classes in _SUMS
            and not _ORDINAL_ASK.search(plan.text) and not _CLOSED.search(plan.text) and not states_sum(text))


def lacks_span(plan: QueryPlan, text: str) -> bool:
    """True when the question asks outright how long or how often ('几天内可以上诉', '多久开一次') and the span states
    no length of time or frequency at all (`quantity.states_span`). On the details of all sets this held for
    9 unanswerable questions and 4 answered wrongly, and for no question answered right (8, 3 and 0 on the sets
    used for fitting)."""
    return (plan.answer_type == "duration" and bool(_SPAN_ASK.search(plan.text)) and not _CLOSED.search(plan.text)
            and not states_span(text))


def about_other_place(plan: QueryPlan, record, passage: str = "") -> bool:
    """True when the question names places, no indexed document is about any of them, and the document of
    `record` is about a place (its own region, not the provinces containing it) that neither contains nor lies in
    one of them, while the passage quoted from never names them: a city's rules do not answer for another city of
    the same province, a province's do for its cities, and a passage that speaks of the place asked about does."""
    if not plan.places or plan.docs or record is None or not record.doc.region:
        return False
    return not _speaks_of(plan.places, record, passage)


def _speaks_of(places, record, passage: str) -> bool:
    """Does the passage or its document's title name one of the places, or is the document's region one that
    contains or lies in one of them?"""
    return any(p in passage or p in record.doc.title or same_area(p, record.doc.region) for p in places)


def other_place_notice(plan: QueryPlan, answer, docs: dict) -> str:
    """A notice for an answer that quotes another place's rules: the question names places, and every clause it
    quotes comes from a document about a place (its own region) that neither contains nor lies in one of them, and
    neither the clause nor its document's title names them ('湖北省对个体工商户房租有什么减免政策' answered from a
    city of another province). National documents (no region) apply everywhere and get none. '' otherwise.
    The answer stands (real questions name places loosely and the nearest rule may still help); the user is told
    whose rule it is."""
    if not plan.places or plan.parts or answer.refused or not answer.citations or answer.table is not None:
        return ""
    regions = []
    for c in answer.citations:
        record = docs.get(c.doc)
        region = record.doc.region if record is not None else ""
        if not region or _speaks_of(plan.places, record, c.quote) or any(p in region for p in plan.places):
            return ""  # a short name inside the region's full one ('泰州' in '泰州市海陵区') is that place too
        regions.append(region)
    return (f"注意：所引条款出自{'、'.join(dict.fromkeys(regions))}的文件，不是{'、'.join(plan.places)}的规定，"
            "仅供参考。")
