"""Quantitative targets: extracted at ingest by general patterns, stored with the index, listed by `rag targets`,
and used to answer questions about targets. The extraction is scored against hand-annotated targets."""

from __future__ import annotations

import csv
import html as html_lib
import io
import json
import re
import sys

import pytest

from rag.cli import main as cli_main
from rag.store import load_index
from rag.targets import extract_targets
from rag.verify import verify_quote

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))


def test_years_comparators_and_periods_are_read():
    text = ("到2030年，全省新能源汽车产量超过50万辆，营业收入突破1200亿元。"
            "“十四五”期间，新增专精特新企业不少于40家。2028年前建成公共服务平台6个。"
            "2021年，全省营业收入为300亿元。截至2023年底，已建成平台12个。按每人3000元给予一次性补贴。")
    got = {(t.year, t.value, t.unit, t.comparator) for t in extract_targets(text)}
    assert (2030, 1200, "亿元", "突破") in got
    assert (2025, 40, "家", "不少于") in got  # a plan period is read as its last year
    assert (2028, 6, "个", "") in got
    assert not any(v in (300, 12, 3000) for _, v, _, _ in got)  # facts and subsidy amounts are not targets
    for t in extract_targets(text):
        assert verify_quote(text, t.start, t.end, t.quote)


def test_lists_breakdowns_bounds_base_years_and_what_is_no_target():
    text = ("一、工作目标：尽快实现全市口罩日产量500万个（其中：医用N95日产量40万个、医用外科口罩日产量60万个）、"
            "防护服日产量3万件。\n"
            "推动2026年全市小微企业贷款综合融资成本较2025年再下降0.3个百分点。国有大型银行普惠型小微企业贷款增速不低于25%。"
            "员工宿舍每间不超过4人。两天内派出医疗队，实现对12个县区需求的全覆盖。"
            "“公司已预定新设备，让产量达到每日2万套左右，力争早日送到一线。”\n"
            "经排查，外来返岗人员将达36万人。预计将新增床位300张。特制定以下八项举措。")
    got = {(t.value, t.unit): t for t in extract_targets(text)}
    # a target with its bracketed breakdown and the item listed after it
    assert {(500, "万个"), (40, "万个"), (60, "万个"), (3, "万件")} <= set(got)
    assert got[(0.3, "个百分点")].year == 2026  # the year after 推动, not the base year after 较
    assert got[(25, "%")].comparator == "不低于" and got[(25, "%")].year is None  # a bound on a rate: required
    assert (2, "万套") in got  # a quotation's clauses are read one by one
    # a working rule, what a measure reaches, a forecast, the text's own parts: no targets
    assert not {(4, "人"), (12, "个"), (36, "万人"), (300, "张"), (8, "项")} & set(got)
    for t in got.values():
        assert verify_quote(text, t.start, t.end, t.quote)


def test_extraction_meets_the_bars_on_the_annotated_bundled_documents():
    from score_targets import score

    result = score(ROOT / "eval" / "targets_gold.jsonl")
    corpus = result["corpus"]
    assert corpus["precision"] >= 0.9 and corpus["recall"] >= 0.85, corpus


def test_targets_are_stored_with_the_index_and_point_at_their_clauses(corpus_index):
    from rag.targets import EXTRACTOR_VERSION

    index = load_index(corpus_index)
    assert index.manifest["targets"] == EXTRACTOR_VERSION  # stored at ingest, not extracted at load
    assert len(index.records.targets()) == len(index.targets) >= 40
    for t in index.targets:
        assert verify_quote(index.docs[t.doc].doc.source_text, t.start, t.end, t.quote)
        assert t.place == index.docs[t.doc].doc.region


