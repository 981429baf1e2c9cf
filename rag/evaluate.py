"""`rag eval`: retrieval and answer quality of an index on a Q&A set (JSONL), with baselines side by side.

Each line of the set: id, question, answer, must_contain (list of exact source substrings), doc (file name, list,
or null), evidence (a quote, a list, or null), type (fact|list|paraphrase|cross_doc|unanswerable|distractor).
Retrieval metrics cover the answerable items; answer metrics call `Assistant.ask` end to end. The metric
definitions live in `rag.eval_metrics`, the baselines in `rag.baselines`, tables and the report in `rag.eval_report`.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import eval_metrics as M
from .errors import RagError

log = logging.getLogger(__name__)

WARMUP_QUERY = "预热查询：产业园区的发展目标是什么"  # not from any eval set; loads caches before timing


class EvalSetError(RagError):
    """The eval file is missing or malformed."""


@dataclass(frozen=True)
class EvalItem:
    """One question of an eval set (`doc` and `evidence` are always lists here)."""

    id: str
    question: str
    type: str
    must_contain: tuple[str, ...] = ()
    doc: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()

    @property
    def answerable(self) -> bool:
        return self.type != "unanswerable" and bool(self.must_contain)


def _as_list(value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(v for v in value if v)
    raise TypeError("expected a string, a list of strings or null")


def load_items(path: str | Path, limit: int | None = None) -> list[EvalItem]:
    """Read an eval set; a missing file or a bad line raises EvalSetError naming the line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        raise EvalSetError(f"找不到评测文件 {path}", f"eval file {path} not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise EvalSetError(f"无法读取评测文件 {path}：{e}", f"cannot read eval file {path}: {e}") from e
    items: list[EvalItem] = []
    for no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            j = json.loads(line)
            if not isinstance(j, dict):
                raise TypeError("a line must be a JSON object")
            question = j["question"]
            if not isinstance(question, str) or not question.strip():
                raise TypeError("question must be a non-empty string")
            items.append(EvalItem(
                id=str(j.get("id") or f"line{no}"), question=question, type=str(j.get("type") or "fact"),
                must_contain=_as_list(j.get("must_contain")), doc=_as_list(j.get("doc")),
                evidence=_as_list(j.get("evidence")),
            ))
        except (ValueError, KeyError, TypeError) as e:
            raise EvalSetError(
                f"评测文件 {path} 第 {no} 行格式错误：{e}（每行应为含 question、must_contain、type 的 JSON 对象）",
                f"{path}:{no}: bad eval item: {type(e).__name__}: {e}",
            ) from e
    if limit is not None:
        items = items[: max(limit, 0)]
    if not items:
        raise EvalSetError(f"评测文件 {path} 中没有题目", f"eval file {path} has no items")
    for it in items:
        if it.type != "unanswerable" and not it.must_contain:
            log.warning("item %s (%s) has no must_contain: left out of retrieval metrics", it.id, it.type)
    return items


def _types(items: Sequence[EvalItem]) -> list[str]:
    return list(dict.fromkeys(it.type for it in items))


# -- retrieval -------------------------------------------------------------------------------------
@dataclass
class RetrievalRun:
    """Per-item results of one system: ranked passages, metric rows (answerable items only), latencies."""

    name: str
    ranked: dict[str, list] = field(default_factory=dict)
    rows: dict[str, dict[str, float]] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)


def run_retrieval(system, items: Sequence[EvalItem], progress: Callable[[int, int], None] | None = None,
                  k: int = M.MAX_RANK) -> RetrievalRun:
    """Search every answerable item with one system (after a warm-up query) and score the ranking."""
    run = RetrievalRun(system.name)
    system.search(WARMUP_QUERY, k)
    todo = [it for it in items if it.answerable]
    for i, it in enumerate(todo, start=1):
        t0 = time.perf_counter()
        ranked = system.search(it.question, k)
        run.latencies_ms.append((time.perf_counter() - t0) * 1000)
        run.ranked[it.id] = ranked
        run.rows[it.id] = M.retrieval_row([r.text for r in ranked], it.must_contain)
        if progress:
            progress(i, len(todo))
    return run


def doc_hit_rows(run: RetrievalRun, items: Sequence[EvalItem]) -> dict[str, dict[str, float]]:
    """Passage-level hits: doc_hit_at_k = a chunk of the item's document is among the top k (CMRC-style)."""
    out = {}
    for it in items:
        if it.id in run.ranked and it.doc:
            docs = [r.doc for r in run.ranked[it.id]]
            out[it.id] = {f"doc_hit_at_{k}": float(bool(set(docs[:k]) & set(it.doc))) for k in M.K_VALUES}
    return out


