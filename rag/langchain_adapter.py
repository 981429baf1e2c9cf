"""Our retriever as a LangChain `BaseRetriever`, so users can plug PolicyQA retrieval into their own chains.

LangChain stays at the edge: documents carry our chunk id, section path and source span in their metadata.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from .retriever import Retriever


class PolicyQARetriever(BaseRetriever):
    """LangChain retriever over a PolicyQA index (hybrid dense + BM25 by default)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Any  # rag.retriever.Retriever (Any keeps pydantic from inspecting it)
    k: int = 5
    mode: str | None = None
    filters: dict | None = None

    @classmethod
    def from_index(cls, index_dir, settings=None, **kwargs) -> "PolicyQARetriever":
        """Load an index folder and wrap it."""
        return cls(retriever=Retriever.load(index_dir, settings), **kwargs)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[LCDocument]:
        hits = self.retriever.search(query, k=self.k, mode=self.mode, filters=self.filters)
        return [
            LCDocument(
                page_content=h.chunk.text,
                metadata={
                    "chunk_id": h.chunk.chunk_id, "doc": h.chunk.doc_id, "title": h.chunk.title,
                    "section": h.chunk.section_path, "start": h.chunk.start, "end": h.chunk.end,
                    "score": h.score, **{f"score_{k}": v for k, v in h.scores.items()},
                },
                id=h.chunk.chunk_id,
            )
            for h in hits
        ]
