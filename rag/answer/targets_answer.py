"""Questions about targets ('各地2025年目标', '哪个地区的目标最高') answered from the targets table stored with the
index (`rag/targets.py`): one row per place or document, its targets for the asked year as verified clauses, and for
a superlative the ranking of figures of one measure group, one unit and one year, naming what it could not compare.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..query import QueryPlan
from ..query.compare import ComparePlan, CompareRow
from ..render import cell_with_marks
from ..targets import Target, filter_targets, section_of
from ..types import Answer, AnswerTable, Citation, TableCell, TableRow
from .base import REFUSAL
from .quantity import comparable_unit

COLUMN = "量化目标"
NOT_MENTIONED = "未提及"
MAX_LISTED = 3  # targets of the asked measure a row lists in full; with more, it shows the headline figure


@lru_cache(maxsize=8)
def measure_groups(index_dir: str | None = None) -> dict[str, tuple[str, ...]]:
    """Groups of measure words that compare (lexicon `target_measures`)."""
    from ..lexicon import load_map

    return load_map("target_measures", index_dir)


def measure_group(measure: str, index_dir: str | None = None) -> str:
    """The group of a target's measure, by the group word ending last in it (a Chinese noun phrase ends in its
    head: '规模以上企业平均研发投入强度' is 研发投入), else the measure itself."""
    best, best_end = measure, -1
    for group, words in measure_groups(index_dir).items():
        for w in words:
            i = measure.rfind(w)
            if i >= 0 and i + len(w) > best_end:
                best, best_end = group, i + len(w)
    return best


def asked_groups(terms: tuple[str, ...], index_dir: str | None = None) -> set[str]:
    """The measure groups a question's words (or their synonyms) name ('产值' is 产业规模)."""
    from ..query.plan import words

    synonyms = words(index_dir).synonyms
    found = {x for t in terms for x in (t, *synonyms.get(t, ()))}
    return {measure_group(term, index_dir) for term in found} & set(measure_groups(index_dir))


def asked_targets(row: CompareRow, targets: list[Target], index_dir: str | None = None,
                  classes: frozenset[str] = frozenset()) -> list[Target]:
    """A row's targets for the years its question names, narrowed to the measure it names (synonyms included)
    when it has targets of that measure, else, when the question names a measure, to the kind of figure it asks
    for (`classes`: money, share, count…; a plan giving its scale as 营业收入 and 增加值 has money targets)."""
    from .quantity import classes_in

    if not row.docs:  # a place no document is about has no targets (filter_targets reads no documents as all)
        return []
    found = [t for t in filter_targets(targets, docs=row.docs) if not row.years or t.year in row.years]
    asked = asked_groups(row.terms, index_dir)
    narrowed = [t for t in found if measure_group(t.measure, index_dir) in asked]
    if not narrowed and asked and classes:
        narrowed = [t for t in found if classes_in(f"{t.value:g}{t.unit}") & classes]
    if not narrowed:
        # no measure named: every target; a measure named that the row sets no target of (nor of its kind): none,
        # and the cell says 未提及 ('研发投入目标' of a plan that sets none is not its every other target)
        return [] if asked else found
    if len(narrowed) <= MAX_LISTED:
        # A few targets of the measure (one for 2027 and one for 2035, or an absolute level and a relative one):
        # each is an answer, and picking one by size would compare figures that do not compare.
        return sorted(narrowed, key=lambda t: (t.year or 0, t.start))
    # Many: the row's headline figure of the measure, the largest of the most common unit (a plan's province-wide
    # total rather than each park's share).
    return [headline(narrowed)]


def stated_kinds(rows, targets: list[Target], index_dir: str | None = None) -> frozenset[str]:
    """The kind of figure (money, share, count…) most targets of the measure asked are stated in, in the rows that
    have such targets: '甲市和乙市分别提出了什么产业规模目标' — 乙市 states 产业规模 in 亿元, so 甲市, which sets no
    target of that measure, shows its money targets (增加值, 营业收入), not every target of its plan."""
    from collections import Counter

    from .quantity import classes_in

    kinds: Counter = Counter()
    for row in rows:
        asked = asked_groups(row.terms, index_dir)
        if not asked or not row.docs:
            continue
        for t in filter_targets(targets, docs=row.docs):
            if (not row.years or t.year in row.years) and measure_group(t.measure, index_dir) in asked:
                kinds.update(classes_in(f"{t.value:g}{t.unit}"))
    if not kinds:
        return frozenset()
    top = max(kinds.values())  # the kind most of them are stated in (a growth rate beside levels in 亿元: 亿元)
    return frozenset(k for k, n in kinds.items() if n == top)


def headline(targets: list[Target]) -> Target:
    """The headline figure of some targets of one measure: the largest of their most common unit."""
    units = [t.unit for t in targets]
    unit = max(set(units), key=units.count)
    return max((t for t in targets if t.unit == unit), key=lambda t: t.value)


