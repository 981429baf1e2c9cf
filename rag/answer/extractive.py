"""Extractive answerer (the default; needs no LLM): quote the sentences of the evidence that answer the question."""

from __future__ import annotations

from ..keyword import tokenize
from ..textnorm import sentence_spans
from ..types import Answer, Hit
from .base import REFUSAL, AnswerContext, Answerer
from .cite import make_citation


class ExtractiveAnswerer(Answerer):
    """Pick the best-matching sentence of the top hits and quote it verbatim with an [n] marker."""

    name = "extractive"

    def __init__(self, settings):
        self.settings = settings

    def answer(self, question: str, hits: list[Hit], ctx: AnswerContext) -> Answer:
        if not hits or hits[0].scores.get("dense", 0.0) < self.settings.refuse_below:
            return Answer(text=REFUSAL, refused=True, hits=hits)
        q = set(tokenize(question, for_query=True))
        best = None
        for hit in hits[:3]:
            text = hit.chunk.text
            for a, b in sentence_spans(text):
                overlap = len(q & set(tokenize(text[a:b])))
                if best is None or overlap > best[0]:
                    best = (overlap, hit, a, b)
        if best is None:
            return Answer(text=REFUSAL, refused=True, hits=hits)
        _, hit, a, b = best
        cit = make_citation(1, ctx.docs[hit.chunk.doc_id], hit.chunk, a, b)
        return Answer(text=f"{cit.quote}[1]", citations=[cit], hits=hits)
