#!/usr/bin/env python3
"""Validate the PolicyQA evaluation set (eval/qa.jsonl).

Usage:
    python eval/check_qa.py [path/to/qa.jsonl] [--corpus DIR]
    python eval/check_qa.py eval/bundled_heldout.jsonl --min-items 60 --min-per-doc 8 \
        --require-types fact,list,cross_doc,unanswerable

Checks every item's fields, that each ``must_contain`` string and each
``evidence`` quote is a substring of the named source document(s), that
``must_contain`` is empty iff ``type == "unanswerable"``, and the coverage
requirements (item count, all types present, >= 10 answerable items per
document; the defaults are those of qa.jsonl, other sets pass their own with
--min-items / --min-per-doc / --require-types).  Prints counts per type and per document and exits non-zero on
any problem.

The corpus is read from <repo>/corpus/ if that directory exists, otherwise
from /work/shared/corpus/ (override with --corpus).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_QA = REPO_ROOT / "eval" / "qa.jsonl"
CORPUS_CANDIDATES = [REPO_ROOT / "corpus", Path("/work/shared/corpus")]

KEYS = ["id", "question", "answer", "must_contain", "doc", "evidence", "type"]
TYPES = ["fact", "list", "paraphrase", "cross_doc", "unanswerable", "distractor"]

MIN_ITEMS = 90
MIN_ANSWERABLE_PER_DOC = 10
EVIDENCE_MIN, EVIDENCE_MAX = 15, 120
MAX_MUST = 4  # 1-3 normally, lists may carry up to 4 items

CJK = r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
SENT_END = "。！？!?；;：:…”』」)）》】"


def normalise(text: str) -> str:
    """Normalisation used by the QA spec.

    * full-width spaces (U+3000) are dropped (they only occur as indents);
    * spaces/tabs between two CJK characters are removed ("郑 州" -> "郑州");
    * line breaks inside a sentence (previous line does not end with
      sentence-final punctuation) are removed, blank lines included.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u3000", "")
    text = re.sub(rf"(?<={CJK})[ \t\u00a0]+(?={CJK})", "", text)
    lines = [ln.strip() for ln in text.split("\n")]
    out: list[str] = []
    for ln in lines:
        if not ln:
            continue
        if out and out[-1] and out[-1][-1] not in SENT_END and not out[-1].startswith(("#", "-", "*", ">", "<")):
            out[-1] += ln
        else:
            out.append(ln)
    return "\n".join(out)


