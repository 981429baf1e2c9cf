"""How a question restricts the documents it asks about: '现行有效的…' (in force now), '2024年以后发布的…' (by issue
date), '和2019年版相比有什么变化' (a change table against an older version). Read once, by rag.query.plan_question;
the words are lexicon data (rag/data/lexicon/doc_restrictions.txt)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ..filters import Filters, parse_date

_YEAR = r"((?:19|20)\d{2})\s*年(?:\s*(\d{1,2})\s*月)?(?:份)?"


@dataclass(frozen=True)
class Restriction:
    """What a question says about which documents it means."""

    filters: Filters = Filters()
    years: tuple[int, ...] = ()  # years that restrict documents (not years the answer is about)
    asks_changes: bool = False  # what changed between versions
    version_year: int | None = None  # the older version named ('2019年版')


@lru_cache(maxsize=8)
def _words(index_dir: str | None) -> dict[str, tuple[str, ...]]:
    from ..lexicon import load_map

    return load_map("doc_restrictions", index_dir)


def _alt(words: tuple[str, ...]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True) if w) or "(?!)"


def read_restriction(text: str, index_dir: str | None = None) -> Restriction:
    """The restriction a question states (an empty Restriction when it states none)."""
    w = _words(index_dir)
    issued, after, before = _alt(w.get("issued", ())), _alt(w.get("after", ())), _alt(w.get("before", ()))
    date_from = date_to = ""
    years: list[int] = []
    # '2024年以后发布的', '2024年3月之后出台', '发布于2024年以后'
    for m in re.finditer(rf"(?:(?:{issued})(?:于|在|时间在|日期在)?\s*)?{_YEAR}\s*(?:(?P<a>{after})|(?P<b>{before}))"
                         rf"\s*(?P<v>{issued})?", text):
        if not m.group("v") and not re.search(rf"(?:{issued})", text[max(0, m.start() - 8): m.start()]):
            continue
        y, mo = int(m.group(1)), m.group(2)
        stamp = f"{y}-{int(mo):02d}" if mo else str(y)
        if m.group("a"):  # '2024年以后' counts 2024 in, as it is usually meant
            date_from = parse_date(stamp)
        else:
            date_to = _day_before(parse_date(stamp))
        years.append(y)
    # '2024年发布的', '2024年3月印发的'
    for m in re.finditer(rf"{_YEAR}\s*(?:{issued})", text):
        y, mo = int(m.group(1)), m.group(2)
        if y in years:
            continue
        stamp = f"{y}-{int(mo):02d}" if mo else str(y)
        date_from, date_to = parse_date(stamp), parse_date(stamp, end=True)
        years.append(y)
    current = bool(re.search(_alt(w.get("current", ())), text))
    asks_changes = bool(re.search(_alt(w.get("changes", ())), text)) and bool(
        re.search(_alt(w.get("version", ())), text))
    version_year = None
    m = re.search(rf"((?:19|20)\d{{2}})\s*年?\s*(?:{_alt(w.get('version', ()))})", text)
    if m:
        version_year = int(m.group(1))
        years.append(version_year)
    filters = Filters(date_from=date_from, date_to=date_to, current=current and not version_year,
                      older_versions=bool(asks_changes or version_year))
    return Restriction(filters, tuple(dict.fromkeys(years)), asks_changes, version_year)


def _day_before(iso: str) -> str:
    from datetime import date

    return date.fromordinal(date.fromisoformat(iso).toordinal() - 1).isoformat()
