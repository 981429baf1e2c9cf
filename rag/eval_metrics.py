"""Pure metric functions of `rag eval`: retrieval hits over ranked chunk texts, answer checks, refusals, latency.

Matching is done on a *key*: text folded with `textnorm.fold` (full-width/ASCII punctuation, width) with all
whitespace removed, so a baseline that keeps the OCR line breaks of a file is not punished for them, and our
normalised chunks get no edge from them either. Ranked chunk texts are never glued into one string: a
must_contain string has to sit inside one chunk, not straddle two unrelated ones.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence

from .textnorm import fold, is_cjk

MAX_RANK = 10  # mrr looks this deep; systems are asked for this many hits
K_VALUES = (1, 3, 5)
CHAR_BUDGETS = (600, 1500)
RETRIEVAL_KEYS = ("hit_at_1", "hit_at_3", "hit_at_5", "hit_at_600ch", "hit_at_1500ch", "mrr")
SPAN_KEYS = ("answer_contains", "answer_recall", "answer_f1")
_WS = re.compile(r"\s+")
_MARKER = re.compile(r"\[\d+\]")


def match_key(text: str) -> str:
    """The form texts are compared in: folded punctuation/width, lower case, no whitespace."""
    return _WS.sub("", fold(text or ""))


def _keys(must_contain: Iterable[str]) -> list[str]:
    return [k for k in (match_key(m) for m in must_contain) if k]


def contains_all(texts: Sequence[str], must_contain: Iterable[str]) -> bool:
    """True when every must_contain string lies inside one of the texts (compared by `match_key`)."""
    needles = _keys(must_contain)
    hay = [match_key(t) for t in texts]
    return all(any(n in h for h in hay) for n in needles)


def hit_at_k(ranked_texts: Sequence[str], must_contain: Iterable[str], k: int) -> bool:
    """All must_contain strings appear in the top-k chunk texts."""
    return contains_all(ranked_texts[:k], must_contain)


def window(ranked_texts: Sequence[str], budget: int) -> list[str]:
    """The ranked chunk keys a reader gets through in `budget` characters (the last one cut short)."""
    out, left = [], budget
    for text in ranked_texts:
        if left <= 0:
            break
        key = match_key(text)
        out.append(key[:left])
        left -= len(key)
    return out


def hit_at_chars(ranked_texts: Sequence[str], must_contain: Iterable[str], budget: int) -> bool:
    """All must_contain strings appear within the first `budget` characters of the ranked chunks, so big
    chunks get no free ride."""
    hay = window(ranked_texts, budget)
    return all(any(n in h for h in hay) for n in _keys(must_contain))


def first_hit_rank(ranked_texts: Sequence[str], must_contain: Iterable[str], max_rank: int = MAX_RANK) -> int:
    """Smallest k (1-based, <= max_rank) at which hit_at_k becomes true; 0 when it never does."""
    needles = _keys(must_contain)
    found: set[str] = set()
    for k, text in enumerate(ranked_texts[:max_rank], start=1):
        key = match_key(text)
        found.update(n for n in needles if n in key)
        if len(found) == len(needles):
            return k
    return 0


def retrieval_row(ranked_texts: Sequence[str], must_contain: Sequence[str]) -> dict[str, float]:
    """Per-item retrieval metrics (1.0/0.0 hits and the reciprocal rank)."""
    row = {f"hit_at_{k}": float(hit_at_k(ranked_texts, must_contain, k)) for k in K_VALUES}
    row.update({f"hit_at_{b}ch": float(hit_at_chars(ranked_texts, must_contain, b)) for b in CHAR_BUDGETS})
    rank = first_hit_rank(ranked_texts, must_contain)
    row["mrr"] = 1.0 / rank if rank else 0.0
    return row


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation; None for no values."""
    xs = sorted(v for v in values if v is not None)
    if not xs:
        return None
    pos = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def mean(values: Iterable[float]) -> float | None:
    """Average, or None when there is nothing to average (a metric undefined for this subset)."""
    xs = [v for v in values if v is not None]
    return sum(xs) / len(xs) if xs else None


