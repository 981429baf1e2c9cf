"""Human-readable output of `rag eval`: the terminal table, the Markdown report and its chart."""

from __future__ import annotations

import datetime as _dt
import os
import shlex
from pathlib import Path

RETRIEVAL_COLS = [("hit_at_1", "hit@1"), ("hit_at_3", "hit@3"), ("hit_at_5", "hit@5"), ("hit_at_600ch", "@600ch"),
                  ("hit_at_1500ch", "@1500ch"), ("mrr", "mrr")]
ANSWER_COLS = [("answer_contains", "ans_contains"), ("citation_valid", "cit_valid"), ("evidence_cited", "ev_cited"),
               ("refusal_precision", "refuse_P"), ("refusal_recall", "refuse_R"), ("refusal_rate", "refused"),
               ("ask_latency_ms_p50", "ask_p50ms"), ("ask_latency_ms_p95", "ask_p95ms")]
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


def _text_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    line = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
    return "\n".join([line(header), "  ".join("-" * w for w in widths)] + [line(r) for r in rows])


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


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
        header = ["system"] + [h for _, h in SYSTEM_COLS]
        rows = [[name] + [fmt(m.get(k)) for k, _ in SYSTEM_COLS] for name, m in systems_of(result)]
        out.append(("系统对比 / systems (same eval set, same embedding model)", table(header, rows)))
    return out


def render_table(result: dict) -> str:
    """The default terminal output of `rag eval`."""
    lat = f"retrieval p50 {fmt(result.get('latency_ms_p50'))} ms, p95 {fmt(result.get('latency_ms_p95'))} ms (warm)"
    parts = [f"{title}\n{tab}" for title, tab in _tables(result, _text_table)]
    return "\n\n".join(parts + [lat])


def chart(result: dict, path: Path, title: str = "PolicyQA retrieval: hybrid vs baselines") -> Path:
    """Grouped bars of hit@1 / hit@5 / hit@600ch / MRR, one bar per system, saved as a PNG."""
    try:
        import matplotlib
    except ImportError as e:
        from .errors import MissingExtraError

        raise MissingExtraError("matplotlib", "bench", "评测报告图表") from e
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = systems_of(result)
    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=110)
    n = len(systems)
    width = 0.8 / n
    for i, (name, m) in enumerate(systems):
        xs = [j + (i - (n - 1) / 2) * width for j in range(len(CHART_METRICS))]
        ys = [m.get(k) or 0.0 for k, _ in CHART_METRICS]
        bars = ax.bar(xs, ys, width * 0.95, label=name, zorder=3)
        for b, y in zip(bars, ys):
            ax.text(b.get_x() + b.get_width() / 2, y + 0.01, f"{y:.2f}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(CHART_METRICS)), [label for _, label in CHART_METRICS])
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("share of answerable questions")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3, zorder=0)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), fontsize=8, ncols=min(n, 5), frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def command_line(args) -> str:
    """The `rag eval` command that produced a result, rebuilt from the parsed arguments."""
    parts = ["rag", "eval", str(args.file)]
    if getattr(args, "index", None):
        parts += ["--index", str(args.index)]
    for flag in ("baselines", "no_answers", "json"):
        if getattr(args, flag, False):
            parts.append("--" + flag.replace("_", "-"))
    for opt in ("llm", "limit", "report"):
        if getattr(args, opt, None) is not None:
            parts += ["--" + opt, str(getattr(args, opt))]
    return shlex.join(parts)


def write_report(result: dict, path: Path, settings, command: str = "", misses: list[dict] | None = None,
                 notes: str = "") -> tuple[Path, Path]:
    """Write the Markdown report (every metric per type, the systems table, settings, date, command) and its
    chart next to it (same name, .png). Returns both paths."""
    path = Path(path)
    png = chart(result, path.with_suffix(".png"))
    lines = [
        "# PolicyQA 评测报告 / evaluation report", "",
        f"- 日期 / date: {_dt.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- 命令 / command: `{command}`" if command else "",
        f"- 题目 / items: {result.get('n')} ({result.get('n_answerable')} answerable)",
        f"- 回答后端 / answer backend: {result.get('backend', '— (not measured)')}",
        f"- 机器负载 / load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs",
        "", f"![retrieval metrics by system]({png.name})", "",
    ]
    for title, tab in _tables(result, _md_table):
        lines += [f"## {title}", "", tab, ""]
    lines += [f"检索延迟 / retrieval latency (warm): p50 {fmt(result.get('latency_ms_p50'))} ms, "
              f"p95 {fmt(result.get('latency_ms_p95'))} ms", ""]
    if notes:
        lines += [notes.strip(), ""]
    if misses:
        lines += ["## 未命中 / misses of the main system", "", _md_table(
            ["id", "type", "question", "must_contain", "what failed"],
            [[m["id"], m["type"], m["question"].replace("|", "\\|"), " / ".join(m["must_contain"]).replace("|", "\\|"),
              m["failed"]] for m in misses],
        ), ""]
    lines += ["## 设置 / settings", "", _md_table(
        ["setting", "value"], [[k, f"`{getattr(settings, k, '')}`"] for k in SETTINGS_SHOWN]), ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(x for x in lines if x is not None) + "\n", encoding="utf-8")
    return path, png


METRIC_NOTES = """## 指标与基线 / what the numbers mean

- **hit@k**: every `must_contain` string of the item lies in the top-k retrieved chunks (each string inside one chunk;
  compared after folding full-width/ASCII punctuation and removing whitespace). **@600ch / @1500ch**: the same, reading
  the ranked chunks only up to 600 / 1,500 characters, so big chunks get no free ride. **mrr**: 1/k for the smallest k
  (≤ 10) at which hit@k becomes true. Retrieval metrics cover answerable items only.
- **ans_contains**: the answer text holds every `must_contain` string. **cit_valid**: share of all citations whose quote
  equals the normalised source text at the cited span. **ev_cited**: a citation overlaps the evidence quote in the
  source. **refuse_P / refuse_R**: precision / recall of refusals, positives being the `unanswerable` items;
  **refused**: share of items refused. Latencies are warm (after one warm-up call), in milliseconds.
- **keyword / dense**: our BM25 or FAISS alone. **langchain_naive**: `RecursiveCharacterTextSplitter(500, 50)` over each
  file's full text + LangChain FAISS. **chatchat**: the Langchain-Chatchat default (Chinese recursive splitter,
  750 characters, 150 overlap; BM25Retriever on `jieba.lcut_for_search` + FAISS, fused 0.5/0.5 by EnsembleRetriever).
  Every system uses the same embedding model as the index."""
