"""Retrieval systems that `rag eval --baselines` and the benchmarks compare, all behind one tiny interface.

- `hybrid`, `keyword`, `dense`: our own retriever in its three modes.
- `langchain_naive`: what a user would otherwise write: RecursiveCharacterTextSplitter(500, 50) over each file's
  text + a LangChain FAISS store.
- `chatchat`: the Langchain-Chatchat default knowledge base: its Chinese recursive splitter (750 chars, 150 overlap)
  + BM25Retriever on `jieba.lcut_for_search` and FAISS, fused 0.5/0.5 by LangChain's EnsembleRetriever.

Every baseline embeds with the SAME model as our index (wrapped as a LangChain `Embeddings`), so the comparison
is about chunking and fusion, not about the model. Vectors are cached by text hash for the whole process.
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from .eval_metrics import MAX_RANK

log = logging.getLogger(__name__)

BASELINE_NAMES = ("keyword", "dense", "langchain_naive", "chatchat")
# Langchain-Chatchat's ChineseRecursiveTextSplitter defaults (text_splitter/chinese_recursive_text_splitter.py)
CHATCHAT_SEPARATORS = ["\n\n", "\n", "。|！|？", r"\.\s|\!\s|\?\s", "；|;\s", "，|,\s"]
CHATCHAT_CHUNK_SIZE, CHATCHAT_OVERLAP = 750, 150
NAIVE_CHUNK_SIZE, NAIVE_OVERLAP = 500, 50


@dataclass(frozen=True)
class Ranked:
    """One retrieved passage: the document it comes from and its text."""

    doc: str
    text: str


class RetrievalSystem(Protocol):
    """Anything that ranks passages for a query."""

    name: str

    def search(self, query: str, k: int) -> list[Ranked]:
        """The top-k passages for a query, best first."""


class PolicyQASystem:
    """Our retriever in one mode (hybrid, keyword or dense)."""

    def __init__(self, retriever, mode: str = "hybrid", name: str | None = None):
        self.retriever, self.mode, self.name = retriever, mode, name or mode
        self.n_chunks = len(retriever.index)

    def search(self, query: str, k: int) -> list[Ranked]:
        return [Ranked(h.chunk.doc_id, h.chunk.text) for h in self.retriever.search(query, k=k, mode=self.mode)]


class LangChainSystem:
    """A LangChain retriever (anything with `.invoke(query) -> list[Document]`) returning `MAX_RANK` documents."""

    def __init__(self, name: str, lc_retriever, n_chunks: int):
        self.name, self.lc_retriever, self.n_chunks = name, lc_retriever, n_chunks

    def search(self, query: str, k: int) -> list[Ranked]:
        docs = self.lc_retriever.invoke(query)
        return [Ranked(d.metadata.get("doc", ""), d.page_content) for d in docs[:k]]


# -- embeddings ------------------------------------------------------------------------------------
class VectorCache:
    """Passage vectors by text hash for the whole process; optionally saved to a .npz for benchmark reruns."""

    def __init__(self):
        self.vectors: dict[str, np.ndarray] = {}

    @staticmethod
    def key(model: str, kind: str, text: str) -> str:
        return hashlib.sha1(f"{model}\x1f{kind}\x1f{text}".encode("utf-8")).hexdigest()

    def load(self, path: Path) -> None:
        """Add the vectors saved at `path` (a missing or unreadable file is ignored: it is only a cache)."""
        try:
            with np.load(path, allow_pickle=False) as z:
                self.vectors.update(zip(z["keys"].tolist(), z["vectors"]))
        except (OSError, KeyError, ValueError) as e:
            log.info("no usable vector cache at %s (%s)", path, e)

    def save(self, path: Path) -> None:
        """Write every cached vector to `path` atomically."""
        if not self.vectors:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        keys = list(self.vectors)
        np.savez(tmp, keys=np.array(keys), vectors=np.stack([self.vectors[k] for k in keys]))
        tmp.replace(path)


VECTOR_CACHE = VectorCache()


def langchain_embeddings(embedder, cache: VectorCache = VECTOR_CACHE):
    """Our embedder as a LangChain `Embeddings` (passages via embed_documents, queries via embed_query)."""
    from langchain_core.embeddings import Embeddings

    model = f"{getattr(embedder, 'backend', '')}:{embedder.name}"

    class PolicyQAEmbeddings(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            keys = [cache.key(model, "passage", t) for t in texts]
            missing = list(dict.fromkeys(t for t, k in zip(texts, keys) if k not in cache.vectors))
            if missing:
                for t, v in zip(missing, embedder.embed_passages(missing)):
                    cache.vectors[cache.key(model, "passage", t)] = v
            return [cache.vectors[k].tolist() for k in keys]

        def embed_query(self, text: str) -> list[float]:
            # Not cached: a query's embedding is part of the retrieval latency every system is timed on.
            return embedder.embed_query(text).tolist()

    return PolicyQAEmbeddings()


# -- splitters -------------------------------------------------------------------------------------
def chatchat_splitter(chunk_size: int = CHATCHAT_CHUNK_SIZE, chunk_overlap: int = CHATCHAT_OVERLAP):
    """Langchain-Chatchat's ChineseRecursiveTextSplitter, reproduced on the installed LangChain.

    Chatchat splits with each separator kept at the END of the piece before it (its `_split_text_with_regex_from_end`,
    which is LangChain's keep_separator="end"), tries the separators in order (paragraph, line, 。！？, ". ", ；, ，),
    merges pieces up to chunk_size with overlap, then strips every chunk and collapses runs of blank lines.
    """
    import re

    from langchain_text_splitters import RecursiveCharacterTextSplitter

    class ChineseRecursiveTextSplitter(RecursiveCharacterTextSplitter):
        def split_text(self, text: str) -> list[str]:
            chunks = self._split_text(text, self._separators)
            return [re.sub(r"\n{2,}", "\n", c.strip()) for c in chunks if c.strip()]

    return ChineseRecursiveTextSplitter(
        separators=CHATCHAT_SEPARATORS, keep_separator="end", is_separator_regex=True,
        chunk_size=chunk_size, chunk_overlap=chunk_overlap,
    )


def naive_splitter():
    """The splitter a LangChain tutorial gives: RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50)."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    return RecursiveCharacterTextSplitter(chunk_size=NAIVE_CHUNK_SIZE, chunk_overlap=NAIVE_OVERLAP)


