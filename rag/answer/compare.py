"""Comparison answers as tables: one row per place or document, one column per aspect, each cell a short verified
quote of the row's own documents with its [n], or 未提及 when those documents say nothing on the aspect.

Each cell is retrieved within its row's documents only (one `Retriever.search_parts` call for the whole table: the
one place per-place retrieval happens), so one document can never fill another's row. The fitted selector ranks the
clauses of those hits; a cell takes the best one that holds one of the aspect's words. A question asking for the
highest or lowest figure ('哪个最高') is answered from the table's own figures, sorting only those of the same
measure and unit and naming the rows it could not compare.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace

from ..query import QueryPlan, plan_question
from ..query.compare import ComparePlan, CompareRow, aspect_words
from ..render import cell_with_marks
from ..textnorm import THOUSANDS_COMMA, sentence_spans
from ..types import Answer, AnswerTable, Citation, Hit, TableCell, TableRow
from .cite import make_citation
from .extractive import trim_to_years
from .features import sentence_bounds
from .quantity import comparable_unit, number_value, quantities, split_quantity
from .select import select
from .sentsim import SentenceSims

log = logging.getLogger(__name__)

NOT_MENTIONED = "未提及"
MAX_CELL = 120  # characters: a cell is a short quote; longer clauses are cut to the clauses around the aspect word
_HEADING_ONLY = re.compile(r"^[（(]?[一二三四五六七八九十\d]{1,3}[）)、.．]?\s*\S{0,16}[。：:]?$")
_CLAUSE = re.compile(rf"(?:[^，,；;。]|{THOUSANDS_COMMA})+[，,；;。]?")  # '33,700人' is one clause
# a numbered heading of two short phrases ('（一）产业规模持续壮大，集聚效应显著增强。')
_NUMBERED_HEADING = re.compile(r"^[（(]?[一二三四五六七八九十\d]{1,3}[）)、.．]"
                               r"[^，,。；;]{0,20}[，,][^，,。；;]{0,20}[。；;]?$")
_FIGURE_CLASSES = ("money", "percent", "count", "org", "people", "area", "duration", "distance")


@dataclass(frozen=True)
class _Pick:
    """The clause chosen for one cell: a span [a, b) of a hit's chunk text."""

    hit: Hit
    a: int
    b: int


def cell_plan(row: CompareRow, aspect: str, cplan: ComparePlan, plan: QueryPlan, docs: dict,
              index_dir: str | None) -> QueryPlan:
    """The question one cell answers, read into a plan whose documents are the row's: the row's own question
    when it asks about one aspect, else the row's place, the aspect and what the question is about."""
    if len(cplan.aspects) == 1 and cplan.named_aspects:
        text = row.text
    else:
        words = aspect_words(aspect, index_dir)
        others = {w for a in cplan.aspects for w in aspect_words(a, index_dir)}
        topic = [t for t in plan.terms if not any(t in w or w in t for w in others)]
        text = f"{row.label}{aspect}（{'、'.join(words[1:4])}）{''.join(topic[:4])}"
    sub = plan_question(text, docs, index_dir=index_dir)
    return replace(sub, place_docs=((row.label, row.docs),), parts=(), label=row.label,
                   years=sub.years or plan.years)


_BRACKETS = re.compile(r"[（）()]")


def _holds(text: str, words: tuple[str, ...]) -> bool:
    """Does the text hold one of the words, brackets aside ('首台（套）' holds 首台套)?"""
    bare = _BRACKETS.sub("", text)
    return any(w in text or w in bare for w in words)


def _shorten(text: str, a: int, b: int, words: tuple[str, ...]) -> tuple[int, int]:
    """Cut a long span to whole clauses around the first aspect word, at most MAX_CELL characters."""
    if b - a <= MAX_CELL:
        return a, b
    clauses = [(a + m.start(), a + m.end()) for m in _CLAUSE.finditer(text[a:b])]
    hit = next((i for i, (x, y) in enumerate(clauses) if _holds(text[x:y], words)), 0)
    lo = hi = hit
    while True:
        grown = False
        if hi + 1 < len(clauses) and clauses[hi + 1][1] - clauses[lo][0] <= MAX_CELL:
            hi, grown = hi + 1, True
        if lo > 0 and clauses[hi][1] - clauses[lo - 1][0] <= MAX_CELL:
            lo, grown = lo - 1, True
        if not grown:
            break
    x, y = clauses[lo][0], clauses[hi][1]
    while y > x and text[y - 1] in "，,；; ":
        y -= 1
    return x, y


# A note wholly in brackets: who is responsible for a measure ('（省财政厅、…按职责分工负责）', '（牵头单位：…）'),
# never what the measure is
_BRACKET_NOTE = re.compile(r"[（(][^（()）]*(?:[）)][。；;，,]?)?")


