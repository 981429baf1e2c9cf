"""The JSON API under /api/v1: ask (JSON or Server-Sent Events), search, documents, upload, remove, feedback, health.

`/ask` returns the object `rag ask --json` prints (`Answer.to_dict`), `/search` the hits of `rag search --json`,
`/documents` the rows of `rag docs --json`: one serialisation for the CLI and the API.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import tempfile
from collections.abc import Iterator
from itertools import chain
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from .. import __version__
from ..errors import RagError
from ..retriever import Filters
from ..types import Answer
from ..uploads import UPLOAD_SUFFIXES, add_uploads, check_upload, remove_upload
from .app import ApiError, error_body, status_of

log = logging.getLogger("rag.service")
router = APIRouter(tags=["PolicyQA"])

Mode = Literal["hybrid", "dense", "keyword"]
Backend = Literal["none", "openai", "llamacpp"]
BUSY = {"Retry-After": "5"}


class AskRequest(BaseModel):
    question: str = Field(description="问题（中文）", examples=["某市到2025年的产业规模目标是多少？"])
    filters: dict[str, Any] = Field(default_factory=dict, description="检索筛选，与 rag ask 相同，例如 "
                                    '{"docs": ["某文件.txt"], "regions": ["江苏省"]}；检索器新增的筛选项直接可用')
    mode: Mode | None = Field(default=None, description="检索方式（默认 hybrid）")
    k: int | None = Field(default=None, ge=1, le=100, description="检索片段数")
    llm: Backend | None = Field(default=None, description="回答方式：none 摘取原文（默认）、openai、llamacpp")
    history: list[tuple[str, str]] = Field(default_factory=list, description="此前的 [问题, 回答]，用于理解追问")
    stream: bool = Field(default=False, description="true 时以 Server-Sent Events 流式返回")


class SearchRequest(BaseModel):
    query: str
    filters: dict[str, Any] = Field(default_factory=dict)
    mode: Mode | None = None
    k: int = Field(default=5, ge=1, le=100)


class FeedbackRequest(BaseModel):
    question: str
    answer: str
    vote: Literal["up", "down"]
    citations: list[dict[str, Any]] = Field(default_factory=list)
    comment: str = Field(default="", max_length=2000)


def service(request: Request):
    return request.app.state.service


def filters_of(raw: dict[str, Any]):
    """The retriever's own filter object from the request's `filters` (unknown names are a 400, not ignored)."""
    known = {f.name for f in dataclasses.fields(Filters)} if dataclasses.is_dataclass(Filters) else set(raw)
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ApiError(400, "bad_filter", f"未知的筛选条件：{', '.join(unknown)}（可用：{', '.join(sorted(known))}）",
                       f"unknown filter keys {unknown}")
    try:
        return Filters.of(raw)
    except RagError:
        raise
    except (TypeError, ValueError, AttributeError) as e:
        raise ApiError(400, "bad_filter", f"筛选条件格式有误：{e}", f"bad filters {raw!r}: {e}") from e


def need_question(text: str, what: str = "问题") -> None:
    if not text or not text.strip():
        raise ApiError(400, "empty_question", f"{what}不能为空", "empty question")


def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def final_answer(first, events: Iterator) -> Answer:
    """Run a stream to its end; its last event is the verified Answer."""
    final = first
    for event in events:
        final = event
    return final


def answer_events(events: Iterator) -> Iterator[str]:
    """SSE: `delta` events with text as it is generated, then one `answer` event with the verified answer (the
    authoritative text: a generated sentence whose citation fails verification is changed there)."""
    try:
        for event in events:
            if isinstance(event, Answer):
                yield sse("answer", event.to_dict())
            else:
                yield sse("delta", {"text": event})
    except RagError as e:
        status, code = status_of(e)
        log.warning("stream failed: %s", e.log_message)
        yield sse("error", error_body(code, str(e)))
    except Exception:
        log.exception("stream failed")
        yield sse("error", error_body("internal_error", "服务器内部错误，请稍后再试"))


@router.post("/ask", summary="提问：带核验引用的回答（stream=true 时为 SSE）")
async def ask(body: AskRequest, request: Request):
    assistant = service(request).assistant
    need_question(body.question)
    flt = filters_of(body.filters)
    events = assistant.stream(body.question, history=body.history or None, filters=flt, k=body.k, mode=body.mode,
                              llm=body.llm)
    # The first event is taken here, so that a backend that cannot start is an HTTP error, not a broken stream.
    first = await run_in_threadpool(next, events, None)
    if not body.stream:
        return (await run_in_threadpool(final_answer, first, events)).to_dict()
    return StreamingResponse(answer_events(chain([first], events)), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.post("/search", summary="检索：最相关的条款片段")
def search(body: SearchRequest, request: Request):
    need_question(body.query, "检索内容")
    hits, generation = service(request).assistant.search(body.query, k=body.k, mode=body.mode,
                                                         filters=filters_of(body.filters))
    return {"query": body.query, "generation": generation, "hits": [h.to_dict() for h in hits]}


@router.get("/documents", summary="已索引的文档")
def documents(request: Request):
    from ..versions import doc_rows  # each document's official fields, status and version chain

    return {"documents": doc_rows({r.doc.doc_id: r for r in service(request).assistant.documents()})}


@router.get("/documents/{doc_id}", summary="一篇文档：元数据与章节目录")
def document(doc_id: str, request: Request, text: bool = False):
    try:
        record = service(request).assistant.document(doc_id)
    except KeyError:
        raise ApiError(404, "document_not_found", f"索引中没有文档 {doc_id}", f"no document {doc_id!r}") from None
    out = {**record.summary(), "metadata": record.doc.metadata,
           "section_list": [{"path": s.path, "start": s.start, "end": s.end, "level": s.level} for s in record.sections]}
    if text:
        out["text"] = record.doc.source_text
    return out


@router.post("/documents", summary="上传文档（multipart，可多个 files），增量建索引")
async def upload(request: Request, files: list[UploadFile] = File(..., description="文档文件")):
    svc = service(request)
    max_bytes = svc.settings.max_upload_mb * 1024 * 1024
    stage = Path(tempfile.mkdtemp(prefix="policyqa-upload-"))
    try:
        paths = []
        for i, f in enumerate(files):
            name = Path(f.filename or "").name
            if not name or name.startswith("."):
                raise ApiError(400, "bad_filename", f"第 {i + 1} 个文件没有有效的文件名", "upload without a file name")
            if Path(name).suffix.lower() not in UPLOAD_SUFFIXES:
                raise ApiError(415, "unsupported_type", check_upload(Path(name)) or "不支持的文件类型",
                               f"unsupported upload type {Path(name).suffix!r}")
            dest = stage / str(i)
            dest.mkdir()
            dest = dest / name
            size = 0
            with open(dest, "wb") as out:
                while chunk := await f.read(1 << 20):
                    size += len(chunk)
                    if size > max_bytes:
                        raise ApiError(413, "too_large", f"文件 {name} 过大，上限 {svc.settings.max_upload_mb} MB",
                                       f"upload {name} over {svc.settings.max_upload_mb} MB")
                    out.write(chunk)
            reason = check_upload(dest, svc.settings.max_upload_mb)
            if reason:
                status = 415 if "不符" in reason or "类型" in reason else 400
                raise ApiError(status, "unsupported_type" if status == 415 else "bad_file", f"{name}：{reason}",
                               f"upload {name} rejected")
            paths.append(dest)
        if not svc.write_lock.acquire(blocking=False):
            raise ApiError(503, "index_busy", "索引正在更新，请稍后再试", "another upload or removal is running", BUSY)
        try:
            result = await run_in_threadpool(add_uploads, svc.assistant, paths, None, svc.settings.max_upload_mb)
        finally:
            svc.write_lock.release()
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    body = {"added": result.added, "rejected": [{"file": f, "reason": r} for f, r in result.rejected],
            "messages": result.lines, "generation": svc.assistant.generation}
    if not result.added:
        raise ApiError(400, "upload_rejected", "没有文件被加入索引：" + "；".join(f"{f}：{r}" for f, r in result.rejected),
                       f"upload rejected: {len(result.rejected)} files")
    log.info("%s uploaded %s", request.scope.get("state", {}).get("caller", "anonymous"), result.added)
    return body


@router.delete("/documents/{doc_id}", summary="从索引中删除文档")
async def remove(doc_id: str, request: Request):
    svc = service(request)
    if not svc.write_lock.acquire(blocking=False):
        raise ApiError(503, "index_busy", "索引正在更新，请稍后再试", "another upload or removal is running", BUSY)
    try:
        was_upload = await run_in_threadpool(remove_upload, svc.assistant, doc_id)
    except KeyError:
        raise ApiError(404, "document_not_found", f"索引中没有文档 {doc_id}", f"no document {doc_id!r}") from None
    finally:
        svc.write_lock.release()
    return {"removed": doc_id, "file_deleted": was_upload, "generation": svc.assistant.generation}


@router.post("/feedback", summary="对回答的评价（👍/👎）")
def feedback(body: FeedbackRequest, request: Request):
    need_question(body.question)
    service(request).assistant.record_feedback({**body.model_dump(), "source": "api"})
    return {"ok": True}


@router.get("/health", summary="服务状态：索引代号、文档与片段数、模型")
def health(request: Request):
    svc = service(request)
    docs = svc.assistant.documents()
    fp = svc.settings.embedding_fingerprint()
    return {"status": "ok", "version": __version__, "generation": svc.assistant.generation, "documents": len(docs),
            "chunks": sum(r.chunk_count for r in docs), "model": f"{fp['backend']}:{fp['model']}",
            "llm": svc.settings.llm}


@router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
def unknown(rest: str):
    raise ApiError(404, "not_found", f"没有这个接口：/api/v1/{rest}", f"no route /api/v1/{rest}")
