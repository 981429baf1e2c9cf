"""Extractive answerer (the default; needs no LLM): quote the clauses of the evidence that answer the question.

For each (sub-)question it reads the cues (`cues.py`), scores every sentence of the hits (`evidence.py`), keeps
only sentences that could answer (they speak about the places asked about, a number question finds a number of
the right kind for the year asked, the focus of the question is mentioned), picks the clause that answers and
quotes it verbatim with an [n] marker. A question naming two regions gets one cited clause per region, searching
within each region's documents when the hits miss one. When nothing qualifies it refuses (`refusal.py`).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from ..metadata import places_in, province_of
from ..textnorm import fold
from ..types import Answer, Citation, Hit
from .base import REFUSAL, AnswerContext, Answerer
from .cite import make_citation
from .cues import Cues, analyze, split_subquestions, target_questions
from .evidence import (
    DATE_RE,
    ORG_RE,
    Candidate,
    TermWeights,
    candidates,
    clause_year,
    coverage,
    is_heading,
    list_fit,
    names_kind,
    place_cue,
    quantities,
    term_match,
    unit_ok,
    who_cue,
    years_in,
)
from .refusal import (
    INSTRUCTION,
    NOT_CHINESE,
    docs_for_place,
    is_instruction,
    is_not_chinese,
    known_words,
    missing_places,
    place_grounded,
    unknown_topic,
)

log = logging.getLogger(__name__)

# Evidence thresholds, calibrated on eval/qa.jsonl (see the issue-3 report): share of the question's content
# (idf-weighted) a sentence must cover, and share of the ask phrase's focus terms.
MIN_COVERAGE = 0.30
MIN_FOCUS = 0.45
MAX_QUOTE = 110  # characters: quote the clause, not the page
MAX_LIST_QUOTES = 4  # a list spread over sentences is quoted one sentence each, at most this many
MAX_SCAN_CHUNKS = 300  # reading a named region's documents whole stays cheap below this
_HEADING_NUM = re.compile(r"^(?:[（(][一二三四五六七八九十]+[）)]|[一二三四五六七八九十]+[、．.]|\d{1,2}[.．、])\s*")
# Section headings that name a subject a clause can be about ('（四）新乡市…产业园区'), not a task ('搭建公共服务平台').
_SUBJECT_END = re.compile(r"(园区|产业园|基地|开发区|高新区|示范区|片区|研究院|服务站)$")
# Discourse markers and article numbers a quote need not start with (the section path names the article).
_LEAD_MARKER = re.compile(r"(?:但是|但(?=[在是])|而且|同时[，,]|此外[，,]?|另外[，,]|并且)[，,]?|第[一二三四五六七八九十百零〇\d]+条\s*")


_TOTAL = re.compile(r"总共|一共|共计|合计|累计|总计|总数|(?<![公一])共(?:有|建|建设|设|计|培育|引进|签约|入选|\d)")


@dataclass
class Pick:
    """The clause chosen to answer one (sub-)question or one region of it."""

    cand: Candidate
    a: int  # quote span in cand.hit.chunk.text
    b: int
    prefix: str = ""
    label: str = ""
    focus: float = 0.0  # how well the sentence covers the ask phrase's focus words
    years: tuple[int, ...] = ()  # the years the quote speaks about


class ExtractiveAnswerer(Answerer):
    """Quote the clause that answers each part of the question, with [n] markers; refuse on weak evidence."""

    name = "extractive"

    def __init__(self, settings):
        self.settings = settings

    # -- entry point -------------------------------------------------------------------------------
    def answer(self, question: str, hits: list[Hit], ctx: AnswerContext) -> Answer:
        if is_instruction(question):
            return Answer(text=INSTRUCTION, refused=True, hits=hits)
        if is_not_chinese(question) and not known_words(question, getattr(ctx.retriever, "bm25", None)):
            return Answer(text=NOT_CHINESE, refused=True, hits=hits)
        if not hits or hits[0].scores.get("dense", 1.0) < self.settings.refuse_below:
            return Answer(text=REFUSAL, refused=True, hits=hits)
        try:
            weights = TermWeights(getattr(ctx.retriever, "bm25", None))
            pieces: list[Pick | str] = []
            parts = split_subquestions(question)
            for part in parts:
                got = self._answer_part(part, hits, ctx, weights, alone=len(parts) == 1)
                if not got and len(parts) > 1:  # say which part the documents do not answer
                    got = [f"“{part.rstrip('？?')}”：{REFUSAL}"]
                pieces.extend(got)
            if not any(isinstance(p, Pick) for p in pieces):
                return Answer(text=REFUSAL, refused=True, hits=hits)
            return self._compose(pieces, hits, ctx)
        except Exception:  # a bug here must not cost the user the nearest passages: refuse and log loudly
            log.exception("extractive answerer failed on %r", question[:80])
            return Answer(text=REFUSAL, refused=True, hits=hits, notice="回答时出错，以下是可能相关的段落。")

    # -- one (sub-)question ------------------------------------------------------------------------
    def _answer_part(self, part: str, hits: list[Hit], ctx: AnswerContext, weights: TermWeights,
                     alone: bool = True) -> list[Pick | str]:
        """Picks (and per-region refusals) for one question; `alone` is False for a part of a longer question."""
        cues = analyze(part)
        if unknown_topic(cues, weights):
            return []  # what the question asks about is a word the indexed documents never use
        missing = missing_places(cues, ctx.docs, weights.bm25)
        targets = list(cues.targets)
        if missing and (len(targets) < 2 or all(set(g) & set(missing) for g in targets)):
            return []  # a place no document mentions: nothing here can answer
        if len(targets) < 2:
            places = list(cues.places)
            picks = self._best(cues, hits, ctx, weights, places, [])
            if not picks and ctx.retriever is not None and not alone:
                # A sub-question of a longer question may lack hits of its own: search for it alone.
                picks = self._best(cues, self._search(ctx, part, None), ctx, weights, places, [])
            if not picks and places:
                # The question names a region the index has documents for: read those documents whole.
                docs = sorted({d for p in places for d in docs_for_place(p, ctx.docs)})
                picks = self._best(cues, self._scan(ctx, docs), ctx, weights, places, [])
            return list(picks)
        # Several regions: one clause each, each searched within its region's documents if the hits miss it.
        out: list[Pick | str] = []
        used: set[tuple[str, int, int]] = set()
        for i, (group, tq) in enumerate(zip(targets, target_questions(part, targets))):
            others = [p for j, g in enumerate(targets) if j != i for p in g]
            if set(group) & set(missing):
                out.append(f"{_label(part, group)}：{REFUSAL}")
                continue
            tcues = analyze(tq) if tq != part else cues
            docs = sorted({d for p in group for d in docs_for_place(p, ctx.docs)})
            # The top hits of a question about several regions favour one of them: read each region's documents
            # whole beside the hits (cheaper than another embedding), or search within them when they are long.
            extra = (self._scan(ctx, docs) or self._search(ctx, tq, docs)) if docs else []
            picks = self._best(tcues, hits + extra, ctx, weights, list(group), others, used)
            if not picks and not docs:
                picks = self._best(tcues, self._search(ctx, tq, None), ctx, weights, list(group), others, used)
            label = _label(part, group)
            if not picks:
                out.append(f"{label}：{REFUSAL}")
                continue
            picks[0].label = label
            for pick in picks:
                used.add((pick.cand.hit.chunk.chunk_id, pick.a, pick.b))
                out.append(pick)
        return out

    def _search(self, ctx: AnswerContext, query: str, docs: list[str] | None) -> list[Hit]:
        """Extra retrieval within the caller's filters, optionally restricted to some documents."""
        from ..retriever import Filters

        if ctx.retriever is None:
            return []
        user = Filters.of(ctx.filters)
        wanted = list(docs or [])
        if user.docs:
            wanted = [d for d in wanted if d in user.docs] if docs else list(user.docs)
            if docs and not wanted:
                return []
        try:
            return ctx.retriever.search(query, k=self.settings.top_k,
                                        filters={"docs": wanted, "regions": list(user.regions)})
        except Exception as e:  # an extra search is a bonus; never lose the answer over it
            log.warning("extra search failed: %s", e)
            return []

    def _scan(self, ctx: AnswerContext, docs: list[str]) -> list[Hit]:
        """Every chunk of some documents as zero-score hits, for reading a named region's documents whole when
        retrieval missed the passage. Bounded so a huge document cannot make a question slow."""
        from ..retriever import Filters

        if ctx.retriever is None or not docs:
            return []
        user = Filters.of(ctx.filters)
        allowed = [d for d in docs if not user.docs or d in user.docs]
        chunks = [c for c in ctx.retriever.index.chunks if c.doc_id in allowed]
        if len(chunks) > MAX_SCAN_CHUNKS:
            return []
        return [Hit(chunk=c, score=0.0, scores={}, rank=0) for c in chunks]

    # -- choosing the clause -----------------------------------------------------------------------
    def _best(self, cues: Cues, hits: list[Hit], ctx: AnswerContext, weights: TermWeights, places: list[str],
              others: list[str], used: set | None = None) -> list[Pick]:
        """The clause that answers best (as a one-item list), or [] when nothing qualifies.

        A number question asked without a year whose best clause speaks about one year also gets the same
        figure for another year from the same passage ('研发投入占比' by 2027 and by 2035): asked no year, the
        reader should see both rather than one picked at random.
        """
        ranked = self._ranked(cues, hits, ctx, weights, places, others, used)
        if not ranked:
            return []
        if cues.wants_number and _TOTAL.search(cues.question):
            ranked = _prefer_total(cues, ranked)
        picks = [ranked[0][1]]
        first = ranked[0][1]
        if cues.wants_number and not cues.years and first.years:
            for score, p in ranked[1:]:
                if score < 0.8 * ranked[0][0] or p.cand.section != first.cand.section:
                    continue
                if p.years and not set(p.years) & set(first.years) and p.focus >= first.focus - 1e-6:
                    picks.append(p)
                    break
            picks.sort(key=lambda p: min(p.years) if p.years else 0)
        if cues.wants_list and cues.focus:
            picks = self._siblings(cues, ranked, first)
        for pick in picks:
            self._finish(cues, pick)
        return picks

    @staticmethod
    def _siblings(cues: Cues, ranked: list[tuple[float, Pick]], first: Pick) -> list[Pick]:
        """A list question whose items sit one per sentence ('设立产业子基金…', '设立产业种子基金…', '探索设立产业
        并购基金…') gets each of them: sentences of the same section naming the asked kind, scored close to the best.
        Only when the best quote is not an enumeration itself."""
        text = first.cand.hit.chunk.text[first.a: first.b]
        n, fit = list_fit(text, list(cues.focus))
        if n >= 3 or fit >= 2:
            return [first]
        names = lambda p: [f for f in cues.focus if f in fold(p.cand.hit.chunk.text[p.a: p.b])]  # noqa: E731
        kind = names(first)
        if not kind:
            return [first]
        out = [first]
        for score, p in ranked[1:]:
            if len(out) >= MAX_LIST_QUOTES or score < 0.8 * ranked[0][0]:
                break
            if p.cand.section == first.cand.section and p.cand.hit.chunk.doc_id == first.cand.hit.chunk.doc_id \
                    and set(names(p)) & set(kind) and not any(p.cand.sent is q.cand.sent for q in out):
                out.append(p)
        out.sort(key=lambda p: (p.cand.hit.chunk.start, p.a))
        return out

    def _ranked(self, cues: Cues, hits: list[Hit], ctx: AnswerContext, weights: TermWeights, places: list[str],
                others: list[str], used: set | None = None) -> list[tuple[float, Pick]]:
        """Every candidate clause that could answer, best first, with its score."""
        terms = [t for t in cues.terms if not any(t in o or o in t for o in others)]
        focus = [t for t in cues.focus if any(t in x for x in terms)]  # 上市 is asked about in 上市企业
        out: list[tuple[float, Pick]] = []
        for cand in candidates(hits, ctx.docs):
            if is_heading(cand) or not all(place_grounded(p, cand) for p in places):
                continue
            if is_instruction(cand.text):
                continue  # text in a document that addresses the assistant is not evidence about policy
            cov = coverage(terms, weights, cand.folded, cand.context, cand.prev)
            fcov = coverage(focus, weights, cand.folded, cand.context, cand.prev) if focus else 1.0
            # A number question must find the thing it counts ('多少房租减免' is not answered by '18家企业').
            if cov < MIN_COVERAGE or (cues.wants_number and fcov < MIN_FOCUS):
                continue
            if cues.yes_no and focus and max(term_match(focus[-1], t) for t in (cand.folded, cand.context)) < 0.7:
                continue  # '有没有…人才公寓' is not answered by a sentence that never names 公寓
            found = self._clause(cues, cand, terms, focus, weights)
            if found is None:
                continue
            (a, b), local = found
            if used and (cand.hit.chunk.chunk_id, a, b) in used:
                continue
            score = 0.7 * cov + (0.4 if cues.wants_number else 0.2) * fcov + local + 0.15 * cand.hit.score
            if cues.wants_number and places and _other_area(cand.section, places):
                score -= 0.25  # '河南…规模目标' asks about the province, not one city's park under its own heading
            quote = cand.hit.chunk.text[a:b]
            out.append((score, Pick(cand, a, b, focus=fcov, years=years_in(quote) or cand.years)))
        out.sort(key=lambda x: -x[0])
        return out

    @staticmethod
    def _finish(cues: Cues, pick: Pick) -> None:
        """Trim a leading '但'/'第二条' from the quote; say the asked year outside it when the quote lacks it."""
        text = pick.cand.hit.chunk.text
        lead = _LEAD_MARKER.match(text, pick.a, pick.b)
        if lead and pick.b - lead.end() >= 8:
            pick.a = lead.end()  # quote '审批周期缩短到4个月左右', not '但…'
        quote = text[pick.a: pick.b]
        years = [y for y in (cues.years or pick.years) if y in pick.cand.years] if cues.wants_number else []
        if years and not any(str(y) in quote for y in years):
            y = years[0]  # the year sits in an earlier clause or sentence: say it outside the quote
            pick.prefix = f"到{y}年，" if f"到{y}年" in pick.cand.text or f"到{y}年" in pick.cand.prev else f"{y}年："

    def _clause(self, cues: Cues, cand: Candidate, terms: list[str], focus: list[str],
                weights: TermWeights) -> tuple[tuple[int, int], float] | None:
        """The quote span within the candidate sentence that answers, and a score for how well it fits the cues.

        Number and date questions quote one clause, judged together with the number-free clauses just before it
        (its subject: '但在晋中开发区，审批周期缩短到4个月左右'), so a 2027 figure next to the 2030 one is not
        presented as the answer. Other questions quote the whole sentence when it is short, else the best run of
        clauses up to MAX_QUOTE characters.
        """
        text = cand.hit.chunk.text
        spans = list(cand.sent.spans)
        if not spans:
            return None
        if cues.wants_number or cues.wants_date:
            return self._number_clause(cues, cand, spans, terms, focus, weights)
        if spans[-1][1] - spans[0][0] <= MAX_QUOTE:
            windows = [(0, len(spans) - 1)]
        else:
            windows = sorted({_widen(spans, i) for i in range(len(spans))})
        best: tuple[float, tuple[int, int]] | None = None
        for lo, hi in windows:
            x, y = spans[lo][0], spans[hi][1]
            s = self._fit(cues, cand, text[x:y], terms, focus, weights)
            if best is None or s > best[0]:
                best = (s, (x, y))
        return best[1], best[0]

    def _fit(self, cues: Cues, cand: Candidate, window: str, terms: list[str], focus: list[str],
             weights: TermWeights) -> float:
        """How well a quote window fits the question's cues (coverage of its words plus the cue bonuses)."""
        wf = fold(window)
        s = 0.4 * coverage(terms, weights, wf) + (0.2 * coverage(focus, weights, wf) if focus else 0.0)
        if cues.primary:
            s += 0.2 * coverage(list(cues.primary), weights, wf)
        if cues.years and set(cand.years) and not set(cand.years) & set(cues.years):
            s -= 0.3
        if not cues.wants_who and window.startswith(("（", "(")) and window.endswith(("）", ")")):
            s -= 0.3  # '（省发展改革委…按职责分工负责）' says who is in charge, which only a who-question asks
        if cues.wants_list:
            n, fit = list_fit(window, focus)
            s += (0.04 * min(n, 6) if n >= 2 else 0.0) + (0.15 * min(fit, 5) if fit >= 2 else 0.0)
            if cues.list_size and n == cues.list_size:
                s += 0.2
        if not cues.wants_number and cues.soft_units and any(q.cls in cues.soft_units for q in quantities(window)):
            s += 0.2  # '缩短审批时间上有什么说法' is best answered with the duration itself
        if cues.wants_place and place_cue(window, cues.question):
            s += 0.5
        if cues.wants_who and who_cue(window, cues.question):
            s += 0.3
        if cues.wants_who and any(name not in cues.question for name in ORG_RE.findall(window)):
            s += 0.3  # '依托什么机构' is answered by a named body ('…审评检查大湾区分中心'), not by '医疗机构等'
        if cues.which and (cues.which in _subject(cand.section, "") or names_kind(window, cues.which, cues.question)):
            s += 0.4  # '哪个区…' is answered by a clause naming one ('盐田区'), or by its section's heading
        return s

    def _number_clause(self, cues: Cues, cand: Candidate, spans: list[tuple[int, int]], terms: list[str],
                       focus: list[str], weights: TermWeights) -> tuple[tuple[int, int], float] | None:
        """The clause holding a number of the asked kind (for the asked year), with the subject clauses before it."""
        text = cand.hit.chunk.text
        qty = cand.sent.qty
        best: tuple[float, int, int] | None = None
        for i, (x, y) in enumerate(spans):
            ok = [q for q in qty[i] if unit_ok(q, cues)]
            if cues.wants_number and not ok:
                continue
            if cues.wants_date and not cues.wants_number and not DATE_RE.search(text[x:y]):
                continue
            # Widen back over clauses holding no competing figure (years, or figures of another kind: '按费用的30%
            # 给予补助，单个企业每年最高300万元' keeps the 30% for a money question), not over a rival figure.
            j = i
            while j > 0 and y - spans[j - 1][0] <= 60 \
                    and not any(not q.is_year and unit_ok(q, cues) for q in qty[j - 1]):
                other = [q for q in qty[j - 1] if not q.is_year]
                if other and not any(term_match(f, fold(text[spans[j - 1][0]: spans[j - 1][1]])) >= 0.7
                                     for f in (focus or terms)):
                    break  # a figure about something else ('获批累计突破5个') is not the answer's context
                j -= 1
            window = text[spans[j][0]: y]
            if focus and not cues.wants_date and not {"year", "date"} & cues.unit_classes \
                    and not self._names_counted(focus, terms, weights, window, cand, text[spans[0][0]: spans[j][0]]):
                continue
            # Among rival figures prefer the clause that says what was asked and little else ('其中高端医疗器械产业
            # 规模突破800亿元' over '生物医药及高端医疗器械产业规模突破3000亿元' for a 高端医疗器械 question).
            s = self._fit(cues, cand, window, terms, focus, weights) + 0.5 + 0.1 * _precision(window, cues.question)
            yrs = clause_year(text, spans, i, cand.years)
            if cues.years:
                # The 2027 clause does not answer a 2030 question, nor does a clause that names no year.
                if not yrs or not set(yrs) & set(cues.years):
                    continue
                s += 0.3
            if cues.unit_words and any(q.unit.endswith(u) for q in ok for u in cues.unit_words):
                s += 0.2
            if _TOTAL.search(cues.question) and _TOTAL.search(text[spans[j][0]: y]):
                s += 0.2  # '总共几栋' is answered by '共建设11栋', not by '5栋已封顶'
            if "date" in cues.unit_classes and any(q.cls == "date" for q in ok):
                s += 0.4  # '哪天' is answered by a day, not by the year range in a title
            if cues.wants_late and yrs:
                s += 0.03 * max(0, min(max(yrs), 2050) - 2020)  # 远期: the latest horizon
            if best is None or s > best[0]:
                best = (s, j, i)
        if best is None:
            return None
        s, j, i = best
        x, y = spans[j][0], spans[i][1]
        if y - x < 12 and i + 1 < len(spans) and not any(not q.is_year for q in qty[i + 1]):
            y = spans[i + 1][1]  # '到2035年' alone says little: add what is due by then
        return (x, y), s

    @staticmethod
    def _names_counted(focus: list[str], terms: list[str], weights: TermWeights, window: str, cand: Candidate,
                       before: str) -> bool:
        """Does a number clause name what the question counts, in itself or its section and title?

        '多少家上市企业' is not answered by '生产类企业1800多家' (上市 only in a later clause), nor '多少个创新中心' by
        '注册批件15个'. A clause that names nothing of the question ('到2030年，力争达到5000亿元') takes its subject
        from the clauses and sentence before it ('…生物医药产业规模力争突破3000亿元；')."""
        wf = fold(window)
        if coverage(focus, weights, wf, cand.context) >= MIN_FOCUS:
            return True
        elliptical = not any(term_match(t, wf) >= 0.7 for t in terms)
        return elliptical and coverage(focus, weights, wf, cand.context, fold(before) + " " + cand.prev) >= MIN_FOCUS

    # -- composing the answer ----------------------------------------------------------------------
    def _compose(self, pieces: list[Pick | str], hits: list[Hit], ctx: AnswerContext) -> Answer:
        """Answer text: each pick's quote with its [n] (after its region label and section subject), joined by ；."""
        parts: list[str] = []
        cits: list[Citation] = []
        for p in pieces:
            if isinstance(p, str):
                parts.append(p)
                continue
            chunk = p.cand.hit.chunk
            cit = make_citation(len(cits) + 1, p.cand.record, chunk, p.a, p.b)
            if not cit.quote:
                continue
            cits.append(cit)
            subject = _subject(p.cand.section, cit.quote)
            head = f"{p.label}：" if p.label else ""
            parts.append(f"{head}{subject}{p.prefix}{cit.quote}[{cit.n}]")
        if not cits:
            return Answer(text=REFUSAL, refused=True, hits=hits)
        text = "；".join(x.rstrip("。；;，, ") for x in parts) + "。"
        return Answer(text=text, citations=cits, hits=hits)


