"""Question understanding, once per question: a typed `QueryPlan` that retrieval and answering read.

The plan says what kind of answer is wanted (an amount with a unit, a date, a duration, a place, an organisation,
an enumeration, yes/no, a description), which words carry the question's content and which of them are its focus
(the thing asked about), which places and years it names (places resolved to the indexed documents about them),
and, for a question that puts places side by side ("A和B分别…"), one sub-plan per place. Word lists come from the
lexicon data files (`rag/data/lexicon/`), never from code.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from functools import lru_cache

from ..filters import Filters
from ..textnorm import fold
from .restrict import read_restriction
from .articles import ArticleQuery, read_articles
from .docfacts import DocFactAsk, read_doc_fact

ANSWER_TYPES = ("amount", "date", "duration", "place", "org", "enumeration", "yesno", "description")
YEAR_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})(?=\s*年)")
_SPLIT = re.compile(r"[，,；;、？?。！!\s]")
_CONJ = re.compile(r"和|与|及|、|跟|同|以及|还是|对比|相比|比较|vs|VS|，")
_COMPARE = re.compile(r"分别|各自|比较|对比|相比|异同|区别|不同|各地|哪个.{0,6}最|都")
# a yes/no question: closed by 吗 (the last clause), or asking 'X不X' with one verb or adjective ('赔不赔', '行不行')
_YESNO = re.compile(r"吗[？?！!。\s]*$|([\u4e00-\u9fff])不\1")
_NUMERAL_WORD = re.compile(r"[一二三四五六七八九十两百千万\d.]+[个位家项种类大条年月天张台套件批名人户所次份]?")


@dataclass(frozen=True)
class QueryPlan:
    """What one question asks, read once; retrieval and the answerer read it and never re-parse the question."""

    question: str  # the question as asked (cleaned)
    text: str  # what is searched: the standalone question (a follow-up rewritten with the conversation)
    answer_type: str = "description"
    unit_classes: frozenset[str] = frozenset()  # for amounts: money, percent, count, org, people, area, ...
    unit_words: tuple[str, ...] = ()  # the measure word typed after 多少/几 ('多少家' -> 家)
    terms: tuple[str, ...] = ()  # content words (folded), ask words and fillers dropped
    focus: tuple[str, ...] = ()  # the words next to the ask word: what is asked about
    places: tuple[str, ...] = ()  # places named, as written (short forms)
    place_docs: tuple[tuple[str, tuple[str, ...]], ...] = ()  # place -> documents about it (empty: none indexed)
    years: tuple[int, ...] = ()
    parts: tuple["QueryPlan", ...] = field(default_factory=tuple)  # one per place compared side by side
    label: str = ""  # how the question names this part's place ('兰州城关区'), to head its answer
    filters: Filters = Filters()  # the documents the question restricts itself to ('现行有效的', '2024年以后发布的')
    asks_changes: bool = False  # '和2019年版相比有什么变化': a change table between versions
    version_year: int | None = None  # the older version the question names
    articles: ArticleQuery | None = None  # '《X条例》第三十三条': the articles named and the documents they are in
    doc_fact: DocFactAsk | None = None  # '这个行动计划是哪天发布的': an official fact of a document itself

    @property
    def rewritten(self) -> str:
        """The standalone question when it differs from the one asked, else ''."""
        return self.text if self.text != self.question else ""

    @property
    def docs(self) -> tuple[str, ...]:
        """Every document about a place the question names."""
        return tuple(sorted({d for _, ds in self.place_docs for d in ds}))

    unknown_places: tuple[str, ...] = ()  # places no indexed document even mentions
    index_dir: str | None = None  # whose per-corpus word lists (lexicon overrides) this plan was read with

    @property
    def missing_places(self) -> tuple[str, ...]:
        """Places the question names that no indexed document mentions."""
        return self.unknown_places

    def to_dict(self) -> dict:
        return {
            "question": self.question, "text": self.text, "answer_type": self.answer_type,
            "unit_classes": sorted(self.unit_classes), "terms": list(self.terms), "focus": list(self.focus),
            "places": list(self.places), "place_docs": {p: list(d) for p, d in self.place_docs},
            "years": list(self.years), "parts": [p.to_dict() for p in self.parts], "label": self.label,
            "filters": {k: v for k, v in self.filters.to_dict().items() if v}, "asks_changes": self.asks_changes,
            "version_year": self.version_year,
            "articles": self.articles.to_dict() if self.articles else None,
            "doc_fact": self.doc_fact.to_dict() if self.doc_fact else None,
        }


# -- word lists (data) ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Words:
    """The lexicon lists the query stage reads, loaded once (per index folder, which may override them)."""

    ask: dict[str, tuple[str, ...]]
    units: dict[str, str]
    measure: dict[str, tuple[str, ...]]
    filler: frozenset[str]
    synonyms: dict[str, tuple[str, ...]]
    ask_re: re.Pattern


@lru_cache(maxsize=8)
def words(index_dir: str | None = None) -> Words:
    """Load the query word lists (package data, overridable per index)."""
    from ..lexicon import load_list, load_map

    ask = {k: v for k, v in load_map("answer_types", index_dir).items() if k in ANSWER_TYPES}
    units = {u: cls[0] for u, cls in load_map("units", index_dir).items() if cls}
    all_ask = sorted({w for ws in ask.values() for w in ws}, key=len, reverse=True)
    return Words(
        ask=ask,
        units=units,
        measure=load_map("measure_words", index_dir),
        filler=frozenset(load_list("filler", index_dir)) | frozenset(load_list("question_words", index_dir)),
        synonyms=load_map("synonyms", index_dir),
        ask_re=re.compile("|".join(re.escape(w) for w in all_ask if w)),
    )


# -- the stages of reading a question -------------------------------------------------------------
def answer_type(q: str, w: Words) -> str:
    """The first answer type (in data-file order) one of whose ask words the question contains. Before the
    catch-all description words: a count asked with 几/多少 and a measure word ('几棵', '几张') is an amount, and a
    question closed by 吗 or asking 'X不X' ('能坐副驾驶吗', '赔不赔') is a yes/no question."""
    for kind, ask_words in w.ask.items():
        if kind == "description" and (shape := _count_or_yesno(q, w)):
            return shape
        if any(_asks(q, a) for a in ask_words):
            if kind == "enumeration" and _count_after_ask(q, w):
                return "amount"  # '有哪几家' lists, '几家' counts: a unit right after 几/多少 is a count
            return kind
    return _count_or_yesno(q, w) or "description"


def _count_or_yesno(q: str, w: Words) -> str:
    """'amount' for a count asked with 几/多少 and a measure word, 'yesno' for a question closed by 吗 or asking
    'X不X', else ''."""
    if _count_after_ask(q, w):
        return "amount"
    return "yesno" if _YESNO.search(q) else ""


def _asks(q: str, ask_word: str) -> bool:
    """Does the question use this ask word? A count word (几类, 几个) right after 哪 asks which ones, not how many:
    '哪几类基金' lists, '几类基金' counts."""
    if not ask_word.startswith("几"):
        return ask_word in q
    return any(m.start() == 0 or q[m.start() - 1] != "哪" for m in re.finditer(re.escape(ask_word), q))


def _count_after_ask(q: str, w: Words) -> tuple[str, ...]:
    found = []
    for m in re.finditer(r"(?<!哪)(?:多少|几)", q):
        rest = q[m.end(): m.end() + 4]
        for u in sorted(w.units, key=len, reverse=True):
            if rest.startswith(u):
                found.append(u)
                break
    return tuple(found)


def unit_classes(q: str, kind: str, unit_words: tuple[str, ...], w: Words) -> frozenset[str]:
    """Kinds of quantity that answer an amount/duration/date question."""
    if kind == "duration":
        return frozenset({"duration"})
    if kind == "date":
        return frozenset({"date", "year"})
    if kind != "amount":
        return frozenset()
    classes = {w.units[u] for u in unit_words if u in w.units}
    if classes:
        return frozenset(classes)
    for cls, ws in w.measure.items():
        if any(x in q for x in ws):
            return frozenset({cls})
    return frozenset()


def content_terms(text: str, w: Words, index_dir: str | None = None) -> list[str]:
    """jieba words of the text worth matching (folded), ask words, fillers, years and counts dropped."""
    from ..keyword import _get_jieba

    text = fold(text)
    stripped = w.ask_re.sub("，", text) if w.ask_re.pattern else text
    out: list[str] = []
    for tok in _get_jieba(index_dir).lcut(stripped):
        tok = tok.strip()
        if not tok or tok in w.filler or re.fullmatch(r"[\W_]+", tok):
            continue
        if re.fullmatch(r"(?:19|20)\d{2}", tok) or _NUMERAL_WORD.fullmatch(tok):
            continue
        if len(tok) == 1 and not tok.isascii():
            continue
        if tok not in out:
            out.append(tok)
    return out


def focus_terms(q: str, terms: list[str], w: Words) -> list[str]:
    """The words of the clause holding the ask word, nearest first: what the question asks about."""
    m = w.ask_re.search(q) if w.ask_re.pattern else None
    if not m:
        return terms[-2:]
    left = _SPLIT.split(q[: m.start()])[-1][-12:]
    right = _SPLIT.split(q[m.end():])[0][:12]
    near = [t for t in terms if t in fold(right)] + [t for t in reversed(terms) if t in fold(left)]
    out: list[str] = []
    for t in near:
        if t not in out:
            out.append(t)
    return out[:3] or terms[-2:]


def years_in(text: str) -> tuple[int, ...]:
    """Years a text names ('到2030年', full-width digits too), in order of first mention."""
    return tuple(int(y) for y in dict.fromkeys(YEAR_RE.findall(unicodedata.normalize("NFKC", text))))


def unknown_places(places: list[str], docs: dict | None) -> tuple[str, ...]:
    """Places that no indexed document mentions anywhere (title, metadata or text)."""
    if not docs:
        return ()
    return tuple(p for p in places if not any(p in rec.doc.title or p in rec.doc.source_text
                                              for rec in docs.values()))


def resolve_places(places: list[str], docs: dict | None) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Each place with the indexed documents about it: by region metadata, else by title."""
    if docs is None:
        return tuple((p, ()) for p in places)
    out = []
    for place in places:
        found = []
        for doc_id, rec in docs.items():
            regions = list(rec.doc.metadata.get("regions") or []) + [rec.doc.region]
            if any(place in r for r in regions if r) or place in rec.doc.title:
                found.append(doc_id)
        out.append((place, tuple(sorted(found))))
    return tuple(out)


