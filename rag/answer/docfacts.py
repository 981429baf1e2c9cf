"""Answers to questions about a document itself (QueryPlan.doc_fact): '这个行动计划是哪天发布的', '是哪几个部门联合发的',
'文号是什么', '什么时候开始施行', '有效期到什么时候', '到哪年为止'.

The fact comes from the official fields read at ingest (rag/official.py) or, for the years a plan covers, from its
title; the answer quotes the line of the document where the fact is written, so its citation verifies like every
other. When the document is not clear (no retrieved document's title fits the question) or the fact is not written
in it, this returns None and the question goes to ordinary answer selection.
"""

from __future__ import annotations

import re

from ..chunker import section_at
from ..official import DATE, EFFECTIVE, VALID_YEARS, cn_date
from ..query.articles import resolve_name
from ..store import DocRecord
from ..textnorm import book_title, fold, sentence_spans
from ..types import Answer, Citation, Hit
from ..verify import quote_at

MAX_QUOTE = 160  # a longer line is quoted by the sentence that holds the fact
MAX_ISSUER_CITATIONS = 3
_ANY_DATE = re.compile(rf"{DATE}|(?:19|20)\d{{2}}\s*[-/.]\s*\d{{1,2}}\s*[-/.]\s*\d{{1,2}}(?!\d)")
_YEAR_RANGE = re.compile(r"((?:19|20)\d{2})\s*年?\s*[-—–~～至到]\s*((?:19|20)\d{2})\s*年?")
_PERIOD_WORDS = re.compile(r"规划期|实施期|计划期|执行期|期限|时间跨度")
_LABELS = {"published": "发布|公布|印发|发文|成文", "effective": "施行|实施|执行|生效"}


def doc_fact_answer(plan, hits: list[Hit], docs: dict[str, DocRecord], chunks_of=None,
                    allowed: set[str] | frozenset[str] | None = None) -> Answer | None:
    """The asked official fact of the document the question means, quoted and cited; None when it cannot be."""
    ask = plan.doc_fact
    if ask is None or plan.parts:
        return None
    record = target_document(plan, hits, docs, allowed)
    if record is None:
        return None
    found = _FIELDS[ask.field](record)
    if found is None:
        return None
    said, spans = found
    text = book_title(record.doc.title) + said  # each field says its fact after the document's name
    doc_id = record.doc.doc_id
    own = chunks_of([doc_id]) if chunks_of else [h.chunk for h in hits if h.chunk.doc_id == doc_id]
    citations = []
    for n, (s, e) in enumerate(spans, 1):
        quote = quote_at(record.doc.source_text, s, e)
        if not quote:
            return None
        holder = next((c for c in own if c.start <= s < c.end), None)
        citations.append(Citation(n=n, doc=doc_id, title=record.doc.title,
                                  section=section_at(record.sections, s), quote=quote, start=s, end=e,
                                  chunk_id=holder.chunk_id if holder else ""))
    return Answer(text=text, citations=citations, hits=hits, backend="doc_fact")


def target_document(plan, hits: list[Hit], docs: dict[str, DocRecord], allowed=None) -> DocRecord | None:
    """The document the question means: the one whose title it quotes in 《》, else among the retrieved documents
    (about the places it names, when it names any) the one whose title holds the document word it uses
    ('行动计划') and most of its terms."""
    ask = plan.doc_fact
    order = list(dict.fromkeys(h.chunk.doc_id for h in hits if h.chunk.doc_id in docs))
    if ask.title:  # resolved as a lookup by article number resolves its document's name
        _, named = resolve_name(ask.title, docs, plan.index_dir, years=plan.years)
        named = sorted((d for d in named if allowed is None or d in allowed),
                       key=lambda d: order.index(d) if d in order else len(order))
        return docs[named[0]] if named else None
    candidates = [d for d in order if not plan.docs or d in plan.docs]
    if not ask.generic:
        candidates = [d for d in candidates if fold(ask.subject) in fold(docs[d].doc.title)]
    if not candidates:
        return None
    terms = [t for t in plan.terms if t != fold(ask.subject)]
    best = max(candidates, key=lambda d: (sum(t in fold(docs[d].doc.title) for t in terms), -order.index(d)))
    return docs[best]


def _quote_span(src: str, a: int, b: int) -> tuple[int, int]:
    """The line holding src[a:b] (the sentence holding it when the line is long), without surrounding space."""
    start = src.rfind("\n", 0, a) + 1
    end = src.find("\n", b)
    end = len(src) if end < 0 else end
    if end - start > MAX_QUOTE:
        for s, e in sentence_spans(src, start, end):
            if s <= a and b <= e:
                start, end = s, e
                break
    while start < end and src[start].isspace():
        start += 1
    while end > start and src[end - 1].isspace():
        end -= 1
    return start, end


def _date_in_text(src: str, iso: str, labels: str) -> tuple[int, int, str] | None:
    """Where the date `iso` is written: preferably on a line that says what it is (发布时间：…), else its last
    mention (a signature block closes a document)."""
    found = [m for m in _ANY_DATE.finditer(src) if cn_date(m.group(0)) == iso]
    if not found:
        return None
    labelled = [m for m in found if re.search(labels, src[src.rfind("\n", 0, m.start()) + 1: m.start()])]
    m = (labelled or found[-1:])[0]
    return m.start(), m.end(), m.group(0)


