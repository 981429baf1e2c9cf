"""Answerers turn retrieved hits into an `Answer` with citations. Registry: name -> factory."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import BackendError
from .base import AnswerContext, Answerer

ANSWERERS: dict[str, Callable[..., Answerer]] = {}


def register(name: str):
    """Decorator: make an answerer factory available under a name (`--llm NAME`, RAG_LLM)."""

    def deco(factory):
        ANSWERERS[name] = factory
        return factory

    return deco


def get_answerer(name: str, settings) -> Answerer:
    """The answerer for a backend name: `none`/`extractive` (default, no LLM), `openai`, `llamacpp`."""
    name = "extractive" if name in ("", "none", None) else name
    if name == "extractive":
        from .extractive import ExtractiveAnswerer

        return ExtractiveAnswerer(settings)
    if name not in ANSWERERS:
        try:
            from .. import llm  # noqa: F401  (registers the LLM answerers; heavy imports stay inside)
        except ImportError:
            pass
    if name not in ANSWERERS:
        raise BackendError(f"未知的回答后端 {name}，可选：none, openai, llamacpp", f"unknown answerer {name!r}")
    return ANSWERERS[name](settings)


__all__ = ["Answerer", "AnswerContext", "get_answerer", "register", "ANSWERERS"]
