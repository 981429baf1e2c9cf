"""Access rules of the service on a real server on loopback: the auth matrix (no token, read, write, wrong token) on
every route, the rate limit, CORS, the UI login beside the tokens, a hashed tokens file, and `rag serve` itself
(whose log must never show a token)."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
import time

import httpx
import pytest
from pydantic import SecretStr

from rag.assistant import Assistant
from rag.retriever import Retriever

from .conftest import ROOT
from .served import serving
from .test_app_api import free_port

QUESTION = "深圳2021年高端医疗器械产业营业收入是多少？"
READ, WRITE = "tok-read-7f3a9c", "tok-write-41d2e8"
DOC = "权限测试文件.txt"
TEXT = "权限测试文件\n\n第一条 本文件仅用于测试上传权限，有效期为三年。\n".encode("utf-8")


def private_assistant(assistant, tmp_path, **settings) -> Assistant:
    index = tmp_path / "index"
    shutil.copytree(assistant.index_dir, index)
    s = assistant.settings.model_copy(update={"index_dir": index, **settings})
    return Assistant(Retriever.load(index, s, assistant.retriever.embedder), s)


def routes(doc: str) -> list[tuple[str, str, str, dict]]:
    """(scope needed, method, path, request kwargs) for every route; the upload comes before the removal."""
    return [
        ("read", "GET", "/api/v1/health", {}),
        ("read", "POST", "/api/v1/ask", {"json": {"question": QUESTION}}),
        ("read", "POST", "/api/v1/search", {"json": {"query": QUESTION}}),
        ("read", "GET", "/api/v1/documents", {}),
        ("read", "GET", f"/api/v1/documents/{doc}", {}),
        ("read", "POST", "/api/v1/feedback", {"json": {"question": QUESTION, "answer": "x", "vote": "up"}}),
        ("read", "GET", "/v1/models", {}),
        ("read", "POST", "/v1/chat/completions", {"json": {"model": "policyqa",
                                                           "messages": [{"role": "user", "content": QUESTION}]}}),
        ("write", "POST", "/api/v1/documents", {"files": [("files", (DOC, TEXT, "text/plain"))]}),
        ("write", "DELETE", f"/api/v1/documents/{DOC}", {}),
        ("write", "GET", "/", {}),  # the UI (no RAG_AUTH login here): it can upload, so it takes a write token
        ("write", "GET", "/gradio_api/info", {}),
    ]


def test_auth_matrix_on_every_route(assistant, tmp_path):
    a = private_assistant(assistant, tmp_path, api_tokens=SecretStr(f"{READ}:read,{WRITE}:write"), api_rate_limit=0)
    first_doc = a.documents()[0].doc.doc_id
    with serving(a, ui=True) as (url, _), httpx.Client(base_url=url, timeout=120) as c:
        for needed, method, path, kw in routes(first_doc):
            for who, headers in [("none", {}), ("wrong", {"Authorization": "Bearer tok-nobody"}),
                                 ("read", {"Authorization": f"Bearer {READ}"})]:
                r = c.request(method, path, headers=headers, **kw)
                if who == "read" and needed == "read":
                    assert r.status_code == 200, (who, method, path, r.text[:300])
                    continue
                expected = 403 if who == "read" else 401
                assert r.status_code == expected, (who, method, path, r.status_code, r.text[:300])
                err = r.json()["error"]
                assert err["code"] == {"none": "missing_token", "wrong": "invalid_token", "read": "forbidden"}[who]
                assert re.search(r"[\u4e00-\u9fff]", err["message"])
                if expected == 401:
                    assert r.headers["www-authenticate"].startswith("Bearer")
            r = c.request(method, path, headers={"Authorization": f"Bearer {WRITE}"}, **kw)
            assert r.status_code == 200, ("write", method, path, r.text[:300])
        # the read token's refused upload changed nothing; the write token's upload and removal did their work
        assert DOC not in {d.doc.doc_id for d in a.documents()}
        for public in ("/docs", "/openapi.json"):
            assert c.get(public).status_code == 200


def test_rate_limit_per_token_gives_429_with_retry_after(assistant, tmp_path):
    a = private_assistant(assistant, tmp_path, api_tokens=SecretStr(f"{READ}:read,{WRITE}:write"), api_rate_limit=3)
    with serving(a) as (url, _), httpx.Client(base_url=url, timeout=60) as c:
        read = {"Authorization": f"Bearer {READ}"}
        assert [c.get("/api/v1/documents", headers=read).status_code for _ in range(3)] == [200] * 3
        r = c.get("/api/v1/documents", headers=read)
        assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited" and int(r.headers["retry-after"]) > 0
        assert c.get("/api/v1/documents", headers={"Authorization": f"Bearer {WRITE}"}).status_code == 200  # own count


def test_cors_only_for_configured_origins(assistant, tmp_path):
    a = private_assistant(assistant, tmp_path, cors_origins="https://oa.example.cn")
    with serving(a) as (url, _), httpx.Client(base_url=url, timeout=60) as c:
        ok = c.get("/api/v1/health", headers={"Origin": "https://oa.example.cn"})
        assert ok.headers["access-control-allow-origin"] == "https://oa.example.cn"
        other = c.get("/api/v1/health", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        pre = c.options("/api/v1/ask", headers={"Origin": "https://oa.example.cn", "Access-Control-Request-Method": "POST",
                                                 "Access-Control-Request-Headers": "authorization,content-type"})
        assert pre.status_code == 200 and "authorization" in pre.headers["access-control-allow-headers"].lower()


def test_ui_login_and_tokens_apply_together(assistant, tmp_path):
    a = private_assistant(assistant, tmp_path, api_tokens=SecretStr(f"{WRITE}:write"), auth="admin:s3cret-pw",
                          api_rate_limit=0)
    basic = "Basic " + base64.b64encode(b"admin:s3cret-pw").decode()
    with serving(a, ui=True) as (url, _), httpx.Client(base_url=url, timeout=60) as c:
        # The UI's own API asks for the UI login: a token is no way around it.
        assert c.get("/gradio_api/info", headers={"Authorization": f"Bearer {WRITE}"}).status_code == 401
        assert c.post("/login", data={"username": "admin", "password": "wrong"}).status_code >= 400
        assert c.post("/login", data={"username": "admin", "password": "s3cret-pw"}).status_code == 200
        assert c.get("/gradio_api/info").status_code == 200  # the login cookie
        c.cookies.clear()
        # The API asks for a token or the UI login (HTTP Basic): the UI login is no back door either.
        assert c.get("/api/v1/documents").status_code == 401
        assert c.get("/api/v1/documents", headers={"Authorization": basic}).status_code == 200
        bad = "Basic " + base64.b64encode(b"admin:nope").decode()
        assert c.get("/api/v1/documents", headers={"Authorization": bad}).status_code == 401
    only_login = private_assistant(assistant, tmp_path / "b", auth="admin:s3cret-pw")
    with serving(only_login) as (url, _), httpx.Client(base_url=url, timeout=60) as c:
        assert c.post("/api/v1/ask", json={"question": QUESTION}).status_code == 401
        assert c.post("/api/v1/ask", json={"question": QUESTION}, headers={"Authorization": basic}).status_code == 200


def test_rag_serve_with_a_hashed_tokens_file_never_logs_a_token(corpus_index, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update({"HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", "GRADIO_ANALYTICS_ENABLED": "False",
                "PYTHONPATH": str(ROOT)})
    made = subprocess.run([sys.executable, "-m", "rag.cli", "token", "--scope", "write"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    token = re.search(r"(pqa-\S+)", made.stdout).group(1)
    line = made.stdout.strip().splitlines()[-1]
    tokens_file = tmp_path / "tokens.txt"
    tokens_file.write_text(f"# PolicyQA API tokens\n{line}\n", encoding="utf-8")
    assert token not in tokens_file.read_text()
    index = tmp_path / "index"
    shutil.copytree(corpus_index, index)
    port = free_port()
    log_path = tmp_path / "serve.log"
    env["RAG_API_TOKENS_FILE"] = str(tokens_file)
    env["RAG_API_TOKENS"] = "env-token-9b1c:read"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "-v", "serve", "--index", str(index), "--port",
                                 str(port)], env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.time() + 180
            while True:
                assert proc.poll() is None, log_path.read_text()[-3000:]
                try:
                    if httpx.get(url + "/api/v1/health", timeout=2).status_code == 401:
                        break
                except httpx.HTTPError:
                    pass
                assert time.time() < deadline, log_path.read_text()[-3000:]
                time.sleep(0.5)
            auth = {"Authorization": f"Bearer {token}"}
            assert httpx.get(url + "/api/v1/health", headers=auth).json()["documents"] == 5
            assert httpx.get(url + "/api/v1/documents",
                             headers={"Authorization": "Bearer env-token-9b1c"}).status_code == 200
            assert httpx.get(url + "/api/v1/health", headers={"Authorization": "Bearer wrong-token-5e6f"}).status_code == 401
            assert httpx.get(url + "/", headers=auth).status_code == 200  # the UI, mounted at /
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    text = log_path.read_text()
    assert "/api/v1/health" in text  # the access log is there …
    for secret in (token, "env-token-9b1c", "wrong-token-5e6f"):
        assert secret not in text  # … without any token
