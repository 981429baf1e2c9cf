"""A scripted OpenAI-compatible chat-completions server on loopback: it stands in for a hosted LLM API in tests.

It speaks the real protocol over real HTTP (`POST /v1/chat/completions`, JSON replies, or SSE `data: {...}` chunks
ending with `data: [DONE]` when the request says `"stream": true`), so the code under test runs its real client
(langchain-openai -> openai -> HTTP). Replies come from a script: each request takes the next `Reply`; a reply's
text may be a function of the request, so a scripted "model" can cite whichever passage holds the right fact.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    """One scripted reply: HTTP status, the assistant text (or a function of the request), or a raw body."""

    text: str | Callable[[dict], str] = ""
    status: int = 200
    raw_body: bytes | None = None  # sent as is (malformed replies)
    hang: bool = False  # accept the request, then say nothing until the server closes
    retry_after: str | None = None
    chunk_chars: int = 3  # characters per streamed chunk


class ScriptedLLMServer:
    """Start with `with ScriptedLLMServer() as s:`; `s.base_url` is what RAG_LLM_BASE_URL would be."""

    def __init__(self, default: Reply | None = None):
        self.script: deque[Reply] = deque()
        self.default = default or Reply("文档中没有找到相关信息")
        self.requests: list[dict] = []  # JSON bodies received, plus "_auth" (the Authorization header)
        self._release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    body = {}
                body["_auth"] = self.headers.get("Authorization", "")
                server.requests.append(body)
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    return self._json(404, {"error": {"message": "not found"}})
                reply = server.script.popleft() if server.script else server.default
                if reply.hang:
                    server._release.wait(60)
                    return
                if reply.status != 200:
                    headers = {"Retry-After": reply.retry_after} if reply.retry_after else {}
                    return self._json(reply.status, {"error": {"message": f"scripted {reply.status}",
                                                               "type": "scripted", "code": reply.status}}, headers)
                if reply.raw_body is not None:
                    return self._send(200, reply.raw_body, "application/json")
                text = reply.text(body) if callable(reply.text) else reply.text
                if body.get("stream"):
                    return self._stream(text, body.get("model", ""), reply.chunk_chars)
                return self._json(200, {
                    "id": "chatcmpl-scripted", "object": "chat.completion", "created": int(time.time()),
                    "model": body.get("model", ""),
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                })

            def _json(self, status, obj, headers=None):
                self._send(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"), "application/json", headers)

            def _send(self, status, data, ctype, headers=None):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, text, model, size):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()

                def event(delta, finish=None):
                    chunk = {"id": "chatcmpl-scripted", "object": "chat.completion.chunk", "created": int(time.time()),
                             "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
                    self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode("utf-8"))
                    self.wfile.flush()

                event({"role": "assistant", "content": ""})
                for i in range(0, len(text), size):
                    event({"content": text[i:i + size]})
                event({}, "stop")
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True, name="scripted-llm")

    def push(self, *replies: Reply) -> None:
        """Queue replies for the next requests, in order."""
        self.script.extend(replies)

    def reset(self) -> None:
        self.script.clear()
        self.requests.clear()

    def start(self) -> "ScriptedLLMServer":
        self._thread.start()
        return self

    def close(self) -> None:
        self._release.set()  # let hanging handlers finish
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> "ScriptedLLMServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