def same_area(a: str, b: str) -> bool:
    """Does one place contain the other (a county and its city, a city and its province)?"""
    from ..metadata import province_of
    from ..places import parent_names

    def chain(p: str) -> set[str]:
        return {p, province_of(p), *parent_names(p)} - {""}

    return a in chain(b) or b in chain(a)


def place_groups(places: list[str], q: str) -> list[list[str]]:
    """Group places into the areas a question puts side by side: a city joins its province; two areas are
    separate only when the question joins them with a conjunction ('兰州和成都')."""
    groups: list[list[str]] = []
    for p in places:
        for g in groups:
            if any(same_area(p, o) for o in g):
                g.append(p)
                break
        else:
            if groups and not _joined(q, groups[-1][0], p):
                groups[-1].append(p)
            else:
                groups.append([p])
    return groups


def _joined(q: str, a: str, b: str) -> bool:
    i, j = q.find(a), q.find(b)
    if i < 0 or j < 0:
        return True
    lo, hi = sorted((i, j))
    return bool(_CONJ.search(q[lo + 1: hi]))


def _label(q: str, group: list[str]) -> str:
    """How the question names a place group ('兰州城关区'), to head its part of the answer."""
    spans = [(q.find(p), q.find(p) + len(p)) for p in group if p in q]
    if not spans:
        return group[0]
    a, b = min(x for x, _ in spans), max(y for _, y in spans)
    if b - a > 12:
        return group[0]
    if b < len(q) and q[b] in "省市区县":
        b += 1
    return q[a:b]


