"""The chat UI without a server: `build_app()` over the real index, its handlers called directly, the HTML it renders,
uploads into a copy of the index, feedback, and app.py's start-up pieces."""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path

import pytest

from rag.textnorm import normalize_span
from rag.verify import verify_quote

from .conftest import ROOT

QUESTION = "新乡市的园区到2030年产业规模目标是多少？"


def _chat_fn(demo):
    """The function behind the chat box's submit event, found the way Gradio calls it (by api name)."""
    fns = {f.api_name: f.fn for f in demo.fns.values()}
    return fns["chat"]


def _run_chat(demo, question, session=None, docs=None, regions=None, mode="hybrid", k=5, llm="none"):
    steps = list(_chat_fn(demo)(question, session, docs or [], regions or [], mode, k, llm))
    messages, session, box = steps[-1]
    return steps, messages, session


@pytest.fixture(scope="module")
def demo(assistant):
    from webui import build_app

    return build_app(assistant)


def _components(demo, cls):
    return [b for b in demo.blocks.values() if isinstance(b, cls)]


def test_build_app_has_chat_documents_upload_and_api(demo):
    import gradio as gr

    chat = [c for c in _components(demo, gr.Chatbot) if c.elem_id == "chat"]
    assert len(chat) == 1
    # answers are our own escaped HTML: markdown off (a document's * or _ must not format), sanitiser still on
    assert chat[0].render_markdown is False and chat[0].sanitize_html is True and chat[0].latex_delimiters == []
    upload = [c for c in _components(demo, gr.File) if c.elem_id == "upload-files"]
    assert upload and set(upload[0].file_types) >= {".pdf", ".docx", ".txt", ".md", ".html"}
    ids = {b.elem_id for b in demo.blocks.values() if getattr(b, "elem_id", None)}
    assert {"question", "send", "source-view", "docs-filter", "regions-filter", "doc-table", "section-tree",
            "remove-button", "answerer"} <= ids
    assert {"chat", "upload", "remove_document", "ask", "documents"} <= {f.api_name for f in demo.fns.values()}
    # the source view is filled by a server function the page script calls
    view = [b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "source-view"][0]
    assert [f.__name__ for f in view.server_fns] == ["source_view"]
    assert "a.cite-ref" in view.js_on_load and "source_view" in view.js_on_load
    tabs = [b.label for b in _components(demo, gr.Tab)]
    assert any("问答" in t for t in tabs) and any("文档库" in t for t in tabs)


def test_chat_handler_streams_then_renders_citation_cards(demo, assistant):
    steps, messages, session = _run_chat(demo, QUESTION)
    assert messages[0]["role"] == "user" and QUESTION in messages[0]["content"]
    final_html = messages[-1]["content"]
    turn = session["turns"][len(messages) - 1]
    assert turn["question"] == QUESTION and turn["citations"], final_html
    assert "500亿" in turn["answer"]  # the document says: 到2030年产业规模超过500亿元
    # streamed: a searching notice first, then growing text, then the final message
    contents = [s[0][-1]["content"] for s in steps]
    assert "正在检索" in contents[0]
    partial = [c for c in contents if "ans-streaming" in c]
    from webui.handlers import REVEAL_MIN

    if len(turn["answer"]) > REVEAL_MIN:
        assert len(partial) >= 2, "a long answer should appear progressively"
    else:
        assert len(partial) == 1, "a short answer appears in one piece"
    for c in turn["citations"]:
        record = assistant.document(c["doc"])
        assert verify_quote(record.doc.source_text, c["start"], c["end"], c["quote"])
        assert c["section"] in [s.path for s in record.sections]
        card = re.search(rf'<details class="cite-card" id="cite-(\w+)-{c["n"]}">(.*?)</details>', final_html, re.S)
        assert card, final_html
        body = card.group(2)
        assert html.escape(c["section"]) in body and html.escape(c["title"]) in body
        assert f'<mark class="cite-quote">{html.escape(c["quote"])}</mark>' in body
        # [n] in the answer text links to this card
        assert f'href="#cite-{card.group(1)}-{c["n"]}"' in final_html
        assert "查看原文" in body
    assert "复制答案和来源" in final_html and "来源：" in html.unescape(final_html)