def _prefer_total(cues: Cues, ranked: list[tuple[float, Pick]]) -> list[tuple[float, Pick]]:
    """'总共几栋' asks for the whole, and a part is never more than the whole: among near-equal picks (within
    0.1) the one with the largest figure of the asked kind comes first ('11栋' before '5栋已封顶')."""
    def largest(p: Pick) -> float:
        vals = [_value(q.number) for q in quantities(p.cand.hit.chunk.text[p.a: p.b]) if unit_ok(q, cues)]
        return max((v for v in vals if v is not None), default=-1.0)

    top = ranked[0][0]
    near = [x for x in ranked if x[0] >= top - 0.1]
    if len(near) < 2:
        return ranked
    best = max(near, key=lambda x: largest(x[1]))
    return [best] + [x for x in ranked if x is not best]


def _value(number: str) -> float | None:
    """The value of a figure written in digits ('11', '118.79', '1,800'), None otherwise."""
    try:
        return float(number.replace(",", ""))
    except ValueError:
        return None


def _label(question: str, group: tuple[str, ...]) -> str:
    """How the question names a region ('绍兴越城区' for the group 绍兴, 越城), to head its part of the answer."""
    spans = [(question.find(p), question.find(p) + len(p)) for p in group if p in question]
    if not spans:
        return group[0]
    a, b = min(x for x, _ in spans), max(y for _, y in spans)
    if b - a > 12:
        return group[0]
    if b < len(question) and question[b] in "省市区县":
        b += 1
    return question[a:b]


