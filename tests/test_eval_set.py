"""The eval set is honest: every quote and every must_contain string is really in the corpus, all types covered."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

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
