"""Evidence for the extractive answerer: candidate sentences from hits, their quantities, years and coverage.

A candidate is one sentence of a retrieved chunk with the context a reader needs to judge it: the section path,
the document title and regions, and the year it speaks about (its own, or the one its paragraph set earlier:
"到2027年，…；产品达到600种以上" speaks about 2027).
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

from ..store import DocRecord
from ..textnorm import fold, quote_clause_spans, sentence_spans
from ..types import Hit
from .cues import SYNONYMS, UNITS, YEAR_RE, _UNIT_CLASS, Cues

_CN_DIGITS = "一二三四五六七八九十两百千"
_NUM = rf"(?:\d+(?:[.,]\d+)*(?:\s*[-~至到]\s*\d+(?:\.\d+)?)?|[{_CN_DIGITS}]+)"
_UNIT_ALT = "|".join(re.escape(u) for u in UNITS)
# A number with its unit; not an ordinal (第一) nor a determiner ('另一栋', '每一个', '同一家').
QUANTITY_RE = re.compile(
    rf"(?<![第\d.另每同其任唯])({_NUM})\s*(多|余|万|亿)?\s*({_UNIT_ALT})"
)
_YEAR_NUM = re.compile(r"(?:19|20)\d{2}(?:\s*[-~至到]\s*(?:19|20)\d{2})?")  # '2027', '2022-2025'
DATE_RE = re.compile(r"(?:(?:19|20)\d{2}\s*年\s*)?\d{1,2}\s*月\s*\d{1,2}\s*日|(?:19|20)\d{2}-\d{1,2}-\d{1,2}")
FREQUENCY_RE = re.compile(r"每(?:[一二两三四五六七八九十\d]+个?)?(?:年|月|季度|半年|周|天|日)|定期|按季度|按年度|逐年")
ENUM_SEP = re.compile(r"[、]")
_PLACE_CUE = re.compile(r"选址|位于|坐落|地处|落户|落地|布局在|设在|建在|在[^，。；]{2,14}(?:区|县|市|城|园|基地)")
_WHO_CUE = re.compile(r"牵头|担任|组长|负责|指导|主办|承办|发布|揭牌|认定|设立|成立|依托")


@dataclass(frozen=True)
class Quantity:
    """A number with its unit in a sentence: '500亿元', '10家以上', '7个', '20%'."""

    start: int
    end: int
    unit: str
    cls: str
    is_year: bool = False
    number: str = ""  # the digits as written ('2030', '500', '6至12')


def quantities(text: str) -> list[Quantity]:
    """Numbers with units in text (Chinese numerals only with count words, never ordinals like 第一)."""
    out: list[Quantity] = []
    for m in QUANTITY_RE.finditer(text):
        num, mult, unit = m.group(1), m.group(2) or "", m.group(3)
        cn = not num[0].isdigit()
        if cn and _UNIT_CLASS[unit] not in ("count", "org", "people", "duration"):
            continue
        if cn and unit in ("大",) and len(num) > 2:
            continue
        is_year = unit == "年" and not cn and _YEAR_NUM.fullmatch(unicodedata.normalize("NFKC", num)) is not None
        if unit == "大" and not cn:
            continue  # '7大' is rare; digits before 大 are usually part of something else
        if unit in ("人", "名", "次", "条", "类", "支", "款", "座", "批") and cn and num in ("一",):
            continue  # 一人, 一次, 一批: idioms and vague amounts, not counts
        cls = "year" if is_year else _UNIT_CLASS[unit]
        if mult == "亿" and unit != "元":
            cls = _UNIT_CLASS.get(unit, cls)
        out.append(Quantity(m.start(), m.end(), mult + unit, cls, is_year, num))
    for m in DATE_RE.finditer(text):
        out.append(Quantity(m.start(), m.end(), "date", "date"))
    for m in FREQUENCY_RE.finditer(text):
        out.append(Quantity(m.start(), m.end(), m.group(0), "frequency"))
    return out


def unit_ok(q: Quantity, cues: Cues) -> bool:
    """Does this quantity have a unit the question can accept?"""
    if q.is_year:
        return bool({"year", "date"} & cues.unit_classes)
    classes = cues.unit_classes
    if not classes:
        return q.cls not in ("year", "date", "frequency")
    if q.cls in classes:
        return True
    # Count words are used loosely ('多少项标准' is answered by '78个'; '几个企业' by '10家'), but one way only:
    # '多少家企业' is not answered by '备案3937个', firms and people are counted with their own words.
    counts = {"count", "org", "people"}
    if classes & counts and q.cls in counts:
        return "count" in classes or bool(classes & {q.cls})
    if "date" in classes and q.cls == "year":
        return True
    if "year" in classes and q.cls == "date":
        return True
    return False


@dataclass(frozen=True)
class Sentence:
    """One sentence of a chunk and what does not depend on the question: folded text, context, years, clauses.

    Built once per chunk and cached (see `_sentences`), so reading a whole document per question stays cheap.
    """

    a: int  # span in chunk.text
    b: int
    text: str
    folded: str
    prev: str  # folded sentence before it in the same paragraph
    para: str  # folded paragraph (line of the chunk) it sits in
    years: tuple[int, ...]  # years it speaks about (its own, else its paragraph's)
    own_years: tuple[int, ...]
    spans: tuple[tuple[int, int], ...]  # clauses, in chunk.text offsets
    qty: tuple[tuple["Quantity", ...], ...]  # quantities of each clause (offsets relative to the clause)


@dataclass
class Candidate:
    """One sentence of a hit, with what is needed to score it and to quote a clause of it."""

    hit: Hit
    record: DocRecord
    sent: Sentence
    context: str  # folded section path + title + regions

    a = property(lambda self: self.sent.a)
    b = property(lambda self: self.sent.b)
    text = property(lambda self: self.sent.text)
    folded = property(lambda self: self.sent.folded)
    prev = property(lambda self: self.sent.prev)
    para = property(lambda self: self.sent.para)
    years = property(lambda self: self.sent.years)

    @property
    def doc_id(self) -> str:
        return self.hit.chunk.doc_id

    @property
    def section(self) -> str:
        return self.hit.chunk.section_path


def years_in(text: str) -> tuple[int, ...]:
    """Years a text names ('到2030年', full-width '２０３０年' too), in order of first mention."""
    return tuple(int(y) for y in dict.fromkeys(YEAR_RE.findall(unicodedata.normalize("NFKC", text))))


_SENTENCE_CACHE: dict[tuple[str, int], tuple[Sentence, ...]] = {}
_CONTEXT_CACHE: dict[tuple[str, str], str] = {}
_CACHE_MAX = 20000  # chunks; a few KB each


def _sentences(chunk) -> tuple[Sentence, ...]:
    """The sentences of a chunk (cached by chunk id and text length: ids come from content)."""
    key = (chunk.chunk_id, len(chunk.text))
    got = _SENTENCE_CACHE.get(key)
    if got is not None:
        return got
    text = chunk.text
    out: list[Sentence] = []
    para_year: tuple[int, ...] = years_in(chunk.section_path)
    line_start = 0
    prev_b: tuple[int, int] | None = None
    for a, b in sentence_spans(text):
        if text.rfind("\n", 0, a) + 1 != line_start:
            line_start = text.rfind("\n", 0, a) + 1
            para_year = years_in(chunk.section_path)  # a new paragraph forgets the previous year
        own = years_in(text[a:b])
        if own:
            para_year = own
        if b - a < 4:
            continue
        prev = text[prev_b[0]: prev_b[1]] if prev_b and text.rfind("\n", 0, a) < prev_b[0] else ""
        pe = text.find("\n", b)
        para = text[line_start: len(text) if pe == -1 else pe]
        spans = tuple(quote_clause_spans(text, a, b))
        qty = tuple(tuple(quantities(text[x:y])) for x, y in spans)
        out.append(Sentence(a, b, text[a:b], fold(text[a:b]), fold(prev), fold(para), own or para_year, own,
                            spans, qty))
        prev_b = (a, b)
    if len(_SENTENCE_CACHE) >= _CACHE_MAX:
        _SENTENCE_CACHE.clear()
    _SENTENCE_CACHE[key] = tuple(out)
    return _SENTENCE_CACHE[key]


def _context(hit: Hit, rec: DocRecord) -> str:
    key = (hit.chunk.section_path, rec.doc.doc_id + rec.doc.sha256)
    got = _CONTEXT_CACHE.get(key)
    if got is None:
        meta = rec.doc.metadata or {}
        regions = " ".join(meta.get("regions") or [])
        got = fold(" ".join([hit.chunk.section_path, rec.doc.title, rec.doc.region, regions]))
        if len(_CONTEXT_CACHE) >= _CACHE_MAX:
            _CONTEXT_CACHE.clear()
        _CONTEXT_CACHE[key] = got
    return got


def candidates(hits: list[Hit], docs: dict[str, DocRecord]) -> list[Candidate]:
    """Every sentence of every hit (hits whose document is unknown are skipped; a chunk is read once)."""
    out: list[Candidate] = []
    seen: set[str] = set()
    for hit in hits:
        rec = docs.get(hit.chunk.doc_id)
        if rec is None or hit.chunk.chunk_id in seen:
            continue
        seen.add(hit.chunk.chunk_id)
        context = _context(hit, rec)
        out.extend(Candidate(hit, rec, sent, context) for sent in _sentences(hit.chunk))
    return out


class TermWeights:
    """Inverse document frequency of terms over the index's chunks (uniform when no statistics are given)."""

    UNSEEN_SHARE = 0.3  # weight of a word the index never saw, as a share of the highest idf

    def __init__(self, bm25=None):
        self.bm25 = bm25
        n = getattr(bm25, "n", 0) or 0
        self.max_idf = math.log(1 + (n + 0.5) / 0.5) if n else 1.0

    def idf(self, term: str) -> float:
        if self.bm25 is None or not self.bm25.n:
            return 1.0
        post = self.bm25.postings.get(term)
        if post is None:
            # Unseen words are mostly paraphrases ('期待', '拿地'): weigh them like a rare-ish word, not the rarest.
            return self.UNSEEN_SHARE * self.max_idf
        df = len(post[0])
        return math.log(1 + (self.bm25.n - df + 0.5) / (df + 0.5))