def test_follow_up_question_uses_session_history(demo):
    _, messages, session = _run_chat(demo, QUESTION)
    _, messages2, session2 = _run_chat(demo, "那2027年呢？", session=session)
    assert len(messages2) == 4 and len(session2["turns"]) == 2
    assert session["turns"] and len(session["turns"]) == 1  # the earlier state object was not mutated


def test_filters_restrict_citations_to_chosen_documents_and_regions(demo, assistant):
    target = "003_221e538f8908b282.txt"  # the Shenzhen action plan
    _, _, session = _run_chat(demo, "产业规模目标是多少？", docs=[target])
    cites = [c for t in session["turns"].values() for c in t["citations"]]
    assert cites and all(c["doc"] == target for c in cites)
    _, _, session = _run_chat(demo, "医疗器械产品数量目标是多少？", regions=["浙江省"])  # unfiltered: the Shenzhen plan
    cites = [c for t in session["turns"].values() for c in t["citations"]]
    zhejiang = {r.doc.doc_id for r in assistant.documents() if "浙江省" in (r.doc.metadata.get("regions") or [])}
    assert cites and {c["doc"] for c in cites} <= zhejiang


def test_empty_question_changes_nothing(demo):
    steps = list(_chat_fn(demo)("   ", None, [], [], "hybrid", 5, "none"))
    assert steps[-1][0] == []


def test_refusal_shows_possibly_related_passages(assistant):
    from rag.answer.base import REFUSAL
    from rag.types import Answer
    from webui.render import answer_html

    hits = assistant.retriever.search("园区规划", k=3)
    answer = Answer(text=REFUSAL, refused=True, hits=hits)
    out = answer_html(answer, {r.doc.doc_id: r for r in assistant.documents()}, "tok")
    assert REFUSAL in out and "可能相关" in out
    for h in hits:
        assert html.escape(h.chunk.section_path) in out
        assert f"#src={h.chunk.doc_id}&amp;s={h.chunk.start}&amp;e={h.chunk.end}" in out


def test_source_view_highlights_the_cited_span(demo, assistant):
    _, _, session = _run_chat(demo, QUESTION)
    c = next(iter(session["turns"].values()))["citations"][0]
    out = demo.handlers.source_view([c["doc"], c["start"], c["end"]])
    source = assistant.document(c["doc"]).doc.source_text
    assert f'<mark class="src-mark" id="src-mark">{html.escape(source[c["start"]:c["end"]])}</mark>' in out
    assert normalize_span(source, c["start"], c["end"]).text.strip() == c["quote"]
    # bad requests from the page never raise
    assert "链接无效" in demo.handlers.source_view(["x"])
    assert "删除" in demo.handlers.source_view(["no-such.txt", 0, 5])


def test_documents_tab_lists_every_document_with_sections(demo, assistant):
    table = demo.handlers.documents_table()
    for r in assistant.documents():
        assert html.escape(r.doc.title) in table and f'<td class="num">{r.chunk_count}</td>' in table
        if r.doc.region:
            assert html.escape(r.doc.region) in table
    record = assistant.document("000_58192326359d465c.txt")
    tree = demo.handlers.section_tree(record.doc.doc_id)
    for s in record.sections:
        assert html.escape(s.path.split(" > ")[-1]) in tree
    # a nested section opens inside its parent's <details>
    nesting = _details_nesting(tree)
    for s in record.sections:
        if " > " in s.path:
            parent, name = s.path.rsplit(" > ", 1)
            assert parent.split(" > ")[-1] in nesting[name], (name, nesting[name])


