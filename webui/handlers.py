"""What the UI's events do, as plain Python over an `Assistant`: tests call these directly, `ui.py` wires them.

Per-session state is one dict kept in a `gr.State`: the chat messages as shown, and per assistant message the
turn (question, answer, citations) that feedback and follow-up questions need.
"""

from __future__ import annotations

import copy
import logging
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from rag.errors import RagError
from rag.render import render_answer_text
from rag.types import Answer

from . import render

log = logging.getLogger(__name__)

HISTORY_TURNS = 6  # earlier turns passed along for follow-up questions
REVEAL_MIN = 24  # a text piece longer than this is revealed progressively (extractive answers come as one piece)
REVEAL_STEPS = 8
REVEAL_DELAY = 0.02
ANSWERER_LABELS = {"none": "摘录原文（无需大模型）", "openai": "大模型：OpenAI 兼容接口", "llamacpp": "大模型：本地 llama.cpp"}
MODE_CHOICES = [("混合检索（推荐）", "hybrid"), ("语义检索", "dense"), ("关键词检索", "keyword")]
GENERIC_ERROR = "出错了，请稍后再试（详细信息已写入服务器日志）"


EXPORT_PREFIX = "policyqa-export-"
EXPORT_KEEP_S = 3600  # an export folder older than this has long been handed to the browser (Gradio copies it)


def export_folder(root: str | Path | None = None, now: float | None = None) -> Path:
    """A fresh folder for one export's files, in the temp folder; export folders of earlier exports older than
    EXPORT_KEEP_S are removed first, so a server that runs for months does not fill the disk with them. A folder
    that cannot be removed is left (logged); the export goes on."""
    root = Path(root or tempfile.gettempdir())
    now = time.time() if now is None else now
    try:
        old = [p for p in root.glob(EXPORT_PREFIX + "*") if p.is_dir() and now - p.stat().st_mtime > EXPORT_KEEP_S]
    except OSError as e:
        old = []
        log.warning("could not list old export folders in %s: %s", root, e)
    for p in old:
        try:
            shutil.rmtree(p)
        except OSError as e:
            log.warning("could not remove old export folder %s: %s", p, e)
    return Path(tempfile.mkdtemp(prefix=EXPORT_PREFIX, dir=root))


def new_session() -> dict:
    """An empty chat session: messages as shown, and the turn behind each assistant message (by message index)."""
    return {"messages": [], "turns": {}}


def _filters(docs, regions, issuer: str = "", doc_number: str = "", date_from: str = "", date_to: str = "",
             current: bool = False) -> dict | None:
    """The chat's filter inputs as the dict rag.filters.Filters reads (None when nothing is chosen)."""
    f = {"docs": list(docs or []), "regions": list(regions or []),
         "issuers": [x for x in str(issuer or "").replace("，", ",").split(",") if x.strip()],
         "doc_number": str(doc_number or "").strip(), "date_from": str(date_from or "").strip(),
         "date_to": str(date_to or "").strip(), "current": bool(current)}
    return f if any(f.values()) else None


