"""Messages for questions the pipeline does not send to an answerer.

Whether the documents answer is decided by one calibrated gate (`select.py`); here is only the check that a
question is written in a script the documents can answer at all (no word list decides what a question may ask).
"""

from __future__ import annotations

import re

from ..textnorm import fold

NOT_CHINESE = "请用中文提问：本助手检索的是中文政策文件，例如“某市到2025年的产业规模目标是多少？”"


def is_not_chinese(question: str) -> bool:
    """True when the question has letters but no Chinese characters (we search Chinese documents only)."""
    has_cjk = any("\u4e00" <= ch <= "\u9fff" for ch in question)
    return not has_cjk and bool(re.search(r"[A-Za-z]{2,}", question))


def known_words(question: str, bm25) -> bool:
    """Does a question without Chinese name only things the index knows (an acronym such as 'GMP')?"""
    if bm25 is None:
        return False
    words = [fold(w) for w in re.findall(r"[A-Za-z][A-Za-z0-9\-]{1,}", question)]
    return bool(words) and all(w in bm25 for w in words)
