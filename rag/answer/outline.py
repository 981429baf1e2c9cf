"""Questions about a document's outline: '甲方案一共有几条保障措施', '重点任务分为哪几项', '这部条例共有几章'.

The answer counts the parts of the section the question names by its heading ('保障措施' names '四、保障措施') and
lists their headings, each quoted from the document with its citation, so the count can be checked. The document is
the first retrieved one (or one of the place's the question names) that has such a section with two or more parts;
None when none has, and the question goes to ordinary answer selection.
"""

from __future__ import annotations

import re

from ..chunker import HEADING_PATTERNS
from ..textnorm import book_title, fold
from ..types import Answer, Citation, Hit
from ..verify import quote_at

BACKEND = "outline"
# A count or a list of parts asked: '几条', '多少项', '几个方面', '哪几项', '分为几部分'
_COUNT = re.compile(r"(?:几|多少)个?(条|项|方面|部分|大类|类|章|节)"
                    r"|哪几个?(条|项|方面|部分|章|节)")
_HEADING_END = re.compile(r"[。；;：:\n]")
MAX_HEADING = 40  # a heading runs on into its text beyond this: quoted up to here
_CHAPTER_LEVELS = (1, 2)  # 第X章, 第X节 in the chunker's HEADING_PATTERNS


def _marker(heading: str) -> tuple[int, str] | None:
    """(level, marker) of a heading's numbering, by the chunker's heading patterns ('第二章' is level 1)."""
    heading = heading.strip()
    for level, pat in HEADING_PATTERNS:
        m = pat.match(heading)
        if m:
            return level, m.group(0)
    return None


def heading_name(heading: str) -> str:
    """A heading without its numbering, up to its first stop ('（一）建立统筹协调机制。建立…' -> '建立统筹协调机制')."""
    heading = heading.strip()
    marker = _marker(heading)
    name = heading[len(marker[1]):] if marker else heading
    return _HEADING_END.split(name.strip(), 1)[0].strip()


def _named(plan, doc_id: str, docs: dict) -> bool:
    """Does the question name this document by its title (or a sure short form of it)?"""
    from ..query.articles import NO_PLACE, resolve_name

    return doc_id in resolve_name(fold(plan.text), docs, min_strength=NO_PLACE)[1]


def _parts(sections, parent) -> list:
    """The direct sub-sections of a section, in order."""
    inside = [s for s in sections if s.path.startswith(parent.path + " > ")]
    if not inside:
        return []
    level = min(s.level for s in inside)
    return sorted((s for s in inside if s.level == level), key=lambda s: s.start)


_QUOTE_END = re.compile(r"[。；;：:，,\n]")


def _heading_quote(text: str, start: int) -> tuple[int, int]:
    """The span of a section's heading in the source text: from its start to its first stop, comma or line end (an
    article's heading is its first clause)."""
    m = _QUOTE_END.search(text, start, start + MAX_HEADING)
    return start, (m.start() if m else min(len(text), start + MAX_HEADING))


def outline_answer(plan, hits: list[Hit], docs: dict, allowed: frozenset[str] | None = None) -> Answer | None:
    """The parts of the section a question names and asks to count or list, cited heading by heading."""
    q = fold(plan.text)
    asked = _COUNT.search(q)
    if asked is None:
        return None
    unit = asked.group(1) or asked.group(2)
    order = list(dict.fromkeys(h.chunk.doc_id for h in hits))
    if plan.docs:  # a place named: its documents, never another's
        order = [d for d in order if d in plan.docs] + [d for d in plan.docs if d not in order]
    for doc_id in order:
        record = docs.get(doc_id)
        if record is None or (allowed is not None and doc_id not in allowed):
            continue
        best, best_len = None, 0
        for s in record.sections:
            label = s.path.split(" > ")[-1]
            name = heading_name(label)
            marker = _marker(label)  # '第二章有几条': a chapter named by its number
            number = marker[1] if marker and marker[0] in _CHAPTER_LEVELS else ""
            named = name if len(name) >= 2 and fold(name) in q else (number if number and fold(number) in q else "")
            if named and len(named) > best_len and len(_parts(record.sections, s)) >= 2:
                best, best_len = s, len(named)
        parts = _parts(record.sections, best) if best is not None else []
        if best is None and unit in ("章", "节") and _named(plan, doc_id, docs):
            # '劳动合同法一共有几章': the document's own chapters
            parts = sorted((s for s in record.sections if " > " not in s.path
                            and (_marker(s.path) or (0,))[0] in _CHAPTER_LEVELS), key=lambda s: s.start)
        if len(parts) < 2:
            continue
        text = record.doc.source_text
        citations, names = [], []
        for part in parts:
            a, b = _heading_quote(text, part.start)
            quote = quote_at(text, a, b)
            if not quote:
                continue
            n = len(citations) + 1
            citations.append(Citation(n=n, doc=doc_id, title=record.doc.title, section=part.path, quote=quote,
                                      start=a, end=b))
            names.append(f"{quote.strip()}[{n}]")
        if len(citations) < 2:
            continue
        unit = "个" + unit if unit in ("方面", "部分") else unit
        if best is None:
            body = f"{book_title(record.doc.title)}共{len(citations)}{unit}："
        else:
            head = best.path.split(" > ")[-1].strip()
            body = f"{book_title(record.doc.title)}“{heading_name(head) or head}”共{len(citations)}{unit}："
        return Answer(text=body + "；".join(names) + "。", citations=citations, hits=hits, backend=BACKEND)
    return None
