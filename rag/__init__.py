"""PolicyQA (政策问答助手): ask questions of Chinese policy documents and check the clauses behind every answer.

`import rag` is cheap: heavy libraries (faiss, jieba, gradio, torch, langchain) load inside the stage that needs them.
"""

from __future__ import annotations

__version__ = "0.1.0"

_LAZY = {
    "Assistant": ("rag.assistant", "Assistant"),
    "Settings": ("rag.settings", "Settings"),
    "Retriever": ("rag.retriever", "Retriever"),
    "ingest": ("rag.ingest", "ingest"),
    "Chunk": ("rag.types", "Chunk"),
    "Answer": ("rag.types", "Answer"),
    "Citation": ("rag.types", "Citation"),
    "Document": ("rag.types", "Document"),
    "Hit": ("rag.types", "Hit"),
    "RagError": ("rag.errors", "RagError"),
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")


__all__ = list(_LAZY)
