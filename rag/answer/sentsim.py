"""How close each sentence of the retrieved chunks is to the question, by the embedding model: one signal of the
answer ranker (`features.FEATURES`' sent_dense*).

The sentences' vectors are embedded at ingest and stored with the index (`Store.sentence_vectors`), so asking costs
one question vector (already computed for dense retrieval) and a small matrix product. An index without them (built
before they were stored, or with `RAG_SENTENCE_VECTORS=false`) gives no similarities, and the ranker reads the
signal as missing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np

from ..types import Chunk

log = logging.getLogger(__name__)


class SentenceSims:
    """Per chunk id, the cosine similarity of each of its stored sentence vectors with a question's vector."""

    def __init__(self, stored: Callable[[Sequence[Chunk]], dict[str, np.ndarray]],
                 query_vector: Callable[[str], np.ndarray]):
        self.stored = stored
        self.query_vector = query_vector

    @classmethod
    def of(cls, retriever) -> "SentenceSims | None":
        """The similarities over a retriever's index and embedder (None when the index cannot give them)."""
        stored = getattr(getattr(retriever, "index", None), "sentence_vectors", None)
        if stored is None or not hasattr(retriever, "query_vector"):
            return None
        return cls(stored, retriever.query_vector)

    def __call__(self, question: str, chunks: Sequence[Chunk]) -> dict[str, np.ndarray]:
        try:
            vectors = self.stored(list({c.chunk_id: c for c in chunks}.values()))
            if not vectors:
                return {}
            q = np.asarray(self.query_vector(question), dtype=np.float32)
        except Exception as e:  # a signal lost is a slightly worse pick, never a failed answer
            log.warning("sentence similarities unavailable (%s: %s); ranking without them", type(e).__name__, e)
            return {}
        return {cid: m @ q for cid, m in vectors.items() if m.ndim == 2 and m.shape[1] == len(q)}
