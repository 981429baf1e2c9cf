"""The eval set is honest: every quote and every must_contain string is really in the corpus, all types covered;
the named sets of eval/sets.json point at real questions, documents and index folders."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest

from rag.loaders import load_document
from rag.textnorm import normalize_text

from .conftest import CORPUS, ROOT

TYPES = {"fact", "list", "paraphrase", "cross_doc", "unanswerable", "distractor"}


def _items():
    lines = (ROOT / "eval" / "qa.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_every_quote_and_must_contain_string_is_in_its_document():
    sources = {p.name: load_document(p).source_text for p in CORPUS.iterdir()}
    for item in _items():
        docs = item["doc"] if isinstance(item["doc"], list) else ([item["doc"]] if item["doc"] else [])
        evidence = item["evidence"] if isinstance(item["evidence"], list) else (
            [item["evidence"]] if item["evidence"] else [])
        assert all(d in sources for d in docs), item["id"]
        for quote in evidence:
            assert any(quote in sources[d] for d in docs), (item["id"], quote)
        for s in item["must_contain"]:
            assert any(s in normalize_text(sources[d]) for d in docs), (item["id"], s)
        if item["type"] == "unanswerable":
            assert item["must_contain"] == [] and not docs
        else:
            assert item["must_contain"] and docs


def test_coverage_of_types_and_documents():
    items = _items()
    assert len(items) >= 80
    assert len({i["id"] for i in items}) == len(items)
    assert set(Counter(i["type"] for i in items)) == TYPES
    covered = Counter()
    for i in items:
        for d in (i["doc"] if isinstance(i["doc"], list) else [i["doc"]]):
            if d:
                covered[d] += 1
    assert set(covered) == {p.name for p in CORPUS.iterdir()}
    assert all(isinstance(i["doc"], list) and len(i["doc"]) >= 2 for i in items if i["type"] == "cross_doc")


def test_checker_script_passes():
    proc = subprocess.run([sys.executable, "eval/check_qa.py"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# -- the named sets of eval/sets.json ---------------------------------------------------------------
def test_named_sets_point_at_their_questions_documents_and_indexes():
    from rag.eval_sets import named_sets
    from rag.evaluate import load_items

    sets = named_sets()
    assert {"qa", "ncp2020", "ncp2020-unanswerable", "cmrc"} <= set(sets)
    qa = sets["qa"]
    assert qa.questions == ROOT / "eval" / "qa.jsonl" and qa.corpus == CORPUS and qa.index == ROOT / "index" / "default"
    assert sets["ncp2020"].index == sets["ncp2020-unanswerable"].index == ROOT / "index" / "ncp2020"
    assert sets["ncp2020"].corpus == sets["ncp2020-unanswerable"].corpus
    assert sets["ncp2020-unanswerable"].optional and not sets["ncp2020"].optional
    assert sets["cmrc"].format == "cmrc" and sets["cmrc"].index is None  # indexed in the cache folder
    for name in ("ncp2020", "cmrc"):  # external data is credited and read in place, outside the repository
        assert sets[name].credit and ROOT not in sets[name].questions.resolve().parents
    ncp = sets["ncp2020"]
    if ncp.questions.exists():
        items = load_items(ncp.questions)
        assert len(items) == 634 and all(it.answer and it.doc for it in items)
        assert len(list(ncp.corpus.glob("*.txt"))) == 599


def test_set_paths_take_env_vars_with_defaults_and_absolute_paths(monkeypatch, tmp_path):
    from rag.eval_sets import EvalSetError, expand_path

    monkeypatch.delenv("POLICYQA_TEST_DATA", raising=False)
    assert expand_path("${POLICYQA_TEST_DATA:-../data}/dev.jsonl") == ROOT / "../data/dev.jsonl"
    monkeypatch.setenv("POLICYQA_TEST_DATA", str(tmp_path))
    assert expand_path("${POLICYQA_TEST_DATA:-../data}/dev.jsonl") == tmp_path / "dev.jsonl"
    assert expand_path("$POLICYQA_TEST_DATA/x.json") == tmp_path / "x.json"
    assert expand_path(str(tmp_path / "abs.jsonl")) == tmp_path / "abs.jsonl"
    monkeypatch.delenv("POLICYQA_TEST_DATA")
    with pytest.raises(EvalSetError, match="POLICYQA_TEST_DATA"):
        expand_path("${POLICYQA_TEST_DATA}/dev.jsonl")


def test_resolving_sets_files_names_missing_optional_and_unknown(monkeypatch, tmp_path):
    from rag.eval_sets import EvalSetError, resolve_sets

    sets_file = tmp_path / "sets.json"
    sets_file.write_text(json.dumps({"sets": {
        "mine": {"questions": str(tmp_path / "mine.jsonl"), "corpus": "corpus", "index": str(tmp_path / "ix")},
        "later": {"questions": str(tmp_path / "not_written_yet.jsonl"), "optional": True},
    }}), encoding="utf-8")
    (tmp_path / "mine.jsonl").write_text('{"question": "问", "must_contain": ["x"]}\n', encoding="utf-8")
    monkeypatch.setenv("RAG_EVAL_SETS", str(sets_file))
    warnings = []
    got = resolve_sets(["mine", "later", str(ROOT / "eval" / "qa.jsonl")], ROOT / "index" / "other",
                       say=warnings.append)
    assert [s.name for s in got] == ["mine", "qa"]
    assert got[0].corpus == CORPUS and got[0].index == tmp_path / "ix"
    assert got[1].questions.name == "qa.jsonl" and got[1].index == ROOT / "index" / "other" and got[1].corpus is None
    assert len(warnings) == 1 and "later" in warnings[0]
    with pytest.raises(EvalSetError, match="未知的评测集 no-such-set"):
        resolve_sets(["no-such-set"], ROOT / "index", say=warnings.append)
    with pytest.raises(EvalSetError, match="没有可评测的评测集"):  # the only set asked for was skipped
        resolve_sets(["later"], ROOT / "index", say=warnings.append)


def test_a_named_sets_index_is_built_on_first_use_reused_then_rebuilt_under_other_settings(tmp_path, settings_factory):
    from rag.eval_sets import ensure_index
    from rag.store import read_manifest

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notice.txt").write_text("关于减免房租的通知\n一、对个体工商户减免3个月房租。\n二、申请材料报送区政府。\n",
                                     encoding="utf-8")
    index_dir = tmp_path / "index"
    said = []
    ensure_index(docs, index_dir, settings_factory(index_dir), say=said.append)
    first = read_manifest(index_dir)
    assert list(first["documents"]) == ["notice.txt"] and len(said) == 1
    ensure_index(docs, index_dir, settings_factory(index_dir), say=said.append)
    assert len(said) == 1  # up to date: nothing read, nothing written
    ensure_index(docs, index_dir, settings_factory(index_dir, chunk_max_chars=120), say=said.append)
    assert read_manifest(index_dir)["chunker"]["max_chars"] == 120 and "重建" in said[-1]


# -- eval/bundled_dev.jsonl: fitting data over the bundled documents -------------------------------
def test_bundled_dev_strings_are_in_their_documents_and_questions_are_new():
    from rag.eval_sets import named_sets

    sources = {p.name: load_document(p).source_text for p in CORPUS.iterdir()}
    path = ROOT / "eval" / "bundled_dev.jsonl"
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len({i["id"] for i in items}) == len(items)
    kinds = Counter("unanswerable" if i["type"] == "unanswerable" else "answerable" for i in items)
    assert kinds["answerable"] >= 60 and kinds["unanswerable"] >= 30
    for item in items:
        assert item["type"] in {"fact", "list", "cross_doc", "unanswerable"}, item["id"]
        docs = item["doc"] if isinstance(item["doc"], list) else ([item["doc"]] if item["doc"] else [])
        assert all(d in sources for d in docs), item["id"]
        if item["type"] == "unanswerable":
            assert item["must_contain"] == [], item["id"]
            continue
        assert item["must_contain"] and item["answer"] and docs, item["id"]
        for s in item["must_contain"]:
            assert any(s in normalize_text(sources[d]) for d in docs), (item["id"], s)
        evidence = item["evidence"] if isinstance(item["evidence"], list) else [item["evidence"]]
        for quote in evidence:
            assert any(quote in sources[d] for d in docs), (item["id"], quote)
        if item["type"] == "cross_doc":
            assert len(docs) >= 2, item["id"]
    # fitting data must not repeat the questions of the sets it is compared with
    others = {json.loads(line)["question"] for name in ("qa.jsonl", "paraphrase.jsonl")
              for line in (ROOT / "eval" / name).read_text(encoding="utf-8").splitlines() if line.strip()}
    assert not others & {i["question"] for i in items}
    assert named_sets()["bundled-dev"].questions == path


# -- eval/bundled_heldout.jsonl: an acceptance set over the bundled documents, never fitted -------------
def test_bundled_heldout_is_verbatim_covers_every_document_and_asks_new_questions():
    from rag.eval_sets import named_sets

    path = ROOT / "eval" / "bundled_heldout.jsonl"
    heldout = named_sets()["bundled-heldout"]
    assert heldout.questions == path and heldout.optional and heldout.credit
    assert heldout.corpus == CORPUS and heldout.index == ROOT / "index" / "default"
    sources = {p.name: load_document(p).source_text for p in CORPUS.iterdir()}
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(items) == 60 and len({i["id"] for i in items}) == len(items)
    kinds = Counter(i["type"] for i in items)
    assert kinds["unanswerable"] == 12 and kinds["cross_doc"] >= 6
    per_doc = Counter(i["doc"] for i in items if i["type"] in ("fact", "list"))
    assert set(per_doc) == set(sources) and min(per_doc.values()) >= 8
    for item in items:
        assert item["type"] in {"fact", "list", "cross_doc", "unanswerable"}, item["id"]
        if item["type"] == "unanswerable":
            assert item["must_contain"] == [] and item["doc"] is None and item["evidence"] is None, item["id"]
            continue
        docs = item["doc"] if isinstance(item["doc"], list) else [item["doc"]]
        evidence = item["evidence"] if isinstance(item["evidence"], list) else [item["evidence"]]
        assert all(d in sources for d in docs) and len(evidence) == len(docs), item["id"]
        for quote in evidence:
            assert any(quote in sources[d] for d in docs), (item["id"], quote)
        for s in item["must_contain"]:  # in the text as indexed, and in the gold answer
            assert any(s in normalize_text(sources[d]) for d in docs) and s in item["answer"], (item["id"], s)
        for piece in item["answer"].split("；"):  # the gold is the documents' own words (clauses joined by ；)
            assert any(piece in sources[d] for d in docs), (item["id"], piece)
    # an acceptance set repeats no question of the sets it is compared with or fitted on
    others = {json.loads(line)["question"] for name in ("qa.jsonl", "paraphrase.jsonl", "bundled_dev.jsonl")
              for line in (ROOT / "eval" / name).read_text(encoding="utf-8").splitlines() if line.strip()}
    assert not others & {i["question"] for i in items}
    proc = subprocess.run([sys.executable, "eval/check_qa.py", str(path), "--min-items", "60", "--min-per-doc", "8",
                           "--require-types", "fact,list,cross_doc,unanswerable"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_set_indexes_its_corpus_and_the_folders_it_also_names(tmp_path, settings_factory):
    from rag.eval_sets import ensure_index, named_sets
    from rag.ingest import index_is_stale
    from rag.store import load_index

    laws = named_sets()["laws"]
    assert laws.also == (CORPUS,) and laws.corpus.name == "laws" and ROOT not in laws.corpus.resolve().parents
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "通知.txt").write_text("某市关于开展义务植树活动的通知\n每年三月为义务植树月。", encoding="utf-8")
    fixtures = ROOT / "tests" / "fixtures" / "laws"
    index_dir = tmp_path / "ix"
    settings = settings_factory(index_dir)
    ensure_index(fixtures, index_dir, settings, also=(extra,))
    assert set(load_index(index_dir).docs) == {p.name for p in fixtures.iterdir()} | {"通知.txt"}
    assert not index_is_stale(settings, index_dir, fixtures) and not index_is_stale(settings, index_dir, extra)


@pytest.mark.parametrize("name,file", [("laws-qa", "laws_qa.jsonl"), ("laws-dev", "laws_dev.jsonl")])
def test_law_question_sets_are_registered_and_their_strings_are_verbatim_in_their_laws(name, file):
    """eval/laws_qa.jsonl (held out) and eval/laws_dev.jsonl (fitting data): natural questions over the laws folder
    (no article number), answered over the laws index; every must_contain string and every line of the gold answer
    is in the named law's file as it is, and the question does not copy the clause (at most 10 characters in a
    row)."""
    from rag.eval_sets import named_sets

    sets = named_sets()
    qa, laws = sets[name], sets["laws"]
    assert qa.questions == ROOT / "eval" / file and qa.optional and qa.credit
    assert (qa.corpus, qa.also, qa.index) == (laws.corpus, laws.also, laws.index)
    items = [json.loads(line) for line in qa.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len({i["id"] for i in items}) == len(items) >= 100
    unanswerable = [i for i in items if i["type"] == "unanswerable"]
    assert len(unanswerable) >= 15 and all(i["must_contain"] == [] and i["answer"] is None and i["why"]
                                           for i in unanswerable)
    assert len({i["doc"] for i in items}) >= 40
    assert len({i["type"] for i in items}) >= 7  # durations, amounts, yes/no, lists, conditions, ...

    def longest_shared(a: str, b: str) -> int:
        return max((n for i in range(len(a)) for n in range(1, len(a) - i + 1) if a[i: i + n] in b), default=0)

    if not qa.corpus.is_dir():
        pytest.skip(f"laws folder {qa.corpus} not here")
    files = {p.name: p for p in qa.corpus.rglob("*.md")}
    for item in items:
        assert item["doc"] in files, item["id"]
        if item["type"] == "unanswerable":
            continue
        raw = files[item["doc"]].read_text(encoding="utf-8")
        source = normalize_text(load_document(files[item["doc"]]).source_text)
        assert item["must_contain"] and all(s in raw and s in source for s in item["must_contain"]), item["id"]
        assert all(line in raw for line in item["answer"].split("\n")), item["id"]
        assert all(s in item["answer"] for s in item["must_contain"]), item["id"]
        assert item["evidence"] in raw, item["id"]
        assert longest_shared(item["question"], item["answer"]) <= 10, item["id"]


def test_laws_dev_is_fitting_data_on_other_laws_than_laws_qa():
    """laws-dev is written to fit the answer selector on statutes: every line is on the fit side, and it asks about
    none of the laws laws-qa asks about, so laws-qa stays a held-out measurement on laws the fit never saw."""
    from rag.evaluate import load_items, split_of

    dev = load_items(ROOT / "eval" / "laws_dev.jsonl")
    held = load_items(ROOT / "eval" / "laws_qa.jsonl")
    assert dev and all(split_of(it) == "fit" for it in dev)
    assert not {d for it in dev for d in it.doc} & {d for it in held for d in it.doc}
    assert {it.id for it in dev}.isdisjoint({it.id for it in held})