def _details_nesting(page: str) -> dict[str, list[str]]:
    """summary text -> the summaries of the <details> elements it is nested in."""
    from html.parser import HTMLParser

    class P(HTMLParser):
        def __init__(self):
            super().__init__()
            self.stack, self.out, self.in_summary = [], {}, False

        def handle_starttag(self, tag, attrs):
            if tag == "details":
                self.stack.append(None)
            elif tag == "summary":
                self.in_summary, self.buf = True, ""

        def handle_endtag(self, tag):
            if tag == "details":
                self.stack.pop()
            elif tag == "summary":
                self.in_summary = False
                self.out[self.buf] = [x for x in self.stack[:-1] if x]
                self.stack[-1] = self.buf

        def handle_data(self, data):
            if self.in_summary:
                self.buf += data

    p = P()
    p.feed(page)
    assert not p.stack, "unbalanced <details>"
    return p.out


def test_escaping_neutralises_markup_and_templates():
    from webui.render import esc

    nasty = '<script>window.__xss=1</script><img src=x onerror="window.__xss=1"> {{7*7}} ${1+1} `x`'
    out = esc(nasty)
    assert "<" not in out and ">" not in out and "{" not in out and "$" not in out and '"' not in out
    assert html.unescape(out) == nasty


def test_llm_backend_choice_streams_tokens_into_the_chat(retriever, settings):
    """With an LLM configured, the answerer picker offers it and its tokens stream into the chat (scripted
    OpenAI-compatible server on loopback: the real client stack runs over real HTTP)."""
    import gradio as gr
    from pydantic import SecretStr

    from rag.assistant import Assistant
    from tests.scripted_llm_server import Reply, ScriptedLLMServer
    from tests.test_llm import FACT, GOOD
    from tests.test_llm import QUESTION as LLM_QUESTION
    from webui import build_app

    with ScriptedLLMServer() as server:
        s = settings.model_copy(update={"llm": "openai", "llm_base_url": server.base_url, "llm_timeout": 5.0,
                                        "llm_api_key": SecretStr("sk-test"), "llm_model": "scripted-model"})
        demo = build_app(Assistant(retriever, s))
        picker = [b for b in demo.blocks.values() if isinstance(b, gr.Dropdown) and b.elem_id == "answerer"][0]
        assert [v for _, v in picker.choices] == ["none", "openai"] and picker.value == "openai"
        server.push(Reply(GOOD))
        steps, messages, session = _run_chat(demo, LLM_QUESTION, llm="openai")
        streamed = [st[0][-1]["content"] for st in steps if "ans-streaming" in st[0][-1]["content"]]
        assert len(streamed) >= 3, "tokens should appear as they arrive"
        turn = session["turns"][len(messages) - 1]
        assert FACT in turn["answer"] and turn["citations"] and turn["backend"].startswith("openai")
        assert "cite-card" in messages[-1]["content"] and "回答：openai" in messages[-1]["content"]
        n_requests = len(server.requests)
        _, _, session = _run_chat(demo, LLM_QUESTION, llm="none")
        assert len(server.requests) == n_requests  # the extractive answerer never calls the model
        assert next(iter(session["turns"].values()))["backend"] == "extractive"


# -- uploads (a private copy of the index) --------------------------------------------------------------------------
@pytest.fixture
def own_app(index_copy, settings):
    from rag.assistant import Assistant
    from webui import build_app

    assistant = Assistant.load(index_copy, settings.model_copy(update={"index_dir": index_copy}))
    return assistant, build_app(assistant)


def _docx(path: Path, heading: str, body: list[str]) -> Path:
    import docx

    d = docx.Document()
    d.add_heading(heading, 1)
    for i, para in enumerate(body):
        d.add_heading(f"{'一二三四'[i]}、第{i + 1}部分", 2)
        d.add_paragraph(para)
    d.save(str(path))
    return path


def _generation(index_dir: Path) -> str:
    return (index_dir / "CURRENT").read_text().strip()


