"""`rag eval`: retrieval and answer quality on one or more Q&A sets, side by side, with anchors and baselines.

Each line of a set: id, question, answer (gold text), must_contain (list of exact source substrings), doc (file
name, list, or null), evidence (a quote, a list, or null), type (fact|list|paraphrase|cross_doc|unanswerable|
distractor|article|paragraph). Retrieval metrics cover the answerable items; answer metrics call `Assistant.ask`
end to end and are set beside anchors computed on the same hits (`rag.eval_anchors`). Named sets and their indexes:
`rag.eval_sets`; metric definitions: `rag.eval_metrics`; baselines: `rag.baselines`; tables and the report:
`rag.eval_report`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from . import eval_metrics as M
from .errors import RagError
from .eval_sets import EvalSetError  # noqa: F401  (re-exported: callers catch it from here)

log = logging.getLogger(__name__)

WARMUP_QUERY = "预热查询：产业园区的发展目标是什么"  # not from any eval set; loads caches before timing


@dataclass(frozen=True)
class EvalItem:
    """One question of an eval set (`doc` and `evidence` are always lists here)."""

    id: str
    question: str
    type: str
    must_contain: tuple[str, ...] = ()
    doc: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    answer: str = ""  # the gold answer text, when the set gives one
    split: str = ""  # "fit" or "report" when the set's file fixes the item's side (written as fitting data)

    @property
    def answerable(self) -> bool:
        return self.type != "unanswerable" and bool(self.must_contain)

    @property
    def gold(self) -> str:
        """The text the span metrics compare answers with: `answer`, else the must_contain strings joined."""
        return self.answer or " ".join(self.must_contain)


SIDES = ("fit", "report")  # the two sides of split_of
SPLITS = ("all", *SIDES)
# Item types of a lookup by number ('X法第十条', '第十四条第二款'); their must_contain is the first sentence of the
# article or paragraph asked for, and `article_quoted` is the share of them whose answer quotes it.
ARTICLE_TYPES = ("article", "paragraph")


def split_of(item: EvalItem) -> str:
    """`"fit"` or `"report"`: a stable 50/50 split by document, from a hash of the item's sorted doc list (an item
    without a document: of its id), so every question about one document falls on the same side. Fitting scripts
    use the fit half; reported numbers come from the report half. An item whose line says `"split"` keeps that side
    (a set written as fitting data has no report half; its held-out counterpart is another set)."""
    if item.split:
        return item.split
    key = "doc:" + "\x1f".join(sorted(item.doc)) if item.doc else "id:" + item.id
    return "fit" if hashlib.sha1(key.encode("utf-8")).digest()[0] < 128 else "report"


def select(items: Sequence[EvalItem], split: str = "all", limit: int | None = None, source="") -> list[EvalItem]:
    """The items of one split (`all`, `fit`, `report`), then the first `limit` of them."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}")
    out = [it for it in items if split == "all" or split_of(it) == split]
    if limit is not None:
        out = out[: max(limit, 0)]
    if not out:
        raise EvalSetError(f"评测集 {source} 中没有可评测的题目（split={split}）", f"no items in {source} (split={split})")
    return out


