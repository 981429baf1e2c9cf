"""Answers about versions: the change table ('和2019年版相比有什么变化') and the note that an older version of a
cited document said something else. Every cell and note quotes its unit of the source, so citations verify."""

from __future__ import annotations

from difflib import SequenceMatcher

from ..render import markdown_table
from ..types import Answer, AnswerTable, Citation, TableCell, TableRow
from ..versions import Comparison, Unit, compare, issued_on

KIND_LABELS = {"added": "新增", "removed": "删除", "changed": "修改"}
SNIPPET = 60  # characters of a unit shown in a table cell, around where the versions differ


def _label(record) -> str:
    when = issued_on(record.doc.metadata)
    return f"{when} 版" if when else record.doc.doc_id


def _snippet(text: str, other: str) -> str:
    """The part of a unit around its first difference from the other version's unit."""
    if not other:
        return text if len(text) <= SNIPPET else text[:SNIPPET] + "…"
    i = next((b.a + b.size for b in SequenceMatcher(None, text, other, autojunk=False).get_matching_blocks()
              if b.a == 0 and b.b == 0), 0)
    a = max(0, i - SNIPPET // 3)
    piece = text[a: a + SNIPPET]
    return ("…" if a else "") + piece + ("…" if a + SNIPPET < len(text) else "")


def _cite(n: int, record, unit: Unit) -> Citation:
    return Citation(n=n, doc=record.doc.doc_id, title=record.doc.title, section=unit.label, quote=unit.text,
                    start=unit.start, end=unit.end)


def pick_versions(plan, hits, docs, versions) -> tuple[str, str] | None:
    """(older, newer) doc ids to compare: the chain of the best hit's document that has more than one version;
    the older is the version of the year the question names, else the one just before the newest."""
    for h in hits:
        info = versions.get(h.chunk.doc_id)
        if info is None or len(info.chain) < 2:
            continue
        chain = list(info.chain)
        newer = chain[-1]
        older = chain[-2]
        if plan.version_year:
            named = [d for d in chain[:-1] if issued_on(docs[d].doc.metadata)[:4] == str(plan.version_year)]
            if named:
                older = named[-1]
            elif issued_on(docs[newer].doc.metadata)[:4] == str(plan.version_year):
                return None
        return older, newer
    return None


def change_table(plan, hits, docs, versions) -> Answer | None:
    """The change table between two versions of the document the question is about, or None when the hits name
    no document with an older version in the index."""
    pair = pick_versions(plan, hits, docs, versions)
    if pair is None:
        return None
    old, new = docs[pair[0]], docs[pair[1]]
    comparison = _compare(old, new)
    if not comparison.changes:
        return Answer(text=f"《{new.doc.title}》{_label(new)}与{_label(old)}的条文相同，没有变化。", hits=list(hits))
    counts = {k: sum(c.kind == k for c in comparison.changes) for k in KIND_LABELS}
    summary = (f"《{new.doc.title}》{_label(new)}与{_label(old)}相比：新增 {counts['added']} 条，删除 {counts['removed']} 条，"
               f"修改 {counts['changed']} 条（其余 {comparison.unchanged} 条未变）。")
    # A table like a comparison's (UI, CLI, --json, export): one row per change, the old and the new side cited.
    table = AnswerTable(columns=[f"旧版（{_label(old)}）", f"新版（{_label(new)}）"], summary=summary, corner="变化")
    citations: list[Citation] = []
    for change in comparison.changes:
        cells = []
        for record, unit, other in ((old, change.old, change.new), (new, change.new, change.old)):
            if unit is None:
                cells.append(TableCell("—"))
                continue
            citations.append(_cite(len(citations) + 1, record, unit))
            cells.append(TableCell(f"{unit.label}：{_snippet(unit.text, other.text if other else '')}", [len(citations)]))
        table.rows.append(TableRow(label=KIND_LABELS[change.kind], doc=new.doc.doc_id, cells=cells))
    return Answer(text=summary + "\n\n" + markdown_table(table), citations=citations, hits=list(hits), table=table)


def note_older_versions(answer: Answer, docs, versions) -> Answer:
    """After an answer from a document that replaced an older indexed version: say where the older version said
    something else at a cited clause, quoting it."""
    notes = []
    for c in list(answer.citations):
        info = versions.get(c.doc)
        if info is None or len(info.chain) < 2 or info.chain.index(c.doc) == 0:
            continue
        older = docs[info.chain[info.chain.index(c.doc) - 1]]
        comparison = _compare(older, docs[c.doc])
        for change in comparison.changes:
            if change.new is None or not (change.new.start < c.end and c.start < change.new.end):
                continue
            if change.kind == "changed":
                cite = _cite(len(answer.citations) + 1, older, change.old)
                answer.citations.append(cite)
                notes.append(f"旧版《{older.doc.title}》（{_label(older)}）{change.old.label}的规定不同："
                             f"“{_snippet(change.old.text, change.new.text)}”[{cite.n}]")
            elif change.kind == "added":
                notes.append(f"旧版《{older.doc.title}》（{_label(older)}）没有{change.new.label}这一规定。")
            break
    if notes:
        answer.text = answer.text + "\n\n注意：" + "；".join(dict.fromkeys(notes)) + "。"
    return answer


_MEMO: dict[tuple[str, str], Comparison] = {}  # by the two texts' hashes: a comparison is pure


def _compare(old, new) -> Comparison:
    key = (old.doc.sha256, new.doc.sha256)
    if key not in _MEMO:
        if len(_MEMO) > 64:
            _MEMO.clear()
        _MEMO[key] = compare(old, new)
    return _MEMO[key]