def test_upload_docx_then_ask_about_it_then_remove(own_app, tmp_path):
    from rag.uploads import add_uploads, remove_document, uploads_dir

    assistant, demo = own_app
    path = _docx(tmp_path / "测试市低空经济方案.docx", "测试市低空经济发展实施方案",
                 ["到2028年，测试市低空经济产业规模力争突破888亿元，培育无人机整机企业12家。",
                  "设立低空经济专项资金，每年安排不少于3亿元，支持低空基础设施建设。"])
    stages = []
    result = add_uploads(assistant, [path], progress=lambda p: stages.append(p.stage))
    assert result.added == ["测试市低空经济方案.docx"] and not result.rejected, result.lines
    assert "embed" in stages and "write" in stages
    kept = uploads_dir(assistant.index_dir) / path.name
    assert kept.read_bytes() == path.read_bytes()
    assert "测试市低空经济方案.docx" in [r.doc.doc_id for r in assistant.documents()]
    _, _, session = _run_chat(demo, "测试市低空经济专项资金每年安排多少？")
    turn = next(iter(session["turns"].values()))
    assert turn["citations"][0]["doc"] == "测试市低空经济方案.docx" and "3亿元" in turn["answer"]
    msg = remove_document(assistant, "测试市低空经济方案.docx")
    assert "已删除" in msg and not kept.exists()
    assert "测试市低空经济方案.docx" not in [r.doc.doc_id for r in assistant.documents()]


def _event(demo, api_name: str):
    """(function, input elem_ids, output elem_ids) of the event Gradio runs under this api name."""
    f = next(f for f in demo.fns.values() if f.api_name == api_name)
    return f.fn, [b.elem_id for b in f.inputs], [b.elem_id for b in f.outputs]


def test_targets_tab_follows_uploads_and_removals(own_app, tmp_path):
    """The 指标 tab's year choices and table change with the documents: the upload and removal events write them
    (before, they refreshed only the documents tab, so a new document's targets showed only after a reload)."""
    assistant, demo = own_app
    path = _docx(tmp_path / "测试市氢能方案.docx", "测试市氢能产业发展实施方案",
                 ["到2029年，测试市氢能产业规模力争突破777亿元，建成加氢站45座。"])
    upload, up_in, up_out = _event(demo, "upload")
    remove, rm_in, rm_out = _event(demo, "remove_document")
    assert {"targets-place", "targets-year", "targets-measure"} <= set(up_in) & set(rm_in)
    assert {"targets-place", "targets-year", "targets-table"} <= set(up_out) & set(rm_out)
    before = demo.handlers.targets_view()
    assert "777" not in before
    values = {"upload-files": [str(path)], "doc-pick": None, "targets-place": "全部", "targets-year": "全部",
              "targets-measure": ""}
    out = dict(zip(up_out, upload(*[values[i] for i in up_in])))
    assert "已添加" in out["upload-status"]
    assert any("2029" in str(c) for c in out["targets-year"]["choices"])
    assert "value" not in out["targets-year"]  # the user's filter (全部) is left as it is
    assert "777" in out["targets-table"] and "测试市氢能产业发展实施方案" in out["targets-table"]
    # the user filters the tab to the new year, then removes the document: the filter falls back to 全部
    values.update({"doc-pick": path.name, "targets-year": "2029"})
    out = dict(zip(rm_out, remove(*[values[i] for i in rm_in])))
    assert "已删除" in out["upload-status"]
    assert out["targets-year"]["value"] == "全部"  # 2029 has no targets any more
    assert not any("2029" in str(c) for c in out["targets-year"]["choices"])
    assert "777" not in out["targets-table"] and out["targets-table"] == before


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("坏文件.docx", b"PK\x03\x04 this is not a real docx archive", "docx"),
        ("假装.pdf", b"MZ\x90\x00 an executable renamed", "不符"),
        ("程序.exe", b"MZ\x90\x00", "不支持的文件类型"),
        ("空白.txt", b"", "空"),
        ("二进制.txt", b"\x00\x01\x02\x03" * 100, "二进制"),
    ],
)
def test_unreadable_upload_is_rejected_in_chinese_and_index_unchanged(own_app, tmp_path, name, content, reason):
    from rag.uploads import add_uploads, uploads_dir

    assistant, _ = own_app
    before_gen, before_docs = _generation(assistant.index_dir), [r.doc.doc_id for r in assistant.documents()]
    bad = tmp_path / name
    bad.write_bytes(content)
    result = add_uploads(assistant, [bad])
    assert result.rejected and result.rejected[0][0] == name and reason in result.rejected[0][1], result.rejected
    assert re.search(r"[\u4e00-\u9fff]", result.lines[0])
    assert _generation(assistant.index_dir) == before_gen
    assert [r.doc.doc_id for r in assistant.documents()] == before_docs
    assert not (uploads_dir(assistant.index_dir) / name).exists()