def _subsequence(term: str, text: str) -> bool:
    """Are term's characters in text in order within a short window? ('医械' in '医疗器械', '规上' in '规模以上')."""
    if len(term) < 2:
        return False
    first = term[0]
    start = text.find(first)
    while start != -1:
        pos, ok = start, True
        for ch in term[1:]:
            pos = text.find(ch, pos + 1, start + 3 * len(term) + 1)
            if pos == -1:
                ok = False
                break
        if ok:
            return True
        start = text.find(first, start + 1)
    return False


def term_match(term: str, text: str) -> float:
    """How well text contains a term: 1 exact, 0.9 via a synonym, 0.7 as an abbreviation, else bigram share."""
    if term in text:
        return 1.0
    if any(s in text for s in SYNONYMS.get(term, ())):
        return 0.9
    if _subsequence(term, text):
        return 0.7
    if len(term) >= 3:
        grams = {term[i: i + 2] for i in range(len(term) - 1)}
        share = sum(g in text for g in grams) / len(grams)
        return 0.6 * share if share >= 0.33 else 0.0
    return 0.0


def coverage(terms: list[str], weights: TermWeights, text: str, context: str = "", prev: str = "",
             para: str = "") -> float:
    """Weighted share of the terms found in the sentence; a match only in its context (section path, title,
    regions) counts 0.8, only in the sentence before it 0.5, only elsewhere in its paragraph 0.4."""
    total = got = 0.0
    for t in terms:
        w = weights.idf(t)
        total += w
        m = term_match(t, text)
        if m < 1.0 and context:
            m = max(m, 0.8 * term_match(t, context))
        if m < 0.5 and prev:
            m = max(m, 0.5 * term_match(t, prev))
        if m < 0.4 and para:
            m = max(m, 0.4 * term_match(t, para))
        got += w * m
    return got / total if total else 0.0


