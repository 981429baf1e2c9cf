"""The app as users' programs see it: `python app.py` on a free loopback port over a copy of the real index,
driven through `gradio_client` (real HTTP, real queue, real model)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from rag.store import load_index
from rag.verify import verify_quote

from .conftest import ROOT

QUESTION = "新乡市的园区到2030年产业规模目标是多少？"
START_TIMEOUT = 180


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_app(index_dir: Path, log_path: Path, extra_env: dict | None = None):
    """Run `python app.py --index … --port …` as a user would; yield its URL; stop it afterwards."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
                "PYTHONUNBUFFERED": "1", **(extra_env or {})})
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--index", str(index_dir), "--port", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"app.py exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url + "/gradio_api/info", timeout=2) as r:
                    if r.status in (200, 401):
                        break
            except urllib.error.HTTPError as e:
                if e.code == 401:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError(f"app.py did not start in {START_TIMEOUT}s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def api_index(corpus_index, tmp_path_factory) -> Path:
    dst = tmp_path_factory.mktemp("api") / "index"
    shutil.copytree(corpus_index, dst)
    return dst


@pytest.fixture(scope="module")
def app_url(api_index, artifacts_dir):
    with running_app(api_index, artifacts_dir / "app_api_server.log") as url:
        yield url


@pytest.fixture(scope="module")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


def _check_citations(citations, index_dir: Path):
    index = load_index(index_dir)
    for c in citations:
        record = index.docs[c["doc"]]
        assert c["section"] and c["section"] in [s.path for s in record.sections], c
        assert verify_quote(record.doc.source_text, c["start"], c["end"], c["quote"]), c


def test_ask_returns_answer_with_section_paths(client, api_index):
    out = client.predict(QUESTION, api_name="/ask")
    assert not out["refused"] and "500亿" in out["answer"]  # the document: 到2030年产业规模超过500亿元
    assert out["citations"] and all(f"[{c['n']}]" in out["answer"] for c in out["citations"])
    _check_citations(out["citations"], api_index)
    assert "来源：" in out["text"] and out["citations"][0]["section"] in out["text"]


def test_documents_api_lists_the_index(client, api_index):
    docs = client.predict(api_name="/documents")
    index = load_index(api_index)
    assert {d["doc"] for d in docs} == set(index.docs)
    for d in docs:
        assert d["title"] == index.docs[d["doc"]].doc.title and d["chunks"] > 0 and d["sections"]


def _message_html(message) -> str:
    content = message["content"]
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def test_chat_endpoint_returns_citation_cards(client, api_index):
    messages, box = client.predict(QUESTION, [], [], "hybrid", 5, "none", api_name="/chat")
    assert box == "" and len(messages) == 2
    page = _message_html(messages[-1])
    assert 'class="cite-card"' in page and 'class="cite-ref"' in page and "cite-quote" in page
    out = client.predict(QUESTION, api_name="/ask")
    import html

    assert html.escape(out["citations"][0]["section"]) in page


def _questions(n: int) -> list[str]:
    rows = [json.loads(x) for x in (ROOT / "eval" / "qa.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    qs = [r["question"] for r in rows if r["type"] in ("fact", "paraphrase")]
    assert len(qs) >= n
    return qs[:n]


def test_16_concurrent_questions_all_answered_while_a_document_is_uploaded(app_url, api_index, tmp_path):
    from gradio_client import Client, handle_file

    questions = _questions(16)
    upload = tmp_path / "并发上传测试通知.txt"
    upload.write_text("并发上传测试通知\n\n一、目标\n到2027年，示范区建成并发测试平台3个。\n", encoding="utf-8")
    clients = [Client(app_url, verbose=False) for _ in range(4)]  # four users, each with several questions
    t0 = time.perf_counter()
    jobs = [clients[i % 4].submit(q, api_name="/ask") for i, q in enumerate(questions)]
    uploader = Client(app_url, verbose=False)
    with ThreadPoolExecutor(1) as pool:
        up = pool.submit(uploader.predict, [handle_file(str(upload))], None, api_name="/upload")
        results = [job.result(timeout=300) for job in jobs]
        status = up.result(timeout=300)[0]
    elapsed = time.perf_counter() - t0
    print(f"\n16 concurrent questions + 1 upload: {elapsed:.1f} s")
    assert "已添加" in status and upload.name in status, status
    for q, out in zip(questions, results):
        assert "error" not in out, (q, out)
        assert out["answer"], q
        if not out["refused"]:
            assert out["citations"], (q, out)
            _check_citations(out["citations"], api_index)
    assert upload.name in {d["doc"] for d in uploader.predict(api_name="/documents")}


def test_upload_and_remove_through_the_api(client, api_index, tmp_path):
    from gradio_client import handle_file

    bad = tmp_path / "损坏.docx"
    bad.write_bytes(b"PK\x03\x04 not really a docx")
    before = (api_index / "CURRENT").read_text()
    status = client.predict([handle_file(str(bad))], None, api_name="/upload")[0]
    assert "损坏.docx" in status and "❌" in status
    assert (api_index / "CURRENT").read_text() == before
    good = tmp_path / "删除测试.md"
    good.write_text("# 删除测试办法\n\n## 一、总则\n本办法规定删除测试的流程，共有五个步骤。\n", encoding="utf-8")
    status = client.predict([handle_file(str(good))], None, api_name="/upload")[0]
    assert "已添加" in status
    out = client.predict("删除测试的流程共有几个步骤？", api_name="/ask")
    assert any(c["doc"] == good.name for c in out["citations"]) or any(
        r["doc"] == good.name for r in out.get("related", []))
    status = client.predict(good.name, api_name="/remove_document")[0]
    assert "已删除" in status
    assert good.name not in {d["doc"] for d in client.predict(api_name="/documents")}


def test_login_required_when_rag_auth_is_set(api_index, artifacts_dir):
    from gradio_client import Client

    with running_app(api_index, artifacts_dir / "app_auth_server.log", {"RAG_AUTH": "analyst:pa55word"}) as url:
        with pytest.raises(Exception):
            Client(url, verbose=False).predict(api_name="/documents")
        with pytest.raises(Exception):
            Client(url, auth=("analyst", "wrong"), verbose=False)
        docs = Client(url, auth=("analyst", "pa55word"), verbose=False).predict(api_name="/documents")
        assert len(docs) >= 5