def group_rank(group: str, index_dir: str | None = None) -> int:
    """How early a measure group is listed in the lexicon (higher is earlier; unlisted ones last): of several
    groups that could be ranked, the first listed is."""
    order = list(measure_groups(index_dir))
    return -order.index(group) if group in order else -len(order)


def target_citation(n: int, t: Target, docs: dict) -> Citation | None:
    """Citation [n] of a target's clause, verified against its document's text (None when it no longer is)."""
    from ..verify import quote_at

    record = docs.get(t.doc)
    if record is None:
        return None
    quote = quote_at(record.doc.source_text, t.start, t.end)
    if not quote:
        return None
    return Citation(n=n, doc=t.doc, title=record.doc.title, section=section_of(t, docs),
                    quote=quote, start=t.start, end=t.end)


@dataclass(frozen=True)
class _Fig:
    label: str
    target: Target
    n: int
    value: float
    unit: str
    group: str


_Group = tuple[tuple[str, str, int | None], dict[str, _Fig]]


def compared_group(figs: list[_Fig], direction: str) -> _Group | None:
    """The largest comparable group of figures (one measure group, unit and year; ties: the group listed first in
    the lexicon, then the later year) with each row's highest (or lowest) figure in it; None without figures."""
    groups: dict[tuple[str, str, int | None], dict[str, _Fig]] = {}
    for f in figs:
        key = (f.group, f.unit, f.target.year)
        best = groups.setdefault(key, {}).get(f.label)
        better = best is None or (f.value < best.value if direction == "low" else f.value > best.value)
        if better:
            groups[key][f.label] = f
    if not groups:
        return None
    return max(groups.items(), key=lambda kv: (len(kv[1]), group_rank(kv[0][0]), kv[0][2] or 0))


def rank_targets(figs: list[_Fig], labels: list[str], direction: str, chosen: _Group | None = None) -> str:
    """Rank the largest comparable group (`compared_group`, or `chosen`); say which rows could not compare, and
    what their targets measure (read from `figs`)."""
    chosen = chosen or compared_group(figs, direction)
    if chosen is None:
        return "这些文件中没有可以比较的量化目标。"
    key, by_label = chosen
    ordered = sorted(by_label.values(), key=lambda f: f.value, reverse=direction != "low")
    year = f"{key[2]}年" if key[2] else "不限年份"
    head = f"按“{key[0]}”（{key[1]}，{year}）比较"
    shown = lambda f: f"{f.label} {f.target.comparator}{f.target.value:g}{f.target.unit}[{f.n}]"  # noqa: E731
    if len(ordered) >= 2:
        word = "最低" if direction == "low" else "最高"
        sep = " < " if direction == "low" else " > "
        text = f"{head}：{sep.join(shown(f) for f in ordered)}，{word}的是{ordered[0].label}。"
    else:
        text = f"{head}只有一个地区有数字：{shown(ordered[0])}，无法排序。"
    compared = set(by_label)
    others = []
    for label in labels:
        if label in compared:
            continue
        mine = [f for f in figs if f.label == label]
        if mine:
            kinds = "、".join(list(dict.fromkeys(
                f"{f.group}（{f.unit}，{f.target.year or '未写年份'}）" for f in mine))[:3])
            others.append(f"{label}（目标为{kinds}，与上面不是同一指标或单位）")
        else:
            others.append(f"{label}（没有这样的量化目标）")
    if others:
        text += "无法比较：" + "；".join(others) + "。"
    return text


def year_rows(rows: tuple[CompareRow, ...], targets: list[Target]) -> tuple[CompareRow, ...]:
    """A table by year: each row split into one row per year, the years asked (of a row whose documents set a
    target in one of them) or, none asked ('各年度'), every year its documents set targets for. Labelled by year, or
    by place and year when several rows are split."""
    out: list[tuple[CompareRow, int]] = []
    for row in rows:
        dated = sorted({t.year for t in filter_targets(targets, docs=row.docs) if t.year is not None})
        years = list(row.years) if row.years else dated
        if row.years and not set(dated) & set(row.years) and len(rows) > 1:
            continue  # this place sets no target for any year asked: no rows of 未提及 only
        out.extend((row, y) for y in years)
    if not out:  # no place has a target in the years asked: keep every row, each cell will say 未提及
        out = [(row, y) for row in rows for y in row.years]
    one = len({row.label for row, _ in out}) == 1
    return tuple(CompareRow(f"{y}年" if one else f"{row.label} {y}年", row.docs, row.text, (y,), row.terms)
                 for row, y in out)


def target_years(rows: tuple[CompareRow, ...], targets: list[Target], cited: dict) -> str:
    """'目标分别定到哪一年': the years each row's documents set targets for, the latest last, each with the citation
    of its first target clause in the table (`cited`: (docs, year) -> [n])."""
    found = []
    for row in rows:
        years = sorted({t.year for t in filter_targets(targets, docs=row.docs) if t.year is not None})
        label = f"{row.label}：" if row.label and len(rows) > 1 else ""
        marks = [f"{y}年" + (f"[{cited[(row.docs, y)]}]" if (row.docs, y) in cited else "") for y in years]
        found.append(f"{label}{'、'.join(marks)}" if years else f"{label}没有写明年份的量化目标")
    return "目标年份：" + "；".join(found) + "。"