def clause_year(text: str, spans: list[tuple[int, int]], i: int, default: tuple[int, ...]) -> tuple[int, ...]:
    """The years clause i speaks about: its own, else the last earlier clause's in the sentence, else default."""
    for j in range(i, -1, -1):
        ys = years_in(text[spans[j][0]: spans[j][1]])
        if ys:
            return ys
    return default


ORG_RE = re.compile(
    r"[\u4e00-\u9fffA-Za-z()（）·]{2,24}?(?:有限公司|股份公司|公司|集团|研究院|研究所|大学|学院|协会|医院|银行|资本|"
    r"分中心|中心|委员会|管委会|办公室|服务站)"
)
_GENERIC_ORG = {"机构", "单位", "企业", "公司", "部门", "组织", "院校", "高校", "医院"}


def enum_items(text: str) -> int:
    """How many items an enumeration in text lists (x、y、z -> 3); 0 when there is none."""
    n = len(ENUM_SEP.findall(text))
    return n + 1 if n else 0


def list_fit(text: str, focus: list[str]) -> tuple[int, int]:
    """(items, items naming the asked kind) of the enumeration in text.

    Items are split at 、 (or are organisation names joined by 和/及 when the question asks for organisations);
    an item names the asked kind when it contains the focus word ('投融资服务平台' for '哪些平台').
    """
    body = re.split(r"[，,；;：:]", text)
    best = (0, 0)
    for part in body:
        items = [x for x in re.split(r"[、]|和|及|以及|与", part) if x.strip()] if "、" in part else []
        n = len(items)
        fit = sum(any(f in fold(x) for f in focus) for x in items) if items else 0
        if any(f in _GENERIC_ORG for f in focus):
            orgs = ORG_RE.findall(part)
            if len(orgs) >= 2 and len(orgs) >= fit:
                n, fit = max(n, len(orgs)), len(orgs)
        if (fit, n) > (best[1], best[0]):
            best = (n, fit)
    return best


