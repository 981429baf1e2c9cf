"""Word lists are data: packaged files under rag/data/lexicon/, overridable per corpus next to the index."""

from __future__ import annotations

import os
import time

import pytest

from rag.errors import RagError
from rag.lexicon import DATA_DIR, LexiconError, load_list, load_map


@pytest.fixture
def packaged(tmp_path, monkeypatch):
    """A private packaged-data folder so tests can write lists of their own (the real DATA_DIR stays untouched)."""
    import rag.lexicon as lexicon

    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setattr(lexicon, "DATA_DIR", data)
    lexicon._load_list.cache_clear()  # the cache is keyed by name: lists of an earlier test must not answer
    lexicon._load_map.cache_clear()
    yield data
    lexicon._load_list.cache_clear()
    lexicon._load_map.cache_clear()


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_packaged_lists_load_and_keyword_reads_them():
    from rag import keyword

    terms = load_list("policy_terms")
    assert "专精特新" in terms and "中小微企业" in terms
    assert keyword.POLICY_TERMS == terms
    assert "多少" in keyword.QUESTION_WORDS and "多少" in load_list("question_words")
    # Comments and inline comments never become entries.
    assert not any("#" in t or " " in t for t in terms)


def test_every_packaged_file_parses():
    files = list(DATA_DIR.glob("*.txt"))
    assert {"policy_terms", "question_words"} <= {p.stem for p in files}
    for path in files:
        is_map = any("\t" in line for line in path.read_text(encoding="utf-8").splitlines()
                     if not line.lstrip().startswith("#"))
        loaded = (load_map if is_map else load_list)(path.stem)
        assert loaded or path.stem == "example_questions", path.name  # that one is filled per corpus


def test_list_format_comments_blank_lines_and_order(packaged):
    _write(packaged / "words.txt", "\ufeff# heading comment\n\n甲\n乙   # why 乙 is here\n甲\n  丙  \n")
    assert load_list("words") == ("甲", "乙", "丙")


def test_list_override_adds_and_removes(packaged, tmp_path):
    _write(packaged / "words.txt", "甲\n乙\n")
    index = tmp_path / "index"
    _write(index / "lexicon" / "words.txt", "-甲\n丁\n-不存在\n")
    assert load_list("words", index) == ("乙", "丁")
    assert load_list("words") == ("甲", "乙")
    assert load_list("words", tmp_path / "no-such-index") == ("甲", "乙")


def test_override_is_reread_when_it_changes(packaged, tmp_path):
    _write(packaged / "words.txt", "甲\n")
    override = tmp_path / "index" / "lexicon" / "words.txt"
    _write(override, "乙\n")
    assert load_list("words", tmp_path / "index") == ("甲", "乙")
    _write(override, "丙\n")
    later = time.time() + 5
    os.utime(override, (later, later))  # the cache key is the mtime: make sure it moves on coarse clocks
    assert load_list("words", tmp_path / "index") == ("甲", "丙")


def test_map_format_and_override(packaged, tmp_path):
    _write(packaged / "syn.txt", "# key<TAB>values\n营收\t营业收入 收入\n产值\t工业产值\n营收\t销售额\n")
    assert load_map("syn") == {"营收": ("营业收入", "收入", "销售额"), "产值": ("工业产值",)}
    index = tmp_path / "index"
    _write(index / "lexicon" / "syn.txt", "营收\t销售收入\n-产值\n税收\t税费\n")
    assert load_map("syn", index) == {"营收": ("销售收入",), "税收": ("税费",)}
    fresh = load_map("syn")
    fresh["新"] = ("x",)  # a caller's change does not leak into the cache
    assert "新" not in load_map("syn")


