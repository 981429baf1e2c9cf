"""Candidate targets and their signals: every figure of a clause, with what a reader weighs to call it a target.

The generator is meant to miss nothing: every number with a unit (money, percent, count, people, area, a period,
'六成', '一倍', 'N个基点', '百亿级') in every clause, with the year the sentence or its paragraph sets. Only figures that the
annotation rule excludes by definition are left out here (`_not_a_level`: class names, '一批', a figure describing
what a count counts, the text counting its own parts, forecasts with 预计, per-unit rules, the scope of a measure, the
figure a change starts from). Whether any other candidate is a target is not decided here: each gets a vector of
signals of its clause (`FEATURES`: target year, comparator, goal and cue words, past-fact markers such as 已/累计/截至,
subsidy and condition words, news text, position...) and the classifier fitted by `scripts/fit_targets.py`
(`rag/target_model.py`) decides. Word lists are lexicon data (`target_words`, `plan_periods`, `news_markers`);
nothing here names a document or a figure.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from .answer.quantity import Quantity, number_value, quantities, split_quantity
from .textnorm import clause_spans, sentence_spans

TARGET_CLASSES = ("money", "percent", "count", "org", "people", "area", "duration")
# A section heading ('三、', '### 三、…', '第二章') ends the year a section's lead paragraph set; a numbered item
# ('（二）', '2.') is inside the section.
_SECTION_HEAD = re.compile(r"\s*(?:#|[一二三四五六七八九十]+\s*[、.．]|第[一二三四五六七八九十]+[章节部分篇])")
_ITEM_HEAD = re.compile(r"\s*(?:[（(][一二三四五六七八九十\d]+[）)]|\d+\s*[、.．])")
_LEAD = re.compile(r"^[\s\d一二三四五六七八九十（）()、.．:：]*(?:[（(][一二三四五六七八九十\d]+[）)])?\s*")
_SCALE_LEVEL = re.compile(r"(\d+|[一二两三四五六七八九十百千]+)\s*(万|亿)级")
_CN_RATIO = re.compile(r"([一二两三四五六七八九十]+)\s*(成|倍)")
_BASIS_POINTS = re.compile(r"(\d+(?:\.\d+)?)\s*个?\s*基点")
_DATED = re.compile(r"\d{1,2}\s*月\s*\d{1,2}\s*日|[上本今去]月|今年|去年|日前|近日")
_STATED = re.compile(r"截至|截止|(?:数据|统计|监测)显示|据统计")

FEATURES = (
    "year_target", "year_bare", "year_carried", "year_leads", "year_period", "year_compared",
    "comp_before", "comp_after", "comp_level", "comp_bound", "comp_upper",
    "cue_sentence", "cue_planned", "ensure_sentence", "goal_word_sentence", "goal_near", "goal_clause",
    "named_goal", "forecast", "will", "bare_forecast",
    "fact_before", "done_before", "cumulative", "current", "stated_sentence", "dated_sentence",
    "benefit_clause", "conditional", "condition_de", "dui_clause",     "listed", "penalty", "law_article",
    "cls_money", "cls_percent", "cls_count", "cls_people", "cls_area", "cls_duration", "cls_level",
    "cn_numeral", "one", "log_value", "range",
    "rule_clause", "rate_measure", "bare_level", "doc_goal_density", "sent_figures",
    "news_doc", "doc_pos", "section_goal", "heading_like", "n_figures", "figure_index", "clause_len", "sent_len",
)


@dataclass(frozen=True)
class TargetWords:
    comparators: tuple[str, ...]
    cues: tuple[str, ...]
    goals: tuple[str, ...]
    facts: tuple[str, ...]
    benefits: tuple[str, ...]
    forecasts: tuple[str, ...]
    levels: tuple[str, ...]
    structure: tuple[str, ...]
    bounds: tuple[str, ...]
    news: tuple[str, ...]
    unit_re: re.Pattern
    periods: dict[str, int]
    year_re: re.Pattern


@lru_cache(maxsize=8)
def target_words(index_dir: str | None = None) -> TargetWords:
    """The target word lists (package data, overridable per index)."""
    from .lexicon import load_list, load_map

    m = load_map("target_words", index_dir)
    periods = {k: int(v[0]) for k, v in load_map("plan_periods", index_dir).items() if v and v[0].isdigit()}
    period_alt = "|".join(re.escape(p) for p in periods) or r"(?!)"
    year_re = re.compile(
        rf"(?P<pre>到|至|力争到|争取到|力争|预计到|计划到|推动|确保|争取|实现)?\s*(?P<year>(?:19|20)\d{{2}})\s*年(?P<post>前|底|末|以前|内)?"
        rf"|[“\"]?(?P<period>{period_alt})[”\"]?(?:期间|时期|末)"
    )
    return TargetWords(
        comparators=tuple(sorted(m.get("comparator", ()), key=len, reverse=True)),
        cues=m.get("cue", ()), goals=m.get("goal", ()), facts=m.get("fact", ()), benefits=m.get("benefit", ()),
        forecasts=m.get("forecast", ()), levels=m.get("level", ()), structure=m.get("structure", ()),
        bounds=m.get("bound", ()), news=load_list("news_markers", index_dir),
        unit_re=re.compile(r"(?<![第\d.])(\d+(?:\.\d+)?)\s*(万|亿)?\s*(" + (
            "|".join(re.escape(u) for u in sorted(m.get("unit", ()), key=len, reverse=True)) or "(?!)") + ")"),
        periods=periods, year_re=year_re,
    )


@dataclass(frozen=True)
class Candidate:
    """One figure of one clause: the fields a target would have, and the clause's signals (`FEATURES` order)."""

    year: int | None
    measure: str
    value: float
    unit: str
    comparator: str
    start: int  # the clause span in the source text
    end: int
    signals: tuple[float, ...]
    kind: str = ""  # the figure's class: money, percent, count, org, people, area, duration, level
    measures: tuple[tuple[str, str], ...] = ()  # (reading, measure) pairs, `measure_readings`



