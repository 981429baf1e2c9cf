"""The eval harness: metric functions on hand-made cases whose right value is known by construction, the
`rag eval --json` contract over the real corpus index, citation validity on a tampered quote, the baselines
(on a one-document subset to keep the test fast), and the Markdown report with its chart."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import pytest

from rag import eval_metrics as M
from rag.evaluate import AnswerRun, EvalItem, EvidenceLocator, evaluate, load_items, summarize_answers

from .conftest import ROOT

QA = ROOT / "eval" / "qa.jsonl"
ANSWER_KEYS = ["answer_contains", "citation_valid", "evidence_cited", "refusal_precision", "refusal_recall",
               "ask_latency_ms_p50", "ask_latency_ms_p95"]
TOP_KEYS = ["n", *M.RETRIEVAL_KEYS, "latency_ms_p50", "latency_ms_p95", "by_type", *ANSWER_KEYS, "backend"]


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
def test_rag_eval_json_prints_exactly_one_object_with_every_key(corpus_index, tmp_path):
    small = tmp_path / "small.jsonl"
    chosen = _qa_items()
    lines = [l for l in QA.read_text(encoding="utf-8").splitlines() if json.loads(l)["id"] in {i.id for i in chosen}]
    small.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "rag.cli", "eval", str(small), "--index", str(corpus_index), "--json"],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.strip().splitlines()) == 1
    result = json.loads(out.stdout)
    assert isinstance(result, dict)
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
    md, png = write_report(result, tmp_path / "report.md", settings, command="rag eval test")
    text = md.read_text(encoding="utf-8")
    assert "| langchain_naive |" in text and "| chatchat |" in text and "(report.png)" in text
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
