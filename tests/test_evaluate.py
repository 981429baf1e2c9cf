"""The eval harness: metric functions on hand-made cases whose right value is known by construction (hits, LCS
recall, CMRC F1, refusals), the split by document, the anchors, the `rag eval` command over several sets (JSON
contract, side-by-side table, --details) on the real corpus index, citation validity on a tampered quote, the
baselines (on a one-document subset to keep the test fast), and the Markdown report with its chart."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from dataclasses import replace

import pytest

from rag import eval_metrics as M
from rag.evaluate import AnswerRun, EvalItem, EvidenceLocator, evaluate, load_items, split_of, summarize_answers
from rag.types import Answer, Chunk, Hit

from .conftest import ROOT

QA = ROOT / "eval" / "qa.jsonl"
ANSWER_KEYS = ["answer_contains", "answer_recall", "answer_f1", "citation_valid", "evidence_cited",
               "refusal_precision", "refusal_recall", "refusal_rate", "ask_latency_ms_p50", "ask_latency_ms_p95"]
TOP_KEYS = ["n", *M.RETRIEVAL_KEYS, "latency_ms_p50", "latency_ms_p95", "by_type", *ANSWER_KEYS, "backend", "anchors",
            "set"]
ANCHOR_NAMES = ["top1_chunk", "bigram_sentence", "dense_sentence", "best_sentence"]


# -- metric functions, values known by construction -----------------------------------------------------
def test_must_contain_only_in_second_chunk():
    ranked = ["园区建设总体要求。", "到2030年产业规模超过500亿元。", "其他内容。"]
    row = M.retrieval_row(ranked, ["500亿元"])
    assert row["hit_at_1"] == 0.0 and row["hit_at_3"] == 1.0 and row["hit_at_5"] == 1.0
    assert row["mrr"] == 0.5


def test_all_strings_needed_and_rank_is_where_the_last_one_appears():
    ranked = ["河南：700亿元", "无关", "越城：300亿元", "无关"]
    assert M.first_hit_rank(ranked, ["700亿元", "300亿元"]) == 3
    assert M.retrieval_row(ranked, ["700亿元", "300亿元"])["mrr"] == pytest.approx(1 / 3)
    assert not M.hit_at_k(ranked, ["700亿元", "300亿元"], 2)


def test_no_hit_within_ten_gives_zero_mrr():
    ranked = ["无关"] * 10 + ["答案在第十一位"]
    assert M.first_hit_rank(ranked, ["第十一位"]) == 0
    assert M.retrieval_row(ranked, ["第十一位"])["mrr"] == 0.0


def test_char_window_cuts_a_long_first_chunk():
    first = "甲" * 650 + "目标值" + "乙" * 47  # 700 characters, the answer starts at 650
    ranked = [first, "短块"]
    row = M.retrieval_row(ranked, ["目标值"])
    assert row["hit_at_1"] == 1.0
    assert row["hit_at_600ch"] == 0.0
    assert row["hit_at_1500ch"] == 1.0


def test_char_window_reads_into_later_chunks_up_to_the_budget():
    ranked = ["甲" * 400, "乙" * 150 + "目标值" + "丙" * 300]  # answer at characters 550-553 of the reading
    assert M.hit_at_chars(ranked, ["目标值"], 600)
    assert not M.hit_at_chars(ranked, ["目标值"], 552)


def test_matching_folds_punctuation_width_and_whitespace():
    # A baseline chunk keeps the file's OCR line break and ASCII brackets; must_contain has full-width ones.
    assert M.hit_at_k(["首台(套)\n重大技术装备 规模超过700\n亿元"], ["首台（套）重大技术装备", "700亿元"], 1)
    assert not M.hit_at_k(["首台（套）"], ["首台（套）重大技术装备"], 1)


def test_a_string_straddling_two_chunks_is_not_a_hit():
    assert not M.hit_at_k(["规模超过70", "0亿元"], ["700亿元"], 2)


def test_percentile_and_refusal_scores():
    assert M.percentile(list(range(1, 101)), 50) == pytest.approx(50.5)
    assert M.percentile([10.0], 95) == 10.0 and M.percentile([], 50) is None
    # 4 unanswerable items, 3 of them refused, plus 1 answerable refused: P = 3/4, R = 3/4
    refused = [True, True, True, False, True, False]
    unanswerable = [True, True, True, True, False, False]
    assert M.refusal_scores(refused, unanswerable) == (0.75, 0.75)
    assert M.refusal_scores([False, False], [True, False]) == (None, 0.0)


def test_answer_contains_ignores_citation_markers():
    assert M.answer_contains("产业规模超过700[1]亿元[2]。", ["700亿元"])
    assert not M.answer_contains("产业规模超过500亿元[1]。", ["700亿元"])


def test_answer_recall_is_lcs_over_the_gold_length():
    # gold 减免3个月房租 (7 characters); the answer keeps 减免…房租 in order: LCS 4, recall 4/7
    assert M.answer_recall("减免房租[1]", "减免3个月房租") == pytest.approx(4 / 7)
    assert M.answer_recall("租房免减", "减免房租") == pytest.approx(1 / 4)  # order counts: only one character in order
    assert M.answer_recall("减免50%的房租（3个月）[2]", "减免50％的房租(3个月)") == 1.0  # width and markers folded
    assert M.answer_recall("", "减免房租") == 0.0 and M.answer_recall("减免", "") is None


def test_lcs_length_matches_the_textbook_dynamic_programme():
    def dp(a, b):
        m = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
        for i, x in enumerate(a):
            for j, y in enumerate(b):
                m[i + 1][j + 1] = m[i][j] + 1 if x == y else max(m[i][j + 1], m[i + 1][j])
        return m[-1][-1]

    rng = random.Random(7)
    for _ in range(300):
        a = "".join(rng.choice("减免房租") for _ in range(rng.randint(0, 25)))
        b = "".join(rng.choice("减免房租费") for _ in range(rng.randint(0, 25)))
        assert M.lcs_length(a, b) == dp(a, b), (a, b)


def test_answer_f1_is_cmrc_style_with_markers_stripped():
    # tokens: answer 减 免 房 租 (the [1] and 。 dropped), gold 减 免 3 个 月 房 租; longest common run 2 (减免):
    # precision 2/4, recall 2/7, F1 = 2PR/(P+R)
    p, r = 2 / 4, 2 / 7
    assert M.answer_f1("减免房租[1]。", "减免3个月房租") == pytest.approx(2 * p * r / (p + r))
    assert M.answer_f1("减免3个月房租[2]", "减免3个月房租") == 1.0  # the marker's digit is not a token
    assert M.mixed_tokens("2020年COVID-19疫情，减免") == ["2020", "年", "covid", "19", "疫", "情", "减", "免"]
    assert M.answer_f1("2020年", "2021年") == pytest.approx(0.5)  # a number is one token: 2020 ≠ 2021
    assert M.answer_f1("无关内容", "减免房租") == 0.0 and M.answer_f1("减免", "。") is None


def test_scored_text_drops_markers_and_refusals_but_keeps_region_labels():
    from rag.answer.base import REFUSAL
    from rag.evaluate import scored_text

    mixed = Answer(text=f"深圳：营业收入达到2000亿元[1]\n越城：{REFUSAL}")
    assert scored_text(mixed) == "深圳：营业收入达到2000亿元\n越城："
    assert scored_text(Answer(text=REFUSAL, refused=True)) == ""
    assert scored_text(Answer(text="任何文字", refused=True)) == ""  # a refusal answers nothing
    assert scored_text(None) == ""


def test_gold_is_the_answer_field_else_the_must_contain_strings():
    assert EvalItem("a", "问", "fact", ("7个",), answer="重点布局建设7个园区").gold == "重点布局建设7个园区"
    assert EvalItem("b", "问", "cross_doc", ("700亿元", "300亿元")).gold == "700亿元 300亿元"


def test_split_by_document_is_stable_balanced_and_keeps_a_document_on_one_side():
    items = [EvalItem(f"q{i}", "问", "fact", ("x",), doc=(f"doc{i // 3}.txt",)) for i in range(3000)]
    sides = [split_of(it) for it in items]
    assert set(sides) == {"fit", "report"}
    assert 0.45 < sides.count("fit") / len(sides) < 0.55
    for i in range(0, 3000, 3):  # the three questions of one document fall on the same side
        assert sides[i] == sides[i + 1] == sides[i + 2]
    # the doc list is a set: order does not matter; an item without a document is split by its id
    assert split_of(EvalItem("x", "问", "cross_doc", ("a", "b"), doc=("a.txt", "b.txt"))) == split_of(
        EvalItem("y", "问", "cross_doc", ("a", "b"), doc=("b.txt", "a.txt")))
    no_doc = [split_of(EvalItem(f"u{i}", "问", "unanswerable")) for i in range(1000)]
    assert 0.4 < no_doc.count("fit") / 1000 < 0.6
    # stable across processes (not Python's salted hash)
    code = ("from rag.evaluate import EvalItem, split_of; "
            "print(''.join(split_of(EvalItem(f'q{i}', 'q', 'fact', doc=(f'd{i}',)))[0] for i in range(40)))")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert len(outs) == 1 and "".join(split_of(EvalItem(f"q{i}", "q", "fact", doc=(f"d{i}",)))[0]
                                      for i in range(40)) in outs.pop()


def test_select_takes_one_split_then_the_limit():
    from rag.evaluate import select

    items = [EvalItem(f"q{i}", "问", "fact", ("x",), doc=(f"d{i}",)) for i in range(100)]
    fit = select(items, "fit", limit=10)
    assert len(fit) == 10 and all(split_of(it) == "fit" for it in fit)
    assert len(select(items, "fit")) + len(select(items, "report")) == 100 == len(select(items, "all"))


def test_an_item_that_names_its_split_keeps_it(tmp_path):
    """A set written as fitting data marks its lines "split": "fit": every question is fitted on, whatever its
    document's hash, and none is reported; a bad value is a clear error naming the line."""
    from rag.evaluate import EvalSetError, select

    lines = [json.dumps({"id": f"q{i}", "question": "问题", "must_contain": ["x"], "type": "fact",
                         "doc": f"doc{i}.txt", "split": "fit"}, ensure_ascii=False) for i in range(40)]
    path = tmp_path / "fit_only.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    items = load_items(path)
    unmarked = [EvalItem(it.id, it.question, it.type, it.must_contain, doc=it.doc) for it in items]
    assert {split_of(it) for it in unmarked} == {"fit", "report"}  # the hash alone would put some in the report half
    assert all(split_of(it) == "fit" for it in items)
    assert len(select(items, "fit")) == 40
    with pytest.raises(EvalSetError):
        select(items, "report", source=path)
    path.write_text(lines[0].replace('"fit"', '"train"') + "\n", encoding="utf-8")
    with pytest.raises(EvalSetError, match="第 1 行"):
        load_items(path)


