"""Questions about a document itself, read once by the question-understanding stage: '这个行动计划是哪天发布的',
'《…》是由哪个部门印发的', '这个方案的文号', '这个计划到哪年为止'.

Such a question asks for one of the official facts read from the document at ingest (rag/official.py) — issue date,
effective date, issuing bodies, 文号, validity, the years a plan covers — not for a clause found by similarity. The
phrases are lexicon data (rag/data/lexicon/doc_facts.txt); a field phrase counts only right after a word that names
a document, so '名单是谁发布的' or '证明有效期至什么时候' (about something a document mentions) stays an ordinary question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ..textnorm import fold

FIELDS = ("published", "effective", "issuers", "doc_number", "valid_until", "period")
GAP = r"[^，,。？?！!；;\s]{0,4}?"  # what '…' in a phrase and the link after the subject word may span
_TITLE = re.compile(r"《([^《》]{2,80})》")


@dataclass(frozen=True)
class DocFactAsk:
    """Which official fact of which document a question asks for."""

    field: str  # one of FIELDS
    subject: str  # the word naming the document ('行动计划', '》' after a quoted title)
    generic: bool = False  # the subject fits any document ('这份文件'): its title need not contain it
    title: str = ""  # the title the question quotes in 《》, if any

    def to_dict(self) -> dict:
        return {"field": self.field, "subject": self.subject, "title": self.title}


@lru_cache(maxsize=8)
def _patterns(index_dir: str | None) -> tuple[tuple[str, re.Pattern], ...]:
    from ..lexicon import load_map

    words = load_map("doc_facts", index_dir)
    subjects = sorted({fold(s) for s in words.get("subject", ())}, key=len, reverse=True)  # questions are folded
    if not subjects:
        return ()
    subject = "(?P<subject>" + "|".join(re.escape(s) for s in subjects) + ")"
    out = []
    for name in FIELDS:
        phrases = sorted({fold(p) for p in words.get(name, ())}, key=len, reverse=True)
        if phrases:
            alt = "|".join(GAP.join(re.escape(p) for p in phrase.split(fold("…"))) for phrase in phrases)
            out.append((name, re.compile(f"{subject}{GAP}(?:{alt})")))
    return tuple(out)


@lru_cache(maxsize=8)
def _generic(index_dir: str | None) -> frozenset[str]:
    from ..lexicon import load_map

    return frozenset(fold(w) for w in load_map("doc_facts", index_dir).get("generic", ()))


def read_doc_fact(text: str, index_dir: str | None = None) -> DocFactAsk | None:
    """The official fact a question asks about a document, or None when it asks something else."""
    q = fold(text)
    found = None
    for name, pattern in _patterns(index_dir):
        m = pattern.search(q)
        if m and (found is None or m.start() < found[1].start()):
            found = (name, m)
    if found is None:
        return None
    name, m = found
    subject = m.group("subject")
    quoted = _TITLE.findall(text[: m.end()])  # folding keeps offsets (one character for one)
    return DocFactAsk(field=name, subject=subject, generic=subject in _generic(index_dir),
                      title=quoted[-1] if quoted else "")