def _opens(sentence: str, end: int) -> bool:
    """Whether the year phrase ending at `end` is set off by a comma ('到2025年，…'): it leads what follows."""
    return re.match(r"\s*[，,：:]", sentence[end:]) is not None


def _year_marks(sentence: str, w: TargetWords) -> list[tuple[int, int | None, bool, bool, bool]]:
    """(offset, year, is_target_year, leads, is_period) for each year phrase of a sentence: 到2027年/2027年前/
    "十四五"期间 set a target year; a bare '2021年' is a date; '较2019年' (the base compared with) is skipped."""
    out = []
    for m in w.year_re.finditer(sentence):
        if m.group("period"):
            out.append((m.start(), w.periods.get(m.group("period")), True, _opens(sentence, m.end()), True))
            continue
        lead = sentence[max(0, m.start("year") - 4): m.start("year")]
        if re.search(r"(?:较|比|相比|比较|同比)\s*$", lead):
            continue
        stated = re.search(r"(?:截至|截止|截至到)\s*$", lead)
        dated = m.group("pre") == "至" and (re.search(r"[日月起]\s*至\s*$", lead) or
                                           re.match(r"\s*\d{1,2}\s*月", sentence[m.end():]))
        target = not stated and not dated and bool(m.group("pre") or m.group("post") in ("前", "以前", "底", "末"))
        out.append((m.start(), int(m.group("year")), target, _opens(sentence, m.end()), False))
    return out


def _comparator(before: str, after: str, w: TargetWords) -> tuple[str, bool]:
    """The comparator right before the number ('超过', '达到') or right after its unit ('以上'); True if before."""
    tail = before[-5:]
    for c in w.comparators:
        if tail.endswith(c):
            return c, True
    for c in w.comparators:
        if after.startswith(c):
            return c, False
    return "", False


