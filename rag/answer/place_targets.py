"""Questions about one place's targets, or about sections of one document, answered from the targets table stored
with the index (`rag/targets.py`): the figure of a measure asked of one named place ('甲区的产业规模目标是多少'),
which of a plan's sections sets the highest target ('那7个园区里哪个目标最高'), and the targets of sections named
side by side ('甲园区和乙园区2030年的目标分别多少'). Each returns None for a question it does not answer, which then
goes the usual way (retrieval, the selector and its gate).
"""

from __future__ import annotations

import re

from ..query import QueryPlan
from ..render import cell_with_marks
from ..targets import Target, filter_targets, section_of
from ..types import Answer, AnswerTable, Citation, TableCell, TableRow
from .quantity import comparable_unit
from .targets_answer import (COLUMN, MAX_LISTED, NOT_MENTIONED, asked_groups, group_rank, headline, measure_group,
                             target_citation)

BACKEND = "targets"  # what an answer of this module is made by (Answer.backend): the table, never a language model


def _common(question: str, measure: str, title: str = "") -> int:
    """The length of the longest piece of the question the measure holds, when it is at least three characters or
    the whole measure ('…医疗器械产品数量目标…' and '医疗器械产品': 6; '…产业规模目标…' and '新兴产业企业数': none, a
    shared '产业' is too little). A piece of the document's title is its topic, which every measure shares, not the
    measure asked: '医疗器械' alone does not pick one of a medical-device plan's targets."""
    for n in range(min(len(question), len(measure)), 1, -1):
        for i in range(len(question) - n + 1):
            piece = question[i:i + n]
            if piece in measure and piece not in title and (n >= 3 or n == len(measure)):
                return n
    return 0


def _one_place_targets(plan: QueryPlan, found: list[Target], docs: dict, index_dir: str | None,
                       by_words_only: bool = False, unnamed_all: bool = False) -> list[Target]:
    """The targets of `found` (one place's, of the years asked) a question about one measure asks for: those whose
    measure shares the longest piece with the question (or a synonym of its words: '百亿' is '100亿'), else, unless
    `by_words_only`, those of the measure group it names, else, with `unnamed_all` and no measure named at all
    ('甲园区和乙园区2027年目标分别多少'), every one; of the kind of figure asked (money, share, count…) when it
    says; with many, per year the largest of the most common unit."""
    from ..query.plan import words
    from ..textnorm import fold
    from .quantity import classes_in

    synonyms = words(index_dir).synonyms
    asked_text = fold(plan.text)
    for place in plan.places:
        asked_text = asked_text.replace(place, "")
    pieces = [asked_text, *(x for t in plan.terms for x in synonyms.get(t, ()))]
    titles = {d: fold(docs[d].doc.title) if d in docs else "" for d in {t.doc for t in found}}
    shared = {id(t): max(_common(p, t.measure, titles[t.doc]) for p in pieces) for t in found}
    best = max(shared.values(), default=0)
    picked = [t for t in found if best and shared[id(t)] == best]
    if not picked and not by_words_only:
        asked = asked_groups(plan.terms, index_dir)
        picked = [t for t in found if measure_group(t.measure, index_dir) in asked]
        if not picked and not asked and not best and unnamed_all:
            picked = list(found)
    if plan.unit_classes:
        picked = [t for t in picked if classes_in(f"{t.value:g}{t.unit}") & plan.unit_classes]
    if len(picked) <= MAX_LISTED:
        return sorted(picked, key=lambda t: (t.year or 0, t.start))
    dated = [t for t in picked if t.year is not None] or picked
    out = []
    for year in sorted({t.year or 0 for t in dated}):
        out.append(headline([t for t in dated if (t.year or 0) == year]))
    return out