def names_kind(text: str, kind: str, question: str) -> bool:
    """Does text name an entity of the kind asked for ('盐田区' for '哪个区'), one the question does not name?"""
    if not kind:
        return False
    for k in (kind, *SYNONYMS.get(kind, ())):
        for m in re.finditer(rf"[\u4e00-\u9fffA-Za-z]{{1,8}}?{re.escape(k)}", text):
            name = m.group(0)
            if len(name) > len(k) and name not in question:
                return True
    return False


def place_cue(text: str, question: str = "") -> bool:
    """Does text say where something is ('选址位于…', '在…区'), in words the question did not use itself?"""
    return any(m.group(0) not in question for m in _PLACE_CUE.finditer(text))


def who_cue(text: str, question: str = "") -> bool:
    """Does text say who does something ('由…牵头', '…担任组长'), in words the question did not use itself?"""
    return any(m.group(0) not in question for m in _WHO_CUE.finditer(text))


def is_heading(cand: "Candidate") -> bool:
    """True when the sentence is only its section's heading ('（七）信阳市…产业园区。'): context, not an answer."""
    t = cand.text.rstrip("。：:；; ")
    last = cand.section.split(" > ")[-1] if cand.section else ""
    return bool(t) and (t == last or (len(t) <= 40 and last.endswith(t)) or (len(t) <= 40 and t in cand.section))
