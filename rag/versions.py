"""Versions of one policy: which indexed document replaces which, and what changed between two of them.

A newer document replaces an older one when it repeals it by name or 文号 ('…《X条例》同时废止'), or when both
belong to one title series (the same title once years, 修订/试行 marks and the 中华人民共和国 prefix are dropped)
of one region and the newer was issued later. Two copies of one notice with the same date are not versions.
Articles (第X条) or else the document's sections are the units compared by `compare`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from difflib import SequenceMatcher

from .verify import quote_at

_SERIES_NOISE = re.compile(
    r"^中华人民共和国|[《》\s]|[（(][^（）()]*(?:\d{4}|修订|修正|试行|暂行|草案|版)[^（）()]*[）)]|\d{4}年(?:修订|修正)?版?"
)
_ARTICLE = re.compile(r"^\s*(第[一二三四五六七八九十百零〇两\d]+条)", re.M)
# Two units at the same place in the two versions are one clause revised when they share at least this share of
# the shorter one's character bigrams: a definition ("more than half the wording kept"), not a tuned weight.
SAME_CLAUSE = 0.5


def series_key(title: str) -> str:
    """The title with what changes between versions taken out ('…条例（2019年修订）' -> '…条例')."""
    return _SERIES_NOISE.sub("", title or "")


def issued_on(meta: dict) -> str:
    """The date a version was issued: 发布 (a statute: its last revision) else 成文 else 施行 else the document date ('' if unknown)."""
    return str(meta.get("published") or meta.get("written") or meta.get("effective") or meta.get("date") or "")


@dataclass(frozen=True)
class VersionInfo:
    """One document's place in its version chain (oldest first) and why it was replaced."""

    doc_id: str
    chain: tuple[str, ...]
    superseded_by: str = ""
    reason: str = ""  # repealed | series

    @property
    def current(self) -> bool:
        return not self.superseded_by


def version_map(docs: dict) -> dict[str, VersionInfo]:
    """Each indexed document's VersionInfo (`docs`: doc id -> DocRecord)."""
    meta = {d: rec.doc.metadata for d, rec in docs.items()}
    title = {d: rec.doc.title for d, rec in docs.items()}
    newer: dict[str, tuple[str, str]] = {}  # old doc -> (newer doc, reason)
    by_key: dict[str, list[str]] = {}
    for d in docs:
        key = series_key(title[d])
        if len(key) >= 4:
            by_key.setdefault(key, []).append(d)
    by_number: dict[str, list[str]] = {}
    for d in docs:
        if meta[d].get("doc_number"):
            by_number.setdefault(meta[d]["doc_number"], []).append(d)
    for d in docs:  # explicit repeals
        for named in meta[d].get("repeals") or []:
            key = series_key(named)
            for old in by_key.get(key, []) + (by_number.get(named, []) if named else []):
                if old != d and _before(meta[old], meta[d]):
                    newer[old] = (d, "repealed")
    for key, group in by_key.items():  # title series within one region
        # dated by issue (发布/成文), never by 施行 alone: two copies of one notice, one whose signature was not
        # read, must not look like two versions; nor are two documents with one 文号
        group = sorted((g for g in group if _issue_date(meta[g])), key=lambda g: _issue_date(meta[g]))
        for i, old in enumerate(group):
            for new in group[i + 1:]:
                same_number = meta[old].get("doc_number") and meta[old].get("doc_number") == meta[new].get("doc_number")
                if (old not in newer and not same_number and _issue_date(meta[old]) < _issue_date(meta[new])
                        and meta[old].get("region", "") == meta[new].get("region", "")
                        and _issuers_agree(meta[old], meta[new])):
                    newer[old] = (new, "series")
                    break
    older_of: dict[str, list[str]] = {}  # newer doc -> the docs it replaced, in document order
    for o in docs:
        if o in newer:
            older_of.setdefault(newer[o][0], []).append(o)
    out: dict[str, VersionInfo] = {}
    for d in docs:
        chain = [d]
        while chain[-1] in newer and newer[chain[-1]][0] not in chain:
            chain.append(newer[chain[-1]][0])
        older = older_of.get(d, [])
        while older:  # walk back to the oldest
            o = older[0]
            if o in chain:
                break
            chain.insert(0, o)
            older = older_of.get(o, [])
        sup, why = newer.get(d, ("", ""))
        out[d] = VersionInfo(d, tuple(chain), sup, why)
    return out


def _issue_date(meta: dict) -> str:
    return str(meta.get("published") or meta.get("written") or meta.get("date") or "")


def _before(old: dict, new: dict) -> bool:
    a, b = issued_on(old), issued_on(new)
    return bool(a and b and a < b)


def _issuers_agree(a: dict, b: dict) -> bool:
    x, y = set(a.get("issuers") or []), set(b.get("issuers") or [])
    return not x or not y or bool(x & y)


def status(meta: dict, info: VersionInfo | None, today: str | None = None) -> str:
    """现行有效 / 已被替代 / 已失效 (its 有效期 has passed) / 尚未施行, as of `today` (ISO date)."""
    today = today or date.today().isoformat()
    if info is not None and not info.current:
        return "已被替代"
    if meta.get("valid_until") and meta["valid_until"] < today:
        return "已失效"
    if meta.get("effective") and meta["effective"] > today:
        return "尚未施行"
    return "现行有效"