def test_upload_size_limit_and_corpus_name_clash(own_app, tmp_path):
    from rag.uploads import add_uploads

    assistant, _ = own_app
    big = tmp_path / "大文件.txt"
    big.write_text("政策" * 400_000, encoding="utf-8")  # 2.4 MB
    result = add_uploads(assistant, [big], max_mb=1)
    assert result.rejected and "文件过大" in result.rejected[0][1]
    clash = tmp_path / "000_58192326359d465c.txt"
    clash.write_text("同名文件", encoding="utf-8")
    result = add_uploads(assistant, [clash])
    assert result.rejected and "同名" in result.rejected[0][1]


def test_uploaded_script_shows_as_text_everywhere(own_app, tmp_path):
    from rag.uploads import add_uploads

    assistant, demo = own_app
    doc = tmp_path / "安全测试通知.txt"
    doc.write_text(
        "安全测试通知\n\n一、测试内容\n本市安全测试专项经费为每年九千万元。\n"
        '附件说明：<script>window.__xss=1</script><img src=x onerror="window.__xss=1"> {{7*7}} ${1+1}\n',
        encoding="utf-8",
    )
    assert add_uploads(assistant, [doc]).added == [doc.name]
    _, messages, session = _run_chat(demo, "安全测试专项经费每年多少？")
    turn = next(iter(session["turns"].values()))
    if turn["citations"]:
        c = turn["citations"][0]
        span = (c["doc"], c["start"], c["end"])
    else:  # a refusal still shows the passages (可能相关); escaping is what this test is about
        hit = assistant.ask("安全测试专项经费每年多少？").hits[0].chunk
        span = (hit.doc_id, hit.start, hit.end)
    assert span[0] == doc.name and "安全测试通知" in messages[-1]["content"]
    pages = [messages[-1]["content"], demo.handlers.source_view(list(span)),
             demo.handlers.section_tree(doc.name), demo.handlers.documents_table()]
    for page in pages:
        assert "<script" not in page and "<img" not in page and "{{" not in page and "${" not in page
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in pages[1]
    assert "&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;" in pages[1]