def _usable(text: str, words: tuple[str, ...]) -> bool:
    """A sentence a cell may quote: it holds an aspect word and is no heading ('（一）产业规模持续壮大，集聚效应显著
    增强。' is the title of what follows, not a statement) and no bracketed note of who is responsible."""
    text = text.strip()
    return (_holds(text, words) and len(text) >= 8 and not _HEADING_ONLY.match(text)
            and not _NUMBERED_HEADING.match(text) and not _BRACKET_NOTE.fullmatch(text))


def pick_clause(sub: QueryPlan, hits: list[Hit], row_docs: tuple[str, ...], words: tuple[str, ...], docs: dict,
                bm25, sims: SentenceSims | None = None) -> _Pick | None:
    """The best-ranked candidate of the row's hits (never of another document) that holds an aspect word, cut to
    its first sentence that does."""
    own = [h for h in hits if h.chunk.doc_id in row_docs]
    if not own:
        return None
    selection = select(sub, own, docs, bm25, sims=sims)
    for _, c in selection.ranked:
        if c.kind == "chunk" or not _holds(c.text, words):
            continue
        text = c.hit.chunk.text
        usable = [(a, b) for a, b in sentence_spans(text, c.a, c.b) if _usable(text[a:b], words)]
        if not usable:
            continue
        # a run of sentences: the one closest in meaning to the row's question, not merely the first
        a, b = _closest(c, usable, selection.sentence_sims.get(c.hit.chunk.chunk_id)) if len(usable) > 1 else usable[0]
        a, b = trim_to_years(text, a, b, sub.years)
        return _Pick(c.hit, *_shorten(text, a, b, words))
    return None


def _closest(c, usable: list[tuple[int, int]], sent_sims) -> tuple[int, int]:
    """Of a candidate's usable sentences, the one whose stored sentence vector is most similar to the question (the
    first when the chunk has no vectors)."""
    if sent_sims is None:
        return usable[0]
    spans = sentence_bounds(c.hit.chunk)
    if len(spans) != len(sent_sims):
        return usable[0]

    def sim(span):
        a, b = span
        ix = [i for i, (x, y) in enumerate(spans) if x < b and a < y]
        return max((float(sent_sims[i]) for i in ix), default=-1.0)
    return max(usable, key=sim)


def scan_row(chunks, row_docs: tuple[str, ...], words: tuple[str, ...], terms: tuple[str, ...]) -> _Pick | None:
    """When retrieval brought no clause on the aspect: the row's documents' clause holding the most aspect and
    question words, so that 未提及 is said only of documents that hold none of the aspect's words."""
    best, score = None, 0
    for chunk in chunks:
        if chunk.doc_id not in row_docs or not _holds(chunk.text, words):
            continue
        for a, b in sentence_spans(chunk.text):
            s = chunk.text[a:b]
            if not _usable(s, words):
                continue
            bare = _BRACKETS.sub("", s)
            sc = sum(bare.count(w) for w in words) * 2 + sum(1 for t in terms if t in bare)
            if sc > score:
                best, score = _Pick(Hit(chunk, 0.0), a, b), sc
    if best is None:
        return None
    return replace(best, **dict(zip(("a", "b"), _shorten(best.hit.chunk.text, best.a, best.b, words))))


def build_table(cplan: ComparePlan, plan: QueryPlan, retriever, docs: dict, k: int, mode: str | None = None,
                filters=None) -> tuple[AnswerTable, list[Citation]]:
    """The comparison table and its citations (numbered in reading order, one per distinct quoted span)."""
    index_dir = str(retriever.settings.index_dir) if getattr(retriever, "settings", None) else None
    subs = [[cell_plan(r, a, cplan, plan, docs, index_dir) for a in cplan.aspects] for r in cplan.rows]
    flat = [s for row in subs for s in row]
    found = retriever.search_parts(replace(plan, parts=tuple(flat)), k, mode, filters) if flat else []
    sims = SentenceSims.of(retriever)
    found = found or [[] for _ in flat]
    citations: list[Citation] = []
    by_span: dict[tuple[str, int, int], int] = {}
    rows = []
    for i, (row, row_subs) in enumerate(zip(cplan.rows, subs)):
        cells, cited_docs = [], []
        for j, (aspect, sub) in enumerate(zip(cplan.aspects, row_subs)):
            words = cplan.cell_words[j] if j < len(cplan.cell_words) else aspect_words(aspect, index_dir)
            hits = found[i * len(cplan.aspects) + j]
            pick = pick_clause(sub, hits, row.docs, words, docs, retriever.bm25, sims)
            if pick is None:
                pick = scan_row(retriever.index.chunks_of(row.docs), row.docs, words, sub.terms)
            if pick is None and cplan.focus_words and cplan.named_aspects:
                # the documents hold no word of the aspect: a clause on what the question asks about still answers
                pick = pick_clause(sub, hits, row.docs, cplan.focus_words, docs, retriever.bm25, sims)
            cit = None
            if pick is not None and pick.hit.chunk.doc_id in docs:
                cit = make_citation(len(citations) + 1, docs[pick.hit.chunk.doc_id], pick.hit.chunk, pick.a, pick.b)
            if cit is None or not cit.quote:
                cells.append(TableCell(NOT_MENTIONED))
                continue
            key = (cit.doc, cit.start, cit.end)
            if key not in by_span:
                citations.append(cit)
                by_span[key] = cit.n
            cells.append(TableCell(cit.quote, [by_span[key]]))
            cited_docs.append(cit.doc)
        doc = max(set(cited_docs), key=cited_docs.count) if cited_docs else (row.docs[0] if row.docs else "")
        rows.append(TableRow(row.label, doc, cells))
    return AnswerTable(list(cplan.aspects), rows), citations