def _hit(text: str, rank: int = 1, doc: str = "d.txt") -> Hit:
    chunk = Chunk(chunk_id=f"c{rank}", doc_id=doc, section_path="一、总则", text=text, start=0, end=len(text))
    return Hit(chunk, 1.0 / rank, {"dense": 0.5, "keyword": 2.0}, rank)


def test_anchors_pick_their_sentences_from_the_same_hits():
    from rag.eval_anchors import anchor_rows, best_sentence, bigram_sentence, hit_sentences

    hits = [_hit("各地要做好防控工作。对个体工商户减免3个月房租。", 1), _hit("申请材料报送区政府。", 2)]
    item = EvalItem("q", "个体工商户房租怎么减免？", "fact", ("减免3个月房租",), answer="对个体工商户减免3个月房租")
    sents = hit_sentences(hits)
    assert sents == ["各地要做好防控工作。", "对个体工商户减免3个月房租。", "申请材料报送区政府。"]
    assert bigram_sentence(item.question, sents) == "对个体工商户减免3个月房租。"
    text, best = best_sentence(sents, item)
    assert text == "对个体工商户减免3个月房租。" and best == {"answer_contains": 1.0, "answer_recall": 1.0,
                                                           "answer_f1": 1.0}
    rows = anchor_rows([item], {"q": Answer(text="", hits=hits)}, k=1)
    assert set(rows["q"]) == {"top1_chunk", "bigram_sentence", "best_sentence"}  # no vectors: no dense anchor
    assert rows["q"]["top1_chunk"]["text"] == hits[0].chunk.text and rows["q"]["top1_chunk"]["answer_recall"] == 1.0
    # k=1: the second hit's sentences are out of reach
    assert "申请材料" not in rows["q"]["bigram_sentence"]["text"]


