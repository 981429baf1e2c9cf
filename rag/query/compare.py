"""Reading a comparison question: is it one, which aspects it asks about, which rows it compares, and whether it
asks for the highest or lowest figure. Part of question understanding (it reads the `QueryPlan`, never the
retriever); the trigger words, aspects and superlatives are lexicon data (`compare_triggers`, `compare_aspects`,
`superlatives`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ..textnorm import fold
from .plan import QueryPlan, words


@dataclass(frozen=True)
class CompareRow:
    """A row of the table: how it is labelled and the documents it may quote."""

    label: str
    docs: tuple[str, ...]
    text: str  # the row's own question (the other places taken out), what its retrieval searches
    years: tuple[int, ...] = ()  # the years the row's own question names ('甲市2025年…和乙区2035年…')
    terms: tuple[str, ...] = ()  # its content words


@dataclass(frozen=True)
class ComparePlan:
    """What a comparison question asks: rows, aspect columns (named, else shared), and a superlative."""

    rows: tuple[CompareRow, ...]
    aspects: tuple[str, ...]  # columns, in the order of the aspect file
    named_aspects: bool  # False: the question named none; the columns are what the rows' documents share
    cell_words: tuple[tuple[str, ...], ...] = ()  # per column: a cell quotes a clause holding one of these
    focus_words: tuple[str, ...] = ()  # what the question asks about: a cell's clause when none holds an aspect word
    answer_type: str = "description"
    superlative: str = ""  # "high" | "low" | ""
    targets: bool = False  # the question is about targets (目标/指标): answered from the targets table
    by_year: bool = False  # targets year by year ('2025年和2030年的目标分别是多少', '各年度目标对比'): a row per year
    which: bool = False  # '哪些地区提到了X': the answer says which rows' documents do


@dataclass(frozen=True)
class CompareWords:
    triggers: re.Pattern
    trigger_words: tuple[str, ...]  # the triggers that are one word ('比较', '异同'; not '哪个…最')
    aspects: dict[str, tuple[str, ...]]
    superlatives: dict[str, tuple[str, ...]]
    target_words: tuple[str, ...]
    year_words: tuple[str, ...]
    manner_asks: tuple[str, ...] = ()  # ask words of how a thing is done: the verb after them is no column
    doc_words: frozenset[str] = frozenset()  # words that name a document ('意见', '方案'; doc_facts.txt 'subject')


@lru_cache(maxsize=8)
def compare_words(index_dir: str | None = None) -> CompareWords:
    """The comparison word lists (package data, overridable per index)."""
    from ..lexicon import load_list, load_map

    alts = []
    entries = load_list("compare_triggers", index_dir)
    for entry in entries:
        left, gap, right = entry.partition("…")
        # the two sides within one clause ('哪个地区2030年的产业规模目标最低'), not across a comma or a stop
        alts.append(re.escape(left) + (r"[^，,。；;？?！!]{0,20}?" + re.escape(right) if gap else ""))
    return CompareWords(
        triggers=re.compile("|".join(alts) or r"(?!)"),
        trigger_words=tuple(e for e in entries if "…" not in e),
        aspects=load_map("compare_aspects", index_dir),
        superlatives=load_map("superlatives", index_dir),
        target_words=("目标", "指标"),
        year_words=load_list("compare_years", index_dir),
        manner_asks=tuple(sorted(load_list("manner_asks", index_dir), key=len, reverse=True)),
        doc_words=frozenset(fold(x) for x in load_map("doc_facts", index_dir).get("subject", ())),
    )


def aspect_words(aspect: str, index_dir: str | None = None) -> tuple[str, ...]:
    """The aspect's name and its words: what a cell's clause must hold."""
    return (aspect, *compare_words(index_dir).aspects.get(aspect, ()))


def named_aspects(q: str, w: CompareWords) -> list[str]:
    """Aspects the question names (by name or by one of its words), in file order. A word that directly follows
    another aspect's word completes that phrase and names no aspect of its own: '人才引进' asks about 人才 only
    (引进, a word of 招商, is what is done with the talent), '用地审批' about 用地."""
    q = fold(q)
    found: dict[str, list[tuple[int, int]]] = {}
    for a, ws in w.aspects.items():
        for x in (a, *ws):
            found.setdefault(a, []).extend((m.start(), m.end()) for m in re.finditer(re.escape(x), q))
    ends = {a: {e for _, e in spans} for a, spans in found.items()}
    named = []
    for a, spans in found.items():
        others = set().union(*(e for b, e in ends.items() if b != a))
        if any(s not in others for s, _ in spans):
            named.append(a)
    return named


def shared_aspects(texts: list[str], w: CompareWords, limit: int = 4) -> list[str]:
    """Aspects every text mentions (each text: all documents of one row), most mentioned first."""
    scored = []
    for a, ws in w.aspects.items():
        counts = [sum(t.count(x) for x in (a, *ws)) for t in texts]
        if counts and all(counts):
            scored.append((-sum(counts), a))
    return [a for _, a in sorted(scored)[:limit]]


def superlative(q: str, w: CompareWords) -> str:
    """'high' / 'low' when the question asks for the top figure ('哪个最高'), else ''."""
    for direction, ws in w.superlatives.items():
        if any(x in q for x in ws):
            return direction
    return ""


# '在X方面/上/端…' before the places or the ask: X is what is compared ('在采购端，甲和乙分别怎么支持…')
_ASPECT_PHRASE = re.compile(r"在([^。？?；;！!]{2,24}?)(?:(?:方面|领域|问题|环节|层面|端)上?[，,]"
                            r"|(?:方面|领域|问题)?上?(?:的|有|各|分别|是|怎么|如何))")


def comparison_word(term: str, w: CompareWords) -> bool:
    """Is the term part of a one-word comparison trigger ('比较', '异同')? Such a word says that the question
    compares, never what it compares."""
    return any(term in x for x in w.trigger_words)


def not_a_column(term: str, q: str, w: CompareWords, titles: list[str]) -> bool:
    """Is a word of the question's focus no subject a table could compare? The verb of a manner ask ('怎么安排',
    '如何提') says how the question asks, and the kind of a compared document ('乙意见' of a title ending
    '…实施意见': a word that names a document and ends its title) names the document, not what it says."""
    if any(re.search(re.escape(m) + r"(?:来|去)?" + re.escape(term), q) for m in w.manner_asks):
        return True
    return term in w.doc_words and any(t.endswith(term) for t in titles)


def aspect_phrase(q: str, plan: QueryPlan, w: CompareWords) -> tuple[str, ...]:
    """The content words of a '在…方面/上' phrase after the places compared ('甲和乙在办论坛、大赛这类活动上的说法'):
    what the question compares when it names no aspect of the vocabulary and has no ask word."""
    for m in _ASPECT_PHRASE.finditer(q):
        phrase = m.group(1)
        if any(p in phrase for p in plan.places):
            continue
        found = tuple(t for t in plan.terms if t in phrase and not comparison_word(t, w))
        if found:
            return found
    return ()


def _paired_years(q: str, plan: QueryPlan) -> bool:
    """Whether each place asked about comes with its own year ('甲市2025年…和乙区2035年…'): a row per place, each
    read for its year, not a table by year."""
    if len(plan.parts) < 2:
        return False
    return all(re.search(re.escape(fold(p.label)) + r".{0,2}?(?:19|20)\d{2}\s*年", q) for p in plan.parts if p.label)


_YEARS_EACH = re.compile(r"(?:19|20)\d{2}\s*年(?:底|末)?的?\s*(?:分别|各自)")

# A question naming no place compares every regional document only in an index of a few of them: a table is read
# across at a glance, which a dozen rows already defeat. Not fitted: the size of a table a reader takes in.
MAX_ALL_ROWS = 8


# '哪些地区/哪几个城市/哪些文件…': the question asks which of the rows, not what each says
_WHICH_ROWS = re.compile(r"哪(?:些|几个|个)(?:地区|地方|城市|省份?|文件|政策)")
MAX_NAMED_DOCS = 6  # documents looked for in one comparison question


def named_documents(text: str, docs: dict | None, index_dir: str | None = None
                    ) -> list[tuple[str, tuple[str, ...]]]:
    """The documents a comparison names by title ('劳动法和劳动合同法对试用期分别怎么规定'): (the name as written,
    its documents), in the order named. The surest, longest name first, then the next outside it, and so on. Only
    sure names count (the whole title, a listed alias, or it without its place or prefix), never a title's last
    words ('行动计划')."""
    from .articles import NO_PLACE, resolve_name

    if not docs:
        return []
    t = re.sub(r"[《》〈〉“”\"'「」『』\s]", "", fold(text))
    spans: list[tuple[int, int]] = []
    out: list[tuple[int, str, tuple[str, ...]]] = []
    for _ in range(MAX_NAMED_DOCS):
        name, found = resolve_name(t, docs, index_dir, skip=spans, min_strength=NO_PLACE)
        at = next((m.start() for m in re.finditer(re.escape(name), t)
                   if not any(a < m.end() and m.start() < b for a, b in spans)), -1) if name else -1
        if not found or at < 0:
            break
        spans.append((at, at + len(name)))
        if all(set(found) != set(f) for _, _, f in out):
            out.append((at, name, found))
    return [(name, found) for _, name, found in sorted(out)]


def compare_plan(plan: QueryPlan, docs: dict | None, index_dir: str | None = None) -> ComparePlan | None:
    """The comparison a question asks for, or None when it is not one (no trigger word, or fewer than two rows).

    Rows are the plan's per-place parts; a question naming no place ('各地…分别是多少') compares every indexed
    document that belongs to a region, one row each."""
    w = compare_words(index_dir)
    q = fold(plan.text)
    year_word = any(x in q for x in w.year_words)
    is_target = any(x in q for x in w.target_words)
    # '甲和乙的产业规模目标是多少' compares the places' targets without saying so
    if not w.triggers.search(q) and not year_word and not (is_target and len(plan.parts) >= 2):
        return None
    # '目标分别定到哪一年' asks for the years themselves: the table by year lists every year each place sets targets for
    asks_years = plan.answer_type == "date" and not plan.years
    by_year = is_target and (year_word or len(plan.years) >= 2 or asks_years) and not _paired_years(q, plan)
    if not plan.places and not by_year and len(plan.years) >= 2 and _YEARS_EACH.search(q):
        return None  # '2027年和2035年分别要到多少': 分别 goes over the years asked, not over every region's documents
    if plan.parts:
        rows = tuple(CompareRow(p.label or (p.places[0] if p.places else ""), p.docs, p.text,
                                p.years or plan.years, p.terms) for p in plan.parts)
    elif len(named := named_documents(plan.text, docs, index_dir)) >= 2:
        # documents named side by side ('消费者权益保护法和产品质量法对欺诈分别怎么规定'): a row per document
        rows = tuple(CompareRow(name, found, plan.text, plan.years, plan.terms) for name, found in named)
    elif docs and (not plan.places or by_year):
        # every document of a region (or of the one place asked about, for a table by year), one row each
        mine = plan.docs if plan.places else tuple(sorted(docs))
        rows = tuple(CompareRow(docs[d].doc.region or (plan.places[0] if plan.places else ""), (d,), plan.text,
                                plan.years, plan.terms)
                     for d in mine if d in docs and (docs[d].doc.region or plan.places))
        if not plan.places and len(rows) > MAX_ALL_ROWS:
            # '各地…分别' over a library of hundreds of regional notices is not a table anyone can read, and there
            # such words mostly qualify something else ('要求各地交通运输部门…'): answered as a plain question.
            return None
    else:
        return None
    if len(rows) < (1 if by_year else 2):
        return None
    aspects = named_aspects(q, w)
    named = bool(aspects)
    most = superlative(q, w)
    which = bool(_WHICH_ROWS.search(q)) and not most
    titles = [re.sub(r"[（(][^）)]*[）)]$", "", fold(docs[d].doc.title).strip()) for r in rows for d in r.docs
              if docs and d in docs]

    def subject(t: str) -> bool:
        return not any(t in p for p in plan.places) and not comparison_word(t, w) and not not_a_column(t, q, w, titles)

    # What the question itself asks about ('研发投入强度…什么目标'): a clause on it answers even without an aspect word.
    # A word of the comparison itself ('比较', '异同') is not: '比较甲和乙的政策' names no aspect, and a column
    # '比较' would quote any clause that happens to hold the word.

    focus = tuple(t for t in plan.focus if subject(t))
    if plan.focus and not focus:
        # every word next to the ask word was its verb or a document's name ('手术机器人在甲方案和乙意见里分别是怎么
        # 安排的'): the question's other content words say what it asks about
        focus = tuple(t for t in plan.terms if subject(t))[:3]
    if aspects:
        cells = tuple(aspect_words(a, index_dir) for a in aspects)
    elif own := (aspect_phrase(q, plan, w) or (focus if focus and words(index_dir).ask_re.pattern
                                                and words(index_dir).ask_re.search(q) else ())):
        # A specific question in no aspect of the vocabulary: one column, what it asks about ('…分别是怎么提的'), or,
        # with no ask word, what its '在…上/方面' phrase names ('在办论坛、大赛这类活动上的说法').
        aspects, named, cells = ["、".join(own[:3])], True, (own,)
    elif which:
        return None  # '哪些地区提到了？' names nothing to look for: no table of what every document shares
    else:
        aspects = shared_aspects(["\n".join(docs[d].doc.source_text for d in r.docs if d in docs) for r in rows], w) \
            if docs else []
        cells = tuple(aspect_words(a, index_dir) for a in aspects)
    return ComparePlan(rows=rows, aspects=tuple(aspects), named_aspects=named, cell_words=cells, focus_words=focus,
                       superlative=most, targets=is_target, answer_type=plan.answer_type,
                       by_year=by_year, which=which)