def measure_readings(clause: str, qa: int, qb: int, comparator: str) -> tuple[tuple[str, str], ...]:
    """Ways of reading what a figure measures, by name: `before` (the words before it, '产业规模超过90亿元'),
    `after` (the noun after it, '培育…100家以上…龙头企业'), `verb_noun` (the verb before and the noun after, '引进…企业');
    year phrases, cue verbs and the comparator taken off. Which one a kind of figure takes is fitted
    (`scripts/fit_targets.py`, the model's `measure_rule`)."""
    after = clause[qb:].lstrip()
    for c in ("以上", "以内", "左右"):
        if after.startswith(c):
            after = after[len(c):]
    before = clause[:qa]
    if comparator and before.rstrip().endswith(comparator):
        before = before.rstrip()[: -len(comparator)]
    before = re.sub(r"(?:到|至|力争到|力争|争取到)?\s*(?:19|20)\d{2}\s*年(?:前|底|末)?|[“\"]?十[一二三四五六七八九]?五[”\"]?期间",
                    "", before)
    before = _LEAD.sub("", before).strip(" ，,：:")
    before = re.sub(r"^(?:力争|确保|争取|推动|带动|实现|预计|计划|全年|每年|年均)+", "", before)
    verb = before[-4:] if before else ""
    words = re.sub(r"(?:超过|达到|突破|不少于|不低于|高出|提升至|提高到|提高至|增长|达|超|至少|增至)$", "", before)
    words = re.sub(r"(?:进一步|逐步|逐年|稳步|持续)$", "", words)
    words = words[-24:].strip(" ，,") or after.split("，")[0][:12]
    # `segment`: the words before it back to the previous list item or figure, dates and level verbs taken off
    segment = re.split(r"[、，,：:（()）]|\d+(?:\.\d+)?\s*[^\d\s、，,]{0,3}?(?=[^\d])", words)[-1]
    segment = re.sub(r"^(?:在|于)?\s*\d{1,2}\s*月(?:\d{1,2}\s*日|底|末|中旬|上旬|下旬)?(?:前|以前)?", "", segment)
    segment = re.sub(r"(?:恢复到|恢复至|扩大至|扩大到|控制在|保持在|降至|降低到|提高|提升|将|近|每年|累计)+$", "", segment)
    segment = segment.strip(" ，,") or words
    if len(after.strip()) >= 2 and re.match(r"[\u4e00-\u9fffA-Za-z“\"]", after):
        noun = re.split(r"[，,；;。（(]|、(?=\d)", after)[0].strip()
        item = re.split(r"[、和及与]|的目标|的任务", noun)[0].strip() or noun
        return (("before", words), ("after", noun[:24] or words), ("item", item[:24] or words),
                ("verb_noun", (verb + noun)[:24] if len(noun) < 20 else noun[:24]), ("segment", segment))
    return ("before", words), ("after", words), ("item", words), ("verb_noun", words), ("segment", segment)


def _figures(clause: str, w: TargetWords) -> list[Quantity]:
    """Every figure of a clause the generator considers: units from `quantity`, plus '百亿级', '六成', '一倍',
    'N个基点' (which the unit list does not read), overlapping readings dropped in favour of the extra ones."""
    extra = [Quantity(m.start(), m.end(), "级", "level") for m in _SCALE_LEVEL.finditer(clause)]
    extra += [Quantity(m.start(), m.end(), m.group(2), "percent") for m in _CN_RATIO.finditer(clause)]
    extra += [Quantity(m.start(), m.end(), "基点", "percent") for m in _BASIS_POINTS.finditer(clause)]
    base = quantities(clause)
    extra += [Quantity(m.start(), m.end(), (m.group(2) or "") + m.group(3), "count") for m in w.unit_re.finditer(clause)
              if not any(b.start < m.end() and m.start() < b.end for b in base)]
    base = [q for q in base if q.cls in TARGET_CLASSES
            and not any(e.start < q.end and q.start < e.end for e in extra)]
    return sorted(base + extra, key=lambda q: q.start)


def _in_slogan(clause: str, a: int, b: int) -> bool:
    """Whether clause[a:b] sits inside a short quotation ('“四个百万”支持资金计划'): a name, not a figure."""
    open_at = clause.rfind("“", 0, a)
    if open_at < 0 or "”" in clause[open_at:a] or a - open_at > 4:
        return False
    close_at = clause.find("”", b)
    return 0 <= close_at - b <= 4


