"""`build_app(assistant) -> gr.Blocks`: the chat UI. Layout and wiring only; behaviour lives in `handlers.py`.

Launch with `build_app(a).queue(...).launch(**launch_options(), ...)` (Gradio 6 takes css/theme in launch()).
"""

from __future__ import annotations

import logging

import gradio as gr

from rag.errors import RagError
from rag.progress import IngestProgress, describe

from . import render
from .assets import CSS, SOURCE_VIEW_JS
from .examples import example_questions
from .handlers import MODE_CHOICES, Handlers, new_session
from rag.uploads import MAX_UPLOAD_MB, UPLOAD_SUFFIXES, add_uploads, remove_document

log = logging.getLogger(__name__)

CHAT_PLACEHOLDER = (
    "<div style='text-align:center;line-height:1.9'><b>用中文提问，答案中的每一句都附有政策原文出处。</b><br>"
    "点击答案里的 <b>[1]</b> 可查看引用的条款及其上下文，右侧显示原文。<br>"
    "在“文档库”中可以上传自己的 .pdf / .docx / .doc / .xlsx / .txt / .md / .html 文件，扫描件和图片（.png / .jpg）经 OCR 读取。</div>"
)
# Chinese system fonts first: no web-font download (there may be no internet) and correct CJK glyphs.
FONTS = ["Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", "Source Han Sans SC", "WenQuanYi Micro Hei",
         "ui-sans-serif", "system-ui", "sans-serif"]


def launch_options() -> dict:
    """Keyword arguments for `Blocks.launch()` that belong to the look of the app (theme, CSS)."""
    theme = gr.themes.Soft(primary_hue="blue", neutral_hue="slate", font=FONTS,
                           font_mono=["Noto Sans Mono CJK SC", "ui-monospace", "monospace"])
    return {"theme": theme, "css": CSS}


