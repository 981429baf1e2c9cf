"""`Assistant`, the library's front door: load an index once, then `ask` questions. Every front end uses it."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from datetime import datetime, timezone
from collections.abc import Iterator
from pathlib import Path

from .answer import AnswerContext, Answerer, get_answerer
from .answer.base import REFUSAL
from .answer.place_targets import one_place_targets
from .answer.refusal import NOT_CHINESE, is_not_chinese, known_words
from .answer.select import select
from .answer.sentsim import SentenceSims
from .articles import answer_articles
from .query.compare import compare_plan
from .embeddings import Embedder, get_embedder
from .ingest import IngestReport, ingest
from .retriever import Filters, Retriever
from .settings import Settings
from .store import DocRecord, Store
from .textnorm import normalize_text
from .types import Answer
from .verify import enforce_verified

log = logging.getLogger(__name__)

TARGETS_ASPECT = "发展目标"  # the aspect (rag/data/lexicon/compare_aspects.txt) a targets question is about
EMPTY_QUESTION = "请输入问题，例如：某市到2025年的产业规模目标是多少？"


def clean_question(question: str, max_chars: int) -> tuple[str, str]:
    """Normalise a user question; return (question, notice). Over-long questions are cut with a notice."""
    if question is not None and not isinstance(question, str):
        question = str(question)  # a number or other value typed into an API call is still a question
    # Bytes that were not UTF-8 reach us as lone surrogates (a shell argument decoded with surrogateescape, a JSON
    # "\udcff"): no encoder downstream accepts them, so they become U+FFFD here.
    question = (question or "").encode("utf-8", "replace").decode("utf-8")
    q = normalize_text(question).replace("\n", " ").strip()
    notice = ""
    if len(q) > max_chars:
        q = q[:max_chars]
        notice = f"问题过长，只使用了前 {max_chars} 个字。"
    return q, notice


class Assistant:
    """Answers questions over one index with verified citations; also adds and removes documents."""

    def __init__(self, retriever: Retriever, settings: Settings | None = None, answerer: Answerer | None = None):
        self.settings = settings or retriever.settings
        self.retriever = retriever
        self._answerers: dict[str, Answerer] = {}
        if answerer is not None:
            self._answerers[self.settings.llm] = answerer
        self._lock = threading.RLock()  # guards swapping the retriever after an ingest
        self._feedback_lock = threading.Lock()
        # One upload or removal at a time across front ends (UI and HTTP API share the uploads folder); answers
        # never take it: they keep reading the generation they started with.
        self.write_lock = threading.Lock()

    @classmethod
    def load(cls, index_dir: str | Path | None = None, settings: Settings | None = None,
             embedder: Embedder | None = None) -> "Assistant":
        """Load an index (checked against the settings); the embedding model is loaded once per process."""
        settings = settings or Settings()
        index_dir = Path(index_dir or settings.index_dir)
        settings = settings.model_copy(update={"index_dir": index_dir})
        return cls(Retriever.load(index_dir, settings, embedder), settings)

    # -- documents ---------------------------------------------------------------------------------
    @property
    def index_dir(self) -> Path:
        return Path(self.settings.index_dir)

    @property
    def generation(self) -> str:
        """Id of the index generation now answering (changes whenever an ingest changes the index)."""
        with self._lock:
            return index_generation(self.retriever.index)

    def documents(self) -> list[DocRecord]:
        """Every indexed document (title, metadata, sections, chunk count)."""
        return list(self.retriever.index.docs.values())

    def document(self, doc_id: str) -> DocRecord:
        """One indexed document by id (its file name)."""
        return self.retriever.index.docs[doc_id]

    def add_files(self, paths: list[str | Path], progress=None) -> IngestReport:
        """Index new or changed files incrementally and start answering from the new index."""
        report = ingest(paths, self.settings, self.index_dir, embedder=self.retriever.embedder, progress=progress)
        if report.wrote:
            self.reload()
        return report

    def remove_documents(self, doc_ids: list[str]) -> IngestReport:
        """Remove documents from the index."""
        report = ingest([], self.settings, self.index_dir, embedder=self.retriever.embedder, remove=doc_ids)
        if report.wrote:
            self.reload()
        return report

    def reload(self) -> None:
        """Re-read the index from disk (after another process or an upload changed it)."""
        fresh = Retriever.load(self.index_dir, self.settings, self.retriever.embedder)
        with self._lock:
            self.retriever = fresh

    def record_feedback(self, record: dict) -> None:
        """Append one feedback record (a vote on an answer) with the time to <index>/feedback.jsonl."""
        record = {"time": datetime.now(timezone.utc).isoformat(timespec="seconds"), **record}
        path = self.index_dir / "feedback.jsonl"
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._feedback_lock:  # one line per write; several sessions may vote at once
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as f:
                f.write(line)

    def search(self, query: str, k: int | None = None, mode: str | None = None, filters=None) -> tuple[list, str]:
        """Retrieval only: the hits for a query, all from one index generation, and that generation's id."""
        with self._lock:
            retriever = self.retriever
        return retriever.search(query, k=k, mode=mode, filters=filters), index_generation(retriever.index)

    # -- answering ---------------------------------------------------------------------------------
    def answerer(self, name: str | None = None) -> Answerer:
        """The answerer for a backend name (default from settings), created once."""
        name = name or self.settings.llm
        if name not in self._answerers:
            self._answerers[name] = get_answerer(name, self.settings)
        return self._answerers[name]

    def ask(self, question: str, history=None, filters=None, k: int | None = None, mode: str | None = None,
            llm: str | None = None) -> Answer:
        """Answer a question with verified citations, or refuse with 文档中没有找到相关信息."""
        final = None
        for event in self.stream(question, history, filters, k, mode, llm):
            if isinstance(event, Answer):
                final = event
        assert final is not None
        return final

    def stream(self, question: str, history=None, filters=None, k: int | None = None, mode: str | None = None,
               llm: str | None = None) -> Iterator[str | Answer]:
        """Yield answer text pieces as they come, then the final verified Answer."""
        t0 = time.perf_counter()
        q, notice = clean_question(question, self.settings.max_question_chars)
        if not q:
            # The message itself is the notice; Answer.notice is shown to users, so no English tag here.
            yield Answer(text=EMPTY_QUESTION, refused=True, question=question or "")
            return
        with self._lock:
            retriever = self.retriever
        answerer = self.answerer(llm)
        rewritten = q
        if history:  # a follow-up ("那2030年呢？") is made standalone before retrieval, by the LLM when there is one
            from .followup import rewrite_followup

            rewritten = rewrite_followup(q, list(history), getattr(answerer, "complete", None))
        t_rw = time.perf_counter()
        if is_not_chinese(rewritten) and not known_words(rewritten, retriever.bm25):
            yield Answer(text=NOT_CHINESE, refused=True, question=question or "")
            return
        plan = retriever.plan(q, rewritten)
        flt = Filters.of(filters)
        if plan.articles is not None and plan.articles.docs:
            # '《X条例》第三十三条': a structural lookup, not a nearest-neighbour search; the selector and its refusal
            # gate are for questions the documents answer somewhere, this one names where.
            allowed = retriever.allowed_docs(flt) if flt else None
            found = answer_articles(plan.articles, retriever.index.docs,
                                    retriever.index.chunks_of(plan.articles.docs), allowed)
            if found is not None:
                yield self._finish(found, retriever, question, rewritten, q, notice, None, t0, t_rw,
                                   time.perf_counter(), history)
                return
        hits, part_hits = retriever.retrieve(plan, k=k or self.settings.top_k, mode=mode, filters=flt)
        t1 = time.perf_counter()
        if plan.doc_fact is not None and not plan.parts:
            # '这个行动计划是哪天发布的': an official fact of the document itself, quoted from where it is written
            from .answer.docfacts import doc_fact_answer

            found = doc_fact_answer(plan, hits, retriever.index.docs, retriever.index.chunks_of,
                                    retriever.allowed_docs(flt) if flt else None)
            if found is not None:
                yield self._finish(found, retriever, question, rewritten, q, notice, None, t0, t_rw, t1, history)
                return
        if not plan.parts:
            # '甲方案一共有几条保障措施': the parts of the section it names, counted and cited heading by heading
            from .answer.outline import outline_answer

            found = outline_answer(plan, hits, retriever.index.docs, retriever.allowed_docs(flt) if flt else None)
            if found is not None:
                yield self._finish(found, retriever, question, rewritten, q, notice, None, t0, t_rw, t1, history)
                return
        if plan.asks_changes:  # '和2019年版相比有什么变化': a table of the changed articles, each side cited
            from .answer.changes import change_table

            table = change_table(plan, hits, retriever.index.docs, retriever.versions)
            if table is not None:
                yield self._finish(table, retriever, question, rewritten, q, notice, None, t0, t_rw, t1, history)
                return
        # Answer selection and the refusal gate, once for every answerer: the fitted probability that the best
        # candidate span answers must reach the threshold chosen on dev data.
        bm25 = retriever.bm25
        docs = retriever.index.docs
        cplan = compare_plan(plan, docs, str(self.settings.index_dir))
        if cplan is not None and cplan.aspects:
            # A comparison is answered as a table of verified quotes, each cell retrieved within its own row's
            # documents; each cell decides for itself (未提及), so the one-answer gate does not apply.
            from .answer.compare import compare_answer
            from .answer.targets_answer import targets_answer

            table_answer = None
            if cplan.targets and set(cplan.aspects) <= {TARGETS_ASPECT} and (cplan.answer_type != "date"
                                                                              or cplan.by_year):
                # '各地2025年目标', '哪个地区的目标最高', '目标分别定到哪一年': from the targets extracted at ingest
                table_answer = targets_answer(cplan, plan, retriever.index.targets, docs, str(self.settings.index_dir))
            if table_answer is None or table_answer.refused:
                table_answer = compare_answer(cplan, plan, retriever, docs, k or self.settings.top_k, mode, flt)
            answer_stream = iter([table_answer])
            selections = []
        elif (found := one_place_targets(plan, retriever.index.targets, docs,
                                         retriever.allowed_docs(flt) if flt else None,
                                         str(self.settings.index_dir))) is not None:
            # '甲区的产业规模目标是多少': one named place's target of a measure, from the targets extracted at ingest;
            # '甲省那7个园区里哪个目标最高': its sections' targets ranked
            answer_stream = iter([found])
            selections = []
        elif part_hits:
            sims = SentenceSims.of(retriever)
            selections = [select(p, h, docs, bm25, refuse_below=self.settings.refuse_below, sims=sims)
                          for p, h in zip(plan.parts, part_hits)]
        else:
            selections = [select(plan, hits, docs, bm25, refuse_below=self.settings.refuse_below,
                                 sims=SentenceSims.of(retriever))]
        confidence = max((s.confidence for s in selections), default=None)
        t2 = time.perf_counter()
        ctx = AnswerContext(docs=docs, history=list(history or []), retriever=retriever, filters=flt, plan=plan,
                            part_hits=part_hits or None, selections=selections)
        if not selections:
            pass  # the comparison table above
        elif not any(s.ok for s in selections):
            answer_stream = iter([Answer(text=REFUSAL, refused=True, hits=hits)])
        else:
            answer_stream = answerer.stream(rewritten, hits, ctx)
        final: Answer | None = None
        for event in answer_stream:
            if isinstance(event, Answer):
                final = event
            else:
                yield event
        if final is None:  # an answerer must end with an Answer; never leave the user without one
            final = Answer(text=REFUSAL, refused=True, hits=hits)
        final.hits = final.hits or hits
        if final.citations and retriever.versions and not final.refused:
            from .answer.changes import note_older_versions

            final = note_older_versions(final, retriever.index.docs, retriever.versions)
        if selections:  # a quoted answer (not a table): say so when it quotes another place's rules
            from .answer.select import other_place_notice

            if place_note := other_place_notice(plan, final, retriever.index.docs):
                final.notice = " ".join(x for x in (final.notice, place_note) if x)
        final.timings_ms["select"] = (t2 - t1) * 1000
        yield self._finish(final, retriever, question, rewritten, q, notice, confidence, t0, t_rw, t1, history)

    @staticmethod
    def _finish(final: Answer, retriever, question, rewritten, q, notice, confidence, t0, t_rw, t1, history) -> Answer:
        """Verify every citation and record how the answer was reached."""
        final = enforce_verified(final, {d: r.doc.source_text for d, r in retriever.index.docs.items()})
        final.question = question
        final.rewritten_question = rewritten if rewritten != q else ""
        final.notice = " ".join(x for x in (notice, final.notice) if x)
        final.confidence = confidence
        final.generation = index_generation(retriever.index)
        final.timings_ms.update({"retrieve": (t1 - t_rw) * 1000, "total": (time.perf_counter() - t0) * 1000})
        if history:
            final.timings_ms["rewrite"] = (t_rw - t0) * 1000
        return final


def index_generation(index: Store) -> str:
    """A short id of one loaded index generation, from its manifest (documents, hashes, chunk counts, settings)."""
    return hashlib.sha1(json.dumps(index.manifest, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:12]


def default_embedder(settings: Settings) -> Embedder:
    """The embedder named by the settings (loaded once per process)."""
    return get_embedder(settings.embed_backend, settings.embed_model or None)
