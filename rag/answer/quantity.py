"""Quantities in policy text: a number with its unit ('120亿元', '37家以上', '15%'), dates and years.

Units and their classes come from the lexicon (`rag/data/lexicon/units.txt`); a question's plan says which classes
answer it, and the answer features ask whether a candidate clause holds a quantity of such a class.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

_CN_DIGITS = "一二三四五六七八九十两百千"
_NUM = rf"(?:\d+(?:[.,]\d+)*(?:\s*[-~至到]\s*\d+(?:\.\d+)?)?|[{_CN_DIGITS}]+)"
_YEAR_NUM = re.compile(r"(?:19|20)\d{2}(?:\s*[-~至到]\s*(?:19|20)\d{2})?")
DATE_RE = re.compile(r"(?:(?:19|20)\d{2}\s*年\s*)?\d{1,2}\s*月\s*\d{1,2}\s*日|(?:19|20)\d{2}-\d{1,2}-\d{1,2}|"
                     r"(?:19|20)\d{2}\s*年\s*\d{1,2}\s*月(?:底|末|份)?")
ORG_RE = re.compile(
    r"[\u4e00-\u9fffA-Za-z()（）·]{2,24}?(?:有限公司|公司|集团|研究院|研究所|大学|学院|协会|医院|银行|"
    r"中心|委员会|管委会|办公室|管理局|税务局|人民政府|厅|局|部|委)"
)
PHONE_RE = re.compile(r"\d{3,4}[-－—]\d{7,8}|(?<!\d)1[3-9]\d{9}(?!\d)|(?<!\d)\d{7,8}(?!\d)|12345|12366")
ENUM_RE = re.compile(r"一是|二是|三是|[（(][一二三四五六七八九十\d]+[）)]|(?<![\d.])\d{1,2}[.．、](?!\d)|[①②③④⑤⑥⑦⑧⑨]")


# A lone 一 right after these is an indefinite article ('是一家…企业', '成为一个…平台'), not a count of one.
_COPULA = set("是为")


@dataclass(frozen=True)
class Quantity:
    """A number with its unit: span, unit as written, class (money, percent, count, ..., year, date)."""

    start: int
    end: int
    unit: str
    cls: str


@lru_cache(maxsize=8)
def _unit_re(index_dir: str | None = None) -> tuple[re.Pattern, dict[str, str]]:
    from ..query.plan import words

    units = words(index_dir).units
    alt = "|".join(re.escape(u) for u in sorted(units, key=len, reverse=True))
    return re.compile(rf"(?<![第\d.另每同其任唯])({_NUM})\s*(多|余|万|亿)?\s*({alt})"), units


def quantities(text: str) -> list[Quantity]:
    """Numbers with units (Chinese numerals only with counts and durations, never ordinals like 第一), dates."""
    pattern, units = _unit_re()
    out: list[Quantity] = []
    for m in pattern.finditer(text):
        num, mult, unit = m.group(1), m.group(2) or "", m.group(3)
        cls = units[unit]
        if not num[0].isdigit() and cls not in ("count", "org", "people", "duration"):
            continue
        if num == "一" and not mult and m.start() > 0 and text[m.start() - 1] in _COPULA:
            continue  # '是一家生产…的企业': an indefinite article after a copula, not a count
        if unit == "年" and num[0].isdigit() and _YEAR_NUM.fullmatch(unicodedata.normalize("NFKC", num)):
            cls = "year"
        out.append(Quantity(m.start(), m.end(), mult + unit, cls))
    for m in DATE_RE.finditer(text):
        out.append(Quantity(m.start(), m.end(), "date", "date"))
    return out


# A number in figures or words, as `states_sum` and `states_span` read it (零 included: '一千零五十元')
_ANY_NUM = rf"[\d{_CN_DIGITS}零][\d{_CN_DIGITS}零.,]*\s*(?:多|余)?\s*"
_ANY_MONEY = re.compile(rf"{_ANY_NUM}(?:万|亿)?\s*(?:元|美元|欧元|港元|日元|加元|英镑)|百分之|[%％]"
                        rf"|[\d{_CN_DIGITS}]\s*成(?!不变)|倍|个百分点|\d\s*[:：]\s*\d")


def states_sum(text: str) -> bool:
    """Does the text state a sum of money or a share, rate or ratio (a sum can be set as a share: '工资的百分之八十')?
    Chinese numerals count here ('处一千元以下罚款', as statutes write sums), unlike in `quantities`, whose classes
    the fitted selector was trained on."""
    return bool(_ANY_MONEY.search(text))


_ANY_SPAN = re.compile(rf"{_ANY_NUM}个?\s*(?:年|月|周|星期|天|日|小时|钟头|分钟|工作日)"
                       r"|每(?:年|季度|月|周|天|日)|半年|半个月|当天|当日|即时|立即|随时")


def states_span(text: str) -> bool:
    """Does the text state a length of time or how often ('三十日内', '每三个月', '每年调整一次', '当天')? Chinese
    numerals and 每 count here, unlike in `quantities`."""
    return bool(_ANY_SPAN.search(text))


def classes_in(text: str) -> frozenset[str]:
    """The classes of the quantities a text holds."""
    return frozenset(q.cls for q in quantities(text))


_CN_VALUE = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_SCALE = {"十": 10, "百": 100, "千": 1000}
_MULT = {"万": 1e4, "亿": 1e8}


def number_value(num: str) -> float | None:
    """The value of a number as written ('1,500', '12.5', '5-8' -> 5, '三十' -> 30, '百' -> 100); None if unreadable."""
    num = unicodedata.normalize("NFKC", num).strip()
    m = re.match(r"\d+(?:,\d{3})*(?:\.\d+)?", num)
    if m:
        return float(m.group().replace(",", ""))
    total, digit = 0, None
    for ch in num:
        if ch in _CN_VALUE:
            digit = _CN_VALUE[ch]
        elif ch in _CN_SCALE:
            total += (1 if digit is None else digit) * _CN_SCALE[ch]
            digit = None
        else:
            return None
    total += digit or 0
    return float(total) if num else None


def split_quantity(text: str, unit: str) -> tuple[str, str]:
    """A quantity's text ('超120亿元', unit '亿元') as (number, multiplier) with the unit and spaces taken off."""
    body = text[: len(text) - len(unit)] if unit and text.endswith(unit) else text
    mult = ""
    if body.rstrip().endswith(("多", "余")):
        body = body.rstrip()[:-1]
    if body.rstrip()[-1:] in _MULT:
        mult = body.rstrip()[-1]
        body = body.rstrip()[:-1]
    return body.strip(), mult


def comparable_unit(unit: str) -> tuple[str, float]:
    """A unit in the form figures are compared in, and the factor to get there ('万元' -> ('亿元', 1e-4)): only
    scale words of the same unit are folded, so 亿元 and 万元 compare, 亿元 and % never do."""
    base, factor = unit, 1.0
    for word, mult in _MULT.items():
        if unit.startswith(word) and len(unit) > 1:
            base, factor = unit[1:], mult
            break
    if unit == "亿":
        return "亿元", 1.0
    if base == "元":
        return "亿元", factor * 1e-8
    return base, factor
