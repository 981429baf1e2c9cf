"""Extractive answerer (the default; needs no LLM): quote the span the fitted selector ranks first, with [n].

The pipeline has already read the question (`QueryPlan`), retrieved, scored every candidate span and applied the
refusal gate (`select.py`); this answerer only writes the answer: the best span of each part of the question,
verbatim, with its citation. A question comparing places gets one labelled quote per place, or says which place
the documents do not answer for.
"""

from __future__ import annotations

import logging

from ..types import Answer, Citation, Hit
from .base import REFUSAL, AnswerContext, Answerer
from .cite import make_citation
from .select import Selection, select

log = logging.getLogger(__name__)


class ExtractiveAnswerer(Answerer):
    """Quote the best-ranked span of each part of the question, with [n] markers."""

    name = "extractive"

    def __init__(self, settings):
        self.settings = settings

    def answer(self, question: str, hits: list[Hit], ctx: AnswerContext) -> Answer:
        selections = ctx.selections
        if selections is None:  # called outside the pipeline: read and score here
            from ..query import plan_question

            plan = ctx.plan or plan_question(question, ctx.docs)
            selections = [select(plan, hits, ctx.docs, getattr(ctx.retriever, "bm25", None))]
        try:
            return self._compose(selections, hits, ctx)
        except Exception:  # a bug here must not cost the user the nearest passages: refuse and log loudly
            log.exception("extractive answerer failed on %r", question[:80])
            return Answer(text=REFUSAL, refused=True, hits=hits, notice="回答时出错，以下是可能相关的段落。")

    def _compose(self, selections: list[Selection], hits: list[Hit], ctx: AnswerContext) -> Answer:
        parts: list[str] = []
        cits: list[Citation] = []
        used: set[tuple[str, int, int]] = set()
        labelled = len(selections) > 1
        for sel in selections:
            label = f"{sel.plan.label}：" if labelled and sel.plan.label else ""
            if not sel.ok:
                parts.append(f"{label}{REFUSAL}")
                continue
            best = next((c for _, c in sel.ranked
                         if (c.hit.chunk.chunk_id, c.a, c.b) not in used), None)
            if best is None:
                parts.append(f"{label}{REFUSAL}")
                continue
            used.add((best.hit.chunk.chunk_id, best.a, best.b))
            record = ctx.docs.get(best.hit.chunk.doc_id)
            if record is None:
                parts.append(f"{label}{REFUSAL}")
                continue
            cit = make_citation(len(cits) + 1, record, best.hit.chunk, best.a, best.b)
            if not cit.quote:
                parts.append(f"{label}{REFUSAL}")
                continue
            cits.append(cit)
            parts.append(f"{label}{cit.quote}[{cit.n}]")
        if not cits:
            return Answer(text=REFUSAL, refused=True, hits=hits)
        text = "；".join(p.rstrip("。；;，, ") for p in parts) + "。"
        return Answer(text=text, citations=cits, hits=hits)
