"""Follow-up questions ("那2028年呢？", "成都呢？") rewritten into standalone questions before retrieval.

With an LLM configured the model rewrites (prompt `prompts/rewrite.txt`), guarded so that a rewrite which loses
the follow-up's own place or year is not used. Without one, or when the model fails, the previous question's
entities are carried over by rule: place names (the gazetteer in rag.metadata), years, park and document names.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from .errors import RagError
from .metadata import places_in, province_of
from .prompts import render

log = logging.getLogger(__name__)

_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
_TITLE = re.compile(r"《[^《》]{2,80}》")
_PARK = re.compile(r"(?:(?<=^)|(?<=[的在和与及，,、\s]))(?!哪|什么|几|该|这|那|各|全)[^的在和与及，,、\s？?。！!]{1,16}?"
                   r"(?:产业园区|产业园|园区|开发区|高新区|示范区|科学城|基地)")
_PLACE_SUFFIX = "(?:壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区|省|市|区|县)?"
_LEAD = re.compile(r"^(?:那么|那|还有|另外|再问一下|再问|请问|那请问)[，,\s]*")
_TRAIL = re.compile(r"(?:的情况|的话|的|情况)?(?:呢|吗|啊|呀)?[？?。！!\s]*$")
_ASKS = re.compile(r"(多少|什么|哪些|哪个|哪里|哪儿|几个|几家|如何|怎么|怎样|是否|有没有|吗)")
_TAIL = re.compile(r"(?:是多少|是什么|有哪些|有多少|在哪里|在哪儿|在哪|是哪些|是哪个|多少|什么|哪些|几个|如何|怎么样|怎样)[？?]?$")
MAX_REWRITE_CHARS = 300
# '再加上乙市呢', '把乙市也加进来': the places named join the previous question's instead of replacing them
_ADD = re.compile(r"^(?:再|也|还)?(?:加上|加入|算上|带上)|^把|(?:也|一起)?(?:加进来|加进去|算进来|加上)$|^一起")
_TARGET_WORD = re.compile(r"(?:目标|指标)(?:值)?$")


@dataclass(frozen=True)
class Mention:
    """One entity mention in a question: its kind (title, park, place, year), value and span."""

    kind: str
    value: str
    start: int
    end: int


def mentions(text: str) -> list[Mention]:
    """Document titles, park names, places and years in text, in order.

    Mentions of one kind never overlap; a place may sit inside a park name ("成都园区"), so that "双流呢" can swap
    just the place while "那高新区园区呢" swaps the whole park.
    """
    found: list[Mention] = []
    titles = [(m.start(), m.end()) for m in _TITLE.finditer(text)]

    def free(a: int, b: int, kind: str) -> bool:
        return not any(a < y and x < b for x, y in titles) and not any(
            m.kind == kind and a < m.end and m.start < b for m in found)

    for a, b in titles:
        found.append(Mention("title", text[a:b], a, b))
    for m in _PARK.finditer(text):
        if free(m.start(), m.end(), "park"):
            found.append(Mention("park", m.group(), m.start(), m.end()))
    for name in places_in(text):
        for m in re.finditer(re.escape(name) + _PLACE_SUFFIX, text):
            if free(m.start(), m.end(), "place"):
                found.append(Mention("place", name, m.start(), m.end()))
    for m in _YEAR.finditer(text):
        if free(m.start(), m.end(), "year"):
            found.append(Mention("year", m.group(), m.start(), m.end()))
    return sorted(found, key=lambda x: (x.start, x.kind))


def is_followup(question: str) -> bool:
    """True for elliptical questions that lean on the previous turn ("成都呢？", "那2028年呢？", "那企业数量呢")."""
    q = question.strip()
    core = _TRAIL.sub("", _LEAD.sub("", q))
    if not core:
        return False
    if q.rstrip("？?。！! ").endswith("呢") or _LEAD.match(q):
        return True
    return len(core) <= 8 and not _ASKS.search(core)


def _place_form(new: Mention, new_text: str, old_text: str, old: Mention) -> str:
    """How the new place is written in the rewritten question: as the user wrote it, with a suffix if the old had one."""
    written = new_text[new.start:new.end]
    if written != new.value or old_text[old.start:old.end] == old.value:
        return written
    province = province_of(new.value)
    if province and province.startswith(new.value):  # a province (or a municipality) by its short name
        return province
    return new.value + "市"


def rewrite_by_rules(question: str, previous: str) -> str:
    """The follow-up as a standalone question built from the previous (standalone) question's entities."""
    question = question.strip()
    if not previous or not is_followup(question):
        return question
    question = _LEAD.sub("", question)  # "那", "还有": spans below are measured without them
    new = mentions(question)
    old = mentions(previous)
    core = _TRAIL.sub("", question)
    rest = core
    for m in new:
        rest = rest.replace(question[m.start:m.end] + ("年" if m.kind == "year" else ""), "", 1)
        rest = rest.replace(question[m.start:m.end], "", 1)
    rest = _TRAIL.sub("", re.sub(r"^[的，,、和与及\s]+", "", rest))
    if new and not rest:
        # Only entities were given: the same question about them ("那2028年呢？", "成都呢？").
        return _substitute(previous, question, new)
    added = [m for m in new if m.kind in ("place", "park") and not _inside(m, new)]
    only_adds = not _ADD.sub("", _ADD.sub("", rest)).strip("的，,、和与及也 ")
    if only_adds and not added and _ADD.search(rest):
        return question  # '再加上呢' names nothing to add: left as asked
    if added and only_adds:
        # Places added to the previous question ("再加上乙市呢", "把乙市也加进来"): listed after its last place.
        return _append_places(previous, [question[m.start:m.end] for m in added])
    # A new attribute about the same subject ("那企业数量呢？"): carry the previous entities over.
    kinds = {n.kind for n in new}
    carried = [m for m in old if m.kind not in kinds and not _inside(m, old)]
    if _ASKS.search(core):
        carried = [m for m in carried if m.kind != "year"]  # a full question keeps its own time frame
        return "".join(previous[m.start:m.end] for m in carried) + question
    tail = _TAIL.search(previous)
    head = "".join(previous[m.start:m.end] + ("年" if m.kind == "year" else "") for m in carried)
    # '营业收入呢' after '甲市的产业增加值目标是多少': still the target of that measure, not its current figure
    asked_target = _TARGET_WORD.search(previous[:tail.start()].rstrip("的") if tail else previous)
    if asked_target and not re.search(r"目标|指标", core):
        core += asked_target.group()
    return head + core + (tail.group() if tail else "？")


