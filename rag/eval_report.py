"""Human-readable output of `rag eval`: the side-by-side tables of several sets, the per-set tables by question
type, the Markdown report and its chart."""

from __future__ import annotations

import datetime as _dt
import os
import shlex
from pathlib import Path

RETRIEVAL_COLS = [("hit_at_1", "hit@1"), ("hit_at_3", "hit@3"), ("hit_at_5", "hit@5"), ("hit_at_600ch", "@600ch"),
                  ("hit_at_1500ch", "@1500ch"), ("mrr", "mrr")]
ANSWER_COLS = [("answer_contains", "contains"), ("answer_recall", "recall"), ("answer_f1", "f1"),
               ("citation_valid", "cit_valid"), ("evidence_cited", "ev_cited"), ("refusal_precision", "refuse_P"),
               ("refusal_recall", "refuse_R"), ("refusal_rate", "refused"), ("ask_latency_ms_p50", "ask_p50ms"),
               ("ask_latency_ms_p95", "ask_p95ms")]
SPAN_COLS = [("answer_contains", "contains"), ("answer_recall", "recall"), ("answer_f1", "f1")]
# Rows of the side-by-side table of the sets: (key, label); None is a blank separator row.
SET_ROWS = [("n", "questions"), ("n_answerable", "answerable"), ("article_quoted", "article quoted (first sentence)"),
            ("hit_at_1", "hit@1"), ("hit_at_5", "hit@5"), ("hit_at_600ch", "hit@600ch"), ("mrr", "mrr"),
            ("refusal_precision", "refusal precision"), ("refusal_recall", "refusal recall"),
            ("refusal_rate", "refused (answerable)"),
            ("citation_valid", "citation_valid"), ("evidence_cited", "evidence_cited"),
            ("ask_latency_ms_p50", "ask p50 ms"), ("ask_latency_ms_p95", "ask p95 ms"),
            ("latency_ms_p50", "search p50 ms")]
SYSTEM_COLS = RETRIEVAL_COLS + [("latency_ms_p50", "p50ms"), ("latency_ms_p95", "p95ms"), ("n_chunks", "chunks")]
CHART_METRICS = [("hit_at_1", "hit@1"), ("hit_at_5", "hit@5"), ("hit_at_600ch", "hit@600ch"), ("mrr", "MRR")]
SETTINGS_SHOWN = ["index_dir", "embed_backend", "embed_model", "chunk_max_chars", "chunk_min_chars", "faiss_index",
                  "retrieval_mode", "top_k", "fusion", "dense_weight", "rrf_k", "refuse_below", "llm", "llm_model"]