def test_each_target_names_the_section_it_stands_in(corpus_index, capsys):
    """A plan that sets targets per park says which park in its headings: every target stores, at ingest, the
    section path of its clause (as the chunker reads the document), and the JSON, CSV and UI views show it."""
    from rag.chunker import section_at
    from webui.render import targets_table_html

    index = load_index(corpus_index)
    nested = [t for t in index.records.targets() if " > " in t.section]  # as stored, not recomputed at load
    assert len(nested) >= 5
    for t in index.targets:
        assert t.section == section_at(index.docs[t.doc].sections, t.start)
    # sibling sections of one document each hold targets: the per-park case the section tells apart
    parents = {}
    for t in nested:
        parents.setdefault((t.doc, t.section.rsplit(" > ", 1)[0]), set()).add(t.section)
    assert max(len(v) for v in parents.values()) >= 2
    assert cli_main(["targets", "--index", str(corpus_index), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {(r["doc"], r["start"], r["section"]) for r in rows} == {(t.doc, t.start, t.section) for t in index.targets}
    assert cli_main(["targets", "--index", str(corpus_index), "--csv"]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out.lstrip("\ufeff"))))
    assert {r["section"] for r in table} == {t.section for t in index.targets}
    # --section keeps the targets whose heading path holds the text: one park's
    park = nested[0].section
    assert cli_main(["targets", "--index", str(corpus_index), "--section", park, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and {(r["doc"], r["start"]) for r in rows} == {(t.doc, t.start) for t in index.targets
                                                               if park in t.section}
    assert len(rows) < len(index.targets)
    for t in nested:  # the UI cell names the innermost heading (its first phrase); the full path on hover
        html = targets_table_html([t], index.docs)
        m = re.search(r'<td class="target-sec" title="([^"]*)">([^<]+)</td>', html)
        assert "<th>章节</th>" in html and m and html_lib.unescape(m.group(1)) == t.section
        assert 2 <= len(m.group(2).rstrip("…")) <= 24 and t.section.split(" > ")[-1].startswith(m.group(2).rstrip("…"))


def test_cli_lists_targets_as_json_and_csv_with_filters(corpus_index, capsys):
    assert cli_main(["targets", "--index", str(corpus_index), "--year", "2025", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(r["year"] == 2025 for r in rows)
    assert set(rows[0]) == {"place", "doc", "section", "year", "measure", "value", "unit", "comparator", "quote",
                            "start", "end"}
    assert {"measure": "营业收入", "value": 2000, "unit": "亿元", "comparator": "达到"}.items() <= next(
        r for r in rows if r["measure"] == "营业收入").items()
    assert cli_main(["targets", "--index", str(corpus_index), "--place", "绍兴", "--measure", "产值", "--csv"]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out.lstrip("\ufeff"))))
    assert table and all("绍兴" in r["place"] and "产值" in r["measure"] for r in table)
    assert {r["year"] for r in table} >= {"2027", "2035"}


def test_a_question_about_each_places_targets_is_answered_from_the_table(assistant):
    answer = assistant.ask("各地2027年目标分别是多少")
    index = assistant.retriever.index
    assert answer.table is not None and answer.table.columns == ["量化目标"]
    by_n = {c.n: c for c in answer.citations}
    spans = {(t.doc, t.start, t.end): t for t in index.targets}
    filled = 0
    for row in answer.table.rows:
        for n in row.cells[0].citations:
            c = by_n[n]
            t = spans[(c.doc, c.start, c.end)]  # every cited clause is a stored target ...
            assert t.year == 2027 and c.doc == row.doc  # ... of that year and of the row's own document
            filled += 1
        if not row.cells[0].citations:
            assert not [t for t in index.targets if t.doc == row.doc and t.year == 2027]
    assert filled >= 10


def test_which_place_has_the_highest_target_ranks_only_comparable_figures(assistant):
    answer = assistant.ask("哪个地区的目标最高")
    summary = answer.table.summary
    assert summary.startswith("按“产业规模”（亿元，2027年）比较：")
    assert "最高的是河南省" in summary and "无法比较" in summary
    assert "深圳市（目标为" in summary  # its targets are for 2025 and of other measures
    # the table shows what was ranked: a ranked row its one figure (the one the summary cites), a row that could not
    # compare its first few targets, not every target of the plans
    from rag.answer.targets_answer import MAX_LISTED

    by_n = {c.n: c for c in answer.citations}
    ranked = {int(n) for n in re.findall(r"\[(\d+)\]", summary.split("无法比较")[0])}
    assert len(ranked) == 2
    for row in answer.table.rows:
        cited = row.cells[0].citations
        assert len(cited) <= MAX_LISTED
        if set(cited) & ranked:
            assert len(cited) == 1 and by_n[cited[0]].doc == row.doc
    assert len(answer.citations) == sum(len(r.cells[0].citations) for r in answer.table.rows)


def test_a_superlative_with_a_long_subject_is_still_ranked_from_the_table(assistant):
    """'哪个…最' within one clause triggers the ranking however long the subject ('地区2030年的产业规模目标')."""
    answer = assistant.ask("哪个地区2030年的产业规模目标最低？")
    assert answer.table is not None and answer.table.summary.startswith("按“产业规模”（亿元，2030年）比较")
    index = assistant.retriever.index
    for c in answer.citations:
        t = next(t for t in index.targets if (t.doc, t.start, t.end) == (c.doc, c.start, c.end))
        assert t.year == 2030


# Year comparisons of targets: question -> the row labels expected when one place's document answers (None: several
# places, rows labelled '<place> <year>年').
YEAR_QUESTIONS = {
    "河南2027年和2030年的目标分别是多少": ["2027年", "2030年"],
    "越城区2027年和2035年的产值目标分别是多少": ["2027年", "2035年"],
    "2025年和2030年的目标分别是多少": None,
    "深圳和越城区2025年和2035年的目标分别是多少": None,
    "各年度目标对比": None,
}
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")


@pytest.mark.parametrize("question", list(YEAR_QUESTIONS))
def test_a_comparison_by_year_is_a_table_whose_cells_quote_their_own_year(question, assistant):
    answer = assistant.ask(question)
    table = answer.table
    assert table is not None and table.columns == ["量化目标"] and not answer.refused
    index = assistant.retriever.index
    by_n = {c.n: c for c in answer.citations}
    asked = {int(y) for y in _YEAR.findall(question)}
    expected = YEAR_QUESTIONS[question]
    if expected is not None:
        assert [r.label for r in table.rows] == expected
    years_seen, places_seen = set(), set()
    for row in table.rows:
        m = re.fullmatch(r"(?:(.+) )?((?:19|20)\d{2})年", row.label)
        assert m, row.label  # every row is one year (of one place)
        year = int(m.group(2))
        assert (m.group(1) is None) == (expected is not None)
        assert not asked or year in asked
        years_seen.add(year)
        places_seen.add(m.group(1))
        source = index.docs[row.doc].doc.source_text
        cell = row.cells[0]
        if not cell.citations:
            assert cell.text == "未提及" and f"{year}年" not in source  # the document never names that year
            continue
        chunks = index.chunks_of([row.doc])
        for n in cell.citations:
            c = by_n[n]
            assert c.doc == row.doc  # a row quotes its own document only
            assert verify_quote(source, c.start, c.end, c.quote) and c.quote in cell.text
            assert any(ch.start <= c.start and c.end <= ch.end for ch in chunks)  # inside one cited chunk
            # the year the clause is set for: the last year the text names up to the clause's end
            assert int(_YEAR.findall(source[: c.end])[-1]) == year, (row.label, c.quote)
    if expected is None:
        assert len(places_seen) >= 2 and len(years_seen) >= 2
    if asked:
        assert years_seen == asked


def test_the_fitted_classifier_not_a_pattern_decides_which_figures_are_targets():
    """Real clauses of a bundled document: the candidate generator lists every figure, facts included; the fitted
    classifier keeps the '到2025年…达到…' goals and drops the dated facts. With the classifier switched off
    (threshold 0: every candidate kept) the facts come back, so the test fails if the classifier were not applied."""
    from dataclasses import replace

    from rag.loaders import load_document
    from rag.target_candidates import candidates
    from rag.target_model import load_target_model

    doc = load_document(ROOT / "corpus" / "003_221e538f8908b282.txt")
    text = doc.source_text
    fact = "2021年，深圳市高端医疗器械产业营业收入为805亿元"
    stock = "截至2021年底，全市共有医疗器械生产类企业1800多家"
    goal = "到2025年，全市高端医疗器械产业增加值达到650亿元，营业收入达到2000亿元"
    assert fact in text and stock in text and goal in text

    def figures(targets, phrase):
        at = text.index(phrase)
        return {(t.value, t.unit) for t in targets if at <= t.start < at + len(phrase)}

    listed = candidates(text, doc.body_start)
    assert (805, "亿元") in figures(listed, fact) and (1800, "家") in figures(listed, stock)
    kept = extract_targets(text, doc.doc_id, doc.region, doc.body_start)
    assert {(650, "亿元"), (2000, "亿元")} <= figures(kept, goal)
    assert not figures(kept, fact) and not figures(kept, stock)
    everything = extract_targets(text, doc.doc_id, doc.region, doc.body_start,
                                 model=replace(load_target_model(), threshold=0.0))
    assert (805, "亿元") in figures(everything, fact)
    target = next(t for t in kept if t.value == 2000 and t.start >= text.index(goal))
    assert (target.year, target.comparator) == (2025, "达到")


def test_target_threshold_rule_keeps_recall_at_its_bar_before_raising_precision():
    """scripts/fit_targets.py's choice among (out-of-fold scores, threshold) rows: both bars reached -> best F1;
    else the best precision whose recall stays at its bar; else the best F1."""
    from fit_targets import choose

    rows = [({"precision": 0.95, "recall": 0.70}, 0.6), ({"precision": 0.87, "recall": 0.86}, 0.3),
            ({"precision": 0.80, "recall": 0.90}, 0.2)]
    assert choose(rows, 0.9, 0.85)[0][1] == 0.3  # not the precise 0.6: it gives up the recall bar
    assert choose(rows, 0.9, 0.95)[0][1] == 0.3  # no row keeps recall 0.95: best F1
    rows.append(({"precision": 0.91, "recall": 0.86}, 0.4))
    assert choose(rows, 0.9, 0.85)[0][1] == 0.4
    assert choose(rows, 0.0, 0.0)[0][1] == 0.4  # no bars: the best F1, the shipped model's rule


def _target(measure, value, unit, year, start):
    from rag.targets import Target

    return Target(place="甲市", doc="a.txt", year=year, measure=measure, value=value, unit=unit, comparator="达到",
                  quote="", start=start, end=start + 10)


def test_a_row_lists_its_few_targets_of_the_measure_asked_and_the_headline_of_many():
    from rag.answer.targets_answer import MAX_LISTED, asked_targets, measure_group
    from rag.query.compare import CompareRow

    measure = "研发投入占比"
    assert measure_group(measure) != measure  # a measure of the lexicon's groups, so the row's terms narrow to it
    row = CompareRow("甲市", ("a.txt",), "甲市研发投入占比目标", (), ("研发投入", "占比"))
    other = _target("企业数量", 500, "家", 2027, 0)
    # an absolute and a relative level of one measure, for two years: both are answers, neither is 'the largest'
    few = [_target(measure, 50, "%", None, 100), _target(measure, 6, "%", 2035, 50), other]
    got = asked_targets(row, few)
    assert [(t.value, t.year) for t in got] == [(50, None), (6, 2035)]
    many = [_target(measure, v, "%", 2025, 10 * i) for i, v in enumerate((3, 4, 5, 9, 6)[: MAX_LISTED + 1])]
    assert [t.value for t in asked_targets(row, many + [other])] == [9]  # the headline figure of the measure


def test_which_year_the_targets_run_to_is_answered_with_each_places_target_years(assistant):
    """'目标分别定到哪一年' asks for years: the summary names, per place, every year its documents set targets for,
    each cited to a target clause of that year; the table below lists those targets year by year."""
    answer = assistant.ask("河南、越城区和深圳的目标分别定到哪一年？")
    table = answer.table
    assert table is not None and not answer.refused and table.summary.startswith("目标年份：")
    index = assistant.retriever.index
    by_n = {c.n: c for c in answer.citations}
    places = re.findall(r"([^：；。]+)：([^；。]+)", table.summary[len("目标年份："):])
    assert len(places) == 3
    for label, years in places:
        docs = {r.doc for r in table.rows if r.label.startswith(label + " ")}
        cited = [(int(y), int(n)) for y, n in re.findall(r"((?:19|20)\d{2})年\[(\d+)\]", years)]
        assert docs and {y for y, _ in cited} == {t.year for t in index.targets if t.doc in docs and t.year}
        for year, n in cited:
            c = by_n[n]
            source = index.docs[c.doc].doc.source_text
            assert c.doc in docs and int(_YEAR.findall(source[: c.end])[-1]) == year


# A figure asked of one place's target: question -> (the place's document title holds, the asked year or None,
# the kind of figure asked, a word the measure of every cited target holds or None).
ONE_PLACE_QUESTIONS = {
    "越城的产业规模目标是多少？": ("越城", None, "亿元", None),
    "越城区到2027年产值目标是多少？": ("越城", 2027, "亿元", "产值"),
    "深圳到2025年营业收入目标是多少？": ("深圳", 2025, "亿元", "营业收入"),
    "河南的产业规模目标是多少？": ("河南", None, "亿元", None),
    # no target word: a year asked and the measure's own words
    "河南到2027年要培育多少家专精特新企业？": ("河南", 2027, "家", "专精特新"),
    "深圳到2025年要形成几个千亿级园区？": ("深圳", 2025, "个", "千亿级"),
}


@pytest.mark.parametrize("question", list(ONE_PLACE_QUESTIONS))
def test_a_figure_asked_of_one_places_target_quotes_that_places_targets(question, assistant):
    """Every cited clause is a stored target of the named place's own document (never another place's plan that
    shares more words), of the asked year, of the kind of figure asked, and the answer heads each with its year."""
    title_word, year, unit, measure_word = ONE_PLACE_QUESTIONS[question]
    answer = assistant.ask(question)
    index = assistant.retriever.index
    assert not answer.refused and answer.table is None and answer.citations and answer.backend == "targets"
    spans = {(t.doc, t.start, t.end): t for t in index.targets}
    for c in answer.citations:
        t = spans[(c.doc, c.start, c.end)]
        assert title_word in index.docs[c.doc].doc.title
        assert t.year is not None and f"{t.year}年" in answer.text
        assert year is None or t.year == year
        assert unit in c.quote and (measure_word is None or measure_word in t.measure)


def test_a_year_the_places_targets_do_not_reach_is_not_answered_from_another_year():
    """No target of the asked year: the table gives nothing, the question is left to the usual answer and gate."""
    from rag.answer.place_targets import place_targets
    from rag.query.plan import plan_question

    plan = plan_question("甲市2030年的产业规模目标是多少？")
    plan = type(plan)(**{**plan.__dict__, "place_docs": (("甲市", ("a.txt",)),), "places": ("甲市",)})
    targets = [_target("产业规模", 500, "亿元", 2027, 0), _target("产业规模", 900, "亿元", 2035, 50)]
    assert place_targets(plan, targets, {}) is None


def test_one_places_targets_are_narrowed_to_the_measure_the_question_names():
    """The measure sharing the longest piece of the question wins ('医疗器械产品数量' picks the product counts, not
    another count that only shares '医疗器械'); a question naming a measure group picks that group's targets, of the
    kind of figure asked, and of many, each year's headline."""
    from rag.answer.place_targets import _one_place_targets
    from rag.query.plan import plan_question

    products = [_target("新增医疗器械产品", 30, "个", None, 0), _target("医疗器械产品", 600, "种", 2027, 20),
                _target("建成医疗器械科创片区", 5, "个", 2027, 40), _target("研发投入占比", 6, "%", 2035, 60)]
    got = _one_place_targets(plan_question("甲市的医疗器械产品数量目标是多少？"), products, {}, None)
    assert sorted(t.start for t in got) == [0, 20]
    sizes = [_target("全口径产值", 300, "亿元", 2027, 0), _target("工业产值", 100, "亿元", 2027, 20),
             _target("全口径产值", 1000, "亿元", 2035, 40), _target("工业产值", 200, "亿元", 2035, 60),
             _target("全口径产值增速", 20, "%", None, 80), _target("研发投入占比", 6, "%", 2035, 100)]
    got = _one_place_targets(plan_question("甲市的产业规模目标是多少？"), sizes, {}, None)
    assert [(t.year, t.value) for t in got] == [(2027, 300), (2035, 1000)]  # money only; the headline per year
    # the document's topic, in its title, is no measure: '医疗器械' does not pick 全口径产值 for '医疗器械工业产值'
    from rag.answer.place_targets import _common

    title = "甲市关于推进医疗器械产业高质量发展的实施意见"
    assert _common("医疗器械工业产值目标", "医疗器械全口径产值", title) == 0
    assert _common("医疗器械工业产值目标", "工业产值", title) == 4


@pytest.mark.parametrize("question,direction", [("河南的园区中，2030年产业规模目标最低的是哪个？", "low"),
                                                ("河南方案的几个园区，哪个2027年的规模目标最高？", "high")])
def test_which_section_of_one_plan_has_the_highest_target_ranks_its_sibling_sections(question, direction, assistant):
    """One place's plan sets a target per section (one per park): the ranking quotes one target of each sibling
    section, of one measure group, unit and the asked year, in order, and names the top one(s) by heading."""
    from rag.chunker import section_at

    answer = assistant.ask(question)
    index = assistant.retriever.index
    assert not answer.refused and answer.table is None and len(answer.citations) >= 2
    year = int(_YEAR.findall(question)[0])
    spans = {(t.doc, t.start, t.end): t for t in index.targets}
    cited = [spans[(c.doc, c.start, c.end)] for c in answer.citations]  # each a stored target ...
    assert {t.year for t in cited} == {year} and len({t.unit for t in cited}) == 1  # ... of the year, one unit
    assert all("河南" in index.docs[t.doc].doc.title for t in cited)
    paths = [section_at(index.docs[t.doc].sections, t.start).split(" > ") for t in cited]
    assert len({tuple(p[:-1]) for p in paths}) == 1 and len({p[-1] for p in paths}) == len(paths)  # siblings
    values = [t.value for t in cited]
    assert values == sorted(values, reverse=direction == "high")
    top = [p[-1] for p, t in zip(paths, cited) if t.value == values[0]]
    named = answer.text.split("的是", 1)[1]
    assert all(h.split("）", 1)[-1] in named for h in top)


@pytest.mark.parametrize("question", ["新乡和商丘的园区2027年产业规模目标分别是多少？",
                                      "航空港区和信阳那两个园区到2030年的规模目标各是多少？",
                                      # no measure named: the sections' targets of the year, whatever they measure
                                      "航空港区和新乡的园区2027年目标分别多少？"])
def test_sections_of_one_plan_named_side_by_side_are_rows_of_their_own_targets(question, assistant):
    """Parks a province's plan sets targets for, one section each, named in the question by their place or a piece
    of their heading no other park's holds: one row per park, its cell quoting that section's target of the year."""
    from rag.chunker import section_at

    answer = assistant.ask(question)
    table = answer.table
    index = assistant.retriever.index
    assert table is not None and table.columns == ["量化目标"] and len(table.rows) == 2
    year = int(_YEAR.findall(question)[0])
    spans = {(t.doc, t.start, t.end): t for t in index.targets}
    by_n = {c.n: c for c in answer.citations}
    parents = set()
    for row in table.rows:
        assert row.cells[0].citations and row.cells[0].text != "未提及"
        for n in row.cells[0].citations:
            c = by_n[n]
            t = spans[(c.doc, c.start, c.end)]
            path = section_at(index.docs[c.doc].sections, c.start).split(" > ")
            assert t.year == year and path[-1].endswith(row.label)  # the row's own section, the asked year
            parents.add((c.doc, tuple(path[:-1])))
    assert len(parents) == 1  # sibling sections of one document


def test_a_rows_scale_asked_in_a_measure_it_lacks_is_its_figures_of_that_kind():
    """'产业规模目标' of a plan that states its scale as 增加值 and 营业收入 only: the row lists its money targets, not
    every figure of the plan."""
    from rag.answer.targets_answer import asked_targets
    from rag.query.compare import CompareRow

    row = CompareRow("甲市", ("a.txt",), "甲市产业规模目标是多少", (), ("产业规模", "目标"))
    targets = [_target("产业增加值", 650, "亿元", 2025, 0), _target("营业收入", 2000, "亿元", 2025, 20),
               _target("研发投入强度", 10, "%", 2025, 40), _target("新增企业", 3, "家", 2025, 60)]
    assert [t.value for t in asked_targets(row, targets, None, frozenset({"money"}))] == [650, 2000]
    # no kind of figure to go by either: none (the cell says 未提及; a table with no target at all is answered by the
    # comparison of clauses instead), not every target of the plan
    assert asked_targets(row, targets) == []
    unnamed = CompareRow("甲市", ("a.txt",), "甲市的目标是多少", (), ("目标",))
    assert len(asked_targets(unnamed, targets)) == 4  # no measure named: every target of the row


def test_a_row_without_the_measure_asked_shows_its_targets_of_the_same_kind(assistant):
    """'深圳和绍兴分别提出了什么产业规模目标': 深圳's plan sets no 产业规模 target but states its scale as 增加值 and
    营业收入 in 亿元, the kind of figure 绍兴's 产业规模 targets are in; that row shows those, not every target of
    the plan (counts of enterprises, R&D shares…)."""
    answer = assistant.ask("深圳和绍兴分别提出了什么产业规模目标？")
    index = assistant.retriever.index
    spans = {(t.doc, t.start, t.end): t for t in index.targets}
    by_n = {c.n: c for c in answer.citations}
    row = next(r for r in answer.table.rows if r.label == "深圳")
    shown = [spans[(by_n[n].doc, by_n[n].start, by_n[n].end)] for n in row.cells[0].citations]
    assert shown and all(t.unit.endswith("元") for t in shown)
    assert any(t.value == 2000 and "营业收入" in t.measure for t in shown)
    mine = [t for t in index.targets if t.doc == row.doc]
    assert len(shown) < len(mine)


def test_a_row_with_no_target_of_the_measure_asked_says_not_mentioned(assistant):
    """'三地的研发投入目标分别是多少': a plan that sets no R&D target (of that measure or its kind) gets 未提及, not
    every other target of the plan; the rows that set one quote only those."""
    from rag.answer.targets_answer import measure_group

    answer = assistant.ask("河南、深圳、越城三地的研发投入目标分别是多少？")
    index = assistant.retriever.index
    spans = {(t.doc, t.start, t.end): t for t in index.targets}
    by_n = {c.n: c for c in answer.citations}
    group = measure_group("研发投入")
    for row in answer.table.rows:
        mine = [t for t in index.targets if t.doc == row.doc and measure_group(t.measure) == group]
        if not mine:
            assert row.cells[0].text == "未提及" and not row.cells[0].citations, row.label
        else:
            cited = [spans[(by_n[n].doc, by_n[n].start, by_n[n].end)] for n in row.cells[0].citations]
            assert cited and all(measure_group(t.measure) == group for t in cited), row.label
    assert any(r.cells[0].text == "未提及" for r in answer.table.rows)
    assert sum(bool(r.cells[0].citations) for r in answer.table.rows) >= 2
