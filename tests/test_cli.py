"""The `rag` command end to end, as a user runs it (subprocess, real index)."""

from __future__ import annotations

import json
import subprocess
import sys

from rag.store import load_index
from rag.textnorm import normalize_span

from .conftest import ROOT


def rag(*args, timeout=180):
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout)


def test_search_json_hits_point_at_their_source_spans(corpus_index):
    proc = rag("search", "郑州经开区园区选址在哪里", "--index", str(corpus_index), "-k", "4", "--json")
    assert proc.returncode == 0, proc.stderr
    hits = json.loads(proc.stdout)
    assert len(hits) == 4
    index = load_index(corpus_index)
    for h in hits:
        assert {"chunk_id", "doc", "title", "section", "text", "start", "end", "score"} <= set(h)
        source = index.docs[h["doc"]].doc.source_text
        assert normalize_span(source, h["start"], h["end"]).text.strip() == h["text"]
    assert "滨河国际新城南部片区" in hits[0]["text"]


def test_docs_lists_title_region_date_and_chunks(corpus_index):
    proc = rag("docs", "--index", str(corpus_index), "--json")
    rows = {r["doc"]: r for r in json.loads(proc.stdout)}
    assert rows["003_221e538f8908b282.txt"]["region"] == "深圳市"
    assert rows["003_221e538f8908b282.txt"]["date"] == "2022-06-06"
    assert all(r["chunks"] > 0 for r in rows.values())


def test_ingest_json_summary_names_skipped_files(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "note.txt").write_text("园区通知\n园区规划面积约300亩，重点发展体外诊断产业。", encoding="gb18030")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 broken")
    proc = rag("ingest", str(docs), "--index", str(tmp_path / "idx"), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["added"] == ["note.txt"]
    assert [s["file"].endswith("broken.pdf") for s in report["skipped"]] == [True]
    again = json.loads(rag("ingest", str(docs), "--index", str(tmp_path / "idx"), "--json").stdout)
    assert again["wrote"] is False and again["n_embedded"] == 0


def test_missing_index_is_a_clean_error(tmp_path):
    proc = rag("search", "园区", "--index", str(tmp_path / "none"))
    assert proc.returncode == 2
    assert "找不到索引" in proc.stderr and "Traceback" not in proc.stderr


def test_help_lists_every_command():
    proc = rag("--help")
    assert proc.returncode == 0
    for cmd in ("ingest", "search", "docs", "ask", "eval"):
        assert cmd in proc.stdout


def test_search_with_a_huge_query_says_it_was_cut_and_still_answers(corpus_index):
    proc = rag("search", "新乡园区2030年产业规模目标" + "啊" * 20000, "--index", str(corpus_index), "--json")
    assert proc.returncode == 0, proc.stderr
    assert "问题过长" in proc.stderr
    assert json.loads(proc.stdout)


def test_a_setting_out_of_range_is_a_chinese_message_not_a_traceback(corpus_index):
    import os

    env = {**os.environ, "RAG_REFUSE_BELOW": "2"}
    proc = subprocess.run([sys.executable, "-m", "rag.cli", "ask", "测试", "--index", str(corpus_index)],
                          capture_output=True, text=True, cwd=ROOT, timeout=180, env=env)
    assert proc.returncode == 2
    assert "RAG_REFUSE_BELOW" in proc.stderr and "环境变量" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_reader_that_stops_early_ends_the_command_quietly(corpus_index):
    # `rag targets --json | head -c 1`: the reader closes the pipe after one byte while much is still to be written
    reader = subprocess.Popen(["head", "-c", "1"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    proc = subprocess.run([sys.executable, "-m", "rag.cli", "targets", "--json", "--index", str(corpus_index)],
                          stdout=reader.stdin, stderr=subprocess.PIPE, text=True, cwd=ROOT, timeout=180)
    reader.stdin.close()
    reader.wait(timeout=10)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode in (0, 141)