def test_feedback_appends_a_jsonl_line(own_app):
    assistant, demo = own_app
    _, messages, session = _run_chat(demo, QUESTION)
    idx = len(messages) - 1
    assert demo.handlers.feedback(session, idx, True) == "感谢反馈！"
    assert demo.handlers.feedback(session, idx, False) == "感谢反馈！"
    assert demo.handlers.feedback(session, 0, True) == "没有可评价的回答"  # the user's own message
    lines = (assistant.index_dir / "feedback.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(x) for x in lines]
    assert [r["vote"] for r in rows] == ["up", "down"]
    turn = session["turns"][idx]
    for r in rows:
        assert r["question"] == QUESTION and r["answer"] == turn["answer"] and r["citations"] == turn["citations"]
        assert r["citations"][0]["section"] and r["time"]


# -- app.py -----------------------------------------------------------------------------------------------------------
def test_app_flags_env_and_auth(monkeypatch):
    sys.path.insert(0, str(ROOT))
    import app
    from rag.settings import Settings

    monkeypatch.setenv("RAG_HOST", "0.0.0.0")
    monkeypatch.setenv("RAG_PORT", "8123")
    monkeypatch.setenv("RAG_INDEX", "/tmp/some-index")
    args = app.parse_args([], Settings())
    assert (args.host, args.port, args.index) == ("0.0.0.0", 8123, "/tmp/some-index")
    args = app.parse_args(["--port", "9000", "--host", "127.0.0.1"], Settings())
    assert (args.host, args.port) == ("127.0.0.1", 9000)
    monkeypatch.delenv("RAG_HOST")
    assert app.parse_args([], Settings()).host == "127.0.0.1"  # loopback unless asked otherwise
    assert app.parse_auth("") is None
    assert app.parse_auth("analyst:s3cret:x") == ("analyst", "s3cret:x")
    with pytest.raises(ValueError):
        app.parse_auth("no-colon")


def test_app_builds_a_missing_index_with_progress(tmp_path, settings_factory, capsys):
    sys.path.insert(0, str(ROOT))
    import app
    from rag.ingest import index_is_stale

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "通知.txt").write_text("关于测试的通知\n\n一、目标\n到2026年完成测试工作。\n", encoding="utf-8")
    s = settings_factory(tmp_path / "index").model_copy(update={"corpus_dir": corpus})
    assert index_is_stale(s, s.index_dir)
    app.ensure_index(s)
    err = capsys.readouterr().err
    assert "构建索引" in err and "计算向量" in err and "索引就绪" in err
    assert not index_is_stale(s, s.index_dir)
    app.ensure_index(s)  # fresh: nothing to do, nothing printed
    assert capsys.readouterr().err == ""


def test_citation_card_shows_the_whole_quote_when_it_runs_past_its_section(corpus_index):
    """A cited run of sentences may end in the next section: the card's highlighted quote is still the whole
    verified span, not the part inside the first section."""
    from rag.store import load_index
    from rag.textnorm import normalize_span
    from webui.render import citation_context

    docs = load_index(corpus_index).docs
    record = next(r for r in docs.values() if len([s for s in r.sections if s.end - s.start > 80]) >= 2)
    first, second = [s for s in record.sections if s.end - s.start > 80][:2]
    start, end = max(first.start, first.end - 60), min(second.end, second.start + 60)
    assert start < first.end < end  # the span crosses the section boundary
    _, mid, _ = citation_context(record, start, end)
    assert mid == normalize_span(record.doc.source_text, start, end).text.strip()


def test_targets_tab_filter_box_finds_a_sections_targets(demo, assistant):
    """The tab's one text filter matches the measure or the section heading: a piece of one park's heading lists
    that park's targets only (what the 章节 column shows), a measure word still lists that measure's."""
    targets = list(assistant.retriever.index.targets)
    by_section: dict[str, list] = {}
    for t in targets:
        by_section.setdefault(t.section, []).append(t)
    # a heading piece that names one section only and is in no measure (the park's own name)
    section, piece = next((s, s.split(" > ")[-1][3:7]) for s in by_section if " > " in s
                          and sum(s.split(" > ")[-1][3:7] in o for o in by_section) == 1
                          and not any(s.split(" > ")[-1][3:7] in t.measure for t in targets))
    html = demo.handlers.targets_view("全部", "全部", piece)
    rows = re.findall(r'<tr class="target-row">', html)
    assert len(rows) == len(by_section[section]) < len(targets)
    assert all(t.quote in html for t in by_section[section])
    measure_rows = demo.handlers.targets_view("全部", "全部", "营业收入")
    assert "营业收入" in measure_rows and measure_rows.count('<tr class="target-row">') == sum(
        "营业收入" in t.measure or "营业收入" in t.section for t in targets) >= 1
