"""Quote verification is an invariant: a tampered quote fails loudly and never reaches the user."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from rag.types import Answer
from rag.verify import CitationError, check_citation, enforce_verified


def sources(assistant) -> dict[str, str]:
    return {r.doc.doc_id: r.doc.source_text for r in assistant.documents()}


@pytest.fixture(scope="module")
def two_citation_answer(assistant):
    a = assistant.ask("河南和越城区2027年的产业规模目标分别是多少？")
    assert len(a.citations) >= 2, a.text  # one row per place, each with at least one cited target
    return a


def test_real_citations_verify(assistant, two_citation_answer):
    for c in two_citation_answer.citations:
        check_citation(c, sources(assistant)[c.doc])  # does not raise


def test_tampered_quote_raises(assistant, two_citation_answer):
    c = two_citation_answer.citations[0]
    forged = dataclasses.replace(c, quote=c.quote.replace("700", "900"))
    assert forged.quote != c.quote
    with pytest.raises(CitationError) as e:
        check_citation(forged, sources(assistant)[c.doc])
    assert "引用" in str(e.value)  # a Chinese message for users
    assert c.doc in e.value.log_message  # an English one for logs, naming the document


def test_shifted_span_raises(assistant, two_citation_answer):
    c = two_citation_answer.citations[0]
    shifted = dataclasses.replace(c, start=c.start + 1, end=c.end + 1)
    with pytest.raises(CitationError):
        check_citation(shifted, sources(assistant)[c.doc])


def test_enforce_verified_drops_the_tampered_citation_and_its_marker(assistant, two_citation_answer, caplog):
    good, bad = two_citation_answer.citations[:2]
    forged = dataclasses.replace(bad, quote="到2027年，医疗器械全口径产值突破900亿元")
    answer = Answer(text=f"{good.quote}[1]；{bad.quote}[2]。", citations=[good, forged])
    assert "[2]" in answer.text
    with caplog.at_level(logging.WARNING, logger="rag.verify"):
        out = enforce_verified(answer, sources(assistant))
    assert [c.n for c in out.citations] == [1]
    assert "[2]" not in out.text and "[1]" in out.text
    assert any("dropped citation" in r.message for r in caplog.records)


def test_enforce_verified_drops_citations_of_unknown_documents(assistant, two_citation_answer):
    c = dataclasses.replace(two_citation_answer.citations[0], doc="no_such_file.txt")
    out = enforce_verified(Answer(text="x[1]。", citations=[c]), sources(assistant))
    assert out.citations == [] and out.text == "x。"


def test_every_citation_leaving_ask_verifies(assistant):
    """Through the front door: whatever the question, every citation that comes out matches its source span."""
    src = sources(assistant)
    for q in ("深圳2021年高端医疗器械产业营业收入是多少？", "越城重点发展哪些细分赛道？", "晋中开发区审批周期缩短到多久？"):
        a = assistant.ask(q)
        assert a.citations, q
        for c in a.citations:
            check_citation(c, src[c.doc])