_SUBJECT_END = re.compile(r"分别|各自|都|各")
_LIST_GLUE = "和与及跟、，, "


def _parallel_subjects(q: str, groups: list[list[str]]) -> list[str] | None:
    """'甲市工业园区和乙县开发区分别给…': when the first place compared comes with words of its own before the
    conjunction (a park, a plan: '甲市工业园区'), each place's words up to the next place, or up to 分别/各自/都 for the
    last, are its own subject, and the question about it keeps only that subject. None when the places are bare
    names ('兰州和成都对…分别'), whose words after the last place are shared, or when the question is not laid
    out as 'A…和B…分别…'."""
    starts = []
    for g in groups:
        at = [q.find(p) for p in g if p in q]
        if not at:
            return None
        starts.append(min(at))
    if starts != sorted(starts) or len(set(starts)) != len(starts):
        return None
    tail = _SUBJECT_END.search(q, starts[-1])
    if tail is None:
        return None
    ends = starts[1:] + [tail.start()]
    segs = [q[a:b].rstrip(_LIST_GLUE) for a, b in zip(starts, ends)]
    own = segs[0]
    for p in groups[0]:
        own = own.replace(p, "", 1) if own.startswith(p) else own
    own = re.sub(r"^[省市区县]", "", own)
    if len(own) < 2 or any(re.search(r"[，,。？?；;：:]", s) for s in segs):
        return None
    head, rest = q[:starts[0]], q[tail.start():]
    return [head + seg + rest for seg in segs]


