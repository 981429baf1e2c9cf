"""Quantitative targets in policy text, extracted at ingest and stored with the index (`targets.jsonl`).

A target is a figure a document sets for the future: '到2027年…产业规模超过90亿元', '"十四五"期间…不少于40个',
'每年新增…不少于3家'. Each has its year (到2025年, 2027年前, a plan period such as "十四五"期间 read as its last
year, or none for a yearly target), its measure (the words it counts), value, unit, comparator (超过/达到/突破/不少于…),
place and document, and the exact clause span in the source text. General patterns only: numbers and units come from
`rag/answer/quantity.py`, comparators, goal cues, fact markers and plan periods from lexicon data
(`target_words`, `plan_periods`). Figures stated as facts ('2021年营业收入为90亿元', '截至…共有…') are not targets.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import asdict, dataclass
from functools import lru_cache

from .answer.quantity import Quantity, number_value, quantities, split_quantity
from .textnorm import clause_spans, sentence_spans
from .verify import quote_at

log = logging.getLogger(__name__)
EXTRACTOR_VERSION = "targets-3"
TARGET_CLASSES = ("money", "percent", "count", "org", "people", "area")
# A section heading ('三、', '### 三、…', '第二章') ends the year a section's lead paragraph set; a numbered item
# ('（二）', '2.') is inside the section.
_SECTION_HEAD = re.compile(r"\s*(?:#|[一二三四五六七八九十]+\s*[、.．]|第[一二三四五六七八九十]+[章节部分篇])")
_ITEM_HEAD = re.compile(r"\s*(?:[（(][一二三四五六七八九十\d]+[）)]|\d+\s*[、.．])")
_LEAD = re.compile(r"^[\s\d一二三四五六七八九十（）()、.．:：]*(?:[（(][一二三四五六七八九十\d]+[）)])?\s*")


@dataclass(frozen=True)
class Target:
    """One quantitative target: where it is (document, place, clause span) and what it sets."""

    place: str
    doc: str
    year: int | None
    measure: str
    value: float
    unit: str
    comparator: str
    quote: str  # the clause, verified: quote_at(source_text, start, end)
    start: int
    end: int

    def to_dict(self) -> dict:
        d = asdict(self)
        d["value"] = int(self.value) if float(self.value).is_integer() else self.value
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Target":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


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
    periods: dict[str, int]
    year_re: re.Pattern


@lru_cache(maxsize=8)
def target_words(index_dir: str | None = None) -> TargetWords:
    """The target word lists (package data, overridable per index)."""
    from .lexicon import load_map

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
        bounds=m.get("bound", ()),
        periods=periods, year_re=year_re,
    )


def _opens(sentence: str, end: int) -> bool:
    """Whether the year phrase ending at `end` is set off by a comma ('到2025年，…'): it leads what follows."""
    return re.match(r"\s*[，,：:]", sentence[end:]) is not None


def _year_marks(sentence: str, w: TargetWords) -> list[tuple[int, int | None, bool, bool]]:
    """(offset, year, is_target_year, leads) for each year phrase of a sentence: 到2027年/2027年前/"十四五"期间 set
    a target year; a bare '2021年' is a date of a fact; `leads`: set off by a comma, it heads what follows."""
    out = []
    for m in w.year_re.finditer(sentence):
        if m.group("period"):
            out.append((m.start(), w.periods.get(m.group("period")), True, _opens(sentence, m.end())))
        else:
            lead = sentence[max(0, m.start("year") - 4): m.start("year")]
            if re.search(r"(?:较|比|相比|比较|同比)\s*$", lead):
                continue  # '较2019年再下降…': the year compared with, not a date of the figure
            stated = re.search(r"(?:截至|截止|截至到)\s*$", lead)
            # '1月1日至2020年2月10日', '延长至2021年4月30日': a date range or a deadline, not a target year
            dated = m.group("pre") == "至" and (re.search(r"[日月起]\s*至\s*$", lead) or
                                               re.match(r"\s*\d{1,2}\s*月", sentence[m.end():]))
            target = not stated and not dated and bool(m.group("pre") or m.group("post") in ("前", "以前", "底", "末"))
            out.append((m.start(), int(m.group("year")), target, _opens(sentence, m.end())))
    return out


def _comparator(before: str, after: str, w: TargetWords) -> str:
    """The comparator right before the number ('超过', '达到') or right after its unit ('以上')."""
    tail = before[-5:]
    for c in w.comparators:
        if tail.endswith(c):
            return c
    for c in w.comparators:
        if after.startswith(c):
            return c
    return ""


def _measure(clause: str, qa: int, qb: int, comparator: str, cls: str) -> str:
    """What a figure measures: for counts the noun after it ('引进12家以上…龙头企业'), else the words before it
    ('产业规模超过90亿元'); year phrases, cue verbs and the comparator taken off."""
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
    if cls in ("count", "org", "people") and len(after.strip()) >= 2 and re.match(r"[\u4e00-\u9fffA-Za-z“\"]", after):
        noun = re.split(r"[，,；;。（(]|、(?=\d)", after)[0].strip()
        verb = before[-4:] if before else ""
        return (verb + noun)[:24] if len(noun) < 20 else noun[:24]
    before = re.sub(r"(?:超过|达到|突破|不少于|不低于|高出|提升至|提高到|提高至|增长|达|超|至少|增至)$", "", before)
    before = re.sub(r"(?:进一步|逐步|逐年|稳步|持续)$", "", before)
    return before[-24:].strip(" ，,") or after.split("，")[0][:12]


_SCALE_LEVEL = re.compile(r"(\d+|[一二两三四五六七八九十百千]+)\s*(万|亿)级")


def _scale_levels(clause: str) -> list[Quantity]:
    """'百亿级…产业集群': a scale set as a level (a hundred 亿元), which the unit list does not read."""
    return [Quantity(m.start(), m.end(), "级", "money") for m in _SCALE_LEVEL.finditer(clause)]


def _in_slogan(clause: str, a: int, b: int) -> bool:
    """Whether clause[a:b] sits inside a short quotation ('“四个百万”支持资金计划'): a name, not a figure."""
    open_at = clause.rfind("“", 0, a)
    if open_at < 0 or "”" in clause[open_at:a] or a - open_at > 4:
        return False
    close_at = clause.find("”", b)
    return 0 <= close_at - b <= 4


def _paragraph_start(text: str, a: int, start: int) -> bool:
    """Whether the sentence at `a` opens a paragraph (the text start, or a line break before it past spaces)."""
    head = text[start:a].rstrip(" \t\u3000")
    return not head or head.endswith("\n")


def _counted_span(clause: str, q_end: int, w: TargetWords) -> tuple[int, int]:
    """The noun a count counts ('3个规模超80亿元产业园区'): from the count to the next list separator (、 和 及 与),
    so a second figure of the list ('…岗位信息和1个职业培训信息') is a figure of its own."""
    rest = clause[q_end:]
    lead = re.match(r"(?:以上|以内|左右|多|余)?", rest).end()
    m = re.compile(r"[、和及与（(]").search(rest, lead)
    return q_end, q_end + (m.start() if m else len(rest))


def extract_targets(text: str, doc_id: str = "", place: str = "", start: int = 0, index_dir: str | None = None
                    ) -> list[Target]:
    """Every quantitative target in text[start:] (offsets are into `text`, the document's source text)."""
    w = target_words(index_dir)
    out: list[Target] = []
    carried: int | None = None  # a target year set earlier in the same paragraph ('到2025年，…。新增…3家以上。')
    section_year: int | None = None  # '二、工作目标 / 到2025年，…' sets the year of the section's items
    for sa, sb in sentence_spans(text, start):
        sentence = text[sa:sb]
        opens = _paragraph_start(text, sa, start)
        if opens:
            if _SECTION_HEAD.match(sentence):
                section_year = None
            carried = section_year
        norm = unicodedata.normalize("NFKC", sentence)
        marks = _year_marks(norm, w)
        if carried is not None and not marks:
            marks = [(0, carried, True, True)]
        # '到2025年，…' opens the paragraph's goals ('推动2026年全市…' dates its own clause only)
        heading_years = [y for off, y, t, leads in marks if t and leads and off <= 6]
        if heading_years:
            carried = heading_years[-1]
            if opens and not _ITEM_HEAD.match(sentence):
                section_year = carried
        if not re.search(r"\d|[一二两三四五六七八九十百千]", sentence):
            continue
        cues = [c for c in w.cues if c in norm]
        # '将'/'预计' alone speak of a forecast ('…人员将达207.6万人'); a plan has a goal word or a target year
        planned = any(c not in w.forecasts for c in cues)
        # '截至2月13日…', '至2月18日，…揽件量达1.2亿件': stated as of a date
        stated_sentence = any(f in norm for f in ("截至", "截止")) or bool(
            re.match(r"\s*至\s*\d{1,2}\s*月\s*\d{1,2}\s*日", norm) or re.search(r"(?:数据|统计|监测)显示|据统计", norm))
        dated_sentence = bool(re.search(r"\d{1,2}\s*月\s*\d{1,2}\s*日|[上本今去]月|今年|去年|日前|近日", norm))
        for ca, cb in clause_spans(text, sa, sb, trim=True):  # a quotation's commas part clauses too
            out.extend(_clause_targets(text, ca, cb, sa, marks, w, bool(cues), planned, stated_sentence,
                                       dated_sentence, place, doc_id))
    return out


def _clause_targets(text: str, ca: int, cb: int, sa: int, marks, w: TargetWords, cue_sentence: bool, planned: bool,
                    stated_sentence: bool, dated_sentence: bool, place: str, doc_id: str) -> list[Target]:
    """The targets of one clause text[ca:cb] of the sentence starting at `sa`."""
    clause = text[ca:cb]
    qs = [q for q in quantities(clause) if q.cls in TARGET_CLASSES or q.cls == "duration"] + _scale_levels(clause)
    if not qs:
        return []
    nclause = unicodedata.normalize("NFKC", clause)
    granted = any(b in nclause for b in w.benefits)  # an amount granted or a scoring rule, not a target
    # '30人以下企业裁员率不超过N%': a condition on a class of things, not a target
    conditional = re.search(r"\d\s*[^\d\s，,；;。、]{0,3}?及?以下\s*[\u4e00-\u9fff]", nclause) is not None
    if re.match(r"\s*对", nclause) and "的" in nclause:
        return []  # '对…达到30人以上的企业': a condition for a measure, not a target
    out: list[Target] = []
    counted: list[tuple[int, int]] = []
    acts = [g for g in w.goals if len(g) > 1 and g not in w.comparators]
    for q in sorted(qs, key=lambda q: q.start):
        pos = ca - sa + q.start
        prior = [(y, t) for off, y, t, _ in marks if off <= pos]
        year, target_year = prior[-1] if prior else (None, False)
        before, after = nclause[: q.start], nclause[q.end:]
        comp = "级" if q.unit == "级" else _comparator(before, after, w)
        # '…控制目标为5.5%', '实现…连续14天无新增确诊病例目标': the text names the figure a goal
        named = bool(re.search(r"目标值?\s*(?:为|是|即|：|:)?\s*$", before)) or (
            "实现" in before and re.match(r"[^，,；;。]*?目标", after) is not None)
        if (granted or conditional) and not named:
            continue
        # '培育1家…企业、50家…企业和200家…企业': a figure listed after a target is a target of the same verb
        # '…、床位近100张', '…2000万个（其中：医用N95日产量100万个…）': a parallel segment after a list separator,
        # holding no verb of its own, or a bracketed breakdown of the target before it
        listed = bool(out) and out[-1].start == ca and re.search(
            r"(?:[、和及与]|[（(]其中[：:]?)[^、，,；;（(]{0,14}$", before) is not None and not any(
            g in re.split(r"[、和及与（(]", before)[-1] for g in w.goals if len(g) > 1)
        if q.cls == "duration" and not named:
            continue  # a period ('免征期限不超过5个月') is a target only where the text calls it one
        if q.unit == "类" and not clause[q.start].isdigit():
            continue  # '二类、三类医疗器械': the name of a class, not a count
        if any(a <= q.start < b for a, b in counted):
            continue  # '3个规模超80亿元产业园区': the money describes the parks counted
        if any(re.match(r"[\u4e00-\u9fff]{0,4}?" + re.escape(s), after.lstrip("以上下内左右多余 ")) for s in w.structure):
            continue  # '特制定以下十项举措', '20条政策措施': the text counting its own parts
        if re.search(r"[由从]\s*(?:\d{4}\s*年(?:底|末)?的?)?\s*$", before):
            continue  # '由X%提升至Y%': the figure it starts from
        if re.search(r"每(?![年天日月周季])[\u4e00-\u9fff]{0,3}$", before) or (
                q.unit == "次" and re.search(r"每[天日周月]", before)):
            continue  # '每新增1人', '每天至少开展1次消毒': a rate per unit or a working rule
        if re.search(r"(?:对|与|向)[^，,、\d]{0,4}$", before):
            continue  # '实现对16个地市需求的全覆盖', '与我省84个县…对接': what a measure reaches, not a level
        if _in_slogan(nclause, q.start, q.end):
            continue  # '“六个千亿”产业投资工程': a figure inside a short quoted name
        if re.search(r"^[^，,；;。]*?的\s*$", after) and not named:
            continue  # '…增长N%及以上的': a condition ('…的企业'), not a target
        if not named and not listed:
            if not target_year:
                if stated_sentence or any(f in before for f in w.facts):
                    continue  # '截至…已有4262户…': stated as done
                object_figure = True
                goal_verb = any(g in before[-6:] for g in w.goals) or (
                    object_figure and any(g in before[-20:] for g in acts))  # '引入…企业5-8家', '增加…病房48间'
                # '…增速不低于N%': a bound on a rate states a requirement (bounds on counts and amounts are mostly
                # norms and conditions: '每间不超过6人', '所得额不超过100万元的部分')
                required = q.cls == "percent" and comp in w.bounds and before.rstrip().endswith(comp)
                if not cue_sentence and not required and not (
                        not dated_sentence and any(before.endswith(g) for g in acts)):
                    continue  # no word of the future: a figure in a report or a news story
                if not comp and not goal_verb:
                    continue
                if (not planned and comp in w.levels) or "预计" in before:
                    continue  # '…人员将达207.6万人', '预计将新增床位200张': a forecast, not a goal
                if re.search(r"(?:^|[^达])为\s*$", before):
                    continue  # '每月为170万元左右': a figure as it stands
                if prior:
                    continue  # '2021年…为90亿元': a figure dated by a bare year is a fact
            elif re.search(r"了|已经", before):
                continue
            elif re.search(r"(?:^|[^达])为\s*$", before) and not comp:
                continue
        if q.cls not in ("count", "org", "people") and any(
                o.start >= q.end and o.cls in ("count", "org", "people") for o in qs) and \
                re.match(r"(?:以上)?[\u4e00-\u9fff]", after) and not re.match(r"(?:以上)?[，,；;。]", after):
            continue  # '5亿元以上重大项目不少于4个': the money describes the projects counted
        if re.search(r"了|已|已经", before):
            continue  # '成功引进了5家企业': done, not a target
        if re.match(r"一", clause[q.start:q.end]) and (not comp or q.unit in ("批", "些")):
            continue  # '一批', '一个全省样板': a way of speaking, not a figure
        shown = clause[q.start:q.end]
        if q.unit == "级":
            m = _SCALE_LEVEL.match(shown)
            value, unit = number_value(m.group(1)), m.group(2) + "元"
            noun = re.split(r"[，,；;。（(、]", nclause[q.end:])[0].strip()
            measure, mult = (noun + "规模")[:24], ""
        else:
            num, mult = split_quantity(shown, q.unit)
            value, unit = number_value(num), q.unit.lstrip("多余")
            measure = _measure(nclause, q.start, q.end, comp, q.cls)
        if value is None:
            continue
        if q.cls in ("count", "org", "people"):
            counted.append(_counted_span(clause, q.end, w))
        quote = quote_at(text, ca, cb)
        if not quote:
            continue
        if mult and not q.unit.startswith(mult):
            value *= {"万": 1e4, "亿": 1e8}[mult]
        out.append(Target(place, doc_id, year, measure, value, unit, comp, quote, ca, cb))
    return out


def document_targets(record, index_dir: str | None = None) -> list[Target]:
    """The targets of one indexed document (its region as the place)."""
    d = record.doc
    return extract_targets(d.source_text, d.doc_id, d.region, d.body_start, index_dir)


def all_targets(records, index_dir: str | None = None) -> list[Target]:
    """The targets of every document (in the given order); a document the patterns trip on is logged and skipped."""
    out: list[Target] = []
    for record in records:
        try:
            out.extend(document_targets(record, index_dir))
        except Exception:  # an extraction bug must never cost an ingest; the document just has no targets listed
            log.exception("target extraction failed on %s", record.doc.doc_id)
    return out


def filter_targets(targets: list[Target], place: str = "", year: int | None = None, measure: str = "",
                   docs: tuple[str, ...] = ()) -> list[Target]:
    """Targets of a place (substring of the place), a year, a measure (substring) and/or some documents."""
    return [t for t in targets
            if (not place or place in t.place or (t.place and t.place in place))
            and (year is None or t.year == year)
            and (not measure or measure in t.measure)
            and (not docs or t.doc in docs)]


CSV_FIELDS = ("place", "doc", "year", "measure", "value", "unit", "comparator", "quote", "start", "end")


def targets_csv(targets: list[Target]) -> str:
    """Targets as CSV text (UTF-8 BOM first, so spreadsheet programs read the Chinese right)."""
    import csv
    import io

    buf = io.StringIO()
    buf.write("\ufeff")
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    w.writeheader()
    for t in targets:
        d = t.to_dict()
        w.writerow({k: "" if d[k] is None else d[k] for k in CSV_FIELDS})
    return buf.getvalue()