def targets_answer(cplan: ComparePlan, plan: QueryPlan, targets: list[Target], docs: dict,
                   index_dir: str | None = None) -> Answer | None:
    """A comparison of targets as a table: per row its targets' clauses (for the years the row's question names)
    of the measure asked (all of them when the row has none of that measure), cited. A question by year gets a
    row per year (per place and year). None when the question describes the target in other words and asks for no
    figure (no measure, year, ranking or amount: '各自的近期目标是什么样的'), which the clauses of a comparison table
    answer instead."""
    from ..query.compare import aspect_words, compare_words

    if not any(row.docs for row in cplan.rows):
        # places no document is about ('甲和乙的园区…'): they may head sections of one document instead
        from .place_targets import named_sections

        return named_sections(plan, targets, docs, None, index_dir)
    figure = (cplan.superlative or cplan.by_year or plan.years or plan.answer_type == "amount"
              or any(asked_groups(row.terms, index_dir) for row in cplan.rows))
    w = compare_words(index_dir)
    known = (*w.target_words, *cplan.aspects, *(x for a in cplan.aspects for x in aspect_words(a, index_dir)))
    if not figure and any(not any(t in k for k in known) and not w.triggers.search(t) for t in plan.terms):
        # '各自的近期目标是要建成什么样的产业集群': a target described by other words, with no measure, year, ranking or
        # amount asked; the table of figures would list every number of the plans ('各地的目标' alone still gets it)
        return None
    table_rows = year_rows(cplan.rows, targets) if cplan.by_year else cplan.rows
    kinds = plan.unit_classes or stated_kinds(table_rows, targets, index_dir)
    picked = [asked_targets(row, targets, index_dir, kinds) for row in table_rows]
    rows, citations, figs, first_cited = _target_cells(table_rows, picked, docs, index_dir)
    summary, chosen = "", None
    if cplan.superlative:
        chosen = compared_group(figs, cplan.superlative)
        if chosen is not None:
            # '哪个地区的目标最高': each row shows the figure it is ranked by, and a row that could not compare its
            # first few targets (MAX_LISTED), not every target of the plans
            key, by_label = chosen
            shown = [[by_label[row.label].target] if row.label in by_label else ts[:MAX_LISTED]
                     for row, ts in zip(table_rows, picked)]
            rows, citations, small, first_cited = _target_cells(table_rows, shown, docs, index_dir)
            mine = {(f.label, f.target.start, f.target.doc): f for f in small}
            chosen = (key, {lab: mine[(lab, f.target.start, f.target.doc)] for lab, f in by_label.items()})
        summary = rank_targets(figs, [r.label for r in rows], cplan.superlative, chosen)
    elif cplan.by_year and cplan.answer_type == "date":
        summary = target_years(cplan.rows, targets, first_cited)
    table = AnswerTable([COLUMN], rows)
    table.summary = summary
    if not citations:
        return Answer(text=REFUSAL, refused=True, table=table)
    lines = [f"{r.label}：{cell_with_marks(r.cells[0])}" for r in rows]
    text = (table.summary + "\n" if table.summary else "") + "；".join(lines) + "。"
    return Answer(text=text, citations=citations, table=table)


def _target_cells(table_rows, picked: list[list[Target]], docs: dict, index_dir: str | None = None):
    """The table's rows for the targets picked per row, their citations (a clause cited by two rows once), the
    figures (`_Fig`, for ranking) and, per (documents, year) of a one-year row, its first citation."""
    citations: list[Citation] = []
    by_span: dict[tuple[str, int, int], int] = {}
    rows, figs = [], []
    first_cited: dict[tuple[tuple[str, ...], int], int] = {}
    for row, row_targets in zip(table_rows, picked):
        cell_cits: list[int] = []
        texts: list[str] = []
        for t in row_targets:
            key = (t.doc, t.start, t.end)
            if key not in by_span:
                cit = target_citation(len(citations) + 1, t, docs)
                if cit is None:
                    continue
                citations.append(cit)
                by_span[key] = cit.n
            n = by_span[key]
            if n not in cell_cits:  # a clause another row cites too is quoted in this row's cell as well
                cell_cits.append(n)
                texts.append(citations[n - 1].quote)
            unit, factor = comparable_unit(t.unit)
            figs.append(_Fig(row.label, t, n, t.value * factor, unit, measure_group(t.measure, index_dir)))
        if cell_cits and len(row.years) == 1:
            first_cited.setdefault((row.docs, row.years[0]), cell_cits[0])
        cell = TableCell("；".join(texts), cell_cits) if cell_cits else TableCell(NOT_MENTIONED)
        doc = citations[cell_cits[0] - 1].doc if cell_cits else (row.docs[0] if row.docs else "")
        rows.append(TableRow(row.label, doc, [cell]))
    return rows, citations, figs, first_cited
