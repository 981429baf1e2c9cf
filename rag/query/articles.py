"""Article references in a question, read once by the question-understanding stage.

'《X条例》第三十三条规定了什么', 'X法第33条', 'X法第十四条第二款第（一）项': the article (条), paragraph (款) and item (项)
numbers in Chinese or Arabic numerals, and the document the question names, resolved against the indexed titles:
with or without 中华人民共和国 and 《》, a city regulation without its city ('大气污染防治条例' names every city's), or a
common short name ('消法'). Short names and droppable prefixes are lexicon data (law_aliases, law_title_prefixes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ..textnorm import fold

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
           "壹": 1, "贰": 2, "叁": 3, "肆": 4, "伍": 5, "陆": 6, "柒": 7, "捌": 8, "玖": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000, "拾": 10, "佰": 100, "仟": 1000}
_NUM = "零〇一二两三四五六七八九十百千壹贰叁肆伍陆柒捌玖拾佰仟0-9"
ARTICLE_REF = re.compile(
    rf"(?:第|(?<=[法例定则]))([{_NUM}]+)[条條](?!例)(?:的?第([{_NUM}]+)款)?(?:的?第[（(]?([{_NUM}]+)[）)]?[项項])?"
)
_NAME_CHARS = re.compile(r"[《》〈〉<>“”\"'「」『』、，,·\s]")
# A title's leading place ('某某市…条例'): the question may write it short ('某某…') or leave it out.
_LEADING_PLACE = re.compile(r"^([\u4e00-\u9fff]{2,4}?)(省|市|县|区)")
MAX_NAME = 40  # longest document name looked for in a question
# How sure a name match is: the whole title, an alias, the title with its place written short, without its place,
# the end of the title ('刑事司法协助法' for '国际刑事司法协助法'), a near spelling (bigrams, FUZZY_RECALL).
EXACT, ALIAS, SHORT_PLACE, NO_PLACE, TITLE_END, FUZZY = 5, 4, 3, 2, 1, 0
MIN_TITLE_END = 4
FUZZY_RECALL = 0.6  # share of a title's character bigrams a question must hold to name it loosely


def cn_number(text: str) -> int | None:
    """'三十三' -> 33, '一百零一' -> 101, '两百' -> 200, '33' -> 33; None when it is not a number."""
    text = fold(text)
    if text.isdigit():
        return int(text)
    total, digit = 0, None
    for ch in text:
        if ch in _DIGITS:
            digit = _DIGITS[ch] if digit is None else digit * 10 + _DIGITS[ch]  # '一〇一' read digit by digit
        elif ch in _UNITS:
            total += (1 if digit is None else digit) * _UNITS[ch]
            digit = None
        else:
            return None
    return total + (digit or 0) if text else None


def cn_numeral(n: int) -> str:
    """33 -> '三十三', 101 -> '一百零一', 110 -> '一百一十', 15 -> '十五': as laws number their articles."""
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    out, zero = "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = n // value % 10
        if d:
            if zero:
                out += "零"
            out += ("" if (d == 1 and unit == "十" and n < 20) else digits[d]) + unit
            zero = False
        elif out:
            zero = True
    return out


@dataclass(frozen=True)
class ArticleRef:
    """One article the question names: 条, and optionally 款 (paragraph) and 项 (item), as numbers."""

    article: int
    paragraph: int | None = None
    item: int | None = None
    written: str = ""  # as the question writes it ('第33条第二款')

    def label(self) -> str:
        """'第三十三条第二款第（一）项' in the numerals laws use."""
        out = f"第{cn_numeral(self.article)}条"
        if self.paragraph:
            out += f"第{cn_numeral(self.paragraph)}款"
        if self.item:
            out += f"第（{cn_numeral(self.item)}）项"
        return out


@dataclass(frozen=True)
class ArticleQuery:
    """The articles a question names and the indexed documents its document name resolves to (best first)."""

    refs: tuple[ArticleRef, ...]
    name: str = ""  # the document name as the question writes it ('' when none was recognised)
    docs: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"refs": [r.label() for r in self.refs], "name": self.name, "docs": list(self.docs)}


def article_refs(text: str) -> tuple[tuple[ArticleRef, ...], list[tuple[int, int]]]:
    """The article references of a text, and where they are in it."""
    refs, spans = [], []
    for m in ARTICLE_REF.finditer(text):
        article = cn_number(m.group(1))
        if not article:
            continue
        para = cn_number(m.group(2)) if m.group(2) else None
        item = cn_number(m.group(3)) if m.group(3) else None
        refs.append(ArticleRef(article, para or None, item or None, m.group(0)))
        spans.append(m.span())
    return tuple(refs), spans


def name_key(text: str, prefixes: tuple[str, ...]) -> str:
    """A document name as compared: folded, without book-title marks, quotes, spaces and droppable prefixes."""
    key = _NAME_CHARS.sub("", fold(text))
    for p in prefixes:
        key = key.replace(fold(p), "")
    return key


@lru_cache(maxsize=8)
def _title_keys(titles: tuple[tuple[str, str, str], ...], index_dir: str | None) -> dict[str, list[tuple[int, str]]]:
    """name key -> [(match strength, doc id)] for every way a question may write each title."""
    from ..lexicon import load_list, load_map

    prefixes = load_list("law_title_prefixes", index_dir)
    keys: dict[str, list[tuple[int, str]]] = {}

    def add(key: str, strength: int, doc_id: str) -> None:
        if len(key) >= (2 if strength == ALIAS else 3):  # '消法'; any other name has three characters or more
            keys.setdefault(key, []).append((strength, doc_id))

    by_key: dict[str, list[str]] = {}
    for doc_id, title, _ in titles:
        key = name_key(title, prefixes)
        by_key.setdefault(key, []).append(doc_id)
        add(key, EXACT, doc_id)
        for i in range(1, len(key) - MIN_TITLE_END + 1):
            add(key[i:], TITLE_END, doc_id)
        m = _LEADING_PLACE.match(key)
        if m and len(key) - m.end() >= 4:
            add(m.group(1) + key[m.end():], SHORT_PLACE, doc_id)
            add(key[m.end():], NO_PLACE, doc_id)
    for alias, names in load_map("law_aliases", index_dir).items():
        for name in names:
            for doc_id in by_key.get(name_key(name, prefixes), []):
                add(name_key(alias, prefixes), ALIAS, doc_id)
    return keys


def resolve_name(text: str, docs: dict | None, index_dir: str | None = None,
                 skip: list[tuple[int, int]] = (), years: tuple[int, ...] = (),
                 min_strength: int = FUZZY) -> tuple[str, tuple[str, ...]]:
    """(the name as written, the documents it names) for the longest, surest document name in the text; a title
    held by several versions resolves to one: of a year the question names, else the newest. ('', ()) when no
    indexed title is named, or none as surely as `min_strength` (EXACT, ALIAS, … FUZZY)."""
    from ..lexicon import load_list

    if not docs:
        return "", ()
    titles = tuple(sorted((d, r.doc.title, _version(r)) for d, r in docs.items()))
    keys = _title_keys(titles, index_dir)
    prefixes = load_list("law_title_prefixes", index_dir)
    best: tuple[int, int] = (0, 0)
    found: tuple[str, list[tuple[int, str]]] = ("", [])
    pieces, last = [], 0
    for a, b in sorted(skip):
        pieces.append(text[last:a])
        last = b
    pieces.append(text[last:])
    for piece in pieces:
        key = name_key(piece, prefixes)
        for i in range(len(key)):
            for j in range(min(len(key), i + MAX_NAME), i + 1, -1):
                hits = keys.get(key[i:j])
                if not hits:
                    continue
                strength = max(s for s, _ in hits)
                if (j - i, strength) > best:  # a longer name holds a shorter one: it is the more specific
                    best, found = (j - i, strength), (key[i:j], hits)
                break  # shorter names starting here are weaker
    name, hits = found
    strongest = max((s for s, _ in hits), default=FUZZY)
    if strongest < min_strength:
        return "", ()
    chosen = [d for s, d in hits if s == strongest]
    if strongest <= TITLE_END:
        # The end of a title is a weak clue ('妇女权益保护法' ends like '消费者权益保护法'): a title most of whose
        # bigrams the question holds wins over it, unless it is one of the titles that end so.
        near_name, near = _near_title(pieces, titles, prefixes)
        both = [d for _, d in near if d in chosen]
        if both:
            chosen = both
        elif near:
            name, chosen = near_name, [d for _, d in near]
    if not chosen:
        return "", ()
    versions = {d: v for d, _, v in titles}
    newest: dict[str, str] = {}

    def rank(d: str) -> tuple[bool, str]:
        return versions[d][:4] in {str(y) for y in years}, versions[d]

    for d in chosen:  # one document per title: the version of the year asked about, else the newest
        title = docs[d].doc.title
        if title not in newest or rank(d) > rank(newest[title]):
            newest[title] = d
    return name, tuple(sorted(newest.values(), key=lambda d: (-len(docs[d].doc.title), d)))


def _bigrams(s: str) -> set[str]:
    return {s[i:i + 2] for i in range(len(s) - 1)}


def _near_title(pieces: list[str], titles: tuple, prefixes: tuple[str, ...]) -> tuple[str, list[tuple[int, str]]]:
    """A title the question spells loosely ('妇女权益保护法'): most of its character bigrams are in the question; the
    best such title (all of them when several tie)."""
    held = set().union(*(_bigrams(name_key(p, prefixes)) for p in pieces))
    best, found = FUZZY_RECALL, []
    for doc_id, title, _ in titles:
        grams = _bigrams(name_key(title, prefixes))
        if len(grams) < 3:  # '仲裁法' is in '调解仲裁法' and in many a question: too short to spell loosely
            continue
        recall = len(grams & held) / len(grams)
        if recall > best + 1e-9:
            best, found = recall, [(FUZZY, doc_id)]
        elif abs(recall - best) <= 1e-9 and found:
            found.append((FUZZY, doc_id))
    return (next(t for d, t, _ in titles if d == found[0][1]) if found else ""), found


def _version(record) -> str:
    """What orders versions of one title: the document date, else a date in its file name."""
    m = re.search(r"\d{4}-\d{2}-\d{2}", record.doc.doc_id)
    return record.doc.date or (m.group(0) if m else "")


def read_articles(text: str, docs: dict | None, index_dir: str | None = None,
                  years: tuple[int, ...] = ()) -> ArticleQuery | None:
    """The article query of a question, or None when it names no article."""
    text = re.sub(r"\s+", "", fold(text))  # '公司法 第 33 条'
    refs, spans = article_refs(text)
    if not refs:
        return None
    name, found = resolve_name(text, docs, index_dir, skip=spans, years=years)
    return ArticleQuery(refs=refs, name=name, docs=found)