def _value(shown: str, q: Quantity, after: str) -> tuple[float | None, str, str]:
    """(value, unit, measure noun for a scale level) of a figure as written, 万/亿 multipliers applied."""
    if q.unit == "级":
        m = _SCALE_LEVEL.match(shown)
        return number_value(m.group(1)), m.group(2) + "元", (re.split(r"[，,；;。（(、]", after)[0].strip() + "规模")[:24]
    m = (_CN_RATIO.fullmatch(shown) or _BASIS_POINTS.fullmatch(shown)) if q.unit in ("成", "倍", "基点") else None
    if m:
        return number_value(m.group(1)), q.unit, ""
    num, mult = split_quantity(shown, q.unit)
    value, unit = number_value(num), q.unit.lstrip("多余")
    if value is not None and mult and not q.unit.startswith(mult):
        value *= {"万": 1e4, "亿": 1e8}[mult]
    return value, unit, ""


def _not_a_level(clause: str, q: Quantity, shown: str, before: str, after: str, figures, counted, w) -> bool:
    """Figures that are no level of anything, whatever the clause says: a class name ('二类、三类医疗器械'), a way of
    speaking ('一批', '一些'), an attribute of the things a count counts ('3个规模超80亿元产业园区'), the text
    counting its own parts ('特制定以下十项举措', '20条措施'), a figure inside a short quoted name ('“六个千亿”')."""
    if q.unit == "类" and not shown[:1].isdigit():
        return True
    if shown.startswith("一") and (q.unit in ("批", "些") or after.startswith("性")):
        return True
    if any(a <= q.start < b for a, b in counted):
        return True
    if q.cls not in ("count", "org", "people") and any(q.end <= o.start <= q.end + 12 and o.cls in (
            "count", "org", "people") for o in figures) and \
            re.match(r"(?:以上)?[\u4e00-\u9fff]", after) and not re.match(r"(?:以上)?[，,；;。]", after):
        return True
    if any(re.match(r"[\u4e00-\u9fff]{0,4}?" + re.escape(s), after.lstrip("以上下内左右多余 ")) for s in w.structure):
        return True
    if re.search(r"预计|预测", before):
        return True  # a forecast ('预计将新增床位300张'), which the annotation rule says is no target
    # the annotation rule's definitional exclusions: a rate per unit or an operating rule ('每间不超过4人',
    # '每天至少开展1次消毒'), the scope a measure reaches ('实现对16个地市…全覆盖'), the figure a change starts from
    # ('由N%提升至M%')
    if re.search(r"每(?![年天日月周季])[\u4e00-\u9fff]{0,3}(?:不超过|不少于|不低于|不高于|至少|最多|限)?$", before) or (
            q.unit == "次" and re.search(r"每[天日周月]", before)):
        return True
    if re.search(r"(?:对|与|向)[^，,、\d]{0,4}$", before) or re.search(r"[由从]\s*(?:\d{4}\s*年(?:底|末)?的?)?\s*$", before):
        return True
    return _in_slogan(clause, q.start, q.end)


def _has(words, text: str) -> float:
    return float(any(x in text for x in words))


