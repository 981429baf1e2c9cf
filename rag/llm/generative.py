"""The generative answerer: passages -> prompt -> streamed tokens -> grounding check -> verified Answer.

Generation never weakens citations: whatever the model writes goes through `ground`, and when the model fails or
nothing it cites can be checked, the user gets the extractive answer with a notice saying why.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from ..answer.base import REFUSAL, AnswerContext, Answerer
from ..answer.extractive import ExtractiveAnswerer
from ..prompts import render
from ..types import Answer, Hit
from .backends import BACKENDS, ChatBackend, LLMFailure
from .grounding import UNVERIFIED, ground, strip_thinking
from .runner import call_with_retries

log = logging.getLogger(__name__)

FALLBACK_SUFFIX = "，已改用原文摘录。"
PARTLY_UNVERIFIED = f"部分内容未能与文档核对，已标注“{UNVERIFIED}”。"
UNGROUNDED = "生成的回答无法与文档核对"
EMPTY_REPLY = "大模型没有返回内容"
PASSAGE_OPEN = "<<<"  # as in prompts/passage.txt


def build_messages(question: str, passages: list[Hit]) -> list:
    """System and user messages: rules, then passages numbered [1]..[k] with title and section, then the question."""
    from langchain_core.messages import HumanMessage, SystemMessage

    blocks = [
        render("passage", n=i, title=h.chunk.title or h.chunk.doc_id,
               section=f"（{h.chunk.section_path}）" if h.chunk.section_path else "", text=h.chunk.text)
        for i, h in enumerate(passages, 1)
    ]
    system = render("answer_system", k=len(passages), refusal=REFUSAL)
    user = render("answer_user", k=len(passages), passages="\n\n".join(blocks), question=question)
    return [SystemMessage(content=system), HumanMessage(content=user)]


def _visible_pieces(pieces: Iterator[str]) -> Iterator[tuple[str, str]]:
    """(raw piece, text to show) pairs: a reasoning model's <think> block is held back from the user."""
    raw, shown = "", ""
    for piece in pieces:
        raw += piece
        head = raw.lstrip()
        if len(head) < len("<think>") and "<think>".startswith(head):
            yield piece, ""  # might be the start of a <think> tag
            continue
        visible = strip_thinking(raw).lstrip()
        if visible.startswith(shown) and len(visible) > len(shown):
            yield piece, visible[len(shown):]
            shown = visible
        else:
            yield piece, ""


class GenerativeAnswerer(Answerer):
    """Answers through a LangChain chat model; every citation is checked; falls back to the extractive answer."""

    def __init__(self, settings, backend: ChatBackend | str):
        self.settings = settings
        # A config problem (missing extra, no key, no model file) is raised here, loudly, not hidden by a fallback.
        self.backend = BACKENDS[backend](settings) if isinstance(backend, str) else backend
        self.name = self.backend.name
        self.extractive = ExtractiveAnswerer(settings)

    def answer(self, question: str, hits: list[Hit], ctx: AnswerContext) -> Answer:
        final = None
        for event in self.stream(question, hits, ctx):
            if isinstance(event, Answer):
                final = event
        return final

    def complete(self, prompt: str, timeout: float | None = None) -> str:
        """One non-streaming completion of a single user prompt (used to rewrite follow-ups); raises LLMFailure."""
        from langchain_core.messages import HumanMessage

        def one_reply():
            yield self.backend.chat.invoke([HumanMessage(content=prompt)]).text

        return strip_thinking("".join(call_with_retries(one_reply, self.backend, timeout or self.settings.llm_timeout)))

    def _tokens(self, messages) -> Iterator[str]:
        # Our passage delimiter never belongs in an answer: a model that starts echoing the passages stops there.
        for chunk in self.backend.chat.stream(messages, stop=[PASSAGE_OPEN]):
            if chunk.text:
                yield chunk.text

    def stream(self, question: str, hits: list[Hit], ctx: AnswerContext) -> Iterator[str | Answer]:
        """Yield text pieces as the model writes them, then the checked Answer (citations only at the end)."""
        label = self.backend.label
        # The pipeline's refusal gate has run already (rag/answer/select.py); no hits means nothing to ground on.
        if not hits:
            yield Answer(text=REFUSAL, refused=True, hits=hits, backend=label)
            return
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        messages = build_messages(question, hits)
        pieces: list[str] = []
        try:
            stream = call_with_retries(lambda: self._tokens(messages), self.backend, self.settings.llm_timeout)
            for piece, shown in _visible_pieces(stream):
                if not pieces:
                    timings["first_token"] = (time.perf_counter() - t0) * 1000
                pieces.append(piece)
                if shown:
                    yield shown
        except LLMFailure as failure:
            timings["generate"] = (time.perf_counter() - t0) * 1000
            yield self._fallback(question, hits, ctx, str(failure), timings)
            return
        t1 = time.perf_counter()
        timings["generate"] = (t1 - t0) * 1000
        raw = "".join(pieces)
        if not strip_thinking(raw).strip():
            log.warning("LLM %s returned an empty reply", label)
            yield self._fallback(question, hits, ctx, EMPTY_REPLY, timings)
            return
        instructions = "\n".join(m.content for m in messages[:-1]) + "\n" + render(
            "answer_user", k=len(hits), passages="", question="")
        grounded = ground(raw, hits, ctx.docs, instructions)
        timings["ground"] = (time.perf_counter() - t1) * 1000
        for reason in grounded.rejected:
            log.info("grounding check rejected a citation: %s", reason)
        if grounded.refused:
            yield Answer(text=REFUSAL, refused=True, hits=hits, backend=label, timings_ms=timings)
        elif not grounded.citations:
            log.warning("no citation of the %s answer survived the grounding check; extractive fallback", label)
            yield self._fallback(question, hits, ctx, UNGROUNDED, timings)
        else:
            yield Answer(text=grounded.text, citations=grounded.citations, hits=hits, backend=label,
                         timings_ms=timings, notice=PARTLY_UNVERIFIED if grounded.unverified else "")

    def _fallback(self, question: str, hits: list[Hit], ctx: AnswerContext, why: str,
                  timings: dict[str, float]) -> Answer:
        """The extractive answer, with a Chinese notice that says why generation was not used."""
        answer = self.extractive.answer(question, hits, ctx)
        answer.notice = why + FALLBACK_SUFFIX
        answer.backend = f"{self.backend.label} (fallback: extractive)"
        answer.timings_ms.update(timings)
        return answer