def _append_places(previous: str, places: list[str]) -> str:
    """The previous question with more places listed after its last place or park ('比较甲省和乙市的…' + 丙区 ->
    '比较甲省和乙市、丙区的…'); without any, the places lead the question."""
    found = mentions(previous)
    named = [m for m in found if m.kind in ("place", "park") and not _inside(m, found)]
    extra = "、".join(p for p in places if p not in previous)
    if not extra:
        return previous
    if not named:
        return extra + previous
    end = max(m.end for m in named)
    return previous[:end] + "、" + extra + previous[end:]


def _inside(m: Mention, among: list[Mention]) -> bool:
    return any(o is not m and o.start <= m.start and m.end <= o.end and o.kind != m.kind for o in among)


def _substitute(previous: str, question: str, new: list[Mention]) -> str:
    """The previous question with each entity replaced by the follow-up's entity of the same kind."""
    out = previous
    for kind in ("title", "park", "place", "year"):
        news = [m for m in new if m.kind == kind and not _inside(m, new)]
        for i, nm in enumerate(news):
            olds = [m for m in mentions(out) if m.kind == kind]
            if kind == "park" and not olds:  # "双流园区呢" after a question about 成都: the park stands for the place
                olds = [m for m in mentions(out) if m.kind == "place"]
            written = question[nm.start:nm.end]
            if i < len(olds):
                om = olds[i]
                value = _place_form(nm, question, out, om) if kind == "place" else written
                out = out[:om.start] + value + out[om.end:]
            else:
                out = _insert(out, written + ("年" if kind == "year" and not written.endswith("年") else ""))
    return out


def _insert(question: str, value: str) -> str:
    """Put a new entity after the leading subject (place or park) of a question, else at its start."""
    lead = [m for m in mentions(question) if m.start == 0 and m.kind in ("place", "park", "title")]
    if lead:
        end = max(m.end for m in lead)
        return question[:end] + value + question[end:]
    return value + question


def standalone_history(history: list[tuple[str, str]]) -> str:
    """The last question of the history made standalone by resolving each earlier follow-up in turn."""
    previous = ""
    for q, _ in _pairs(history):
        previous = rewrite_by_rules(q, previous) if previous else q
    return previous


def _pairs(history) -> list[tuple[str, str]]:
    """(question, answer) pairs from the history; malformed entries are skipped rather than crashing a turn."""
    out = []
    for turn in history or []:
        if isinstance(turn, (tuple, list)) and len(turn) == 2 and isinstance(turn[0], str) and turn[0].strip():
            out.append((turn[0], turn[1] if isinstance(turn[1], str) else ""))
    return out


def _format_history(history: list[tuple[str, str]], turns: int = 3) -> str:
    lines = []
    for q, a in history[-turns:]:
        a = re.sub(r"\[\d+\]", "", a or "").replace("\n", " ")
        lines.append(f"用户：{q}\n助手：{a[:200]}")
    return "\n".join(lines)


def _clean_rewrite(text: str) -> str:
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    if not lines:
        return ""
    line = re.sub(r"^(?:改写后的问题|问题|改写)[：:]\s*", "", lines[0])
    return line.strip("\"'“”「」 ")


def _keeps_entities(rewrite: str, question: str) -> bool:
    """A rewrite must keep every place, year and title the follow-up itself names."""
    return all(m.value in rewrite for m in mentions(question) if m.kind in ("place", "year", "title"))


def rewrite_followup(question: str, history: list[tuple[str, str]] | None,
                     complete: Callable[[str], str] | None = None) -> str:
    """A standalone version of `question` given the conversation (list of (question, answer) pairs).

    `complete(prompt) -> text` is an LLM call; without it, or when it fails or its rewrite is unusable, the
    rule-based rewrite is returned. A question that is already standalone comes back unchanged.
    """
    history = _pairs(history)
    if not history:
        return question
    by_rules = rewrite_by_rules(question, standalone_history(history))
    if complete is None:
        return by_rules
    try:
        out = _clean_rewrite(complete(render("rewrite", history=_format_history(history), question=question)))
    except RagError as e:
        log.warning("LLM rewrite of a follow-up failed, using the rule-based rewrite: %s", e.log_message)
        return by_rules
    if out and len(out) <= MAX_REWRITE_CHARS and _keeps_entities(out, question):
        return out
    log.info("LLM rewrite %r rejected (empty, too long or lost an entity); using %r", out[:80], by_rules)
    return by_rules