def candidates(text: str, start: int = 0, index_dir: str | None = None) -> list[Candidate]:
    """Every figure of text[start:] with its clause span, fields and signals (offsets are into `text`)."""
    w = target_words(index_dir)
    head = unicodedata.normalize("NFKC", text[start: start + 80])
    news_doc = _has(w.news, head)
    doc_goal_density = math.log1p(1000 * sum(text.count(x, start) for x in ("力争", "确保", "目标", "争取")) /
                                  max(1, len(text) - start))
    body = max(1, len(text) - start)
    out: list[Candidate] = []
    carried: int | None = None  # a target year set earlier in the same paragraph ('到2025年，…。新增…3家以上。')
    section_year: int | None = None  # '二、工作目标 / 到2025年，…' sets the year of the section's items
    section_goal = False  # inside a section whose heading names goals ('二、主要目标')
    for sa, sb in sentence_spans(text, start):
        sentence = text[sa:sb]
        prefix = text[start:sa].rstrip(" \t\u3000")
        opens = not prefix or prefix.endswith("\n")
        norm = unicodedata.normalize("NFKC", sentence)
        if opens:
            if _SECTION_HEAD.match(sentence):
                section_year = None
                section_goal = "目标" in norm[:20]
            carried = section_year
        marks = _year_marks(norm, w)
        carried_mark = carried is not None and not marks
        if carried_mark:
            marks = [(0, carried, True, True, False)]
        heading_years = [y for off, y, t, leads, _ in marks if t and leads and off <= 6]
        if heading_years:
            carried = heading_years[-1]
            if opens and not _ITEM_HEAD.match(sentence):
                section_year = carried
        if not re.search(r"\d|[一二两三四五六七八九十百千]", sentence):
            continue
        cues = [c for c in w.cues if c in norm]
        sent = {
            "cue_sentence": float(bool(cues)), "cue_planned": float(any(c not in w.forecasts for c in cues)),
            "ensure_sentence": _has(("确保", "力争", "争取", "力求"), norm), "goal_word_sentence": _has(("目标", "任务"), norm),
            "stated_sentence": float(bool(_STATED.search(norm) or re.match(r"\s*至\s*\d{1,2}\s*月\s*\d{1,2}\s*日", norm))),
            "dated_sentence": float(bool(_DATED.search(norm))), "current": _has(("目前", "现有", "当前"), norm),
            "news_doc": news_doc, "doc_pos": (sa - start) / body, "section_goal": float(section_goal),
            "sent_len": math.log1p(len(sentence)), "law_article": float(bool(re.search(r"第[一二三四五六七八九十百]+条", norm))),
            "penalty": _has(("罚款", "处罚", "罚金"), norm), "forecast": _has(("预计", "预测", "预期"), norm),
            "year_carried": float(carried_mark), "doc_goal_density": doc_goal_density,
            "sent_figures": math.log1p(len(re.findall(r"\d+(?:\.\d+)?", norm))),
        }
        for ca, cb in clause_spans(text, sa, sb, trim=True):
            out.extend(_clause_candidates(text, ca, cb, sa, marks, w, sent))
    return out