def split_documents(docs: list[tuple[str, str]], splitter) -> tuple[list[str], list[dict]]:
    """Split every (doc id, full text) with a LangChain splitter; chunks never cross documents."""
    texts, metas = [], []
    for doc_id, text in docs:
        for piece in splitter.split_text(text):
            texts.append(piece)
            metas.append({"doc": doc_id})
    return texts, metas


def _faiss_store(texts: list[str], metas: list[dict], embeddings):
    with warnings.catch_warnings():  # langchain_community announces its own sunset on import
        warnings.simplefilter("ignore")
        from langchain_community.vectorstores import FAISS
    return FAISS.from_texts(texts, embeddings, metadatas=metas)


def build_langchain_naive(docs: list[tuple[str, str]], embeddings) -> LangChainSystem:
    """The naive LangChain pipeline: recursive character splits + FAISS similarity search."""
    texts, metas = split_documents(docs, naive_splitter())
    store = _faiss_store(texts, metas, embeddings)
    return LangChainSystem("langchain_naive", store.as_retriever(search_kwargs={"k": MAX_RANK}), len(texts))


def build_chatchat(docs: list[tuple[str, str]], embeddings) -> LangChainSystem:
    """The Langchain-Chatchat default: Chinese recursive splits, BM25 (jieba search mode) + FAISS, RRF 0.5/0.5.

    Chatchat's BM25 uses plain `jieba.lcut_for_search`; a private jieba Tokenizer keeps our policy-term
    dictionary (added to the global jieba by rag.keyword) out of it. Its FAISS retriever's score threshold is
    left at Chatchat's "no filtering" setting; each retriever returns MAX_RANK documents so mrr can look that deep.
    """
    import jieba

    jieba.setLogLevel(logging.WARNING)  # a fresh Tokenizer otherwise prints its dictionary loading to stderr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from langchain_classic.retrievers import EnsembleRetriever
        from langchain_community.retrievers import BM25Retriever

    texts, metas = split_documents(docs, chatchat_splitter())
    store = _faiss_store(texts, metas, embeddings)
    tokenizer = jieba.Tokenizer()
    bm25 = BM25Retriever.from_texts(texts, metadatas=metas, preprocess_func=tokenizer.lcut_for_search, k=MAX_RANK)
    dense = store.as_retriever(search_kwargs={"k": MAX_RANK})
    ensemble = EnsembleRetriever(retrievers=[bm25, dense], weights=[0.5, 0.5])
    return LangChainSystem("chatchat", ensemble, len(texts))


BUILDERS: dict[str, Callable] = {"langchain_naive": build_langchain_naive, "chatchat": build_chatchat}


def build_systems(retriever, names=("hybrid",) + BASELINE_NAMES, embedder=None,
                  cache: VectorCache = VECTOR_CACHE, progress: Callable[[str], None] | None = None,
                  docs: list[tuple[str, str]] | None = None):
    """The named systems over the documents of `retriever`'s index (baselines read each file's full text).

    `docs` ((doc id, text) pairs) gives the baselines another document set, e.g. a small one in tests.
    """
    from .errors import MissingExtraError

    if docs is None:
        docs = [(d, rec.doc.source_text) for d, rec in retriever.index.docs.items()]
    embeddings = None
    systems = []
    for name in names:
        if progress:
            progress(name)
        if name in ("hybrid", "keyword", "dense"):
            systems.append(PolicyQASystem(retriever, name))
            continue
        if name not in BUILDERS:
            raise ValueError(f"unknown retrieval system {name!r}")
        try:
            embeddings = embeddings or langchain_embeddings(embedder or retriever.embedder, cache)
            systems.append(BUILDERS[name](docs, embeddings))
        except ImportError as e:
            raise MissingExtraError(e.name or "langchain", "bench", f"基线 {name}") from e
    return systems