def summarize_retrieval(run: RetrievalRun, items: Sequence[EvalItem], extra_rows=None) -> dict:
    """Overall and by-type means of the retrieval metrics, plus latency p50/p95."""
    extra_rows = extra_rows or {}

    def block(subset: Sequence[EvalItem]) -> dict:
        rows = [{**run.rows[it.id], **extra_rows.get(it.id, {})} for it in subset if it.id in run.rows]
        keys = list(M.RETRIEVAL_KEYS) + sorted({k for r in rows for k in r if k not in M.RETRIEVAL_KEYS})
        return {"n": len(subset), "n_answerable": len(rows), **{k: M.mean(r.get(k) for r in rows) for k in keys}}

    out = block(items)
    out["latency_ms_p50"] = M.percentile(run.latencies_ms, 50)
    out["latency_ms_p95"] = M.percentile(run.latencies_ms, 95)
    out["by_type"] = {t: block([it for it in items if it.type == t]) for t in _types(items)}
    return out


# -- answers ---------------------------------------------------------------------------------------
@dataclass
class AnswerRun:
    """Per-item answers (None when the backend failed on that item) and end-to-end latencies."""

    answers: dict[str, object] = field(default_factory=dict)
    latencies_ms: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def run_answers(assistant, items: Sequence[EvalItem], llm: str | None = None,
                progress: Callable[[int, int], None] | None = None) -> AnswerRun:
    """`Assistant.ask` on every item (after one warm-up ask); a backend failure is recorded, not fatal."""
    run = AnswerRun()
    try:
        assistant.ask(WARMUP_QUERY, llm=llm)
    except RagError as e:
        log.warning("warm-up ask failed: %s", e.log_message)
    for i, it in enumerate(items, start=1):
        t0 = time.perf_counter()
        try:
            run.answers[it.id] = assistant.ask(it.question, llm=llm)
        except RagError as e:
            log.warning("ask failed on %s: %s", it.id, e.log_message)
            run.answers[it.id] = None
            run.errors[it.id] = e.log_message
        run.latencies_ms[it.id] = (time.perf_counter() - t0) * 1000
        if progress:
            progress(i, len(items))
    return run


def citation_validity(citations, docs) -> list[bool]:
    """For each citation: is its quote the normalised source text at its span? (`docs`: doc id -> DocRecord)"""
    from .verify import verify_quote

    out = []
    for c in citations:
        rec = docs.get(c.doc)
        out.append(rec is not None and verify_quote(rec.doc.source_text, c.start, c.end, c.quote))
    return out


class EvidenceLocator:
    """Finds an item's evidence quotes in the source texts: exact first, then in the normalised text (a quote
    written across an OCR line break), mapped back to source offsets."""

    def __init__(self, docs):
        self.docs = docs
        self._norm: dict[str, object] = {}

    def _normalized(self, doc_id: str):
        if doc_id not in self._norm:
            from .textnorm import normalize

            self._norm[doc_id] = normalize(self.docs[doc_id].doc.source_text)
        return self._norm[doc_id]

    def spans(self, item: EvalItem) -> list[tuple[str, int, int]]:
        """(doc id, start, end) of every evidence quote of the item that can be found."""
        candidates = [d for d in item.doc if d in self.docs] or list(self.docs)
        out = []
        for quote in item.evidence:
            for doc_id in candidates:
                src = self.docs[doc_id].doc.source_text
                pos = src.find(quote)
                if pos >= 0:
                    out.append((doc_id, pos, pos + len(quote)))
                    continue
                norm = self._normalized(doc_id)
                pos = norm.text.find(quote)
                if pos >= 0:
                    out.append((doc_id, *norm.source_span(pos, pos + len(quote))))
        if item.evidence and not out:
            log.warning("evidence of %s not found in its documents", item.id)
        return out


def evidence_cited(answer, spans: list[tuple[str, int, int]]) -> bool:
    """Some citation of the answer overlaps some evidence span (same document)."""
    return any(
        c.doc == d and M.spans_overlap((c.start, c.end), (s, e)) for c in answer.citations for d, s, e in spans
    )


def summarize_answers(run: AnswerRun, items: Sequence[EvalItem], docs) -> dict:
    """answer_contains, citation_valid, evidence_cited, refusal precision/recall, ask latency; overall and by type."""
    locator = EvidenceLocator(docs)
    ev_spans = {it.id: locator.spans(it) for it in items if it.answerable and it.evidence}

    def block(subset: Sequence[EvalItem]) -> dict:
        answered = [(it, run.answers.get(it.id)) for it in subset]
        ok = [(it, a) for it, a in answered if a is not None]
        answerable = [(it, a) for it, a in ok if it.answerable]
        valid = citation_validity([c for _, a in ok for c in a.citations], docs)
        precision, recall = M.refusal_scores([a.refused for _, a in ok], [not it.answerable for it, _ in ok])
        lat = [run.latencies_ms[it.id] for it in subset if it.id in run.latencies_ms]
        return {
            "answer_contains": M.mean(float(M.answer_contains(a.text, it.must_contain)) for it, a in answerable),
            "citation_valid": M.mean(map(float, valid)),
            "n_citations": len(valid),
            "evidence_cited": M.mean(
                float(evidence_cited(a, ev_spans[it.id])) for it, a in answerable if it.id in ev_spans
            ),
            "refusal_precision": precision,
            "refusal_recall": recall,
            "refusal_rate": M.mean(float(a.refused) for _, a in ok),
            "ask_latency_ms_p50": M.percentile(lat, 50),
            "ask_latency_ms_p95": M.percentile(lat, 95),
            "answer_errors": len(subset) - len(ok),
        }

    out = block(items)
    out["by_type"] = {t: block([it for it in items if it.type == t]) for t in _types(items)}
    return out