def _part_question(q: str, group: list[str], others: list[str]) -> str:
    """The question about one place: the other places' names taken out."""
    sub = q
    for o in sorted(others, key=len, reverse=True):
        if o not in group and not any(o in g for g in group):
            sub = re.sub(re.escape(o) + "[省市区县]?", "", sub)
    return re.sub(r"^[和与及跟、，,]+|(?<=[\u4e00-\u9fff])[和与及跟、](?=[和与及跟、，,的])", "", sub)


def plan_question(question: str, docs: dict | None = None, rewritten: str | None = None,
                  index_dir: str | None = None) -> QueryPlan:
    """Read a question once into a QueryPlan (`docs`: the indexed documents, to resolve places to)."""
    from ..metadata import places_in

    index_dir = str(index_dir) if index_dir else None
    w = words(index_dir)
    text = (rewritten or question).strip()
    q = fold(text)
    kind = answer_type(q, w)
    unit_words = _count_after_ask(q, w) if kind == "amount" else ()
    terms = content_terms(text, w, index_dir)
    places = places_in(text)
    terms = [t for t in terms if not any(t in p or (p in t and len(t) - len(p) <= 1) for p in places)] or terms
    restriction = read_restriction(text, index_dir)
    plan = QueryPlan(
        question=question.strip(), text=text, answer_type=kind,
        unit_classes=unit_classes(q, kind, unit_words, w), unit_words=unit_words,
        terms=tuple(terms), focus=tuple(focus_terms(q, terms, w)), places=tuple(places),
        place_docs=resolve_places(places, docs),
        years=tuple(y for y in years_in(text) if y not in restriction.years),  # '2024年以后发布的' is no asked year
        unknown_places=unknown_places(places, docs), index_dir=index_dir, filters=restriction.filters,
        asks_changes=restriction.asks_changes, version_year=restriction.version_year,
        articles=read_articles(text, docs, index_dir, years_in(text)),
        doc_fact=read_doc_fact(text, index_dir) if kind != "yesno" else None,  # '执行期间可以延期吗' asks no fact
    )
    if plan.articles is not None and plan.articles.docs:
        return plan  # a lookup by number: one document's articles, never a comparison of places
    groups = place_groups(places, text)
    if len(groups) >= 2 and (_COMPARE.search(text) or all(_joined(text, groups[0][0], g[0]) for g in groups[1:])):
        parts = []
        parallel = _parallel_subjects(text, groups)
        for i, g in enumerate(groups):
            sub = parallel[i] if parallel else _part_question(text, g, places)
            sub_plan = plan_question(sub, docs, index_dir=index_dir)
            parts.append(replace(sub_plan, question=sub, label=_label(text, g)))
        plan = replace(plan, parts=tuple(parts))
    return plan