def _other_area(section_path: str, places: list[str]) -> bool:
    """Does the section heading name a place the question does not (a city's park inside a provincial plan)?"""
    named = [p for p in places_in(section_path) if p not in places]
    return bool(named) and not any(_same_area_or_parent(n, places) for n in named)


def _same_area_or_parent(place: str, places: list[str]) -> bool:
    """Is place one the question names, or a region containing one of them (河南 for a 新乡 question)?"""
    return any(place == p or province_of(p).startswith(place) for p in places)


def _precision(window: str, question: str) -> float:
    """Share of the window's Chinese character pairs (figures aside) that also occur in the question."""
    w = re.sub(r"[^\u4e00-\u9fff]", "", window)
    q = fold(question)
    grams = [w[i: i + 2] for i in range(len(w) - 1)]
    return sum(g in q for g in grams) / len(grams) if grams else 0.0


def _widen(spans: list[tuple[int, int]], i: int) -> tuple[int, int]:
    """Clauses lo..hi around clause i, grown alternately right and left while the run fits MAX_QUOTE."""
    lo = hi = i
    while True:
        grew = False
        if hi + 1 < len(spans) and spans[hi + 1][1] - spans[lo][0] <= MAX_QUOTE:
            hi += 1
            grew = True
        if lo > 0 and spans[hi][1] - spans[lo - 1][0] <= MAX_QUOTE:
            lo -= 1
            grew = True
        if not grew:
            return lo, hi


def _subject(section_path: str, quote: str) -> str:
    """The named subject of a section ('新乡市…产业园区') to put before a clause that lacks it, else ''."""
    if not section_path:
        return ""
    last = section_path.split(" > ")[-1]
    head = _HEADING_NUM.sub("", last).strip()
    if head == last or len(head) > 30:
        return ""  # only numbered headings of structured documents name a subject; news headlines do not
    if not head or head in quote or not _SUBJECT_END.search(head) or quote.startswith(head[:4]):
        return ""
    return f"{head}："
