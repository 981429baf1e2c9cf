"""The answerer interface: one abstract method, `answer`; `stream` defaults to yielding the final answer."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..store import DocRecord
from ..types import Answer, Hit

REFUSAL = "文档中没有找到相关信息"


@dataclass
class AnswerContext:
    """What an answerer may use besides the hits: the indexed documents and the conversation so far."""

    docs: dict[str, DocRecord]
    history: list[tuple[str, str]] = field(default_factory=list)  # (question, answer text) pairs
    # Optional: the Retriever the hits came from and the caller's filters, so an answerer can run extra searches
    # (e.g. one per region of a cross-document question) within what the caller allowed. None: hits only.
    retriever: Any = None
    filters: Any = None
    # Set by the pipeline: the question's plan, the hits of each part it compares, and the scored candidates of
    # each part (the refusal gate has read them already).
    plan: Any = None
    part_hits: list[list[Hit]] | None = None
    selections: list[Any] | None = None


class Answerer(ABC):
    """Compose an answer with verified [n] citations from retrieved hits."""

    name = "base"

    @abstractmethod
    def answer(self, question: str, hits: list[Hit], ctx: AnswerContext) -> Answer:
        """Answer the question from the hits (or refuse with REFUSAL)."""

    def stream(self, question: str, hits: list[Hit], ctx: AnswerContext) -> Iterator[str | Answer]:
        """Yield text pieces as they are produced, then the final Answer (citations appear only at the end)."""
        final = self.answer(question, hits, ctx)
        yield final.text
        yield final