# -- superlatives ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Figure:
    """A figure of one row: its measure (column), value in the comparable unit, the unit, and its citation."""

    label: str
    measure: str
    value: float
    unit: str
    shown: str
    n: int | None = None


def cell_figures(table: AnswerTable) -> tuple[list[Figure], list[str]]:
    """The first figure of each row's cells (column order), and the rows that have none."""
    figures, missing = [], []
    for row in table.rows:
        fig = None
        for col, cell in zip(table.columns, row.cells):
            for q in quantities(cell.text):
                if q.cls not in _FIGURE_CLASSES:
                    continue
                shown = cell.text[q.start:q.end]
                num, _ = split_quantity(shown, q.unit)
                value = number_value(num)
                if value is None:
                    continue
                unit, factor = comparable_unit(q.unit.lstrip("多余"))
                fig = Figure(row.label, col, value * factor, unit, shown, cell.citations[0] if cell.citations else None)
                break
            if fig:
                break
        if fig:
            figures.append(fig)
        else:
            missing.append(row.label)
    return figures, missing


def rank_figures(figures: list[Figure], missing: list[str], direction: str) -> str:
    """'按…比较：A … > B …，最高的是A[n]。无法比较：…' over the largest group of same-measure, same-unit figures."""
    groups: dict[tuple[str, str], list[Figure]] = {}
    for f in figures:
        groups.setdefault((f.measure, f.unit), []).append(f)
    if not groups:
        return "表中没有可以比较的数字。"
    key, group = max(groups.items(), key=lambda kv: len(kv[1]))
    ordered = sorted(group, key=lambda f: f.value, reverse=direction != "low")
    cite = lambda f: f"[{f.n}]" if f.n else ""  # noqa: E731
    word = "最低" if direction == "low" else "最高"
    sep = " < " if direction == "low" else " > "
    out = []
    if len(ordered) >= 2:
        chain = sep.join(f"{f.label} {f.shown}{cite(f)}" for f in ordered)
        out.append(f"按“{key[0]}”（{key[1]}）比较：{chain}，{word}的是{ordered[0].label}。")
    else:
        out.append(f"只有{ordered[0].label}给出了“{key[0]}”（{key[1]}）的数字{ordered[0].shown}{cite(ordered[0])}，无法排序。")
    skipped = [f"{f.label}（{f.measure}，单位{f.unit}）" for g, fs in groups.items() if g != key for f in fs]
    skipped += [f"{m}（没有数字）" for m in missing]
    if skipped:
        out.append("无法比较：" + "、".join(skipped) + "。")
    return "".join(out)


def table_text(table: AnswerTable) -> str:
    """The table as answer text, row after row: 'label：aspect：quote[n]；…。' (the [n] markers are verified)."""
    lines = []
    for row in table.rows:
        cells = []
        for col, cell in zip(table.columns, row.cells):
            body = cell_with_marks(cell)
            cells.append(f"{col}：{body}" if len(table.columns) > 1 else body)
        lines.append(f"{row.label}：" + "；".join(cells))
    return "；".join(lines) + "。"


def compare_answer(cplan: ComparePlan, plan: QueryPlan, retriever, docs: dict, k: int, mode: str | None = None,
                   filters=None) -> Answer:
    """The answer to a comparison question: the table, its lines as text, the superlative when asked."""
    from .base import REFUSAL

    table, citations = build_table(cplan, plan, retriever, docs, k, mode, filters)
    if not citations:
        return Answer(text=REFUSAL, refused=True, table=table)
    text = table_text(table)
    if cplan.superlative:
        table.summary = rank_figures(*cell_figures(table), cplan.superlative)
        text = table.summary + "\n" + text
    elif cplan.which:
        table.summary = which_rows(table)
        text = table.summary + "\n" + text
    return Answer(text=text, citations=citations, table=table)


def which_rows(table: AnswerTable) -> str:
    """'哪些地区提到了X': the rows whose documents speak of it (a cell quoted) and those whose do not."""
    said = [r.label for r in table.rows if any(c.citations for c in r.cells)]
    silent = [r.label for r in table.rows if not any(c.citations for c in r.cells)]
    text = f"提到的有：{'、'.join(said)}（各引一句原文）。"
    return text + (f"{'、'.join(silent)}的文件中没有提到。" if silent else "")