def fmt(value, digits: int = 3) -> str:
    """A metric for a table cell: floats rounded, None as an em dash."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.{digits}f}"
    return str(value)


def systems_of(result: dict) -> list[tuple[str, dict]]:
    """(name, retrieval metrics) of the main system (hybrid) and every baseline of a result."""
    main = result.get("system", "hybrid")
    return [(main, result)] + list((result.get("baselines") or {}).items())


def _text_table(header: list[str], rows: list[list[str]], groups: list[tuple[str, int]] | None = None) -> str:
    """A plain-text table; `groups` [(label, number of columns)] adds a line of group labels over the columns
    after the first (one group per eval set)."""
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    spans = []
    i = 1
    for label, n in groups or []:
        width = sum(widths[i : i + n]) + 2 * (n - 1)
        if len(label) > width:  # widen the group's last column so the label fits
            widths[i + n - 1] += len(label) - width
            width = len(label)
        spans.append(label.center(width))
        i += n
    line = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
    top = ["  ".join([" " * widths[0]] + spans).rstrip()] if groups else []
    return "\n".join(top + [line(header), "  ".join("-" * w for w in widths)] + [line(r) for r in rows])


def _md_table(header: list[str], rows: list[list[str]], groups: list[tuple[str, int]] | None = None) -> str:
    """A Markdown table; with `groups`, the first column of each group is headed `**label** column`."""
    header = list(header)
    i = 1
    for label, n in groups or []:
        header[i] = f"**{label}** {header[i]}"
        i += n
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def side_by_side(results: dict[str, dict], table) -> list[tuple[str, str]]:
    """(title, table) pairs comparing the sets: answerer and anchors (contains / recall / F1, one column group per
    set), then retrieval, refusals, citations and latency (one column per set)."""
    from .eval_anchors import ANCHORS

    names = list(results)
    out = []
    answered = [n for n in names if "answer_contains" in results[n] and results[n].get("n_answerable")]
    if answered:
        backends = sorted({results[n].get("backend", "?") for n in answered})
        systems = [(f"answerer ({', '.join(backends)})", lambda r: r)]
        systems += [(label, lambda r, key=key: (r.get("anchors") or {}).get(key) or {}) for key, label in ANCHORS]
        header = ["system"] + [h for _ in answered for _, h in SPAN_COLS]
        rows = [[label] + [fmt(get(results[n]).get(k)) for n in answered for k, _ in SPAN_COLS]
                for label, get in systems]
        groups = [(f"{n} ({fmt(results[n].get('n_answerable'))})", len(SPAN_COLS)) for n in answered]
        out.append(("回答与锚点 / answer and anchors on the same top-k hits (answerable questions)",
                    table(header, rows, groups)))
    rows = [[label] + [fmt(results[n].get(key)) for n in names] for key, label in SET_ROWS
            if any(results[n].get(key) is not None for n in names)]
    out.append(("检索、拒答、引用、延迟 / retrieval, refusals, citations, latency", table(["metric"] + names, rows)))
    for n in names:  # --baselines: each set's systems, also when several sets are compared
        if results[n].get("baselines"):
            out.append((f"{n}: 系统对比 / systems (same eval set, same embedding model)",
                        _systems_table(results[n], table)))
    return out


def _tables(result: dict, table) -> list[tuple[str, str]]:
    """(title, table) pairs: retrieval by type, answers by type (when measured), systems (with baselines)."""
    by_type = result.get("by_type", {})
    types = list(by_type) + ["overall"]
    get = lambda t: result if t == "overall" else by_type[t]
    out = []
    header = ["type", "n"] + [h for _, h in RETRIEVAL_COLS]
    rows = [[t, fmt(get(t).get("n"))] + [fmt(get(t).get(k)) for k, _ in RETRIEVAL_COLS] for t in types]
    out.append((f"检索 / retrieval ({systems_of(result)[0][0]}, answerable items)", table(header, rows)))
    if "answer_contains" in result:
        header = ["type", "n"] + [h for _, h in ANSWER_COLS]
        rows = [[t, fmt(get(t).get("n"))] + [fmt(get(t).get(k)) for k, _ in ANSWER_COLS] for t in types]
        out.append((f"回答 / answers (backend {result.get('backend', '?')})", table(header, rows)))
    if result.get("baselines"):
        out.append(("系统对比 / systems (same eval set, same embedding model)", _systems_table(result, table)))
    return out


def _systems_table(result: dict, table) -> str:
    """Retrieval of our system beside each baseline on one set."""
    header = ["system"] + [h for _, h in SYSTEM_COLS]
    rows = [[name] + [fmt(m.get(k)) for k, _ in SYSTEM_COLS] for name, m in systems_of(result)]
    return table(header, rows)


def render_table(result: dict) -> str:
    """The tables of one set by question type (and its baselines), with retrieval latency."""
    lat = f"retrieval p50 {fmt(result.get('latency_ms_p50'))} ms, p95 {fmt(result.get('latency_ms_p95'))} ms (warm)"
    parts = [f"{title}\n{tab}" for title, tab in _tables(result, _text_table)]
    return "\n\n".join(parts + [lat])


def render_sets(results: dict[str, dict], by_type: bool = False) -> str:
    """The default terminal output of `rag eval`: the sets side by side, then (with `by_type`) each set's tables
    by question type, then the credits of the data used."""
    parts = [f"{title}\n{tab}" for title, tab in side_by_side(results, _text_table)]
    if by_type:
        parts += [f"[{name}]\n{render_table(result)}" for name, result in results.items()]
    credits = [f"{name}: {r['set']['credit']}" for name, r in results.items() if (r.get("set") or {}).get("credit")]
    if credits:
        parts.append("数据来源 / data credits:\n" + "\n".join(credits))
    return "\n\n".join(parts)


def chart(results: dict[str, dict], path: Path) -> Path:
    """One column of panels per set: retrieval hit@1/hit@5/hit@600ch/MRR by system (hybrid and baselines) and,
    when answers were measured, contains/recall/F1 of the answerer beside the anchors. Saved as a PNG."""
    try:
        import matplotlib
    except ImportError as e:
        from .errors import MissingExtraError

        raise MissingExtraError("matplotlib", "bench", "评测报告图表") from e
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .eval_anchors import ANCHORS

    names = list(results)
    with_answers = any("answer_contains" in r for r in results.values())
    n_rows = 2 if with_answers else 1
    fig, axes = plt.subplots(n_rows, len(names), figsize=(5.5 * len(names) + 1, 4.2 * n_rows), dpi=110,
                             squeeze=False)
    for col, name in enumerate(names):
        result = results[name]
        bars = [(sys_name, [m.get(k) or 0.0 for k, _ in CHART_METRICS]) for sys_name, m in systems_of(result)]
        _bars(axes[0][col], bars, [label for _, label in CHART_METRICS], f"{name}: retrieval")
        if with_answers and not result.get("n_answerable"):  # only unanswerable questions: nothing to score
            axes[1][col].axis("off")
            axes[1][col].set_title(f"{name}: no answerable questions", fontsize=10)
        elif with_answers:
            anchors = result.get("anchors") or {}
            bars = [("answerer", [result.get(k) or 0.0 for k, _ in SPAN_COLS])]
            bars += [(label, [anchors[key].get(k) or 0.0 for k, _ in SPAN_COLS]) for key, label in ANCHORS
                     if key in anchors]
            _bars(axes[1][col], bars, [label for _, label in SPAN_COLS], f"{name}: answer vs anchors")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def _bars(ax, bars: list[tuple[str, list[float]]], metrics: list[str], title: str) -> None:
    """Grouped bars: one group per metric, one bar per system, value printed on each bar."""
    n = max(len(bars), 1)
    width = 0.8 / n
    for i, (label, ys) in enumerate(bars):
        xs = [j + (i - (n - 1) / 2) * width for j in range(len(metrics))]
        drawn = ax.bar(xs, ys, width * 0.95, label=label, zorder=3)
        for b, y in zip(drawn, ys):
            ax.text(b.get_x() + b.get_width() / 2, y + 0.01, f"{y:.2f}", ha="center", va="bottom", fontsize=6)
    ax.set_xticks(range(len(metrics)), metrics)
    ax.set_ylim(0, 1.1)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3, zorder=0)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), fontsize=7, ncols=min(n, 3), frameon=False)


def command_line(args) -> str:
    """The `rag eval` command that produced a result, rebuilt from the parsed arguments."""
    parts = ["rag", "eval", *map(str, args.sets)]
    if getattr(args, "index", None):
        parts += ["--index", str(args.index)]
    for flag in ("baselines", "no_answers", "by_type", "json"):
        if getattr(args, flag, False):
            parts.append("--" + flag.replace("_", "-"))
    for opt in ("split", "llm", "limit", "details", "report"):
        value = getattr(args, opt, None)
        if value is not None and not (opt == "split" and value == "all"):
            parts += ["--" + opt, str(value)]
    return shlex.join(parts)


MISSES_SHOWN = 40  # per set in the report; --details lists every question


def refusal_curve(points: list[tuple[bool, float | None]]) -> list[tuple[float, float, float, float]]:
    """(threshold, refusal precision, refusal recall, share of answerable questions refused) for every threshold
    on the gate's confidence: a question is refused when its confidence is below the threshold."""
    pts = [(ans, c) for ans, c in points if c is not None]
    n_un = sum(1 for ans, _ in pts if not ans)
    n_ans = len(pts) - n_un
    out = []
    for t in sorted({round(c, 4) for _, c in pts} | {1.0001}):
        refused = [ans for ans, c in pts if c < t]
        if not refused:
            continue
        hit = sum(1 for ans in refused if not ans)
        out.append((t, hit / len(refused), hit / n_un if n_un else 0.0,
                    (len(refused) - hit) / n_ans if n_ans else 0.0))
    return out