def _reveal(text: str) -> Iterator[str]:
    """Prefixes of a long piece, so a one-piece (extractive) answer still appears progressively."""
    if len(text) <= REVEAL_MIN:
        yield text
        return
    step = max(4, -(-len(text) // REVEAL_STEPS))
    for i in range(step, len(text) + step, step):
        yield text[:i]


class Handlers:
    """The UI's behaviour over one shared Assistant (thread-safe: sessions hold their own state)."""

    def __init__(self, assistant, max_upload_mb: int = 20):
        self.assistant = assistant
        self.max_upload_mb = max_upload_mb

    # -- answering -------------------------------------------------------------------------------------------------
    def respond(self, question: str, session: dict | None, docs=None, regions=None, mode: str | None = None,
                k: int | None = None, llm: str | None = None, issuer: str = "", doc_number: str = "",
                date_from: str = "", date_to: str = "", current: bool = False) -> Iterator[tuple[list, dict, str]]:
        """Stream one answer into the chat: yields (messages, session, text box value) as it grows."""
        session = copy.deepcopy(session) if session else new_session()
        question = (question or "").strip()
        if not question:
            yield session["messages"], session, ""
            return
        messages = session["messages"]
        history = [(t["question"], t["answer"]) for t in list(session["turns"].values())[-HISTORY_TURNS:]]
        messages.append({"role": "user", "content": render.question_html(question)})
        messages.append({"role": "assistant", "content": render.pending_html()})
        yield list(messages), session, ""
        shown = ""
        final: Answer | None = None
        try:
            flt = _filters(docs, regions, issuer, doc_number, date_from, date_to, current)
            for event in self.assistant.stream(question, history or None, flt, int(k) if k else None,
                                               mode or None, llm or None):
                if isinstance(event, Answer):
                    final = event
                    continue
                base = shown
                for part in _reveal(event):
                    shown = base + part
                    messages[-1] = {"role": "assistant", "content": render.pending_html(shown)}
                    yield list(messages), session, ""
                    if len(part) < len(event):
                        time.sleep(REVEAL_DELAY)
        except RagError as e:
            log.warning("question failed: %s", e.log_message)
            messages[-1] = {"role": "assistant", "content": render.error_html(str(e))}
            yield list(messages), session, ""
            return
        except Exception:
            log.exception("question failed: %r", question[:80])
            messages[-1] = {"role": "assistant", "content": render.error_html(GENERIC_ERROR)}
            yield list(messages), session, ""
            return
        if final is None:  # Assistant.stream always ends with an Answer; keep the chat usable if one does not
            messages[-1] = {"role": "assistant", "content": render.error_html(GENERIC_ERROR)}
            yield list(messages), session, ""
            return
        token = uuid.uuid4().hex[:10]
        messages[-1] = {"role": "assistant", "content": render.answer_html(final, self._docs(), token)}
        session["turns"][len(messages) - 1] = {
            "question": question,
            "answer": final.text,
            "citations": [c.to_dict() for c in final.citations],
            "refused": final.refused,
            "backend": final.backend,
            "plain": render_answer_text(final),
            "export": final.to_dict(),  # what 导出 writes: the answer with its table and citations
        }
        yield list(messages), session, ""

    def _docs(self) -> dict:
        # documents() reads the current retriever once: a consistent snapshot even while an upload swaps it
        return {r.doc.doc_id: r for r in self.assistant.documents()}

    def ask(self, question: str, docs: list[str] | None = None, regions: list[str] | None = None, mode: str = "",
            k: int = 0, llm: str = "", issuer: str = "", doc_number: str = "", date_from: str = "",
            date_to: str = "", current: bool = False) -> dict:
        """One answer as JSON (the `/ask` API): text, citations with section paths and spans, related passages."""
        try:
            flt = _filters(docs, regions, issuer, doc_number, date_from, date_to, current)
            answer = self.assistant.ask(question, None, flt, int(k) if k else None, mode or None, llm or None)
        except RagError as e:
            log.warning("api question failed: %s", e.log_message)
            return {"error": str(e)}
        out = answer.to_dict()
        out.update(notice=answer.notice, backend=answer.backend, text=render_answer_text(answer))
        if answer.refused:
            out["related"] = [
                {"doc": h.chunk.doc_id, "title": h.chunk.title, "section": h.chunk.section_path, "text": h.chunk.text}
                for h in answer.hits[:3]
            ]
        return out

    # -- export and targets ----------------------------------------------------------------------------------------
    def export_last(self, session: dict | None) -> list[str] | None:
        """Write the last answer of the session as .md and .docx (question, answer, sources); return both paths."""
        from rag.export import export_answer, safe_stem

        turns = list((session or {}).get("turns", {}).values())
        if not turns:
            raise RagError("还没有可以导出的回答：请先提问", "export requested before any answer")
        turn = turns[-1]
        folder = export_folder()
        stem = f"{safe_stem(turn['question'])}_{datetime.now().strftime('%H%M%S')}"
        return [str(p) for p in export_answer(turn.get("export") or {"answer": turn["answer"],
                                                                      "citations": turn["citations"]},
                                              folder / stem, question=turn["question"])]

    def _targets(self, place: str | None = None, year=None, measure: str | None = None) -> list:
        from rag.targets import filter_targets

        try:
            year = int(year) if year not in (None, "", "全部") else None
        except (TypeError, ValueError):
            year = None
        place = "" if place in (None, "全部") else str(place)
        return filter_targets(list(self.assistant.retriever.index.targets), place=place, year=year,
                              measure_or_section=(measure or "").strip())

    def targets_view(self, place: str | None = None, year=None, measure: str | None = None) -> str:
        """HTML of the targets table, filtered by place, year and a text in the measure or the section heading (each
        row opens its clause)."""
        return render.targets_table_html(self._targets(place, year, measure), self._docs())

    def target_filters(self) -> tuple[list[str], list[str]]:
        """Choices of the targets tab: places and years that have targets ('全部' first)."""
        targets = self.assistant.retriever.index.targets
        places = sorted({t.place for t in targets if t.place})
        years = sorted({str(t.year) for t in targets if t.year})
        return ["全部", *places], ["全部", *years]

    def targets_refreshed(self, place: str | None = None, year=None, measure: str | None = None
                          ) -> tuple[list[str], str, list[str], str, str]:
        """The targets tab after the document set changed: place choices, the chosen place (kept while it still has
        targets, else '全部'), year choices, the chosen year (likewise) and the table, filtered as chosen."""
        places, years = self.target_filters()
        place = place if place in places else "全部"
        year = str(year) if str(year) in years else "全部"
        return places, place, years, year, self.targets_view(place, year, measure)

    def export_targets(self, place: str | None = None, year=None, measure: str | None = None) -> list[str]:
        """Write the targets view as it is filtered to .md and .docx; return both paths."""
        from rag.export import export_targets

        rows = [t.to_dict() for t in self._targets(place, year, measure)]
        titles = {d: r.doc.title for d, r in self._docs().items()}
        folder = export_folder()
        return [str(p) for p in export_targets(rows, titles, folder / f"量化目标_{datetime.now().strftime('%H%M%S')}")]

    # -- feedback --------------------------------------------------------------------------------------------------
    def feedback(self, session: dict | None, index, vote) -> str:
        """Append {time, question, answer, citations, vote} for the rated message to <index>/feedback.jsonl."""
        turn = (session or {}).get("turns", {}).get(index[0] if isinstance(index, (list, tuple)) else index)
        if turn is None:
            return "没有可评价的回答"
        label = {True: "up", False: "down"}.get(vote, str(vote) if vote else "cleared")
        self.assistant.record_feedback({
            "question": turn["question"], "answer": turn["answer"], "citations": turn["citations"], "vote": label,
            "backend": turn.get("backend", ""),
        })
        return "感谢反馈！" if label != "cleared" else "已取消评价"

    # -- documents -------------------------------------------------------------------------------------------------
    def source_view(self, request) -> str:
        """HTML of a document's source scrolled to a span; `request` is [doc_id, start, end] from the page script."""
        try:
            doc_id, start, end = request[0], int(request[1]), int(request[2])
        except (TypeError, ValueError, IndexError, KeyError):
            return render.source_placeholder_html("无法打开原文：链接无效")
        record = self._docs().get(str(doc_id))
        if record is None:
            return render.source_placeholder_html("该文档已从索引中删除")
        return render.source_html(record, start, end)

    def documents(self) -> list[dict]:
        """Every indexed document with title, region, dates, 文号, issuing bodies, status, version chain, chunk count
        and section paths (the `/documents` API)."""
        from rag.versions import doc_rows

        docs = self._docs()
        return [{**row, "sections": [s.path for s in docs[row["doc"]].sections]} for row in doc_rows(docs)]

    def doc_choices(self) -> list[tuple[str, str]]:
        """(label, doc id) pairs for document pickers, sorted by file name."""
        return [(f"{r.doc.title}（{r.doc.doc_id}）", r.doc.doc_id)
                for r in sorted(self._docs().values(), key=lambda r: r.doc.doc_id)]

    def region_choices(self) -> list[str]:
        """Every region any document belongs to (province and city levels)."""
        regions: set[str] = set()
        for r in self._docs().values():
            regions.update(r.doc.metadata.get("regions") or ([r.doc.region] if r.doc.region else []))
        return sorted(regions)

    def answerer_choices(self) -> list[tuple[str, str]]:
        """Extractive always; the configured LLM backend when there is one."""
        choices = [(ANSWERER_LABELS["none"], "none")]
        configured = self.assistant.settings.llm
        if configured and configured != "none":
            choices.append((ANSWERER_LABELS.get(configured, configured), configured))
        return choices

    def section_tree(self, doc_id: str | None) -> str:
        """The section tree (with section texts) of one document."""
        docs = self._docs()
        record = docs.get(doc_id or "")
        if record is None:
            return '<div class="muted">请选择一篇文档查看章节。</div>'
        from rag.versions import doc_rows

        row = next((r for r in doc_rows(docs) if r["doc"] == record.doc.doc_id), None)
        return render.section_tree_html(record, row)

    def documents_table(self) -> str:
        return render.documents_table_html(list(self._docs().values()))
