"""Generated answers through LangChain chat models; importing this package registers `openai` and `llamacpp`.

Nothing heavy is imported here: langchain_openai and llama_cpp load only when an answerer is created.
"""

from __future__ import annotations

from ..answer import register


@register("openai")
def openai_answerer(settings):
    """Answerer over any OpenAI-compatible endpoint (RAG_LLM_BASE_URL / OPENAI_BASE_URL, RAG_LLM_MODEL)."""
    from .generative import GenerativeAnswerer

    return GenerativeAnswerer(settings, "openai")


@register("llamacpp")
def llamacpp_answerer(settings):
    """Answerer over a local GGUF file via llama-cpp-python (RAG_LLM_MODEL, default: bundled Gemma 3 270M)."""
    from .generative import GenerativeAnswerer

    return GenerativeAnswerer(settings, "llamacpp")