def refusal_chart(curves: dict[str, list[tuple[float, float, float, float]]], path: Path,
                  marks: dict[str, tuple[float, float]] | None = None) -> Path:
    """Refusal precision against recall, one line per set, the shipped threshold's point marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=110)
    for name, pts in curves.items():
        if pts:
            ax.plot([p[2] for p in pts], [p[1] for p in pts], marker=".", label=name)
        if marks and name in marks:
            ax.scatter([marks[name][1]], [marks[name][0]], s=80, marker="*", zorder=5)
    ax.set_xlabel("refusal recall (unanswerable questions refused)")
    ax.set_ylabel("refusal precision")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.axhline(0.9, color="grey", lw=0.8, ls="--")
    ax.set_title("refusal gate: precision-recall over the threshold (* = shipped threshold)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _refusal_section(gate_points: dict, path: Path, results: dict | None = None) -> list[str]:
    from .answer.model import load_model

    threshold = load_model().refuse_below
    gate_points = dict(gate_points)
    by_index: dict[str, list[str]] = {}  # sets asked over one index (answerable and unanswerable) form one curve
    for name in gate_points:
        index = ((results or {}).get(name, {}).get("set") or {}).get("index")
        if index:
            by_index.setdefault(index, []).append(name)
    for names in by_index.values():
        if len(names) > 1:
            gate_points[" + ".join(names)] = [p for n in names for p in gate_points[n]]
    curves = {name: refusal_curve(pts) for name, pts in gate_points.items()
              if any(not ans for ans, _ in pts) and any(c is not None for _, c in pts)}
    if not curves:
        return []
    marks, rows = {}, []
    for name, pts in curves.items():
        at = [p for p in pts if p[0] <= threshold + 1e-9]
        p = at[-1] if at else (threshold, 0.0, 0.0, 0.0)
        marks[name] = (p[1], p[2])
        rows.append([name, fmt(threshold), fmt(p[1]), fmt(p[2]), fmt(p[3])])
    png = refusal_chart(curves, path.with_name(path.stem + "_refusal.png"), marks)
    return ["## 拒答门限 / refusal gate", "",
            "The gate refuses when the fitted probability that the best candidate answers is below the threshold "
            "written by `scripts/fit_answerer.py` (a place no document mentions is refused outright). The curve moves "
            "the threshold over the confidence every answered and refused question got; the star is the shipped "
            "threshold.", "", f"![refusal precision-recall]({png.name})", "",
            _md_table(["set", "threshold", "gate-alone refusal precision", "gate-alone refusal recall",
                      "answerable refused"], rows), ""]


def write_report(results: dict[str, dict], path: Path, settings, command: str = "",
                 misses: dict[str, list[dict]] | None = None, notes: str = "",
                 gate_points: dict | None = None) -> tuple[Path, Path]:
    """Write the Markdown report (the sets side by side, each set's metrics per type and systems, the misses,
    settings, date, command, data credits) and its chart next to it (same name, .png). Returns both paths."""
    path = Path(path)
    png = chart(results, path.with_suffix(".png"))
    backends = sorted({r["backend"] for r in results.values() if r.get("backend")})
    splits = sorted({(r.get("set") or {}).get("split", "all") for r in results.values()})
    lines = [
        "# PolicyQA 评测报告 / evaluation report", "",
        f"- 日期 / date: {_dt.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- 命令 / command: `{command}`" if command else "",
        f"- 题目划分 / split: {', '.join(splits)} (by document: `rag.evaluate.split_of`)",
        f"- 回答后端 / answer backend: {', '.join(backends) or '— (not measured)'}",
        f"- 机器负载 / load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs",
        "", "## 评测集 / sets", "",
        _md_table(["set", "questions", "documents", "index", "items", "answerable"],
                  [[name] + [f"`{(r.get('set') or {}).get(k, '')}`" for k in ("questions", "corpus", "index")]
                   + [fmt(r.get("n")), fmt(r.get("n_answerable"))] for name, r in results.items()]),
        "", f"![metrics by set]({png.name})", "",
    ]
    for title, tab in side_by_side(results, _md_table):
        lines += [f"## {title}", "", tab, ""]
    for name, result in results.items():
        lines += [f"## {name}", ""]
        for title, tab in _tables(result, _md_table):
            lines += [f"### {title}", "", tab, ""]
        lines += [f"检索延迟 / retrieval latency (warm): p50 {fmt(result.get('latency_ms_p50'))} ms, "
                  f"p95 {fmt(result.get('latency_ms_p95'))} ms", ""]
        missed = (misses or {}).get(name) or []
        if missed:
            more = len(missed) - MISSES_SHOWN
            lines += [f"### 未命中 / misses ({len(missed)})", "", _md_table(
                ["id", "type", "question", "must_contain", "what failed"],
                [[m["id"], m["type"], _cell(m["question"]), _cell(" / ".join(m["must_contain"])), m["failed"]]
                 for m in missed[:MISSES_SHOWN]],
            ), ""]
            if more > 0:
                lines += [f"…and {more} more: `rag eval {name} --details out.jsonl` lists every question.", ""]
    if gate_points:
        lines += _refusal_section(gate_points, path, results)
    if notes:
        lines += [notes.strip(), ""]
    credits = [f"- **{name}**: {r['set']['credit']}" for name, r in results.items()
               if (r.get("set") or {}).get("credit")]
    if credits:
        lines += ["## 数据来源 / data credits", "", *credits, ""]
    lines += ["## 设置 / settings", "", _md_table(
        ["setting", "value"], [[k, f"`{getattr(settings, k, '')}`"] for k in SETTINGS_SHOWN if k != "index_dir"]), ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(x for x in lines if x is not None) + "\n", encoding="utf-8")
    return path, png


def _cell(text: str, limit: int = 120) -> str:
    """Table-safe text: pipes escaped, long text cut."""
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


METRIC_NOTES = """## 指标与基线 / what the numbers mean