def find_corpus(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    for cand in CORPUS_CANDIDATES:
        if cand.is_dir() and any(cand.glob("*.txt")):
            return cand
    return CORPUS_CANDIDATES[-1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path", nargs="?", default=str(DEFAULT_QA))
    ap.add_argument("--corpus", default=None, help="corpus directory (default: repo corpus/ or /work/shared/corpus/)")
    ap.add_argument("--min-items", type=int, default=MIN_ITEMS, help=f"least number of items (default {MIN_ITEMS})")
    ap.add_argument("--min-per-doc", type=int, default=MIN_ANSWERABLE_PER_DOC,
                    help=f"least answerable single-doc items per document (default {MIN_ANSWERABLE_PER_DOC})")
    ap.add_argument("--require-types", default=",".join(TYPES),
                    help="comma-separated types that must each occur at least once (default: all types)")
    args = ap.parse_args()
    required_types = [t for t in args.require_types.split(",") if t]
    unknown_types = [t for t in required_types if t not in TYPES]
    if unknown_types:
        print(f"ERROR: unknown type(s) in --require-types: {unknown_types}", file=sys.stderr)
        return 2

    qa_path = Path(args.path)
    corpus_dir = find_corpus(args.corpus)
    errors: list[str] = []

    def err(where: str, msg: str) -> None:
        errors.append(f"{where}: {msg}")

    if not qa_path.is_file():
        print(f"ERROR: {qa_path} not found", file=sys.stderr)
        return 2
    if not corpus_dir.is_dir():
        print(f"ERROR: corpus directory {corpus_dir} not found", file=sys.stderr)
        return 2

    raw_docs: dict[str, str] = {}
    norm_docs: dict[str, str] = {}
    for p in sorted(corpus_dir.glob("*.txt")):
        raw_docs[p.name] = p.read_text(encoding="utf-8")
        norm_docs[p.name] = normalise(raw_docs[p.name])

    items = []
    for lineno, line in enumerate(qa_path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            err(f"line {lineno}", "empty line")
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            err(f"line {lineno}", f"invalid JSON: {e}")
            continue
        if not isinstance(obj, dict):
            err(f"line {lineno}", "not a JSON object")
            continue
        if "\\u" in line:
            err(f"line {lineno}", "non-ASCII escaped (write with ensure_ascii=False)")
        items.append((lineno, obj))

    seen_ids: set[str] = set()
    type_counts: Counter = Counter()
    doc_counts: Counter = Counter()          # items referencing the doc (any type)
    doc_answerable: Counter = Counter()      # answerable single-doc items
    doc_cross: Counter = Counter()           # cross_doc items touching the doc

    for lineno, it in items:
        where = f"line {lineno} ({it.get('id', '?')})"
        keys = list(it.keys())
        if set(keys) != set(KEYS):
            missing = [k for k in KEYS if k not in it]
            extra = [k for k in keys if k not in KEYS]
            err(where, f"bad keys (missing={missing}, extra={extra})")
            continue

        qid, q, a, must, doc, ev, typ = (it[k] for k in KEYS)

        # id
        if not isinstance(qid, str) or not re.fullmatch(r"q\d{3,}", qid):
            err(where, f"bad id {qid!r}")
        elif qid in seen_ids:
            err(where, f"duplicate id {qid}")
        else:
            seen_ids.add(qid)

        # type
        if typ not in TYPES:
            err(where, f"bad type {typ!r}")
            continue
        type_counts[typ] += 1

        # question / answer
        for name, val in (("question", q), ("answer", a)):
            if not isinstance(val, str) or not val.strip():
                err(where, f"{name} must be a non-empty string")
            elif not re.search(CJK, val):
                err(where, f"{name} should be Chinese")
            elif "\n" in val:
                err(where, f"{name} contains a line break")

        # must_contain
        if not isinstance(must, list) or not all(isinstance(s, str) for s in must):
            err(where, "must_contain must be a list of strings")
            must = []
        if typ == "unanswerable":
            if must:
                err(where, "must_contain must be empty for unanswerable")
        else:
            if not must:
                err(where, f"must_contain must be non-empty for type {typ}")
            if len(must) > MAX_MUST:
                err(where, f"must_contain has {len(must)} strings (max {MAX_MUST})")
            if typ == "list" and len(must) < 2:
                err(where, "list items need 2-4 must_contain strings")
        for s in must:
            if not s or re.search(r"\s", s):
                err(where, f"must_contain string {s!r} is empty or contains whitespace")
        if len(set(must)) != len(must):
            err(where, "duplicate strings in must_contain")

        # doc / evidence by type
        if typ == "unanswerable":
            if doc is not None:
                err(where, "doc must be null for unanswerable")
            if ev is not None:
                err(where, "evidence must be null for unanswerable")
            continue

        if typ == "cross_doc":
            if not (isinstance(doc, list) and len(doc) >= 2 and all(isinstance(d, str) for d in doc)):
                err(where, "cross_doc needs doc = list of >= 2 file names")
                continue
            if len(set(doc)) != len(doc):
                err(where, "duplicate doc names")
            if not (isinstance(ev, list) and len(ev) == len(doc)):
                err(where, "cross_doc needs evidence = list with one quote per doc")
                continue
            docs, evs = doc, ev
        else:
            if not isinstance(doc, str):
                err(where, "doc must be a file name string")
                continue
            if not isinstance(ev, str):
                err(where, "evidence must be a string")
                continue
            docs, evs = [doc], [ev]

        unknown = [d for d in docs if d not in raw_docs]
        if unknown:
            err(where, f"unknown doc(s) {unknown} (corpus: {corpus_dir})")
            continue

        for d in docs:
            doc_counts[d] += 1
            if typ == "cross_doc":
                doc_cross[d] += 1
            else:
                doc_answerable[d] += 1

        # evidence quotes
        for d, quote in zip(docs, evs):
            if not isinstance(quote, str):
                err(where, "evidence quote must be a string")
                continue
            if "\n" in quote or "\r" in quote:
                err(where, "evidence contains a line break")
            if not EVIDENCE_MIN <= len(quote) <= EVIDENCE_MAX:
                err(where, f"evidence length {len(quote)} not in [{EVIDENCE_MIN}, {EVIDENCE_MAX}]")
            if quote not in raw_docs[d]:
                err(where, f"evidence not found verbatim in {d}: {quote!r}")
            elif re.search(r"\s", quote) and quote not in norm_docs[d]:
                err(where, f"evidence contains whitespace and breaks under normalisation: {quote!r}")

        # must_contain strings against the document(s)
        for s in must:
            hits_raw = [d for d in docs if s in raw_docs[d]]
            hits_norm = [d for d in docs if s in norm_docs[d]]
            if not hits_raw:
                err(where, f"must_contain {s!r} not found in raw text of {docs}")
            if not hits_norm:
                err(where, f"must_contain {s!r} not found in normalised text of {docs}")
        if typ == "cross_doc":
            for d in docs:
                if not any(s in raw_docs[d] for s in must):
                    err(where, f"cross_doc: no must_contain string comes from {d}")

    # global coverage checks
    if len(items) < args.min_items:
        errors.append(f"only {len(items)} items (need >= {args.min_items})")
    for t in required_types:
        if type_counts[t] == 0:
            errors.append(f"no items of type {t}")
    for d in raw_docs:
        if doc_answerable[d] < args.min_per_doc:
            errors.append(f"{d}: only {doc_answerable[d]} answerable single-doc items (need >= {args.min_per_doc})")

    # summary
    print(f"file:   {qa_path}")
    print(f"corpus: {corpus_dir} ({len(raw_docs)} documents)")
    print(f"items:  {len(items)}")
    print("\nper type:")
    for t in TYPES:
        print(f"  {t:<13} {type_counts[t]:>4}")
    print("\nper document (single-doc answerable / cross_doc / total):")
    for d in sorted(raw_docs):
        print(f"  {d:<28} {doc_answerable[d]:>4} / {doc_cross[d]:>3} / {doc_counts[d]:>4}")
    print(f"  {'(none: unanswerable)':<28} {type_counts['unanswerable']:>4}")

    if errors:
        print(f"\n{len(errors)} problem(s):", file=sys.stderr)
        for e in errors:
            print(f"  - {e}", file=sys.stderr)
        return 1
    print("\nOK: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