def build_app(assistant, examples: list[str] | None = None, max_upload_mb: int = MAX_UPLOAD_MB) -> gr.Blocks:
    """The whole UI over one Assistant: chat with citations and source view, documents with upload and removal."""
    h = Handlers(assistant, max_upload_mb)
    settings = assistant.settings
    examples = example_questions(assistant) if examples is None else examples

    def source_view(request):  # called from the page script (server function); must be a plain function
        return h.source_view(request)

    with gr.Blocks(title="政策问答助手", analytics_enabled=False) as demo:
        session = gr.State(new_session())
        header = gr.HTML(_header_html(h), elem_id="app-header", js_on_load=None)
        with gr.Tabs():
            with gr.Tab("💬 问答", id="chat-tab"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=6, min_width=420):
                        chatbot = gr.Chatbot(
                            value=[], elem_id="chat", height=610, show_label=False, render_markdown=False,
                            sanitize_html=True, latex_delimiters=[], buttons=[], feedback_options=("Like", "Dislike"),
                            placeholder=CHAT_PLACEHOLDER, autoscroll=True, group_consecutive_messages=False,
                        )
                        with gr.Row(equal_height=True):
                            question = gr.Textbox(
                                placeholder="输入问题后按回车，例如：" + (examples[0] if examples else ""),
                                show_label=False, lines=1, max_lines=4, scale=8, elem_id="question", autofocus=True,
                            )
                            send = gr.Button("发送", variant="primary", scale=1, min_width=80, elem_id="send")
                        gr.HTML("<div class='cite-label'>示例问题（点击即问）</div>", js_on_load=None)
                        with gr.Row(elem_id="examples"):
                            example_buttons = [gr.Button(q, size="sm", variant="secondary", min_width=60)
                                               for q in examples]
                        gr.HTML("<div class='muted'>对回答点 👍 / 👎 帮助我们改进；右上角 🗑 清空对话。</div>",
                                js_on_load=None)
                        with gr.Row(equal_height=True):
                            export_btn = gr.Button("📤 导出上一条回答（Markdown + Word）", size="sm",
                                                   variant="secondary", elem_id="export-button", scale=1)
                        export_files = gr.File(label="导出的文件", file_count="multiple", interactive=False,
                                               elem_id="export-files", visible=True, height=90)
                    with gr.Column(scale=5, min_width=360):
                        with gr.Accordion("⚙️ 检索与回答设置", open=False, elem_id="settings"):
                            docs_filter = gr.Dropdown(h.doc_choices(), value=[], multiselect=True,
                                                      label="只在这些文档中查找（不选则查找全部）", elem_id="docs-filter",
                                                      allow_custom_value=True)
                            regions_filter = gr.Dropdown(h.region_choices(), value=[], multiselect=True,
                                                         label="只看这些地区的文档", elem_id="regions-filter",
                                                         allow_custom_value=True)
                            with gr.Row():
                                issuer_filter = gr.Textbox("", label="发文机关包含", placeholder="如：人民政府办公厅",
                                                           elem_id="issuer-filter")
                                number_filter = gr.Textbox("", label="文号包含", placeholder="如：政办〔2024〕",
                                                           elem_id="doc-number-filter")
                            with gr.Row():
                                date_from = gr.Textbox("", label="发布日期从", placeholder="2024 或 2024-03-01",
                                                       elem_id="date-from")
                                date_to = gr.Textbox("", label="发布日期到", placeholder="2025-12-31", elem_id="date-to")
                                current_only = gr.Checkbox(False, label="只看现行有效", elem_id="current-only")
                            with gr.Row():
                                mode = gr.Radio(MODE_CHOICES, value=settings.retrieval_mode, label="检索方式")
                                k = gr.Slider(1, 20, step=1, value=settings.top_k, label="检索片段数 k")
                            answerers = h.answerer_choices()
                            llm = gr.Dropdown(answerers, value=answerers[-1][1], label="回答方式",
                                              interactive=len(answerers) > 1, elem_id="answerer")
                        gr.HTML("<div class='cite-label'>原文</div>", js_on_load=None)
                        gr.HTML(render.source_placeholder_html(), elem_id="source-view", js_on_load=SOURCE_VIEW_JS,
                                server_functions=[source_view])

            with gr.Tab("📊 指标", id="targets-tab"):
                places, years = h.target_filters()
                with gr.Row(equal_height=False):
                    with gr.Column(scale=6, min_width=420):
                        with gr.Row():
                            t_place = gr.Dropdown(places, value="全部", label="地区", elem_id="targets-place",
                                                  allow_custom_value=True)
                            t_year = gr.Radio(years, value="全部", label="年份", elem_id="targets-year")
                            t_measure = gr.Textbox("", label="指标或章节包含", placeholder="如：营业收入、某园区",
                                                   elem_id="targets-measure")
                        targets_table = gr.HTML(h.targets_view(), elem_id="targets-table", js_on_load=None)
                        t_export = gr.Button("📤 导出当前列表（Markdown + Word）", size="sm", elem_id="targets-export")
                        t_files = gr.File(label="导出的文件", file_count="multiple", interactive=False,
                                          elem_id="targets-files", height=90)
                    with gr.Column(scale=5, min_width=360):
                        gr.HTML("<div class='cite-label'>原文</div>", js_on_load=None)
                        gr.HTML(render.source_placeholder_html("点击左侧任一目标，在这里查看它所在的条款。"),
                                elem_id="targets-source", js_on_load=SOURCE_VIEW_JS, server_functions=[source_view])

            with gr.Tab("📚 文档库", id="docs-tab"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=5, min_width=360):
                        files = gr.File(
                            label=f"上传文档（.pdf .docx .doc .xlsx .txt .md .html .png .jpg，每个不超过 {max_upload_mb} MB）",
                            file_count="multiple", file_types=list(UPLOAD_SUFFIXES), type="filepath",
                            elem_id="upload-files", height=150,
                        )
                        add_btn = gr.Button("➕ 添加到索引", variant="primary", elem_id="upload-button")
                        upload_status = gr.HTML("", elem_id="upload-status", js_on_load=None)
                        gr.HTML("<div class='cite-label'>已索引的文档</div>", js_on_load=None)
                        doc_table = gr.HTML(h.documents_table(), elem_id="doc-table", js_on_load=None)
                    with gr.Column(scale=6, min_width=420):
                        choices = h.doc_choices()
                        doc_pick = gr.Dropdown(choices, value=choices[0][1] if choices else None,
                                               label="选择文档查看章节与原文", elem_id="doc-pick",
                                               allow_custom_value=True)
                        tree = gr.HTML(h.section_tree(choices[0][1] if choices else None), elem_id="section-tree",
                                       js_on_load=None)
                        remove_btn = gr.Button("🗑️ 从索引中删除此文档", variant="stop", size="sm", elem_id="remove-button")

        # -- events ------------------------------------------------------------------------------------------------
        chat_inputs = [question, session, docs_filter, regions_filter, mode, k, llm, issuer_filter, number_filter,
                       date_from, date_to, current_only]
        chat_outputs = [chatbot, session, question]
        gr.on([question.submit, send.click], h.respond, chat_inputs, chat_outputs, api_name="chat",
              show_progress="hidden", concurrency_id="answer")
        for btn, text in zip(example_buttons, examples):
            btn.click(lambda t=text: t, None, question, queue=False, api_visibility="private").then(
                h.respond, chat_inputs, chat_outputs, show_progress="hidden", concurrency_id="answer",
                api_visibility="private")
        chatbot.clear(new_session, None, session, queue=False, api_visibility="private")

        def on_export(state: dict):
            try:
                return h.export_last(state)
            except RagError as e:
                gr.Warning(str(e))
                return None

        export_btn.click(on_export, [session], [export_files], api_visibility="private")
        t_inputs = [t_place, t_year, t_measure]
        # the table is written by these and by the document refresh (page load, upload, removal): one queue in
        # order, so a refresh that started before a filter change never overwrites the filtered table after it
        for comp in (t_place, t_year):
            comp.change(h.targets_view, t_inputs, [targets_table], api_visibility="private",
                        concurrency_id="targets-view", concurrency_limit=1)
        t_measure.submit(h.targets_view, t_inputs, [targets_table], api_visibility="private",
                         concurrency_id="targets-view", concurrency_limit=1)
        t_export.click(h.export_targets, t_inputs, [t_files], api_visibility="private")

        def on_like(state: dict, data: gr.LikeData):
            msg = h.feedback(state, data.index, data.liked)
            gr.Info(msg)

        chatbot.like(on_like, [session], None, api_visibility="private")

        def refreshed(selected: str | None = None, place=None, year=None, measure=None):
            """Outputs that show the current document set (after an upload or removal, or on page load): the
            documents tab, the chat filters, the header, and the targets tab (its choices and table)."""
            docs = h.doc_choices()
            ids = [d for _, d in docs]
            pick = selected if selected in ids else (ids[0] if ids else None)
            places, kept_place, years, kept_year, table = h.targets_refreshed(place, year, measure)
            # a filter still valid is left as it is: setting it would fire its change event with the value read
            # when this event started, undoing a choice the user made meanwhile
            return (h.documents_table(), gr.update(choices=docs, value=pick), h.section_tree(pick),
                    gr.update(choices=docs), gr.update(choices=h.region_choices()), _header_html(h),
                    gr.update(choices=places, **({} if kept_place == place else {"value": kept_place})),
                    gr.update(choices=years, **({} if kept_year == year else {"value": kept_year})), table)

        doc_outputs = [doc_table, doc_pick, tree, docs_filter, regions_filter, header, t_place, t_year, targets_table]
        doc_inputs = [doc_pick, t_place, t_year, t_measure]

        # the targets inputs have defaults, so API callers that pass only (files, doc) as before still work
        def on_upload(paths, selected=None, place="全部", year="全部", measure="", progress=gr.Progress()):
            if not paths:
                return ("<div class='muted'>请先选择要上传的文件。</div>", *refreshed(selected, place, year, measure),
                        None)

            def report(p: IngestProgress) -> None:
                progress((p.docs_done, p.docs_total) if p.docs_total else None, desc=describe(p))

            progress(0, desc="检查文件")
            with assistant.write_lock:  # an upload or removal through the HTTP API waits for this one, and back
                result = add_uploads(assistant, list(paths), progress=report, max_mb=max_upload_mb)
            status = "<br>".join(render.esc(line) for line in result.lines)
            pick = result.added[-1] if result.added else selected
            return (f"<div>{status}</div>", *refreshed(pick, place, year, measure), None)

        # an ingest runs long: after it the targets table is drawn again with the filters as they are by then
        add_btn.click(on_upload, [files, *doc_inputs], [upload_status, *doc_outputs, files], api_name="upload",
                      concurrency_id="ingest", concurrency_limit=1).then(
            h.targets_view, t_inputs, [targets_table], api_visibility="private", concurrency_id="targets-view",
            concurrency_limit=1)

        def on_remove(doc_id, place="全部", year="全部", measure=""):
            if not doc_id:
                return ("<div class='muted'>请先选择文档。</div>", *refreshed(None, place, year, measure))
            with assistant.write_lock:
                msg = remove_document(assistant, doc_id)
            return (f"<div>{render.esc(msg)}</div>", *refreshed(None, place, year, measure))

        remove_btn.click(on_remove, doc_inputs, [upload_status, *doc_outputs], api_name="remove_document",
                         concurrency_id="ingest", concurrency_limit=1).then(
            h.targets_view, t_inputs, [targets_table], api_visibility="private", concurrency_id="targets-view",
            concurrency_limit=1)
        doc_pick.change(h.section_tree, [doc_pick], [tree], queue=False, api_visibility="private")
        demo.load(refreshed, doc_inputs, doc_outputs, api_visibility="private", show_progress="hidden",
                  concurrency_id="targets-view", concurrency_limit=1)

        gr.api(h.ask, api_name="ask", concurrency_id="answer")
        gr.api(h.documents, api_name="documents", queue=False)

    demo.handlers = h  # for tests and embedding: the behaviour behind the events
    return demo


def _header_html(h: Handlers) -> str:
    docs = h.documents()
    n_chunks = sum(d["chunks"] for d in docs)
    return (
        "<h1>政策问答助手</h1>"
        f"<div class='sub'>基于 {len(docs)} 篇政策文档（{n_chunks} 个片段）回答问题；每条回答都引用原文条款，"
        "点击 [1] 即可核对出处。</div>"
    )