- **hit@k**: every `must_contain` string of the item lies in the top-k retrieved chunks (each string inside one chunk;
  compared after folding full-width/ASCII punctuation and removing whitespace). **@600ch / @1500ch**: the same, reading
  the ranked chunks only up to 600 / 1,500 characters, so big chunks get no free ride. **mrr**: 1/k for the smallest k
  (≤ 10) at which hit@k becomes true. Retrieval metrics cover answerable items only.
- **contains**: the answer text holds every `must_contain` string. **recall**: the share of the gold answer's
  characters the answer recovers, in order (longest common subsequence over the gold length). **f1**: CMRC 2018 F1
  (Chinese characters as tokens, punctuation dropped, longest common run). The answer is scored without its `[n]`
  markers and refusal text; a refusal scores 0. The gold answer is the item's `answer`, else its `must_contain` joined.
- **anchors**, on the same top-k hits the answerer used: **top-1 chunk** (the whole chunk text), **bigram sentence**
  (the sentence sharing the most character bigrams with the question), **dense sentence** (the sentence closest to
  the question by the index's embedding model), **best sentence (ceiling)** (each metric's best single sentence,
  judged against the gold). Sentences: `rag.textnorm.sentence_spans`.
- **cit_valid**: share of all citations whose quote equals the normalised source text at the cited span.
  **ev_cited**: a citation overlaps the evidence quote in the source. **refuse_P / refuse_R**: precision / recall of
  refusals, positives being the `unanswerable` items; **refused**: share of answerable items refused (false
  refusals). Latencies are warm (after one warm-up call), in milliseconds.
- **keyword / dense**: our BM25 or FAISS alone. **langchain_naive**: `RecursiveCharacterTextSplitter(500, 50)` over each
  file's full text + LangChain FAISS. **chatchat**: the Langchain-Chatchat default (Chinese recursive splitter,
  750 characters, 150 overlap; BM25Retriever on `jieba.lcut_for_search` + FAISS, fused 0.5/0.5 by EnsembleRetriever).
  Every system uses the same embedding model as the index."""