def _date_words(written: str, iso: str) -> str:
    """A date as the document writes it, with its ISO form after it when that differs."""
    written = re.sub(r"\s", "", written)
    return written if written == iso else f"{written}（{iso}）"


def _published(record: DocRecord):
    meta, src = record.doc.metadata, record.doc.source_text
    for key, label in (("published", "发布日期"), ("written", "成文日期")):
        iso = meta.get(key) or ""
        where = _date_in_text(src, iso, _LABELS["published"]) if iso else None
        if where:
            a, b, written = where
            return f"的{label}是{_date_words(written, iso)}[1]。", [_quote_span(src, a, b)]
    return None


def _effective(record: DocRecord):
    meta, src = record.doc.metadata, record.doc.source_text
    iso = meta.get("effective") or ""
    if not iso:
        return None
    for s, e in sentence_spans(src):  # the clause the effective date was read from (official.EFFECTIVE, per sentence)
        m = EFFECTIVE.search(src[s:e])
        if not m:
            continue
        when, a = m.group(1), s + m.start(1)
        a = src.rfind("自", s, a)  # the clause from 自 on: '本通知' before it is the document itself
        clause, b = src[a: s + m.end()], s + m.end()
        if cn_date(when) == iso:
            return f"{clause}（{iso}）[1]。", [_quote_span(src, a, b)]
        if when.endswith("之日") or when == "即日":  # '自印发之日起施行': the date it counts from is cited too
            where = _date_in_text(src, iso, _LABELS["published"])
            if where:
                d0, d1, written = where
                return (f"{clause}[1]，即{_date_words(written, iso)}起[2]。",
                        [_quote_span(src, a, b), _quote_span(src, d0, d1)])
    return None


def _issuers(record: DocRecord):
    meta, src = record.doc.metadata, record.doc.source_text
    names = [n for n in meta.get("issuers") or [] if n and n in src]
    if not names:
        return None
    lines: dict[tuple[int, int], list[str]] = {}
    for name in names:
        for m in re.finditer(re.escape(name), src):
            lines.setdefault(_quote_span(src, m.start(), m.end()), []).append(name)
    spans, left = [], list(names)
    while left and len(spans) < MAX_ISSUER_CITATIONS:
        span = max(lines, key=lambda s: (len(set(lines[s]) & set(left)), -s[0]))
        covered = [n for n in left if n in lines[span]]
        if not covered:
            break
        spans.append(span)
        left = [n for n in left if n not in covered]
    said = [n for n in names if n not in left]
    marks = "".join(f"[{i}]" for i in range(1, len(spans) + 1))
    return f"的发文机关是{'、'.join(said)}{marks}。", spans


def _doc_number(record: DocRecord):
    number = record.doc.metadata.get("doc_number") or ""
    if not number:
        return None
    src = record.doc.source_text
    m = re.search(r"\s*".join(re.escape(ch) for ch in re.sub(r"\s", "", number)), src)
    if not m:
        return None
    return f"的文号是{number}[1]。", [_quote_span(src, m.start(), m.end())]


def _valid_until(record: DocRecord):
    """Its stated validity; for a plan that states none, the years it covers, saying so ('《…行动计划（2022-2025年）》
    有效期到哪一年': 没有写明有效期，实施期是2022—2025年)."""
    meta, src = record.doc.metadata, record.doc.source_text
    until, words = meta.get("valid_until") or "", meta.get("valid_until_text") or ""
    if not until and not words:
        period = _period(record)
        if period is None:
            return None
        said, spans = period
        return "没有写明有效期，" + said.removeprefix("的"), spans
    for s, e in sentence_spans(src):
        sentence = src[s:e]
        if "有效期" not in sentence:
            continue
        dates = [cn_date(m.group(0)) for m in _ANY_DATE.finditer(sentence)]
        if (until and until in dates) or (words and words in sentence) or (until and VALID_YEARS.search(sentence)):
            tail = f"（{until}）" if until and until not in sentence else ""
            return f"：{sentence.strip()}{tail}[1]。", [_quote_span(src, s, e)]
    return None


def _period(record: DocRecord):
    src, title = record.doc.source_text, record.doc.title
    m = _YEAR_RANGE.search(title)
    years = (m.group(1), m.group(2)) if m else None
    for found in _YEAR_RANGE.finditer(src):
        if years and (found.group(1), found.group(2)) != years:
            continue
        line_start = src.rfind("\n", 0, found.start()) + 1
        if not years and not _PERIOD_WORDS.search(src[line_start: found.start()]):
            continue  # a range in the text names the plan's years only when it says so ('规划期为…')
        first, last = found.group(1), found.group(2)
        if int(first) >= int(last):
            continue
        return (f"的实施期是{first}—{last}年，到{last}年为止[1]。",
                [_quote_span(src, found.start(), found.end())])
    return None


_FIELDS = {"published": _published, "effective": _effective, "issuers": _issuers, "doc_number": _doc_number,
           "valid_until": _valid_until, "period": _period}
