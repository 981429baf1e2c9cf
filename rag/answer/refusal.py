"""When to refuse, and the messages for questions the answerer should not try to answer.

The dense score cannot tell an answerable question from a near miss (every policy question scores ~0.9 against
some chunk), so refusal rests on checks a reader would make: does the corpus know the place asked about, does
the evidence speak about that place, does a number question find a number of the right kind for the year asked,
and do the best sentences cover what the question names.
"""

from __future__ import annotations

import re

from ..metadata import DISTRICT_CITY, province_of
from ..store import DocRecord
from ..textnorm import fold, is_cjk
from .cues import SYNONYMS, Cues
from .evidence import Candidate

NOT_CHINESE = "请用中文提问：本助手检索的是中文政策文件，例如“新乡的园区到2030年产业规模目标是多少？”"
INSTRUCTION = "本助手只根据已收录的政策文件回答问题并给出原文出处，不执行其他指令，也没有可透露的系统提示。请直接提问政策内容。"

_INJECTION = re.compile(
    r"(忽略|无视|忘记|忘掉|不要理会|跳过)[^。？?]{0,12}(规则|指令|指示|要求|设定|提示|限制|以上|之前|上面)"
    r"|系统提示|系统提示词|提示词|system\s*prompt|ignore\s+(all\s+|the\s+)?(previous|above|prior)|jailbreak"
    r"|你现在是|扮演|角色扮演|developer\s*mode",
    re.IGNORECASE,
)


def is_instruction(question: str) -> bool:
    """True for questions that try to give the assistant instructions instead of asking about the documents."""
    return bool(_INJECTION.search(question))


def is_not_chinese(question: str) -> bool:
    """True when the question has letters but no Chinese characters (we search Chinese documents only)."""
    has_cjk = any(is_cjk(ch) and "\u4e00" <= ch <= "\u9fff" for ch in question)
    return not has_cjk and bool(re.search(r"[A-Za-z]{2,}", question))


_REGION_NAMES: dict[tuple[str, str], str] = {}


def known_words(question: str, bm25) -> bool:
    """Does a question without Chinese name something the index knows ('MedPark', 'POCT')?"""
    if bm25 is None:
        return False
    words = [fold(w) for w in re.findall(r"[A-Za-z][A-Za-z0-9\-]{1,}", question)]
    return bool(words) and all(w in bm25.postings for w in words)


def region_names(record: DocRecord) -> str:
    """Folded region labels and title of a document, where a place named in a question can be found."""
    key = (record.doc.doc_id, record.doc.sha256)
    got = _REGION_NAMES.get(key)
    if got is None:
        meta = record.doc.metadata or {}
        got = fold(" ".join([record.doc.title, record.doc.region, " ".join(meta.get("regions") or [])]))
        if len(_REGION_NAMES) > 10000:
            _REGION_NAMES.clear()
        _REGION_NAMES[key] = got
    return got


def place_in_corpus(place: str, docs: dict[str, DocRecord], bm25=None) -> bool:
    """Is the place named anywhere in the indexed documents (text, title or regions)?

    With the keyword index at hand this is a dictionary look-up (jieba's search mode indexes '洛阳' inside
    '洛阳市'); without it, the document texts are searched."""
    if any(place in region_names(r) for r in docs.values()):
        return True
    if bm25 is not None and getattr(bm25, "postings", None):
        return fold(place) in bm25.postings
    return any(place in r.doc.source_text for r in docs.values())


def place_grounded(place: str, cand: Candidate) -> bool:
    """Does the candidate speak about the place: in its sentence or paragraph, its section path, or its document's
    region?

    A city is grounded by a document only at city level (杭州 is not grounded by a document about 绍兴, though
    both are in 浙江); a province by any document in it.
    """
    if place in cand.folded or place in cand.context or place in cand.para:
        return True
    names = region_names(cand.record)
    if place in names:
        return True
    city = DISTRICT_CITY.get(place)
    if city and city in names and place in fold(cand.record.doc.source_text[:2000]):
        return True
    return False


def docs_for_place(place: str, docs: dict[str, DocRecord]) -> list[str]:
    """Documents that are about a place: main region first, then any region, then the title."""
    main = [d for d, r in docs.items() if place in fold(r.doc.region)]
    if main:
        return main
    anyreg = [d for d, r in docs.items() if place in region_names(r)]
    if anyreg:
        return anyreg
    return []


def missing_places(cues: Cues, docs: dict[str, DocRecord], bm25=None) -> list[str]:
    """Places the question names that no indexed document mentions at all."""
    return [p for p in cues.places if not place_in_corpus(p, docs, bm25)]


def same_province(a: str, b: str) -> bool:
    return bool(province_of(a)) and province_of(a) == province_of(b)


def unknown_topic(cues: Cues, weights) -> bool:
    """True when an open question ('有哪些贷款贴息政策') asks about words no indexed document uses.

    Only the focus words count (the thing asked about), only when every one of them is absent from the keyword
    index and has no known paraphrase there, and not for where/who/when questions, whose focus is the answer's
    kind rather than a topic. Number questions are judged by their figures instead (see the answerer).
    """
    bm25 = getattr(weights, "bm25", None)
    if bm25 is None or not cues.focus or cues.wants_number:
        return False
    if cues.wants_place or cues.wants_who or cues.wants_date or cues.which:
        return False
    postings = bm25.postings

    def absent(term: str) -> bool:
        return term not in postings and not any(s in postings for s in SYNONYMS.get(term, ()))

    return all(absent(t) for t in cues.focus)
