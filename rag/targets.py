"""Quantitative targets in policy text, extracted at ingest and stored with the index (`targets.jsonl`).

A target is a figure a document sets for the future: '到2027年…产业规模超过90亿元', '"十四五"期间…不少于40个',
'每年新增…不少于3家'. Each has its year (到2025年, 2027年前, a plan period such as "十四五"期间 read as its last
year, or none for a yearly target), its measure (the words it counts), value, unit, comparator (超过/达到/突破/不少于…),
place and document, the section it stands in (its heading path: a plan that sets targets per park names the park
there) and the exact clause span in the source text.

Two stages: `rag/target_candidates.py` lists every figure of every clause with its clause's signals (a generator
meant to miss nothing), and the classifier fitted by `scripts/fit_targets.py` on hand-annotated targets
(`rag/target_model.py`, weights in `rag/data/target_model.json`) keeps those it judges targets. Figures stated as
facts ('2021年营业收入为90亿元', '截至…共有…'), amounts granted and conditions are what it learned to leave out.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, replace

import numpy as np

from .target_candidates import TargetWords, candidates, target_words  # noqa: F401  (target_words: lexicon API)
from .target_model import TargetModel, load_target_model
from .verify import quote_at

log = logging.getLogger(__name__)
EXTRACTOR_VERSION = "targets-5"  # targets-5: each target stores its section path


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
    section: str = ""  # the section path the clause stands in ('二、… > （一）…'; '' before the first heading)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["value"] = int(self.value) if float(self.value).is_integer() else self.value
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Target":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


def extract_targets(text: str, doc_id: str = "", place: str = "", start: int = 0, index_dir: str | None = None,
                    model: TargetModel | None = None) -> list[Target]:
    """Every quantitative target in text[start:] (offsets are into `text`, the document's source text): the
    candidates the fitted classifier scores at or above its threshold."""
    cands = candidates(text, start, index_dir)
    if not cands:
        return []
    model = model or load_target_model()
    p = model.probabilities(np.array([c.signals for c in cands]))
    out: list[Target] = []
    for c, prob in zip(cands, p):
        if prob < model.threshold:
            continue
        quote = quote_at(text, c.start, c.end)
        if quote:
            measure = dict(c.measures).get((model.measure_rule or {}).get(c.kind, ""), c.measure)
            out.append(Target(place, doc_id, c.year, measure, c.value, c.unit, c.comparator, quote, c.start, c.end))
    return out


def document_targets(record, index_dir: str | None = None) -> list[Target]:
    """The targets of one indexed document (its region as the place), each with the section path it stands in."""
    from .chunker import section_at

    d = record.doc
    return [replace(t, section=section_at(record.sections, t.start))
            for t in extract_targets(d.source_text, d.doc_id, d.region, d.body_start, index_dir)]


def section_of(t: Target, docs: dict) -> str:
    """A target's section path: as stored at ingest, else (a target made outside an index) read from its
    document's sections ('' when the document is not indexed or the clause precedes every heading)."""
    if t.section:
        return t.section
    from .chunker import section_at

    record = docs.get(t.doc)
    return section_at(record.sections, t.start) if record is not None else ""


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
                   docs: tuple[str, ...] = (), section: str = "", measure_or_section: str = "") -> list[Target]:
    """Targets of a place (substring of the place), a year, a measure (substring), some documents and/or a section
    (substring of its heading path: '航空港' finds the targets set for that park); `measure_or_section`: a text found
    in either (the UI's one filter box)."""
    return [t for t in targets
            if (not place or place in t.place or (t.place and t.place in place))
            and (year is None or t.year == year)
            and (not measure or measure in t.measure)
            and (not docs or t.doc in docs)
            and (not section or section in t.section)
            and (not measure_or_section or measure_or_section in t.measure or measure_or_section in t.section)]


CSV_FIELDS = ("place", "doc", "section", "year", "measure", "value", "unit", "comparator", "quote", "start", "end")


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