def doc_rows(docs: dict, today: str | None = None) -> list[dict]:
    """One row per document for listings (CLI, UI, API): title, region, dates, official fields, status and its
    version chain (oldest first, each with its issue date)."""
    versions = version_map(docs)
    rows = []
    for d, rec in sorted(docs.items()):
        m = rec.doc.metadata
        info = versions.get(d)
        rows.append({
            "doc": d, "title": rec.doc.title, "region": rec.doc.region, "date": rec.doc.date,
            "chunks": rec.chunk_count, "sections": len(rec.sections), "ocr": bool(m.get("ocr")),
            **{k: m.get(k) or ("" if k not in ("issuers", "repeals") else []) for k in
               ("doc_number", "issuers", "written", "published", "effective", "valid_until", "valid_until_text",
                "repeals")},
            "status": status(m, info, today),
            "superseded_by": info.superseded_by if info else "",
            "versions": [{"doc": v, "date": issued_on(docs[v].doc.metadata)} for v in (info.chain if info else (d,))],
        })
    return rows


# -- comparing two versions ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Unit:
    """An article (or section) of one version: its label, span in the source and its normalised text."""

    label: str
    start: int
    end: int
    text: str


@dataclass
class Change:
    """One row of a change table: kind added | removed | changed, with the old and/or new unit."""

    kind: str
    old: Unit | None = None
    new: Unit | None = None


@dataclass
class Comparison:
    old_doc: str
    new_doc: str
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0


def units(record) -> list[Unit]:
    """The articles of a document (第X条 at the start of a line), else its innermost sections."""
    doc = record.doc
    text, body = doc.source_text, doc.body_start
    found = [m for m in _ARTICLE.finditer(text, body)]
    spans: list[tuple[str, int, int]] = []
    if len(found) >= 2:
        for i, m in enumerate(found):
            end = found[i + 1].start() if i + 1 < len(found) else _chapter_end(text, m.end())
            spans.append((m.group(1), m.start(1), end))
    else:
        sections = sorted(record.sections, key=lambda s: (s.start, -s.end))
        for i, s in enumerate(sections):
            if not any(o.start >= s.start and o.end <= s.end and o is not s for o in sections[i + 1:]):
                spans.append((s.path.split(" > ")[-1] if s.path else "", s.start, s.end))
    out = []
    for label, a, b in spans:
        while b > a and text[b - 1].isspace():
            b -= 1
        # the next chapter heading ('## 第二章 …') belongs to no article
        head = re.search(r"\n\s*#+\s|\n\s*第[一二三四五六七八九十百]+[章节]\s", text[a:b])
        if head:
            b = a + head.start()
        quote = quote_at(text, a, b)
        if quote:
            out.append(Unit(label, a, b, quote))
    return out


def _chapter_end(text: str, pos: int) -> int:
    m = re.search(r"\n\s*\n\s*(?:#|附件|附表)", text[pos:])
    return pos + m.start() if m else len(text)


def _body(unit: Unit) -> str:
    """A unit's wording without its number, so renumbered articles compare equal."""
    return re.sub(r"\s", "", _ARTICLE.sub("", unit.text, count=1))


def _similar(a: str, b: str) -> float:
    grams = lambda s: {s[i:i + 2] for i in range(len(s) - 1)}
    x, y = grams(a), grams(b)
    return len(x & y) / max(1, min(len(x), len(y)))


def compare(old_record, new_record) -> Comparison:
    """Added, removed and changed units from the older version to the newer: units aligned in order by their
    wording; within a stretch that differs, units at matching places are one clause revised when they keep
    most of their wording (SAME_CLAUSE), else one was removed and another added."""
    old_units, new_units = units(old_record), units(new_record)
    a, b = [_body(u) for u in old_units], [_body(u) for u in new_units]
    out = Comparison(old_record.doc.doc_id, new_record.doc.doc_id)
    for op, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.unchanged += i2 - i1
            continue
        olds, news = list(range(i1, i2)), list(range(j1, j2))
        pairs = []
        for i in olds:  # each old unit pairs with the most similar new unit of the stretch not yet taken
            best = max((j for j in news if j not in {p[1] for p in pairs}), key=lambda j: _similar(a[i], b[j]),
                       default=None)
            if best is not None and _similar(a[i], b[best]) >= SAME_CLAUSE:
                pairs.append((i, best))
        paired_old, paired_new = {p[0] for p in pairs}, {p[1] for p in pairs}
        rows: list[tuple[int, Change]] = []
        for i, j in pairs:
            rows.append((j, Change("changed", old_units[i], new_units[j])))
        for j in news:
            if j not in paired_new:
                rows.append((j, Change("added", None, new_units[j])))
        for i in olds:
            if i not in paired_old:
                rows.append((j1 + (i - i1) - 0.5, Change("removed", old_units[i], None)))
        out.changes.extend(c for _, c in sorted(rows, key=lambda r: r[0]))
    return out


def counterpart(comparison: Comparison, new_start: int, new_end: int) -> Change | None:
    """The change touching a span of the newer version (what the older version said there), or None."""
    for c in comparison.changes:
        if c.new is not None and c.new.start < new_end and new_start < c.new.end:
            return c
    return None
