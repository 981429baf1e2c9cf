"""The grounding check that runs after generation: a generated answer keeps only citations the passages support.

A model's [n] is a claim, not a proof. For every sentence we check that each [n] names a passage that was given,
that every number in the sentence appears in a cited passage, and that the sentence shares wording with the
passage. Each surviving [n] becomes a `Citation` over the best-matching sentence of that chunk (built by
`make_citation`, so its quote verifies against the source). Sentences left without a valid citation are marked
（未核验）; the caller falls back to the extractive answer when no citation survives at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..answer.base import REFUSAL
from ..answer.cite import make_citation
from ..store import DocRecord
from ..textnorm import clause_spans, fold, sentence_spans
from ..types import Citation, Hit

UNVERIFIED = "（未核验）"
# [1], [1][2], [1,2], 【1】, ［1］ (models write all of these).
MARKER = re.compile(r"[\[【［]\s*(\d{1,3}(?:\s*[,，、]\s*\d{1,3})*)\s*[\]】］]")
_END = r"(?:[。！？!?；;]|(?<!\d)\.(?!\d))"  # an ASCII full stop, but not in "1.5" or a list's "1."
_MARKERS_AFTER_END = re.compile(rf"({_END}+)((?:\s*{MARKER.pattern})+)")
_SENTENCE = re.compile(rf"(?:(?!{_END})[^\n])+{_END}*[”’」』）)]*|{_END}+")
_TERMINAL = re.compile(rf"{_END}+[”’」』）)]*$")
_ENUMERATOR = re.compile(r"^\s*(?:\d{1,2}[.、)）]|[（(]\d{1,2}[)）]|[-*•·])\s*(?!\d)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_THINKING = re.compile(r"<think>.*?(?:</think>|$)", re.S)
_REFUSAL_LIKE = re.compile(r"(没有|未|无法|不能)(找到|提及|提到|包含|涉及|查到|回答)")
# A sentence must share at least this share of its character bigrams with a passage to cite it.
MIN_SUPPORT = 0.2
# A sentence made (almost) only of a passage's title and section path is an echoed header, not a claim.
ECHO_SHARE = 0.95
# A reply this short that contains a refusal phrase is a refusal ("根据文档，文档中没有找到相关信息。").
REFUSAL_CONTEXT_CHARS = 60
# Quotes longer than this are narrowed to the best window of clauses inside the sentence.
MAX_QUOTE_CHARS = 120


@dataclass
class Grounded:
    """The checked answer: rewritten text with renumbered [n], verified citations, and what was rejected."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    refused: bool = False
    unverified: int = 0  # sentences left without a valid citation
    rejected: list[str] = field(default_factory=list)  # English reasons, for logs


def strip_thinking(text: str) -> str:
    """Remove <think>…</think> blocks that reasoning models put before the answer."""
    return _THINKING.sub("", text)


def numbers_in(text: str) -> set[str]:
    """Arabic numbers in text, folded (full-width digits, thousands separators, leading and trailing zeros)."""
    t = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", fold(text))
    out = set()
    for m in _NUMBER.finditer(t):
        whole, _, frac = m.group().partition(".")
        whole, frac = whole.lstrip("0") or "0", frac.rstrip("0")
        out.add(f"{whole}.{frac}" if frac else whole)
    return out


def _bigrams(text: str) -> set[str]:
    chars = [c for c in fold(text) if c.isalnum()]
    return {a + b for a, b in zip(chars, chars[1:])}


def _word_bigrams(text: str) -> set[str]:
    # Numbers are checked on their own; digit pairs would make any sentence with a year look "supported".
    return {b for b in _bigrams(text) if not any(c.isdigit() for c in b)}


def _support(claim_bigrams: set[str], text: str) -> float:
    if not claim_bigrams:
        return 0.0
    return len(claim_bigrams & _bigrams(text)) / len(claim_bigrams)


def split_sentences(text: str) -> list[tuple[str, str]]:
    """(sentence, separator-before-it) pairs; markers written after the full stop move before it."""
    text = _MARKERS_AFTER_END.sub(lambda m: m.group(2).strip() + m.group(1), text)
    out: list[tuple[str, str]] = []
    pos = 0
    for m in _SENTENCE.finditer(text):
        out.append((m.group(), text[pos:m.start()]))
        pos = m.end()
    return out


def best_span(claim: str, chunk_text: str) -> tuple[int, int]:
    """The span of chunk_text that best supports the claim: its best sentence, narrowed to clauses when long."""
    want_nums, want_bi = numbers_in(claim), _bigrams(claim)

    def score(a: int, b: int) -> float:
        piece = chunk_text[a:b]
        return 3 * len(want_nums & numbers_in(piece)) + len(want_bi & _bigrams(piece))

    spans = sentence_spans(chunk_text) or [(0, len(chunk_text))]
    a, b = max(spans, key=lambda s: (score(*s), -s[0]))
    if b - a <= MAX_QUOTE_CHARS:
        return a, b
    clauses = clause_spans(chunk_text, a, b)
    windows = [(clauses[i][0], clauses[j][1]) for i in range(len(clauses))
               for j in range(i, min(i + 3, len(clauses)))]
    windows = [w for w in windows if w[1] - w[0] <= MAX_QUOTE_CHARS] or [(a, b)]
    best = max(score(*w) for w in windows)
    # The shortest window that scores as well as the best one.
    return min((w for w in windows if score(*w) == best), key=lambda w: (w[1] - w[0], w[0]))


