"""`python app.py`: the PolicyQA chat UI on http://127.0.0.1:7860 over the bundled corpus.

Flags (or environment): --host (RAG_HOST), --port (RAG_PORT), --index (RAG_INDEX); RAG_AUTH=user:pass turns on
a login. A missing or stale index is built from corpus/ first, with progress on the terminal.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

log = logging.getLogger("app")
CONCURRENCY = 4  # questions answered at once: the embedder serialises its own calls, the rest is thread-safe
MAX_QUEUE = 64


def parse_args(argv=None, settings=None) -> argparse.Namespace:
    """Command-line flags; defaults come from the settings (RAG_HOST, RAG_PORT, RAG_INDEX)."""
    p = argparse.ArgumentParser(description="政策问答助手 Web 界面 / PolicyQA web UI")
    p.add_argument("--host", default=settings.host if settings else "127.0.0.1",
                   help="监听地址（默认 127.0.0.1，仅本机可访问）")
    p.add_argument("--port", type=int, default=settings.port if settings else 7860, help="端口（默认 7860）")
    p.add_argument("--index", default=str(settings.index_dir) if settings else None, help="索引目录")
    return p.parse_args(argv)


def ensure_index(settings) -> None:
    """Build the index from the corpus when it is missing or behind it (uploaded documents are kept)."""
    from rag.errors import IndexMismatchError
    from rag.ingest import index_is_stale, ingest

    index_dir = Path(settings.index_dir)
    if not index_is_stale(settings, index_dir):
        return
    from rag.progress import progress_reporter

    print_progress = progress_reporter(sys.stderr)
    sys.stderr.write(f"正在从 {settings.corpus_dir} 构建索引 {index_dir}（首次约需一分钟）…\n")
    try:
        report = ingest([settings.corpus_dir], settings, index_dir, progress=print_progress)
    except IndexMismatchError:
        # Built under another embedding model or chunker: rebuild from the corpus and the uploads kept beside it.
        uploads = index_dir.with_name(index_dir.name + "-uploads")
        paths = [settings.corpus_dir] + ([uploads] if uploads.is_dir() else [])
        report = ingest(paths, settings, index_dir, progress=print_progress, rebuild=True)
    sys.stderr.write(f"索引就绪：{report.n_docs} 篇文档，{report.n_chunks} 个片段，用时 {report.seconds:.1f} 秒\n")
    for f, reason in report.skipped:
        sys.stderr.write(f"跳过 {f}：{reason}\n")


def parse_auth(value: str) -> tuple[str, str] | None:
    """RAG_AUTH=user:pass -> (user, pass); empty -> no login. A value without ':' is an error."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ValueError("RAG_AUTH 的格式应为 用户名:密码")
    return user, password


def main(argv=None) -> int:
    from rag.errors import RagError
    from rag.settings import Settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "faiss.loader"):  # one line per HTTP request / CPU feature probe drowns the useful ones
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = Settings()
    args = parse_args(argv, settings)
    settings = settings.model_copy(update={"index_dir": Path(args.index), "host": args.host, "port": args.port})
    try:
        auth = parse_auth(settings.auth)
        ensure_index(settings)
        from rag.assistant import Assistant

        assistant = Assistant.load(settings.index_dir, settings)
    except (RagError, ValueError) as e:
        sys.stderr.write(f"错误：{e}\n")
        return 2
    from webui import build_app, launch_options
    from rag.uploads import MAX_UPLOAD_MB

    demo = build_app(assistant)
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=MAX_QUEUE).launch(
        server_name=settings.host, server_port=settings.port, auth=auth, max_file_size=f"{MAX_UPLOAD_MB}mb",
        show_error=False, **launch_options(),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
