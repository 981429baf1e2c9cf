"""API tokens with scopes, HTTP Basic with the UI login, and a per-token rate limit (no FastAPI in here).

Tokens are kept only as SHA-256 hashes: from RAG_API_TOKENS (`token:scope,…`, hashed on load) or from a tokens file
of `<sha256-hex> <scope>` lines (`rag token` prints a new token and its line). A caller is known in logs by
`token:<first 8 hex of the hash>`, never by the token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import RagError

SCOPES = ("read", "write")  # write includes read


class AuthError(RagError):
    """A request without valid credentials (401), with too small a scope (403) or over its rate (429)."""

    def __init__(self, status: int, code: str, message_zh: str, message_en: str, retry_after: int | None = None):
        super().__init__(message_zh, message_en)
        self.status, self.code, self.retry_after = status, code, retry_after


def hash_token(token: str) -> str:
    """SHA-256 hex of a token: what the tokens file stores and what a request's token is compared by."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Caller:
    """Who made a request: a log-safe name and the scope granted."""

    name: str
    scope: str

    def may(self, needed: str) -> bool:
        return needed == "read" or self.scope == "write"


@dataclass
class Credentials:
    """Token hashes with their scopes, and the UI login (user, password) when RAG_AUTH is set."""

    tokens: dict[str, str] = field(default_factory=dict)  # sha256 hex -> scope
    login: tuple[str, str] | None = None

    @property
    def required(self) -> bool:
        """True when any credential is configured: then every API route needs one."""
        return bool(self.tokens or self.login)

    def check(self, authorization: str | None) -> Caller:
        """The caller named by an Authorization header; AuthError 401 when missing or wrong."""
        scheme, _, value = (authorization or "").strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and value:
            digest = hash_token(value)
            for known, scope in self.tokens.items():
                if hmac.compare_digest(known, digest):
                    return Caller(f"token:{digest[:8]}", scope)
            raise AuthError(401, "invalid_token", "访问令牌无效：请检查 Authorization: Bearer 后面的令牌",
                            f"unknown bearer token (sha256 {digest[:8]}…)")
        if scheme.lower() == "basic" and value and self.login:
            try:
                user, _, password = base64.b64decode(value).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                user, password = "", ""
            if hmac.compare_digest(user, self.login[0]) and hmac.compare_digest(password, self.login[1]):
                return Caller(f"user:{user}", "write")
            raise AuthError(401, "invalid_login", "用户名或密码错误", "wrong HTTP Basic credentials")
        raise AuthError(401, "missing_token", "缺少访问令牌：请在请求头中加入 Authorization: Bearer <令牌>",
                        "request without credentials")


def parse_tokens(spec: str) -> dict[str, str]:
    """`token:scope,token:scope` -> {sha256: scope}; a bad entry is an error that never repeats the token."""
    out: dict[str, str] = {}
    for i, entry in enumerate(x.strip() for x in spec.split(",")):
        if not entry:
            continue
        token, sep, scope = entry.rpartition(":")
        if not sep or not token or scope not in SCOPES:
            raise RagError(f"RAG_API_TOKENS 第 {i + 1} 项格式应为 令牌:read 或 令牌:write",
                           f"RAG_API_TOKENS entry {i + 1} is not token:read or token:write")
        out[hash_token(token)] = scope
    return out


def read_tokens_file(path: Path) -> dict[str, str]:
    """Lines `<sha256-hex> <scope>` (blank lines and # comments allowed) -> {sha256: scope}."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise RagError(f"无法读取令牌文件 {path}：{e.strerror or e}", f"cannot read tokens file {path}: {e}") from e
    out: dict[str, str] = {}
    for n, line in enumerate(lines, 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        ok = len(parts) == 2 and parts[1] in SCOPES and len(parts[0]) == 64
        if ok:
            try:
                int(parts[0], 16)
            except ValueError:
                ok = False
        if not ok:
            raise RagError(f"令牌文件 {path} 第 {n} 行格式应为：<SHA-256 十六进制> read|write（可用 rag token 生成）",
                           f"tokens file {path} line {n} is not '<sha256-hex> read|write'")
        out[parts[0].lower()] = parts[1]
    return out


def credentials_from(settings) -> Credentials:
    """Credentials from the settings: RAG_API_TOKENS, RAG_API_TOKENS_FILE and RAG_AUTH."""
    tokens = parse_tokens(settings.api_tokens.get_secret_value())
    if settings.api_tokens_file:
        tokens.update(read_tokens_file(settings.api_tokens_file))
    login = None
    if settings.auth:
        user, sep, password = settings.auth.partition(":")
        if not sep or not user or not password:
            raise RagError("RAG_AUTH 的格式应为 用户名:密码", "RAG_AUTH is not user:password")
        login = (user, password)
    return Credentials(tokens, login)


class RateLimiter:
    """At most `per_minute` requests per caller in any sliding 60-second window (0 = unlimited)."""

    def __init__(self, per_minute: int, window: float = 60.0):
        self.per_minute, self.window = per_minute, window
        self._seen: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def hit(self, caller: str) -> None:
        """Count one request; AuthError 429 (with seconds to wait) when the caller is over the limit."""
        if not self.per_minute:
            return
        now = time.monotonic()
        with self._lock:
            times = [t for t in self._seen.get(caller, []) if now - t < self.window]
            if len(times) >= self.per_minute:
                self._seen[caller] = times
                wait = max(1, math.ceil(self.window - (now - times[0])))
                raise AuthError(429, "rate_limited", f"请求过于频繁：每分钟最多 {self.per_minute} 次，请 {wait} 秒后再试",
                                f"{caller} over {self.per_minute} requests/minute", retry_after=wait)
            times.append(now)
            self._seen[caller] = times