def test_refusal_rate_counts_false_refusals_over_answerable_items():
    items = [EvalItem("a", "问", "fact", ("减免房租",)), EvalItem("b", "问", "fact", ("三个月",)),
             EvalItem("u", "问", "unanswerable")]
    run = AnswerRun({"a": Answer(text="减免房租[1]"), "b": Answer(text="文档中没有找到相关信息", refused=True),
                     "u": Answer(text="文档中没有找到相关信息", refused=True)}, {"a": 1.0, "b": 2.0, "u": 3.0})
    out = summarize_answers(run, items, docs={})
    assert out["refusal_rate"] == 0.5  # b of the two answerable items
    assert (out["refusal_precision"], out["refusal_recall"]) == (0.5, 1.0)
    assert out["answer_contains"] == 0.5 and out["answer_recall"] == 0.5 and out["answer_f1"] == 0.5
    assert out["by_type"]["unanswerable"]["refusal_rate"] is None


def test_bad_eval_file_gives_a_clear_error(tmp_path):
    from rag.evaluate import EvalSetError

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "好问题", "must_contain": ["x"], "type": "fact"}\n{not json\n', encoding="utf-8")
    with pytest.raises(EvalSetError, match="第 2 行"):
        load_items(bad)
    with pytest.raises(EvalSetError, match="找不到"):
        load_items(tmp_path / "missing.jsonl")


# -- answer metrics on the real index -------------------------------------------------------------------
def _qa_items(types=None, per_type=1):
    items, seen = [], {}
    for it in load_items(QA):
        if (types is None or it.type in types) and seen.get(it.type, 0) < per_type:
            seen[it.type] = seen.get(it.type, 0) + 1
            items.append(it)
    return items


def test_tampered_citation_counts_as_invalid(assistant):
    docs = assistant.retriever.index.docs
    item = _qa_items(["fact"])[0]
    answer = assistant.ask(item.question)
    assert answer.citations and not answer.refused
    original = answer.citations[0].quote
    tampered = replace(answer.citations[0], quote=("假" if original[0] != "假" else "真") + original[1:])
    assert tampered.quote != answer.citations[0].quote
    forged = replace(answer, citations=[tampered])
    honest = summarize_answers(AnswerRun({"a": answer}, {"a": 1.0}), [replace(item, id="a")], docs)
    mixed = summarize_answers(AnswerRun({"a": answer, "b": forged}, {"a": 1.0, "b": 1.0}),
                              [replace(item, id="a"), replace(item, id="b")], docs)
    assert honest["citation_valid"] == 1.0
    n = len(answer.citations)
    assert mixed["citation_valid"] == pytest.approx(n / (n + 1))
    # A citation whose span was shifted is just as invalid as one whose quote was edited.
    shifted = replace(answer.citations[0], start=answer.citations[0].start + 1)
    from rag.evaluate import citation_validity

    assert citation_validity([answer.citations[0], shifted], docs) == [True, False]


def test_evidence_of_every_eval_item_is_located_and_overlap_is_checked(assistant):
    from rag.evaluate import evidence_cited

    docs = assistant.retriever.index.docs
    locator = EvidenceLocator(docs)
    items = [it for it in load_items(QA) if it.evidence]
    for it in items:
        spans = locator.spans(it)
        assert len(spans) >= len(it.evidence), it.id  # quotes written across OCR line breaks are found too
        for doc_id, s, e in spans:
            assert M.match_key(docs[doc_id].doc.source_text[s:e]) in {M.match_key(q) for q in it.evidence}
    item = next(it for it in items if it.answerable)
    doc_id, s, e = locator.spans(item)[0]
    answer = assistant.ask(item.question)
    on = replace(answer, citations=[replace(answer.citations[0], doc=doc_id, start=s + 1, end=s + 3)])
    off = replace(answer, citations=[replace(answer.citations[0], doc=doc_id, start=e, end=e + 5)])
    assert evidence_cited(on, [(doc_id, s, e)]) and not evidence_cited(off, [(doc_id, s, e)])


# -- the command ----------------------------------------------------------------------------------------
def _small_set(path, chosen):
    lines = [l for l in QA.read_text(encoding="utf-8").splitlines() if json.loads(l)["id"] in {i.id for i in chosen}]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _rag_eval(*args, cache):
    env = {**os.environ, "POLICYQA_CACHE": str(cache)}  # sentence vectors go to a private cache folder
    return subprocess.run([sys.executable, "-m", "rag.cli", "eval", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=600, env=env)


def test_rag_eval_json_prints_exactly_one_object_with_every_key(corpus_index, tmp_path):
    chosen = _qa_items()
    small = _small_set(tmp_path / "small.jsonl", chosen)
    out = _rag_eval(small, "--index", corpus_index, "--json", cache=tmp_path / "cache")
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.strip().splitlines()) == 1
    top = json.loads(out.stdout)
    assert top["split"] == "all" and list(top["sets"]) == ["small"]
    result = top["sets"]["small"]
    assert [k for k in TOP_KEYS if k not in result] == []
    assert result["n"] == len(chosen)
    assert set(result["by_type"]) == {i.type for i in chosen}
    for t, block in result["by_type"].items():
        assert [k for k in [*M.RETRIEVAL_KEYS, *ANSWER_KEYS] if k not in block] == [], t
    assert result["by_type"]["unanswerable"]["hit_at_1"] is None  # no retrieval target
    assert result["hit_at_1"] <= result["hit_at_3"] <= result["hit_at_5"]
    assert result["hit_at_600ch"] <= result["hit_at_1500ch"]
    assert result["hit_at_1"] <= result["mrr"] <= 1.0
    assert result["citation_valid"] == 1.0  # Assistant.ask only lets verified quotes out
    assert result["backend"] == "extractive"
    assert list(result["anchors"]) == ANCHOR_NAMES
    best = result["anchors"]["best_sentence"]
    for name in ("bigram_sentence", "dense_sentence"):  # the ceiling is as high as any one-sentence answer
        for k in ("answer_contains", "answer_recall", "answer_f1"):
            assert result["anchors"][name][k] <= best[k], (name, k)
    assert 0.0 <= result["answer_f1"] <= 1.0 and 0.0 <= result["answer_recall"] <= 1.0


def test_rag_eval_two_sets_side_by_side_with_details(corpus_index, tmp_path):
    """Two small JSONL sets in one run: one table with a column group per set; --details has one line per
    question with the answer, the citations, the gold, the item's metrics, the anchors and the top hits."""
    facts = _small_set(tmp_path / "facts.jsonl", _qa_items(["fact"], per_type=2))
    mixed = _small_set(tmp_path / "mixed.jsonl", _qa_items(["cross_doc", "unanswerable"]))
    details = tmp_path / "out" / "details.jsonl"
    out = _rag_eval(facts, mixed, "--index", corpus_index, "--details", details, cache=tmp_path / "cache")
    assert out.returncode == 0, out.stderr
    table = out.stdout
    group_line = table.splitlines()[1]
    assert "facts (2)" in group_line and "mixed (1)" in group_line  # answerable questions of each set
    assert group_line.index("facts") < group_line.index("mixed")
    for row in ("answerer (extractive)", "top-1 chunk", "bigram sentence", "dense sentence", "best sentence (ceiling)"):
        assert len([l for l in table.splitlines() if l.startswith(row)][0].split()) >= 3 * 2 + 1, row
    metric_header = [l for l in table.splitlines() if l.startswith("metric")][0].split()
    assert metric_header == ["metric", "facts", "mixed"]
    assert "[facts]" not in table  # by-type tables only for one set or --by-type

    records = [json.loads(l) for l in details.read_text(encoding="utf-8").splitlines()]
    assert [(r["set"], r["id"]) for r in records] == [("facts", i.id) for i in _qa_items(["fact"], per_type=2)] + [
        ("mixed", i.id) for i in _qa_items(["cross_doc", "unanswerable"])]
    for r in records:
        assert {"question", "answer", "refused", "confidence", "citations", "gold", "metrics", "hits", "split",
                "anchors"} <= set(r)
        assert r["split"] in ("fit", "report")
        assert 1 <= len(r["hits"]) <= 5
        for h in r["hits"]:
            assert set(h) == {"doc", "section", "score", "scores", "text"} and len(h["text"]) <= 80
            assert {"dense", "keyword"} <= set(h["scores"])
    answered = [r for r in records if r["type"] != "unanswerable"]
    for r in answered:
        assert r["gold"] and {"hit_at_1", "mrr", "answer_contains", "answer_recall", "answer_f1"} <= set(r["metrics"])
        assert set(r["anchors"]) == set(ANCHOR_NAMES)
        if not r["refused"]:
            assert r["citations"] and {"doc", "quote", "start", "end"} <= set(r["citations"][0])
    unanswerable = [r for r in records if r["type"] == "unanswerable"][0]
    assert unanswerable["gold"] is None and unanswerable["metrics"] == {} and unanswerable["anchors"] == {}
    cache_files = list((tmp_path / "cache").glob("eval-sentence-vectors-*.npz"))
    assert len(cache_files) == 1  # the dense anchor's sentence vectors are kept for the next run


def test_baselines_side_by_side_and_report(retriever, assistant, settings, tmp_path):
    """Baselines on a 5-item subset over ONE corpus document (so embedding the baselines' chunks stays fast)."""
    from rag.baselines import BASELINE_NAMES, build_systems
    from rag.eval_report import render_table, write_report

    doc_id = "001_663a42aec9d657f6.txt"
    items = [it for it in load_items(QA) if it.doc == (doc_id,) and it.answerable][:5]
    assert len(items) == 5
    docs = [(doc_id, retriever.index.docs[doc_id].doc.source_text)]
    systems = build_systems(retriever, ("hybrid",) + BASELINE_NAMES, docs=docs)
    result = evaluate(items, retriever, assistant, settings=settings, systems=systems)
    assert list(result["baselines"]) == list(BASELINE_NAMES)
    for name, m in result["baselines"].items():
        assert [k for k in [*M.RETRIEVAL_KEYS, "latency_ms_p50", "latency_ms_p95", "by_type"] if k not in m] == [], name
    naive, chatchat = systems[3], systems[4]
    # One ~3,000-character document: every chunk of it fits in the top 10, so each answer is found somewhere.
    for system in (naive, chatchat):
        assert system.n_chunks <= M.MAX_RANK
        assert all(system.search(it.question, M.MAX_RANK) for it in items)
        assert result["baselines"][system.name]["mrr"] > 0
    assert all(r.doc == doc_id for it in items for r in chatchat.search(it.question, 5))

    table = render_table(result)
    for name in ("hybrid", *BASELINE_NAMES):
        assert f"\n{name} " in table
    md, png = write_report({"doc001": result}, tmp_path / "report.md", settings, command="rag eval test")
    text = md.read_text(encoding="utf-8")
    assert "| langchain_naive |" in text and "| chatchat |" in text and "(report.png)" in text
    assert "| best sentence (ceiling) |" in text and "## doc001" in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_chatchat_splitter_keeps_sentence_ends_and_size(retriever):
    """Chatchat's splitter puts 。！？ at the END of a piece and never exceeds 750 characters."""
    from rag.baselines import CHATCHAT_CHUNK_SIZE, chatchat_splitter, naive_splitter

    text = retriever.index.docs["003_221e538f8908b282.txt"].doc.source_text
    chunks = chatchat_splitter().split_text(text)
    assert len(chunks) > 3 and all(len(c) <= CHATCHAT_CHUNK_SIZE for c in chunks)
    assert not any(c.startswith(("。", "！", "？", "，", "；")) for c in chunks)
    assert all("\n\n" not in c for c in chunks)
    assert all(len(c) <= 500 for c in naive_splitter().split_text(text))
    # One long paragraph of sentences: cut after 。, each chunk overlapping the one before (150 characters).
    paragraph = "".join(f"第{i}条规定的目标要在年底前完成并接受考核。" for i in range(100))
    pieces = chatchat_splitter().split_text(paragraph)
    assert len(pieces) > 3 and all(p.endswith("。") and len(p) <= CHATCHAT_CHUNK_SIZE for p in pieces)
    assert all(b.split("。")[0] + "。" in a for a, b in zip(pieces, pieces[1:]))


def test_eval_item_answerable():
    assert EvalItem("x", "问", "fact", ("a",)).answerable
    assert not EvalItem("y", "问", "unanswerable").answerable


def test_a_multi_set_run_shows_each_sets_baselines():
    """`rag eval qa cmrc --baselines` prints the baselines of every set, not only in single-set runs."""
    from rag.eval_report import render_sets

    results = {"a": {"n": 2, "hit_at_1": 0.5, "baselines": {"keyword": {"hit_at_1": 0.25}}},
               "b": {"n": 2, "hit_at_1": 0.75}}
    out = render_sets(results)
    assert "a: 系统对比" in out and "keyword" in out and "0.250" in out
    assert "b: 系统对比" not in out