def backend_label(settings, answers: AnswerRun | None) -> str:
    """The answerer and model that produced the answers, e.g. `extractive` or `openai:qwen2.5-7b-instruct`."""
    labels = [a.backend for a in (answers.answers.values() if answers else []) if a is not None and a.backend]
    if settings.llm in ("none", "", None):
        return labels[0] if labels else "extractive"
    label = next((b for b in labels if ":" in b), "")
    return label or f"{settings.llm}:{settings.llm_model or 'default'}"


# -- the whole evaluation --------------------------------------------------------------------------
def evaluate(items: Sequence[EvalItem], retriever, assistant=None, baselines: bool = False, settings=None,
             say: Callable[[str], None] | None = None, systems=None, details: dict | None = None) -> dict:
    """Run retrieval (hybrid, and the baselines when asked) and, with an assistant, the answer metrics.

    Returns the JSON-ready result: hybrid metrics at the top level, `by_type`, answer metrics merged in,
    and `baselines` {name: retrieval metrics}. `details`, when given, receives the per-item runs.
    """
    from .baselines import BASELINE_NAMES, build_systems

    say = say or (lambda msg: None)
    names = ("hybrid",) + (BASELINE_NAMES if baselines else ())
    systems = systems or build_systems(retriever, names, progress=lambda n: say(f"准备检索系统 {n} …"))
    results = {}
    for system in systems:
        say(f"检索评测：{system.name}")
        run = run_retrieval(system, items, progress=_progress_bar(system.name))
        results[system.name] = summarize_retrieval(run, items)
        if details is not None:
            details.setdefault("retrieval", {})[system.name] = run
        if getattr(system, "n_chunks", None):
            results[system.name]["n_chunks"] = system.n_chunks
    main_name = systems[0].name
    out = dict(results[main_name])
    if assistant is not None:
        llm = settings.llm if settings is not None else None
        say(f"回答评测：{len(items)} 题")
        arun = run_answers(assistant, items, llm=llm, progress=_progress_bar("ask"))
        ans = summarize_answers(arun, items, assistant.retriever.index.docs)
        if details is not None:
            details["answers"] = arun
        by_type = out.pop("by_type")
        out.update({k: v for k, v in ans.items() if k != "by_type"})
        out["by_type"] = {t: {**by_type.get(t, {}), **ans["by_type"].get(t, {})} for t in by_type}
        if settings is not None:
            out["backend"] = backend_label(settings, arun)
    if len(systems) > 1:
        out["baselines"] = {s.name: results[s.name] for s in systems[1:]}
    return M.rounded(out)


def misses(items: Sequence[EvalItem], details: dict, main: str = "hybrid") -> list[dict]:
    """Items the main system gets wrong: not retrieved in the top 5, answer lacking a must_contain string,
    or a wrong refusal. For the report, so a reader can see what fails."""
    run = details.get("retrieval", {}).get(main)
    arun = details.get("answers")
    out = []
    for it in items:
        failed = []
        if run is not None and it.id in run.rows and not run.rows[it.id]["hit_at_5"]:
            failed.append("not in top-5")
        answer = arun.answers.get(it.id) if arun is not None else None
        if arun is not None and it.id in arun.answers:
            if answer is None:
                failed.append("backend error")
            elif it.answerable and answer.refused:
                failed.append("refused")
            elif it.answerable and not M.answer_contains(answer.text, it.must_contain):
                failed.append("answer lacks must_contain")
            elif not it.answerable and not answer.refused:
                failed.append("answered an unanswerable question")
        if failed:
            out.append({"id": it.id, "type": it.type, "question": it.question, "must_contain": list(it.must_contain),
                        "failed": "; ".join(failed)})
    return out


def _progress_bar(label: str):
    if not sys.stderr.isatty():
        return None

    def progress(done: int, total: int) -> None:
        sys.stderr.write(f"\r  {label}: {done}/{total}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return progress


def _say(msg: str) -> None:
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def main(args, settings) -> int:
    """`rag eval FILE`: print the table (or one JSON object with --json); write a report with --report."""
    from .assistant import Assistant
    from .eval_report import METRIC_NOTES, command_line, render_table, write_report

    items = load_items(args.file, getattr(args, "limit", None))
    assistant = Assistant.load(settings.index_dir, settings)
    details: dict = {}
    result = evaluate(
        items, assistant.retriever, None if getattr(args, "no_answers", False) else assistant,
        baselines=getattr(args, "baselines", False), settings=settings, say=_say, details=details,
    )
    if getattr(args, "report", None):
        md, png = write_report(result, Path(args.report), settings, command=command_line(args),
                               misses=misses(items, details), notes=METRIC_NOTES)
        _say(f"报告已写入 {md}（图表 {png}）")
    if getattr(args, "json", False):
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(render_table(result))
    return 0