def place_targets(plan: QueryPlan, targets: list[Target], docs: dict, allowed: frozenset[str] | None = None,
                  index_dir: str | None = None) -> Answer | None:
    """'甲区的产业规模目标是多少', '甲区到2027年要有几家…企业': a figure asked of one named place's target, answered
    from the targets table: that place's targets of the measure asked (for the years asked), each clause cited under its
    year. The ranked sentences of a search would weigh another place's clause that shares more words, or a yearly
    quota of the same measure, as highly as the place's own target.

    A question with a target word (目标, 指标) may name its measure by group ('产业规模' for 产值); one without, only
    by a year it asks about and the measure's own words. None (answered like any other question) when the question
    is not one (no place with documents of its own, no figure asked, several places) or the table holds no such
    target for that place and year, so a year the documents do not reach is left to the usual refusal."""
    from ..query.compare import compare_words
    from ..textnorm import fold

    if plan.parts or plan.answer_type != "amount" or not plan.docs:
        return None
    targeted = any(x in fold(plan.text) for x in compare_words(index_dir).target_words)
    if not targeted and not plan.years:
        return None
    mine = tuple(d for d in plan.docs if allowed is None or d in allowed)
    found = [t for t in filter_targets(targets, docs=mine) if not plan.years or t.year in plan.years]
    picked = _one_place_targets(plan, found, docs, index_dir, by_words_only=not targeted) if mine else []
    citations: list[Citation] = []
    by_year: dict[int | None, list[str]] = {}
    for t in picked:
        cit = target_citation(len(citations) + 1, t, docs)
        if cit is None:
            continue
        citations.append(cit)
        by_year.setdefault(t.year, []).append(f"{cit.quote}[{cit.n}]")
    if not citations:
        return None
    # each year heads its clauses, unless the first clause says it already ('确保到2027年新增…')
    parts = [(f"到{y}年，" if y and f"{y}年" not in q[0] else "") + "，".join(q) for y, q in by_year.items()]
    return Answer(text="；".join(parts) + "。", citations=citations, backend=BACKEND)


_ENUMERATOR = re.compile(r"^[（(]?[一二三四五六七八九十\d]{1,3}[）)、.．]\s*")


def section_ranking(plan: QueryPlan, targets: list[Target], docs: dict, allowed: frozenset[str] | None = None,
                    index_dir: str | None = None) -> Answer | None:
    """'甲省那7个园区里，2027年规模目标最高的是哪个': one place's document sets a target for each of its sections (one
    per park), and the question asks which is highest or lowest. The targets of one measure group, unit and year
    that stand in sibling sections are ranked, each cited and labelled by its section's heading.

    None when the question is not one (no superlative or target word, no place with documents of its own, several
    places) or no measure has targets in two or more sibling sections."""
    from ..query.compare import compare_words, superlative
    from ..textnorm import fold

    w = compare_words(index_dir)
    q = fold(plan.text)
    direction = superlative(q, w)
    if plan.parts or not plan.docs or not direction or not any(x in q for x in w.target_words):
        return None
    mine = tuple(d for d in plan.docs if allowed is None or d in allowed)
    found = [t for t in filter_targets(targets, docs=mine) if not plan.years or t.year in plan.years]
    asked = asked_groups(plan.terms, index_dir)
    level = lambda t: t.value * comparable_unit(t.unit)[1]  # noqa: E731  the value in the comparable unit
    groups: dict[tuple, dict[str, Target]] = {}
    for t in found:
        record = docs.get(t.doc)
        group = measure_group(t.measure, index_dir)
        if record is None or (asked and group not in asked):
            continue
        path = section_of(t, docs).split(" > ")
        if len(path) < 2:
            continue
        key = (t.doc, " > ".join(path[:-1]), group, comparable_unit(t.unit)[0], t.year)
        label = _ENUMERATOR.sub("", path[-1]).strip()
        best = groups.setdefault(key, {}).get(label)
        if best is None or (level(t) < level(best) if direction == "low" else level(t) > level(best)):
            groups[key][label] = t
    groups = {k: v for k, v in groups.items() if len(v) >= 2}
    if not groups:
        return None
    key, by_label = max(groups.items(), key=lambda kv: (len(kv[1]), group_rank(kv[0][2], index_dir)))
    ordered = sorted(by_label.items(), key=lambda lt: level(lt[1]), reverse=direction != "low")
    citations: list[Citation] = []
    shown = []
    for label, t in ordered:
        cit = target_citation(len(citations) + 1, t, docs)
        if cit is None:
            continue
        citations.append(cit)
        shown.append(f"{label} {t.comparator}{t.value:g}{t.unit}[{cit.n}]")
    if len(citations) < 2:
        return None
    year = f"{key[4]}年" if key[4] else "不限年份"
    word = "最低" if direction == "low" else "最高"
    sep = " < " if direction == "low" else " > "
    top = [label for label, t in ordered if level(t) == level(ordered[0][1])]
    who = "、".join(top) + ("（并列）" if len(top) > 1 else "")
    text = f"按“{key[2]}”（{key[3]}，{year}）比较：{sep.join(shown)}，{word}的是{who}。"
    return Answer(text=text, citations=citations, backend=BACKEND)