@pytest.mark.parametrize(
    "name, text",
    [
        ("syn", "营收 营业收入\n"),  # no tab
        ("syn", "营收\t\n"),  # no value
        ("words", "甲\t乙\n"),  # a list line with a tab
    ],
)
def test_malformed_file_raises_a_chinese_rag_error(packaged, name, text):
    _write(packaged / f"{name}.txt", text)
    loader = load_map if name == "syn" else load_list
    with pytest.raises(LexiconError) as err:
        loader(name)
    assert isinstance(err.value, RagError)
    assert "格式错误" in str(err.value) and "第 1 行" in str(err.value)


def test_missing_list_and_bad_name_raise(packaged):
    with pytest.raises(LexiconError, match="找不到词表文件"):
        load_list("nothing_here")
    with pytest.raises(LexiconError, match="词表名称无效"):
        load_list("../etc/passwd")


def test_lexicon_files_ship_in_the_package():
    """pyproject's package-data must cover every data file, or an installed wheel would lack them."""
    import tomllib
    from fnmatch import fnmatch
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    patterns = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"]["rag"]
    data_files = [p.relative_to(root / "rag").as_posix() for p in (root / "rag" / "data").rglob("*") if p.is_file()]
    assert data_files
    assert all(any(fnmatch(f, pat) for pat in patterns) for f in data_files), data_files


def test_answer_signals_read_the_corpus_synonyms(tmp_path):
    """A synonym added next to the index reaches the answer selector's word matching, not only the query stage."""
    from rag.answer.features import QuestionStats
    from rag.query.plan import plan_question

    index = tmp_path / "index"
    _write(index / "lexicon" / "synonyms.txt", "孵化载体\t众创空间\n")
    question = "孵化载体有什么补贴？"
    with_corpus = QuestionStats(plan_question(question, index_dir=str(index)))
    packaged = QuestionStats(plan_question(question))
    assert with_corpus.term_match("孵化载体", "对众创空间给予补贴") == 0.9
    assert packaged.term_match("孵化载体", "对众创空间给予补贴") < 0.9


def test_an_index_own_policy_terms_shape_its_keyword_index_and_queries(tmp_path, settings_factory):
    """Policy terms next to one index make jieba keep them whole in that index (its stored words and its queries),
    leave the packaged tokenizer and other indexes alone, and editing the file re-tokenises the index on load."""
    from rag.ingest import ingest
    from rag.keyword import TOKENIZER_VERSION, tokenize
    from rag.retriever import Retriever
    from rag.store import read_manifest

    docs, index = tmp_path / "docs", tmp_path / "index"
    _write(docs / "notice.txt", "关于推行惠企政策免申即享的通知\n\n一、符合条件的企业无需申请，免申即享各项补贴。\n")
    _write(index / "lexicon" / "policy_terms.txt", "免申即享\n")
    settings = settings_factory(index)
    ingest([docs], settings, index_dir=index)
    r = Retriever.load(index, settings)
    assert "免申即享" in r.index.kw.col  # stored as one word in this index
    assert "免申即享" in r.query_tokens("哪些补贴可以免申即享？")
    assert "免申即享" not in tokenize("哪些补贴可以免申即享？", for_query=True)  # the packaged tokenizer unchanged
    first = read_manifest(index)["keyword"]
    assert first != TOKENIZER_VERSION

    time.sleep(0.01)
    _write(index / "lexicon" / "policy_terms.txt", "# 不再单列\n")
    os.utime(index / "lexicon" / "policy_terms.txt", (time.time() + 5, time.time() + 5))
    r = Retriever.load(index, settings)  # the words changed: re-tokenised without re-embedding
    assert "免申即享" not in r.index.kw.col
    assert read_manifest(index)["keyword"] not in (first, TOKENIZER_VERSION)

    # a list that is not UTF-8 is reported as such (not as a broken index to rebuild), and the index stays as it was
    before = (index / "CURRENT").read_text()
    (index / "lexicon" / "policy_terms.txt").write_bytes("免申即享\n".encode("gbk"))
    with pytest.raises(LexiconError, match="UTF-8"):
        Retriever.load(index, settings)
    assert (index / "CURRENT").read_text() == before