def _cited_numbers(marker_match: re.Match) -> list[int]:
    return [int(x) for x in re.split(r"\s*[,，、]\s*", marker_match.group(1))]


def _passage_text(hit: Hit) -> str:
    # The model saw title and section path with each passage, so numbers there are grounded too.
    return f"{hit.chunk.title} {hit.chunk.section_path} {hit.chunk.text}"


def _is_scaffolding(claim: str, passages: list[Hit], instructions: str) -> bool:
    """True for echoed prompt scaffolding: delimiter lines, our own instructions, passage headers (《title》（section）)."""
    if not any(c.isalnum() for c in claim):
        return True
    want = _bigrams(claim)
    headers = [f"{h.chunk.title} {h.chunk.section_path}" for h in passages]
    return bool(want) and any(_support(want, t) >= ECHO_SHARE for t in [instructions, *headers] if t)


def looks_like_refusal(text: str) -> bool:
    """True when an answer says the documents do not answer: it opens with the refusal, or is short and says so.

    A long reply that merely contains the phrase (a small model echoing the rules) is not a refusal.
    """
    body = fold(MARKER.sub("", text)).strip()
    if not body:
        return False
    if body.startswith(fold(REFUSAL)):
        return True
    return len(body) <= REFUSAL_CONTEXT_CHARS and (fold(REFUSAL) in body or bool(_REFUSAL_LIKE.search(body)))


def ground(raw: str, passages: list[Hit], docs: dict[str, DocRecord], instructions: str = "") -> Grounded:
    """Check a generated answer against the passages it was given (numbered from 1).

    `instructions` is the prompt text the model was given besides the passages; sentences echoing it are dropped.
    """
    text = strip_thinking(raw).strip()
    citations: list[Citation] = []
    by_key: dict[tuple[str, int, int], int] = {}
    rejected: list[str] = []
    parts: list[str] = []
    unverified = 0
    for sentence, sep in split_sentences(text):
        markers = list(MARKER.finditer(sentence))
        body = MARKER.sub("", sentence).rstrip()
        end = _TERMINAL.search(body)
        core, terminal = (body[:end.start()], end.group()) if end else (body, "")
        claim = _ENUMERATOR.sub("", core)
        if _is_scaffolding(claim, passages, instructions):
            if markers or claim.strip():
                rejected.append(f"dropped echoed prompt scaffolding {claim[:30]!r}")
            continue
        cited = list(dict.fromkeys(n for m in markers for n in _cited_numbers(m)))
        valid: list[int] = []
        given = [n for n in cited if 1 <= n <= len(passages)]
        for n in cited:
            if n not in given:
                rejected.append(f"[{n}] names no given passage (1..{len(passages)})")
        missing = numbers_in(claim) - set().union(*(numbers_in(_passage_text(passages[n - 1])) for n in given))
        if given and missing:
            rejected.append(f"numbers {sorted(missing)} of {claim[:30]!r} are not in passages {given}")
        elif given:
            want = _word_bigrams(claim)
            for n in given:
                # A bare number with its unit ("35亿元") is supported by the number check alone.
                if (not want and numbers_in(claim)) or _support(want, passages[n - 1].chunk.text) >= MIN_SUPPORT:
                    valid.append(n)
                else:
                    rejected.append(f"[{n}] shares too little wording with {claim[:30]!r}")
        new_marks = []
        for n in valid:
            hit = passages[n - 1]
            record = docs.get(hit.chunk.doc_id)
            if record is None:
                rejected.append(f"[{n}] names a document missing from the index: {hit.chunk.doc_id}")
                continue
            a, b = best_span(claim, hit.chunk.text)
            key = (hit.chunk.chunk_id, a, b)
            if key not in by_key:
                by_key[key] = len(citations) + 1
                citations.append(make_citation(by_key[key], record, hit.chunk, a, b))
            if f"[{by_key[key]}]" not in new_marks:
                new_marks.append(f"[{by_key[key]}]")
        is_claim = bool(claim.strip()) and not claim.rstrip().endswith(("：", ":")) and not (
            not markers and looks_like_refusal(claim))
        if new_marks:
            parts.append(sep + core + "".join(new_marks) + terminal)
        elif is_claim:
            unverified += 1
            parts.append(sep + core + UNVERIFIED + terminal)
        else:
            parts.append(sep + core + terminal)
    refused = not citations and looks_like_refusal(text)
    return Grounded("".join(parts).strip(), citations, refused, unverified, rejected)
