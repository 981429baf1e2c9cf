"""Extractive answerer (the default; needs no LLM): quote the span the fitted selector ranks first, with [n].

The pipeline has already read the question (`QueryPlan`), retrieved, scored every candidate span and applied the
refusal gate (`select.py`); this answerer only writes the answer: the best span of each part of the question,
verbatim, with its citation. A question comparing places gets one labelled quote per place, or says which place
the documents do not answer for.
"""

from __future__ import annotations

import logging
import re

from ..query.plan import years_in
from ..textnorm import CLAUSE_END, sentence_spans
from ..types import Answer, Citation, Hit
from .base import REFUSAL, AnswerContext, Answerer
from .cite import make_citation
from .features import Candidate
from .select import Selection, select
from .sentsim import SentenceSims

log = logging.getLogger(__name__)

_LEAD_END = ("：", ":")
_ITEM = re.compile(r"(?:[（(][一二三四五六七八九十\d]{1,3}[）)]|\d{1,2}[、．.](?!\d)|[一二三四五六七八九十]{1,3}、)")


def complete_list(text: str, a: int, b: int) -> tuple[int, int]:
    """A span whose last sentence leads into an enumeration ('应当采取下列措施：', '有下列情形之一的：') stops
    before what it announces: extend it over the items that follow in the text ('（一）…；（二）…'), each item
    with the sentences on its own line. Unchanged when the span does not end in a lead-in or no item follows.
    Used for questions that ask for a list: a lead-in may also hold the answer itself ('应当自…二年内提出，并提供
    下列材料：'), and then the items are not what was asked."""
    spans = sentence_spans(text, a)
    inside = [(x, y) for x, y in spans if y <= b]
    if not inside or not text[a:b].rstrip().endswith(_LEAD_END):
        return a, b
    end = b
    for x, y in spans[len(inside):]:
        if _ITEM.match(text, x) or (end <= x and "\n" not in text[end:x] and end > b):
            end = y
        else:
            break
    return a, end


def trim_to_years(text: str, a: int, b: int, years: tuple[int, ...]) -> tuple[int, int]:
    """The clauses of text[a:b] that speak about the asked years, when the span also speaks about other years
    ('到2027年…120亿元，到2030年…360亿元' asked about 2030 keeps the 2030 clause): from the first clause naming an
    asked year to the clause before the next one naming another year. Unchanged when nothing narrows it."""
    if not years:
        return a, b
    span = text[a:b]
    named = years_in(span)
    if not set(named) & set(years) or not set(named) - set(years):
        return a, b
    cuts = [0] + [m.end() for m in CLAUSE_END.finditer(span)]
    clauses = [(cuts[i], cuts[i + 1] if i + 1 < len(cuts) else len(span)) for i in range(len(cuts))]
    clauses = [(x, y) for x, y in clauses if span[x:y].strip()]
    start = end = None
    for x, y in clauses:
        ys = set(years_in(span[x:y]))
        if start is None:
            if ys & set(years):
                start, end = x, y
        elif ys and not ys & set(years):
            break
        else:
            end = y
    if start is None:
        return a, b
    piece = span[start:end].rstrip("，,；; ")
    lead = len(piece) - len(piece.lstrip())
    if not re.search(r"\d", piece):
        return a, b
    return a + start + lead, a + start + len(piece)


def year_clauses(sel: Selection, quoted: str, used: set) -> list[tuple[Candidate, tuple[int, int]]]:
    """For a question asking about several years, the clause of the best-ranked candidate naming each asked year
    that `quoted` does not name, cut to that year (`trim_to_years`); none for a question asking about one year."""
    years = sel.plan.years
    if len(years) < 2:
        return []
    missing = [y for y in years if y not in years_in(quoted)]
    out: list[tuple[Candidate, tuple[int, int]]] = []
    for y in missing:
        for _, c in sel.ranked:
            if c.kind == "chunk" or (c.hit.chunk.chunk_id, c.a, c.b) in used or y not in years_in(c.text):
                continue
            if any(o.hit.chunk.chunk_id == c.hit.chunk.chunk_id and c.a < b and a < c.b for o, (a, b) in out):
                continue
            out.append((c, trim_to_years(c.hit.chunk.text, c.a, c.b, (y,))))
            break
    return out


_CLOSING = "。；;，, "  # marks a quoted clause ends with, replaced by the answer's own


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
            selections = [select(plan, hits, ctx.docs, getattr(ctx.retriever, "bm25", None),
                                 sims=SentenceSims.of(ctx.retriever))]
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
            a, b = trim_to_years(best.hit.chunk.text, best.a, best.b, sel.plan.years)
            if sel.plan.answer_type == "enumeration":
                a, b = complete_list(best.hit.chunk.text, a, b)
            cit = make_citation(len(cits) + 1, record, best.hit.chunk, a, b)
            if not cit.quote:
                parts.append(f"{label}{REFUSAL}")
                continue
            cits.append(cit)
            # the marker goes before the clause's closing mark: '…动态调整[1]。', not '…动态调整。[1]。'
            parts.append(f"{label}{cit.quote.rstrip(_CLOSING)}[{cit.n}]")
            # '2027年和2035年分别要到多少': each asked year the quote does not speak of gets the best-ranked clause
            # that does, so one year's figure is not given as the answer for both
            for c, (a, b) in year_clauses(sel, best.hit.chunk.text[a:b], used):
                extra = ctx.docs.get(c.hit.chunk.doc_id)
                more = make_citation(len(cits) + 1, extra, c.hit.chunk, a, b) if extra is not None else None
                if more is not None and more.quote:
                    used.add((c.hit.chunk.chunk_id, c.a, c.b))
                    cits.append(more)
                    parts.append(f"{more.quote.rstrip(_CLOSING)}[{more.n}]")
        if not cits:
            return Answer(text=REFUSAL, refused=True, hits=hits)
        text = "；".join(p.rstrip(_CLOSING) for p in parts) + "。"
        return Answer(text=text, citations=cits, hits=hits)
