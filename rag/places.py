"""Places named in text, from a gazetteer of China's administrative divisions (rag/data/places.tsv, built from cpca
by scripts/build_gazetteer.py): every province, prefecture-level city and county/district, each with the forms it
is recognised by (河北省/河北, 邢台市/邢台, 定州市/定州, 海淀区/海淀).

Matching is one left-to-right scan with a dict keyed by the first two characters, longest form first: about one
dict lookup per character whatever the size of the gazetteer. Only where a form is found does jieba's dictionary
cut of the few characters around it decide whether the form is a word of the text (0.8 ms for a 1,500-character
notice, 30 µs for a question on the 2-core machine).
A place is returned under its *label*: the short form when that form belongs to it alone, else its full name
(朝阳 is the prefecture 朝阳市; the Beijing district must be written 朝阳区 and is labelled so).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

GAZETTEER = Path(__file__).resolve().parent / "data" / "places.tsv"
LEVELS = ("province", "city", "county")
_WINDOW = 6  # characters of context either side of a form: enough for any word that could straddle it


@dataclass(frozen=True)
class Place:
    """One administrative division: full name, short form ('' if none), level, and the names of its parents."""

    name: str
    short: str
    level: str  # province | city | county
    province: str  # full name; the place itself for a province
    city: str  # full name of the prefecture a county belongs to ('' for provinces, cities, province-run counties)
    label: str  # what places_in returns: the short form when it is this place's alone, else the full name

    @property
    def parents(self) -> tuple[str, ...]:
        """Full names of the prefecture and province containing this place, nearest first."""
        return tuple(p for p in dict.fromkeys([self.city, self.province]) if p and p != self.name)


@dataclass(frozen=True)
class Mention:
    """A place form found in text at [start, end); `places` holds every division the form can mean, resolved by
    the other places of the same text where it is shared (鼓楼区 of 南京 or of 福州)."""

    form: str
    start: int
    end: int
    places: tuple[Place, ...]

    @property
    def place(self) -> Place:
        return self.places[0]

    @property
    def label(self) -> str:
        """The label of the place when the form is unambiguous, else the form as written."""
        return self.places[0].label if len(self.places) == 1 else self.form


class Gazetteer:
    """The loaded table: places, forms -> places, and the first-two-characters index used by the scan."""

    def __init__(self, places: list[Place], forms: dict[str, tuple[Place, ...]]):
        self.places = places
        self.forms = forms
        by_prefix: dict[str, set[int]] = defaultdict(set)
        for form in forms:
            by_prefix[form[:2]].add(len(form))
        self._lengths = {k: sorted(v, reverse=True) for k, v in by_prefix.items()}
        self._bare = {form: any(form == p.short and p.level != "province" for p in ps) for form, ps in forms.items()}
        self.by_name: dict[str, list[Place]] = defaultdict(list)
        for p in places:
            for key in dict.fromkeys([p.name, p.short, p.label]):
                if key:
                    self.by_name[key].append(p)

    def scan(self, text: str) -> list[Mention]:
        """Every place form in text, leftmost-longest and non-overlapping, with shared forms resolved by context.

        A form counts only where the text's own word boundaries fall at both its ends, so 四平 is not read out of
        四平台, nor 治多 out of 收治多少, nor 合作市 out of 合作市场 (where 广州市长 gives way to 广州)."""
        found: list[Mention] = []
        lengths, forms = self._lengths, self.forms
        i, n = 0, len(text)
        while i < n - 1:
            for size in lengths.get(text[i : i + 2], ()):
                form = text[i : i + size]
                if form in forms and self._fits_words(text, i, i + size):
                    found.append(Mention(form, i, i + size, forms[form]))
                    i += size
                    break
            else:
                i += 1
        if any(len(m.places) > 1 for m in found):
            named = {p.name for m in found if len(m.places) == 1 for p in m.places}
            found = [self._resolve(m, named) for m in found]
        return found

    def _fits_words(self, text: str, start: int, end: int) -> bool:
        """Does [start, end) agree with jieba's dictionary cut of the surrounding text (no HMM guessing)?

        No word may straddle either end (收治|多少 rules out 治多, 合作|市场 rules out 合作市). A full name, or a
        province's short form, may sit inside a longer word (陕西省政府, 天津港); the bare short form of a city or
        a county only inside a word made of places (上海浦东) or heading a zone word (无锡高新区 as one word), since any other
        word around it is another word (长治久安, 阿里巴巴)."""
        from .keyword import _get_jieba

        pos = max(0, start - _WINDOW)
        for word in _get_jieba().lcut(text[pos : end + _WINDOW], HMM=False):
            w_start, pos = pos, pos + len(word)
            if pos <= start or w_start >= end or (start <= w_start and pos <= end):
                continue  # a word before, after or inside the form
            if not (w_start <= start and pos >= end):
                return False  # a word across one end
            if self._bare[text[start:end]] and not (
                (not text[w_start:start] or text[w_start:start] in self.forms)
                and (not text[end:pos] or text[end:pos] in self.forms or text[end:pos] in _area_words())
            ):
                return False
        return True

    @staticmethod
    def _resolve(m: Mention, named: set[str]) -> Mention:
        if len(m.places) == 1:
            return m
        inside = tuple(p for p in m.places if named & set(p.parents))
        return Mention(m.form, m.start, m.end, inside) if inside else m

    def lookup(self, name: str) -> list[Place]:
        """Places a name (label, full name or short form) can mean, highest level first."""
        return sorted(self.by_name.get(name, ()), key=lambda p: LEVELS.index(p.level))


@functools.cache
def gazetteer() -> Gazetteer:
    """The packaged gazetteer, read once."""
    rows = []
    with GAZETTEER.open(encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            cols = line.rstrip("\n").split("\t")
            if cols[0] == "name":
                continue
            rows.append(cols)
    owners: dict[str, list[int]] = defaultdict(list)
    for idx, (name, short, level, province, city, match) in enumerate(rows):
        for form in match.split() if match != "-" else ():
            owners[form].append(idx)
    places = []
    for idx, (name, short, level, province, city, match) in enumerate(rows):
        label = short if short and short in match.split() and owners[short] == [idx] else name
        places.append(Place(name, short, level, province, city, label))
    forms = {form: tuple(places[i] for i in idxs) for form, idxs in owners.items()}
    return Gazetteer(places, forms)


@functools.lru_cache(maxsize=1)
def _area_words() -> frozenset[str]:
    """Zone words a place name can head inside one dictionary word (package data: lexicon/area_words.txt)."""
    from .lexicon import load_list

    return frozenset(load_list("area_words"))


def find_places(text: str) -> list[Mention]:
    """Place mentions in text, in order (see Gazetteer.scan)."""
    return gazetteer().scan(text)


def places_in(text: str) -> list[str]:
    """Labels of the places mentioned in text (short forms where unambiguous), in order of first mention."""
    return list(dict.fromkeys(m.label for m in find_places(text)))


def resolve(place: str) -> Place | None:
    """The one division a label or name means; None when unknown or when it names divisions in different
    provinces without a higher-level owner (鼓楼区)."""
    cands = gazetteer().lookup(place)
    if not cands:
        return None
    top = [p for p in cands if p.level == cands[0].level]
    return top[0] if len(top) == 1 else None


def province_of(place: str) -> str:
    """Full name of the province a place of any level belongs to (江阴 -> 江苏省; '' when unknown or ambiguous)."""
    p = resolve(place)
    if p is not None:
        return p.province
    provinces = {c.province for c in gazetteer().lookup(place)}
    return provinces.pop() if len(provinces) == 1 else ""


def city_of(place: str) -> str:
    """Full name of the prefecture-level city a place is or lies in (江阴 -> 无锡市, 无锡 -> 无锡市); '' for a
    province, a province-run county, or an unknown name."""
    p = resolve(place)
    if p is None:
        return ""
    return p.name if p.level == "city" else p.city if p.city != p.province else ""


def parent_names(place: str) -> list[str]:
    """Labels of the places containing a place, nearest first (江阴 -> ['无锡', '江苏'], 无锡 -> ['江苏'])."""
    p = resolve(place)
    if p is None:
        return []
    g = gazetteer()
    out = []
    for parent in p.parents:
        hit = next((c for c in g.lookup(parent) if c.name == parent and c.level != "county"), None)
        if hit is not None:
            out.append(hit.label)
    return out


def place_names() -> list[str]:
    """Every form the gazetteer recognises in text, longest first."""
    return sorted(gazetteer().forms, key=len, reverse=True)


@functools.cache
def legacy_tables() -> dict[str, dict]:
    """The tables of the old hand-made place list, derived from the gazetteer and keyed by labels:
    PROVINCE_CITIES (province -> its cities' labels), CITY_TO_PROVINCE (city label -> province),
    DISTRICT_CITY (county label -> the label of its city, or of its municipality)."""
    g = gazetteer()
    labels: dict[str, int] = defaultdict(int)
    for p in g.places:
        labels[p.label] += 1
    unique = [p for p in g.places if labels[p.label] == 1]
    province_cities: dict[str, list[str]] = {p.name: [] for p in g.places if p.level == "province"}
    city_to_province, district_city = {}, {}
    for p in unique:
        if p.level == "city":
            province_cities[p.province].append(p.label)
            city_to_province[p.label] = p.province
        elif p.level == "county" and p.city:
            parent = next((c for c in g.lookup(p.city) if c.name == p.city and c.level != "county"), None)
            if parent is not None:
                district_city[p.label] = parent.label
    return {"PROVINCE_CITIES": province_cities, "CITY_TO_PROVINCE": city_to_province, "DISTRICT_CITY": district_city}