def _unique_piece(question: str, label: str, others: list[str], title: str) -> int:
    """The length of the longest piece (three characters or more) of the question that the heading `label` holds
    and no sibling heading does, nor the document's title: '甲市经开区' names one of '甲市经开区…园区' and
    '甲市高新区…园区', '甲市' names neither."""
    for n in range(min(len(question), len(label)), 2, -1):
        for i in range(len(question) - n + 1):
            piece = question[i:i + n]
            if piece in label and piece not in title and not any(piece in o for o in others):
                return n
    return 0


def _first_mention(question: str, label: str) -> int:
    """Where the question first names a heading: the earliest of its two-character pieces the question holds."""
    found = [question.find(label[i:i + 2]) for i in range(len(label) - 1)]
    return min((f for f in found if f >= 0), default=len(question))


def named_sections(plan: QueryPlan, targets: list[Target], docs: dict, allowed: frozenset[str] | None = None,
                   index_dir: str | None = None) -> Answer | None:
    """'甲园区和乙园区2030年的规模目标分别多少': two or more sibling sections of one document (one per park), each
    named in the question by a piece of its heading no other sibling holds, compared as a table: a row per section,
    its targets of the years and measure asked, cited. The places of such sections are seldom in the gazetteer and
    the question may name none, so every document's sections are looked at.

    A place the gazetteer knows names a heading by itself ('甲市和乙市的园区…', however short). None when the
    question asks for no target (no target word and no year with a figure asked), compares places documents are
    about, or names fewer than two sibling sections that hold targets."""
    from ..query.compare import compare_words
    from ..textnorm import fold

    q = fold(plan.text)
    if any(p.docs for p in plan.parts) or not (any(x in q for x in compare_words(index_dir).target_words)
                                               or (plan.years and plan.answer_type == "amount")):
        return None  # places compared that documents are about are rows of a comparison of places
    siblings: dict[tuple[str, str], dict[str, list[Target]]] = {}
    for t in targets:
        record = docs.get(t.doc)
        if record is None or (allowed is not None and t.doc not in allowed):
            continue
        path = section_of(t, docs).split(" > ")
        if len(path) >= 2:
            siblings.setdefault((t.doc, " > ".join(path[:-1])), {}).setdefault(path[-1], []).append(t)
    best: tuple[int, tuple[str, str], list[str]] | None = None
    for key, by_label in siblings.items():
        if len(by_label) < 2:
            continue
        title = fold(docs[key[0]].doc.title)
        labels = list(by_label)
        named = [lab for lab in labels
                 if _unique_piece(q, fold(lab), [fold(o) for o in labels if o != lab], title)
                 or any(p in lab and not any(p in o for o in labels if o != lab) for p in plan.places)]
        if len(named) >= 2 and (best is None or len(named) > best[0]):
            best = (len(named), key, named)
    if best is None:
        return None
    _, key, named = best
    by_label = siblings[key]
    citations: list[Citation] = []
    rows = []
    for label in sorted(named, key=lambda lab: _first_mention(q, fold(_ENUMERATOR.sub("", lab)))):
        found = [t for t in by_label[label] if not plan.years or t.year in plan.years]
        picked = _one_place_targets(plan, found, docs, index_dir, unnamed_all=True)
        cell_cits, texts = [], []
        for t in picked:
            cit = target_citation(len(citations) + 1, t, docs)
            if cit is not None:
                citations.append(cit)
                cell_cits.append(cit.n)
                texts.append(cit.quote)
        cell = TableCell("；".join(texts), cell_cits) if cell_cits else TableCell(NOT_MENTIONED)
        rows.append(TableRow(_ENUMERATOR.sub("", label).strip(), key[0], [cell]))
    if not citations:
        return None
    table = AnswerTable([COLUMN], rows)
    text = "；".join(f"{r.label}：{cell_with_marks(r.cells[0])}" for r in rows) + "。"
    return Answer(text=text, citations=citations, table=table, backend=BACKEND)


def one_place_targets(plan: QueryPlan, targets: list[Target], docs: dict, allowed: frozenset[str] | None = None,
                      index_dir: str | None = None) -> Answer | None:
    """A question about the targets of one named place, or of named sections of one document, answered from the
    targets table: which of a place's sections' targets is highest (`section_ranking`), the targets of sections
    the question names side by side (`named_sections`), else the figure of a measure (`place_targets`); None for
    any other question."""
    for answer in (section_ranking, named_sections, place_targets):
        found = answer(plan, targets, docs, allowed, index_dir)
        if found is not None:
            return found
    return None