def answer_contains(answer_text: str, must_contain: Iterable[str]) -> bool:
    """The answer holds every must_contain string ([n] citation markers are not content and are removed)."""
    key = match_key(_MARKER.sub("", answer_text or ""))
    return all(n in key for n in _keys(must_contain))


def clean_answer(answer_text: str, refusal: str = "") -> str:
    """The answer text as scored: [n] citation markers and the refusal text removed (labels such as 某市： stay)."""
    text = _MARKER.sub("", answer_text or "")
    return text.replace(refusal, "") if refusal else text


def lcs_length(a: str, b: str) -> int:
    """Length of the longest common subsequence of two strings (bit-parallel, Hyyrö 2004: O(len(b)) big-int ops)."""
    if not a or not b:
        return 0
    masks: dict[str, int] = {}
    for i, ch in enumerate(a):
        masks[ch] = masks.get(ch, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    for ch in b:
        u = v & masks.get(ch, 0)
        v = ((v + u) | (v - u)) & full
    return len(a) - bin(v).count("1")


def answer_recall(answer_text: str, gold: str) -> float | None:
    """Share of the gold answer's characters the answer recovers, in order: LCS(gold, answer) / len(gold), both
    compared in `match_key` form ([n] markers ignored). None when there is no gold text."""
    g = match_key(gold)
    if not g:
        return None
    return lcs_length(g, match_key(_MARKER.sub("", answer_text or ""))) / len(g)


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "PSZC"


def mixed_tokens(text: str) -> list[str]:
    """CMRC 2018's mixed segmentation: every Chinese character is a token, a run of other letters or digits is one
    token (lower-cased); punctuation, symbols and spaces are dropped."""
    out: list[str] = []
    run = ""
    for ch in fold(text or ""):
        if _is_punct(ch) or is_cjk(ch):
            if run:
                out.append(run)
                run = ""
            if not _is_punct(ch):
                out.append(ch)
        else:
            run += ch
    if run:
        out.append(run)
    return out


def longest_common_run(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common contiguous run (substring) of two token sequences, as CMRC's `find_lcs`."""
    where: dict[str, list[int]] = {}
    for j, t in enumerate(b):
        where.setdefault(t, []).append(j)
    best, prev = 0, {}
    for t in a:
        cur = {j: prev.get(j - 1, 0) + 1 for j in where.get(t, ())}
        if cur:
            best = max(best, max(cur.values()))
        prev = cur
    return best


def answer_f1(answer_text: str, gold: str) -> float | None:
    """CMRC 2018 F1 between answer and gold: precision and recall of their longest common run of tokens
    (`mixed_tokens`, punctuation and [n] markers dropped), as the official CMRC evaluation script computes it.
    None without gold."""
    g = mixed_tokens(gold)
    if not g:
        return None
    p = mixed_tokens(_MARKER.sub("", answer_text or ""))
    common = longest_common_run(p, g)
    if not common:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def refusal_scores(refused: Sequence[bool], unanswerable: Sequence[bool]) -> tuple[float | None, float | None]:
    """(precision, recall) of refusals, positives being the unanswerable items; None where undefined."""
    tp = sum(1 for r, u in zip(refused, unanswerable) if r and u)
    n_refused, n_pos = sum(map(bool, refused)), sum(map(bool, unanswerable))
    return (tp / n_refused if n_refused else None), (tp / n_pos if n_pos else None)


def spans_overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Half-open spans [a0, a1) and [b0, b1) share at least one character."""
    return a[0] < b[1] and b[0] < a[1]


def rounded(value, digits: int = 4):
    """Round floats (recursively in dicts) for JSON output; None stays None."""
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, float):
        return round(value, digits)
    return value