def _split_field(value) -> str:
    """An item's own `split` ("fit" or "report"), or "" for the split by document."""
    if value in (None, ""):
        return ""
    if value not in SIDES:
        raise ValueError(f"split must be 'fit' or 'report', not {value!r}")
    return value


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
            answer = j.get("answer")
            items.append(EvalItem(
                id=str(j.get("id") or f"line{no}"), question=question, type=str(j.get("type") or "fact"),
                must_contain=_as_list(j.get("must_contain")), doc=_as_list(j.get("doc")),
                evidence=_as_list(j.get("evidence")), answer=answer if isinstance(answer, str) else "",
                split=_split_field(j.get("split")),
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


def scored_text(answer) -> str:
    """The answer text the span metrics read: empty for a refusal, else without [n] markers and refusal text
    (a cross-document answer may refuse one of its parts)."""
    from .answer.base import REFUSAL

    return "" if answer is None or answer.refused else M.clean_answer(answer.text, REFUSAL)


def span_scores(text: str, item: EvalItem) -> dict[str, float]:
    """answer_contains, answer_recall and answer_f1 of one text against an answerable item's gold."""
    return {
        "answer_contains": float(M.answer_contains(text, item.must_contain)),
        "answer_recall": M.answer_recall(text, item.gold),
        "answer_f1": M.answer_f1(text, item.gold),
    }


def summarize_answers(run: AnswerRun, items: Sequence[EvalItem], docs) -> dict:
    """Span metrics (contains, recall, F1), citation_valid, evidence_cited, refusal precision/recall, the false
    refusal rate over answerable items and ask latency; overall and by type."""
    locator = EvidenceLocator(docs)
    ev_spans = {it.id: locator.spans(it) for it in items if it.answerable and it.evidence}
    rows = {it.id: span_scores(scored_text(run.answers.get(it.id)), it) for it in items if it.answerable}

    def block(subset: Sequence[EvalItem]) -> dict:
        answered = [(it, run.answers.get(it.id)) for it in subset]
        ok = [(it, a) for it, a in answered if a is not None]
        answerable = [(it, a) for it, a in ok if it.answerable]
        valid = citation_validity([c for _, a in ok for c in a.citations], docs)
        precision, recall = M.refusal_scores([a.refused for _, a in ok], [not it.answerable for it, _ in ok])
        lat = [run.latencies_ms[it.id] for it in subset if it.id in run.latencies_ms]
        spans = [rows[it.id] for it in subset if it.id in rows]  # an ask that failed scores 0, as a wrong answer
        return {
            **{k: M.mean(r[k] for r in spans) for k in M.SPAN_KEYS},
            "article_quoted": M.mean(rows[it.id]["answer_contains"] for it in subset
                                     if it.id in rows and it.type in ARTICLE_TYPES),
            "citation_valid": M.mean(map(float, valid)),
            "n_citations": len(valid),
            "evidence_cited": M.mean(
                float(evidence_cited(a, ev_spans[it.id])) for it, a in answerable if it.id in ev_spans
            ),
            "refusal_precision": precision,
            "refusal_recall": recall,
            "refusal_rate": M.mean(float(a.refused) for _, a in answerable),
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
             say: Callable[[str], None] | None = None, systems=None, details: dict | None = None,
             anchors: bool = True, vectors=None) -> dict:
    """Run retrieval (hybrid, and the baselines when asked) and, with an assistant, the answer metrics and the
    anchors on the assistant's own hits.

    Returns the JSON-ready result: hybrid metrics at the top level, `by_type`, answer metrics merged in,
    `anchors` {name: span metrics} and `baselines` {name: retrieval metrics}. `details`, when given, receives the
    per-item runs. `vectors` (an `eval_anchors.SentenceVectors`) lets several sets share one sentence-vector cache.
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
        if anchors:
            from .eval_anchors import SentenceVectors, anchor_rows, summarize_anchors

            say("锚点 / anchors")
            k = settings.top_k if settings is not None else assistant.settings.top_k
            rows = anchor_rows(items, arun.answers, k, vectors or SentenceVectors(assistant.retriever.embedder),
                               progress=_progress_bar("sentence vectors"), say=say)
            out["anchors"] = summarize_anchors(rows, items)
            if details is not None:
                details["anchors"] = rows
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
            elif it.answerable and not M.answer_contains(scored_text(answer), it.must_contain):
                failed.append("answer lacks must_contain")
            elif not it.answerable and not answer.refused:
                failed.append("answered an unanswerable question")
        if failed:
            out.append({"id": it.id, "type": it.type, "question": it.question, "must_contain": list(it.must_contain),
                        "failed": "; ".join(failed)})
    return out


def hit_record(hit) -> dict:
    """One retrieved hit for --details: document, section, fused and per-signal scores, first 80 characters."""
    return {"doc": hit.chunk.doc_id, "section": hit.chunk.section_path, "score": round(hit.score, 4),
            "scores": {k: round(v, 4) for k, v in hit.scores.items()}, "text": hit.chunk.text[:80]}


def detail_records(set_name: str, items: Sequence[EvalItem], details: dict, k: int):
    """One JSON-ready record per question for `rag eval --details`: the answer, its citations and `confidence`
    (null when the answerer gives none), the gold, the item's metrics, the anchors and the top-k hits."""
    run = details.get("retrieval", {}).get("hybrid")
    arun = details.get("answers")
    anchors = details.get("anchors", {})
    for it in items:
        a = arun.answers.get(it.id) if arun is not None else None
        metrics = dict(run.rows.get(it.id, {})) if run is not None else {}
        if arun is not None and it.answerable:
            metrics.update(span_scores(scored_text(a), it))
        if a is not None:
            hits = [hit_record(h) for h in a.hits[:k]]
        else:  # retrieval only (--no-answers): the ranked passages without scores
            hits = [{"doc": r.doc, "text": r.text[:80]} for r in (run.ranked.get(it.id, [])[:k] if run else [])]
        confidence = getattr(a, "confidence", None)
        yield M.rounded({
            "set": set_name, "id": it.id, "type": it.type, "split": split_of(it), "question": it.question,
            "answer": a.text if a is not None else None, "refused": a.refused if a is not None else None,
            "notice": a.notice if a is not None else None,
            "confidence": float(confidence) if confidence is not None else None,
            "citations": [c.to_dict() for c in a.citations] if a is not None else [],
            "gold": it.gold if it.answerable else None, "must_contain": list(it.must_contain), "doc": list(it.doc),
            "metrics": metrics,
            "anchors": anchors.get(it.id, {}),
            "hits": hits,
            "ask_ms": arun.latencies_ms.get(it.id) if arun is not None else None,
            "error": arun.errors.get(it.id) if arun is not None else None,
        })


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
    """`rag eval SET [SET ...]`: evaluate each set over its own index, print one side-by-side table (or one JSON
    object with --json); write per-question details with --details and a Markdown report with --report."""
    from .assistant import Assistant
    from .eval_anchors import SentenceVectors
    from .eval_report import METRIC_NOTES, command_line, render_sets, write_report
    from .eval_sets import CACHE_DIR, load_set, on_store, resolve_sets, show_path

    split = getattr(args, "split", None) or "all"
    no_answers = getattr(args, "no_answers", False)
    sets = resolve_sets(list(args.sets), settings.index_dir, say=_say)
    if getattr(args, "index", None) and all(s.corpus is not None or s.format == "cmrc" for s in sets):
        _say("注意：--index 只用于 JSONL 文件评测集；命名评测集使用 eval/sets.json 中的索引")
    results: dict[str, dict] = {}
    missed: dict[str, list[dict]] = {}
    gate_points: dict[str, list[tuple[bool, float | None]]] = {}  # (answerable, gate confidence) per question
    vectors = None
    assistants: dict[Path, Assistant] = {}
    details_path = Path(args.details) if getattr(args, "details", None) else None
    if details_path is not None:
        details_path.parent.mkdir(parents=True, exist_ok=True)
    with details_path.open("w", encoding="utf-8") if details_path else nullcontext() as details_file:
        stores = list(dict.fromkeys(getattr(args, "stores", None) or [settings.store]))
        local = settings.model_copy(update={"store": "local"})  # a set's own index is local; others copy it
        for s, store in ((s, store) for s in sets for store in stores):
            _say(f"== {s.describe()}" + (f"（存储：{store}）" if len(stores) > 1 else "")
                 + (f"\n   {s.credit}" if s.credit else ""))
            items, index_dir = load_set(s, local if store != "local" else settings, getattr(args, "limit", None),
                                        split, say=_say, progress=_ingest_progress())
            store_settings = settings.model_copy(update={"store": store})
            index_dir = on_store(Path(index_dir), store_settings, say=_say)
            set_settings = store_settings.model_copy(update={"index_dir": Path(index_dir)})
            key = Path(index_dir).resolve()  # sets over one index (ncp2020 and its unanswerable questions) share it
            assistant = assistants.get(key) or assistants.setdefault(key, Assistant.load(index_dir, set_settings))
            if vectors is None and not no_answers:
                vectors = SentenceVectors(assistant.retriever.embedder, CACHE_DIR)
            details: dict = {}
            result = evaluate(items, assistant.retriever, None if no_answers else assistant,
                              baselines=getattr(args, "baselines", False), settings=set_settings, say=_say,
                              details=details, vectors=vectors)
            result["set"] = {"questions": show_path(s.questions), "corpus": show_path(s.corpus),
                             "index": show_path(Path(index_dir)), "credit": s.credit, "split": split}
            name = s.name if len(stores) == 1 else f"{s.name}@{store}"
            results[name] = result
            missed[name] = misses(items, details)
            arun = details.get("answers")
            if arun is not None:
                gate_points[name] = [(it.answerable, getattr(arun.answers.get(it.id), "confidence", None))
                                       for it in items if it.id in arun.answers]
            for rec in detail_records(name, items, details, set_settings.top_k) if details_file else ():
                details_file.write(json.dumps(rec, ensure_ascii=False) + "\n")
    if details_path is not None:
        _say(f"逐题明细已写入 {details_path}")
    if getattr(args, "report", None):
        md, png = write_report(results, Path(args.report), settings, command=command_line(args), misses=missed,
                               notes=METRIC_NOTES, gate_points=gate_points)
        _say(f"报告已写入 {md}（图表 {png}）")
    if getattr(args, "json", False):
        print(json.dumps({"split": split, "sets": results}, ensure_ascii=False))
    else:
        print(render_sets(results, by_type=len(results) == 1 or getattr(args, "by_type", False)))
    return 0


def _ingest_progress():
    from .progress import progress_reporter

    return progress_reporter(sys.stderr)
