"""An OpenAI-compatible endpoint under /v1: PolicyQA as a model named `policyqa` for any OpenAI client.

The reply's content is the verified answer followed by its sources as a Markdown list; the citations are also in
the structured extra field `citations` (and `policyqa` holds refusal, confidence, generation). Earlier user and
assistant turns of `messages` are the conversation a follow-up question is rewritten against (rag/followup.py).
Streaming sends the verified answer in pieces: an OpenAI client cannot take back words already shown, so only text
that passed citation checks is streamed.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ..types import Answer
from .api import filters_of, need_question
from .app import ApiError

router = APIRouter(tags=["OpenAI 兼容"])

MODEL = "policyqa"
SOURCES_HEADING = "**来源**"
PIECE_CHARS = 16  # characters per streamed chunk


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, max_tokens, … are accepted and have no effect
    model: str = MODEL
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    filters: dict[str, Any] = Field(default_factory=dict, description="PolicyQA 扩展：检索筛选，同 /api/v1/ask")
    k: int | None = Field(default=None, ge=1, le=100, description="PolicyQA 扩展：检索片段数")


def text_of(message: ChatMessage) -> str:
    """A message's text (content as a string, or the text parts of a content list)."""
    if isinstance(message.content, list):
        return "".join(str(p.get("text", "")) for p in message.content if p.get("type") == "text")
    return message.content or ""


def conversation(messages: list[ChatMessage]) -> tuple[str, list[tuple[str, str]]]:
    """The question (the last user message) and the earlier (question, answer) pairs; our source lists are cut off
    the earlier answers so that the rewriter reads the answers themselves."""
    if messages[-1].role != "user":
        raise ApiError(400, "bad_request", "最后一条消息应为用户的问题（role 为 user）", "last message is not from the user")
    history: list[tuple[str, str]] = []
    pending: str | None = None
    for m in messages[:-1]:
        if m.role == "user":
            pending = text_of(m)
        elif m.role == "assistant" and pending is not None:
            history.append((pending, text_of(m).split("\n\n" + SOURCES_HEADING, 1)[0].strip()))
            pending = None
    return text_of(messages[-1]), history


def content_of(answer: Answer) -> str:
    """The answer, then its sources as a Markdown list: [n] 《title》 > section：“quote”."""
    parts = [answer.text]
    if answer.notice:
        parts.append(f"（{answer.notice}）")
    if answer.citations:
        lines = [SOURCES_HEADING, ""]
        for c in answer.citations:
            section = f" > {c.section}" if c.section else ""
            lines.append(f"- [{c.n}] 《{c.title}》{section}：“{c.quote}”")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def extras(answer: Answer) -> dict[str, Any]:
    d = answer.to_dict()
    return {"citations": d["citations"],
            MODEL: {k: d[k] for k in ("refused", "confidence", "generation", "rewritten_question", "notice", "backend")}}


@router.get("/models", summary="可用模型（只有 policyqa）")
def models():
    return {"object": "list", "data": [{"id": MODEL, "object": "model", "created": 0, "owned_by": "policyqa"}]}


@router.post("/chat/completions", summary="OpenAI 兼容的对话接口（模型 policyqa）")
async def chat_completions(body: ChatRequest, request: Request):
    if body.model != MODEL:
        raise ApiError(404, "model_not_found", f"没有模型 {body.model}，可用的模型：{MODEL}", f"unknown model {body.model!r}")
    question, history = conversation(body.messages)
    need_question(question)
    flt = filters_of(body.filters)
    assistant = request.app.state.service.assistant
    answer = await run_in_threadpool(assistant.ask, question, history or None, flt, body.k)
    cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
    content = content_of(answer)
    usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    if not body.stream:
        return {"id": cid, "object": "chat.completion", "created": created, "model": MODEL,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                             "finish_reason": "stop"}],
                "usage": usage, **extras(answer)}

    def chunk(delta: dict, finish: str | None = None, **more) -> str:
        obj = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL,
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **more}
        return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n"

    def events() -> Iterator[str]:
        yield chunk({"role": "assistant", "content": ""})
        for i in range(0, len(content), PIECE_CHARS):
            yield chunk({"content": content[i:i + PIECE_CHARS]})
        yield chunk({}, "stop", **extras(answer))
        if (body.stream_options or {}).get("include_usage"):
            obj = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL, "choices": [],
                   "usage": usage}
            yield f"data: {json.dumps(obj)}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


@router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
def unknown(rest: str):
    raise ApiError(404, "not_found", f"没有这个接口：/v1/{rest}", f"no route /v1/{rest}")