def _clause_candidates(text: str, ca: int, cb: int, sa: int, marks, w: TargetWords, sent: dict) -> list[Candidate]:
    clause = text[ca:cb]
    nclause = unicodedata.normalize("NFKC", clause)
    figures = _figures(nclause, w)
    if not figures:
        return []
    acts = [g for g in w.goals if len(g) > 1 and g not in w.comparators]
    clause_sig = {
        "benefit_clause": _has(w.benefits, nclause),
        "conditional": float(re.search(r"\d\s*[^\d\s，,；;。、]{0,3}?及?以下\s*[\u4e00-\u9fff]", nclause) is not None),
        "dui_clause": float(bool(re.match(r"\s*对", nclause)) and "的" in nclause),
        "heading_like": float(len(nclause) < 16 and not re.search(r"[，,。；]", nclause)),
        "clause_len": math.log1p(len(nclause)), "n_figures": float(len(figures)),
        "rule_clause": _has(("不得", "禁止", "严禁", "应当", "须", "不准"), nclause),
    }
    out: list[Candidate] = []
    counted: list[tuple[int, int]] = []
    prev_end = -1
    for i, q in enumerate(figures):
        pos = ca - sa + q.start
        prior = [(y, t, period) for off, y, t, _, period in marks if off <= pos]
        year, target_year, period = prior[-1] if prior else (None, False, False)
        before, after = nclause[: q.start], nclause[q.end:]
        shown = nclause[q.start:q.end]
        comp, comp_before = ("级", False) if q.unit == "级" else _comparator(before, after, w)
        value, unit, level_measure = _value(shown, q, after)
        if value is None:
            continue
        is_count = q.cls in ("count", "org", "people")
        if _not_a_level(nclause, q, shown, before, after, figures, counted, w):
            prev_end = q.end
            continue
        f = dict(sent, **clause_sig)
        # '…人员将达207.6万人': 将 with a level verb and no goal word or target year speaks of a forecast
        f["bare_forecast"] = float("将" in before and comp in w.levels and not sent["cue_planned"] and not target_year)
        f.update({
            "year_target": float(bool(target_year)), "year_bare": float(bool(prior) and not target_year),
            "year_leads": float(any(t and leads for _, _, t, leads, _ in marks)), "year_period": float(bool(period)),
            "year_compared": float(bool(re.search(r"(?:较|比|相比|同比)\s*(?:19|20)?\d{0,2}\s*年?", before[-8:]))),
            "comp_before": float(bool(comp) and comp_before), "comp_after": float(bool(comp) and not comp_before),
            "comp_level": float(comp in w.levels), "comp_bound": float(comp in w.bounds),
            "comp_upper": float(comp in ("不超过", "不高于", "以下", "以内", "低于")),
            "goal_near": _has(w.goals, before[-6:]), "goal_clause": _has(acts, before[-20:]),
            "named_goal": float(bool(re.search(r"目标值?\s*(?:为|是|即|：|:)?\s*$", before)) or (
                "实现" in before and re.match(r"[^，,；;。]*?目标", after) is not None)),
"will": _has(("将",), before),
            "fact_before": _has(w.facts, before), "done_before": float(bool(re.search(r"(?<!为)了(?!解)|已", before))),
            "cumulative": _has(("累计", "共计", "总计"), before),
            "condition_de": float(bool(re.search(r"^[^，,；;。]*?的\s*$", after) or re.match(r"(?:以上|以下)?的", after))),
            "per_before": float(bool(re.search(r"每(?![年天日月周季])[\u4e00-\u9fff]{0,3}$", before)) or
                                bool(re.search(r"每[天日周月]", before))),
            "object_before": float(bool(re.search(r"(?:对|与|向)[^，,、\d]{0,4}$", before))),
            "from_before": float(bool(re.search(r"[由从]\s*(?:\d{4}\s*年(?:底|末)?的?)?\s*$", before))),
            "structure_after": float(any(re.match(r"[\u4e00-\u9fff]{0,4}?" + re.escape(s), after.lstrip("以上下内左右多余 "))
                                         for s in w.structure)),
            "slogan": float(_in_slogan(nclause, q.start, q.end)),
            "listed": float(prev_end >= 0 and re.search(r"(?:[、和及与]|[（(]其中[：:]?)[^、，,；;（(]{0,14}$", before) is not None),
            "describes_count": float(not is_count and any(o.start >= q.end and o.cls in ("count", "org", "people")
                                                          for o in figures) and bool(re.match(r"(?:以上)?[\u4e00-\u9fff]", after))),
            "in_counted": float(any(a <= q.start < b for a, b in counted)),
            "cls_money": float(q.cls == "money"), "cls_percent": float(q.cls == "percent"), "cls_count": float(is_count),
            "cls_people": float(q.cls == "people"), "cls_area": float(q.cls == "area"),
            "cls_duration": float(q.cls == "duration"), "cls_level": float(q.cls == "level"),
            "cn_numeral": float(not shown[:1].isdigit()), "one": float(shown.startswith("一")),
            "log_value": math.log10(value + 1), "range": float(bool(re.match(r"\d+\s*[-—~至]\s*\d", shown))),
            "figure_index": float(i),
            "rate_measure": float(bool(re.search(r"(?:率|增速|比例|比重|占比|成本)[^，,\d]{0,6}$", before))),
            "bare_level": float(bool(re.search(r"[量数额]\s*$", before))),
        })
        if is_count:
            rest = clause[q.end:]
            lead = re.match(r"(?:以上|以内|左右|多|余)?", rest).end()
            m = re.compile(r"[、和及与（(]").search(rest, lead)
            counted.append((q.end, q.end + (m.start() if m else len(rest))))
        prev_end = q.end
        readings = ((("before", level_measure),) if level_measure else
                    measure_readings(nclause, q.start, q.end, comp))
        measure = level_measure or dict(readings)["verb_noun" if is_count else "before"]
        out.append(Candidate(year, measure, value, unit, comp, ca, cb, tuple(f[k] for k in FEATURES), q.cls, readings))
    return out
