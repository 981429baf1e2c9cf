"""The chat's example questions are data: a corpus's own list next to its index, else built from indexed titles."""

from __future__ import annotations

from types import SimpleNamespace

from webui.examples import example_questions


def _assistant(index_dir, titles):
    docs = [SimpleNamespace(doc=SimpleNamespace(title=t)) for t in titles]
    return SimpleNamespace(index_dir=index_dir, documents=lambda: docs)


def test_examples_are_built_from_the_indexed_titles(tmp_path):
    titles = ["某市促进产业发展的若干措施", "某省支持中小企业渡过难关的政策", "《某区实施方案》", ""]
    examples = example_questions(_assistant(tmp_path, titles))
    assert len(examples) == 3
    assert examples[0].startswith("《某区实施方案》") and "《《" not in examples[0]  # shortest title first
    assert all(e.endswith("？") for e in examples)
    assert len(set(examples)) == 3


def test_a_corpus_list_next_to_the_index_wins(tmp_path):
    lexicon = tmp_path / "lexicon"
    lexicon.mkdir()
    (lexicon / "example_questions.txt").write_text("# 本语料的示例\n某市2025年的目标是什么？\n第二个问题？\n",
                                                   encoding="utf-8")
    assert example_questions(_assistant(tmp_path, ["任意标题"])) == ["某市2025年的目标是什么？", "第二个问题？"]


def test_no_documents_no_examples(tmp_path):
    assert example_questions(_assistant(tmp_path, [])) == []
