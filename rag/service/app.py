"""`create_app(assistant) -> FastAPI`: the JSON API (/api/v1), the OpenAI-compatible endpoint (/v1), OpenAPI docs
(/docs) and, when given, the UI mounted at / — one ASGI app, one set of access rules.

Access: with no credential configured everything is open (the default binds 127.0.0.1). With RAG_API_TOKENS or a
tokens file every API route needs a token (read: ask, search, list, feedback; write: also upload and remove); with
RAG_AUTH the API also takes the UI login as HTTP Basic, and the UI asks for it. A UI without its own login (tokens
only) needs a write token too, so no route is a way around the rules.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..errors import (
    BackendError, IndexCorruptError, IndexMismatchError, IndexNotFoundError, InputError, LoadError, MissingExtraError,
    RagError,
)
from .auth import AuthError, Credentials, RateLimiter, credentials_from

log = logging.getLogger("rag.service")

API_PREFIXES = ("/api/v1", "/v1/")
PUBLIC = ("/docs", "/openapi.json", "/docs/oauth2-redirect")
WRITE_ROUTES = {("POST", "/api/v1/documents")}  # and DELETE /api/v1/documents/{id}


class ApiError(RagError):
    """An error the API answers with: HTTP status, a machine code and a Chinese message."""

    def __init__(self, status: int, code: str, message_zh: str, message_en: str = "", headers: dict | None = None):
        super().__init__(message_zh, message_en)
        self.status, self.code, self.headers = status, code, headers or {}


@dataclass
class Service:
    """What the routes share: the assistant, settings, credentials, the rate limiter and the one-writer lock."""

    assistant: object
    settings: object
    credentials: Credentials
    limiter: RateLimiter
    write_lock: threading.Lock


def error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def error_response(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


def status_of(e: RagError) -> tuple[int, str]:
    """The HTTP status and code that fit a library error."""
    if isinstance(e, ApiError):
        return e.status, e.code
    if isinstance(e, AuthError):
        return e.status, e.code
    if isinstance(e, (IndexNotFoundError, IndexCorruptError, IndexMismatchError)):
        return 503, "index_unavailable"
    if isinstance(e, (BackendError, MissingExtraError)):
        return 503, "backend_unavailable"
    if isinstance(e, (InputError, LoadError)):
        return 400, "bad_request"
    return 400, "bad_request"


def required_scope(method: str, path: str) -> str | None:
    """The scope a route needs; None for the public docs."""
    if path in PUBLIC:
        return None
    if (method, path.rstrip("/")) in WRITE_ROUTES or (method == "DELETE" and path.startswith("/api/v1/documents/")):
        return "write"
    return "read"


class AccessMiddleware:
    """Pure ASGI middleware (streams pass through untouched): credentials, scope and rate limit for every route."""

    def __init__(self, app, service: Service):
        self.app, self.service = app, service

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        creds = self.service.credentials
        path = scope.get("path", "")
        is_api = path == "/api/v1" or path.startswith(API_PREFIXES) or path == "/v1"
        needed = required_scope(scope.get("method", "GET"), path)
        if not creds.required or needed is None:
            return await self.app(scope, receive, send)
        if not is_api:
            if creds.login:  # the UI's own login page guards the UI
                return await self.app(scope, receive, send)
            needed = "write"  # the UI can upload and remove: without a login it takes a write token
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        try:
            caller = creds.check(headers.get("authorization"))
            if not caller.may(needed):
                raise AuthError(403, "forbidden", "该令牌只有只读权限，不能上传或删除文档（需要 write 权限）",
                                f"{caller.name} (scope {caller.scope}) denied {needed} access to {path}")
            self.service.limiter.hit(caller.name)
        except AuthError as e:
            log.info("%s %s -> %d %s", scope.get("method"), path, e.status, e.log_message)
            if scope["type"] == "websocket":
                return await send({"type": "websocket.close", "code": 1008})
            extra = {"Retry-After": str(e.retry_after)} if e.retry_after else {}
            if e.status == 401:
                extra["WWW-Authenticate"] = 'Bearer realm="policyqa"'
            response = error_response(e.status, e.code, str(e), extra)
            return await response(scope, receive, send)
        scope.setdefault("state", {})["caller"] = caller.name
        return await self.app(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """Every error is JSON {"error": {"code", "message"}} with a Chinese message and a fitting status."""

    @app.exception_handler(RagError)
    async def rag_error(request: Request, e: RagError):
        status, code = status_of(e)
        log.warning("%s %s -> %d %s", request.method, request.url.path, status, e.log_message)
        return error_response(status, code, str(e), getattr(e, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, e: RequestValidationError):
        problems = []
        for err in e.errors()[:5]:
            where = ".".join(str(x) for x in err.get("loc", ()) if x not in ("body", "query", "path"))
            problems.append(f"{where or '请求体'}（{err.get('msg', '')}）")
        return error_response(400, "bad_request", "请求格式有误：" + "；".join(problems))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, e: StarletteHTTPException):
        messages = {404: f"没有这个接口：{request.url.path}", 405: "该接口不支持此请求方法",
                    413: "请求内容过大", 415: "不支持的内容类型"}
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 415: "unsupported_type"}
        return error_response(e.status_code, code.get(e.status_code, "http_error"),
                              messages.get(e.status_code, str(e.detail)))

    @app.exception_handler(Exception)
    async def crashed(request: Request, e: Exception):
        log.exception("%s %s failed", request.method, request.url.path)
        return error_response(500, "internal_error", "服务器内部错误，请稍后再试")


def create_app(assistant, settings=None, mount_ui: Callable[[FastAPI], FastAPI] | None = None) -> FastAPI:
    """The service over one Assistant; `mount_ui(app)` mounts the web UI at / (webui.mount.mount_ui)."""
    from fastapi.middleware.cors import CORSMiddleware

    from . import api, openai_api

    settings = settings or assistant.settings
    service = Service(assistant, settings, credentials_from(settings), RateLimiter(settings.api_rate_limit),
                      assistant.write_lock)
    app = FastAPI(
        title="PolicyQA 政策问答助手 API", version=__version__, docs_url="/docs", redoc_url=None,
        description="带核验引用的政策问答。/api/v1 为本服务的 JSON 接口，/v1 为 OpenAI 兼容接口（模型名 policyqa）。"
                    "配置了令牌时请求头需带 Authorization: Bearer <令牌>。",
    )
    app.state.service = service
    install_error_handlers(app)
    app.include_router(api.router, prefix="/api/v1")
    app.include_router(openai_api.router, prefix="/v1")
    app.add_middleware(AccessMiddleware, service=service)
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if origins:  # off unless configured; outside the access check so that preflight requests get an answer
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type"])
    if mount_ui is not None:
        app = mount_ui(app)
    return app
