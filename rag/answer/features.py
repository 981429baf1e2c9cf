"""Answer candidates and their measured signals, for the fitted answer selector.

A candidate is a span of a retrieved chunk: one sentence or clause (text between 。！？； or line ends), a run of
two or three adjacent ones (enumerations, a target and its year), or the whole chunk. Each gets a vector of
signals about how it relates to the question's plan: idf-weighted word and bigram overlap with the question and
its focus, the same in the section heading and the sentence before, whether it holds the kind of answer asked for
(an amount in the asked unit, a date, a duration, an organisation, an enumeration), the years and places it names,
its length and position, the retrieval scores of its chunk, and how close its sentences are to the question by the
embedding model (sentence vectors stored at ingest, `rag.answer.sentsim`). `rag/answer/model.py` turns them into a
probability; nothing here is a hand-set weight.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from ..query.plan import ANSWER_TYPES, QueryPlan, words, years_in
from ..tables import is_row, labelled_row
from ..textnorm import fold, sentence_spans
from ..types import Hit
from .quantity import DATE_RE, ENUM_RE, ORG_RE, PHONE_RE, quantities

MAX_RUN = 3  # adjacent sentences a candidate may span
_CJK = re.compile(r"[\u4e00-\u9fff]")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")
_END = set("。！？!?；;")


@dataclass(frozen=True)
class Candidate:
    """A span [a, b) of one hit's chunk text; `lo..hi` are the sentence indexes it covers."""

    hit: Hit
    pos: int  # index of the hit in the hit list
    a: int
    b: int
    lo: int
    hi: int
    n_sent: int  # sentences in the chunk
    kind: str  # "sent" | "run" | "chunk"

    @property
    def text(self) -> str:
        return self.hit.chunk.text[self.a: self.b]


_SPANS: dict[str, list[tuple[int, int]]] = {}


def _sentences(chunk) -> list[tuple[int, int]]:
    spans = _SPANS.get(chunk.chunk_id)
    if spans is None:
        text = chunk.text
        spans = []
        for a, b in sentence_spans(text):
            while a < b and text[a].isspace():
                a += 1
            while b > a and text[b - 1].isspace():
                b -= 1
            if b - a >= 2:
                spans.append((a, b))
        if len(_SPANS) > 50000:
            _SPANS.clear()
        _SPANS[chunk.chunk_id] = spans
    return spans


def sentence_bounds(chunk) -> list[tuple[int, int]]:
    """The [start, end) spans in the chunk text of the sentences candidates are made of; span i is row i of the
    chunk's stored sentence vectors."""
    return list(_sentences(chunk))


def sentence_texts(chunk) -> list[str]:
    """The texts of a chunk's sentences (the spans candidates are made of) as they are embedded at ingest: a table
    row under its header's column names. Row i of the chunk's stored sentence vectors is sentence i."""
    text = chunk.text
    out = []
    for a, b in _sentences(chunk):
        t = text[a:b]
        out.append(labelled_row(chunk.table_header, t) if chunk.table_header and is_row(t) else t)
    return out


def candidates(hits: list[Hit]) -> list[Candidate]:
    """Every sentence, every run of up to MAX_RUN adjacent sentences, and every whole chunk of the hits.
    A sentence that addresses the assistant is not evidence and no candidate includes it."""
    out: list[Candidate] = []
    for pos, hit in enumerate(hits):
        spans = _sentences(hit.chunk)
        n = len(spans)
        bad = [s.addresses_assistant for s in _sentence_info(hit.chunk)]
        if hit.chunk.table_header:
            # Rows of a table: the answer to a question about a cell is its row, one record; a run of rows or the
            # header row alone answers nothing more.
            text = hit.chunk.text
            out.extend(Candidate(hit, pos, a, b, i, i, n, "sent") for i, (a, b) in enumerate(spans)
                       if not bad[i] and is_row(text[a:b]) and text[a:b] != hit.chunk.table_header)
            continue
        for i in range(n):
            for j in range(i, min(n, i + MAX_RUN)):
                if bad[j]:
                    break
                out.append(Candidate(hit, pos, spans[i][0], spans[j][1], i, j, n, "sent" if i == j else "run"))
        if n > MAX_RUN and not any(bad):
            out.append(Candidate(hit, pos, spans[0][0], spans[-1][1], 0, n - 1, n, "chunk"))
    return out


# -- question-side statistics ---------------------------------------------------------------------
class QuestionStats:
    """What every candidate is compared with: the plan's words with idf weights, the question's bigrams."""

    def __init__(self, plan: QueryPlan, bm25=None):
        self.plan = plan
        self.w = words(plan.index_dir)
        self.bm25 = bm25
        n = getattr(bm25, "n", 0) or 0
        self.n = n
        self.max_idf = math.log(1 + (n + 0.5) / 0.5) if n else 1.0
        self.terms = [(t, self.idf(t)) for t in plan.terms]
        self.focus = [(t, self.idf(t)) for t in plan.focus]
        q = fold(plan.text)
        if self.w.ask_re.pattern:
            q = self.w.ask_re.sub("，", q)
        grams = []
        for run in _CJK_RUN.finditer(q):
            s = run.group()
            grams.extend(s[i: i + 2] for i in range(len(s) - 1))
        self.bigrams = [(g, self.idf("bi:" + g)) for g in dict.fromkeys(grams)]
        self.q_len = len(_CJK.findall(q))
        self.unknown = sum(1 for t in plan.terms if self.df(t) == 0) / max(1, len(plan.terms))

    def df(self, term: str) -> int:
        if self.bm25 is None:
            return 1
        return self.bm25.df(term)

    def idf(self, term: str) -> float:
        if self.bm25 is None or not self.n:
            return 1.0
        df = self.df(term)
        if df == 0:
            return 0.3 * self.max_idf  # an unseen word is mostly a paraphrase: weigh it like a rare-ish word
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5))

    def term_match(self, term: str, text: str) -> float:
        """1 when the text has the term, 0.9 through a synonym, else the share of its bigrams it has (>= 1/2)."""
        if term in text:
            return 1.0
        if any(s in text for s in self.w.synonyms.get(term, ())):
            return 0.9
        if len(term) >= 3:
            grams = {term[i: i + 2] for i in range(len(term) - 1)}
            share = sum(g in text for g in grams) / len(grams)
            return 0.6 * share if share >= 0.5 else 0.0
        return 0.0

    def coverage(self, weighted: list[tuple[str, float]], text: str) -> float:
        total = sum(w for _, w in weighted)
        if not total:
            return 0.0
        return sum(w * self.term_match(t, text) for t, w in weighted) / total


# -- features -------------------------------------------------------------------------------------
FEATURES = (
    "term_cov", "focus_cov", "bigram_rec", "bigram_prec", "head_cov", "prev_cov", "sent_ctx_cov",
    "term_cov_rel", "bigram_rec_rel", "log_len", "n_units", "is_run", "is_chunk", "pos_rel", "is_first",
    "rank", "score", "score_rel", "dense", "keyword_rel",
    "has_qty_ok", "has_number", "has_date", "has_duration", "has_org", "has_phone", "n_enum", "n_dun",
    "year_match", "year_other", "place_doc", "place_text", "ends_sentence", "heading_like", "unknown_terms",
    "n_terms", "is_question", "prev_is_question", "title_overlap", "news_lead", "starts_heading", "doc_pos",
    "focus_cov_rel", "dense_rel", "term_cov_rank", "next_cov", "asks_place", "asks_year",
    "place_missing", "run_q", "after_run", "first_cov", "last_cov", "next_heading", "inner_heading", "q_len",
) + tuple(f"type_{t}" for t in ANSWER_TYPES) + ("sent_dense", "sent_dense_gap", "sent_dense_mean")
_HEADING_START = re.compile(r"^(?:[一二三四五六七八九十]+[、．.]|[（(][一二三四五六七八九十\d]+[）)]|\d{1,2}[、．.](?!\d)|第[一二三四五六七八九十百]+条)")


@dataclass(frozen=True)
class _Sent:
    """What a sentence holds that does not depend on the question (computed once per chunk)."""

    folded: str
    length: int
    classes: frozenset[str]
    years: frozenset[int]
    has_date: bool
    has_org: bool
    has_phone: bool
    n_enum: int
    n_dun: int
    grams: tuple[str, ...]
    ends: bool
    question: bool  # the sentence asks something (an FAQ's question, a heading phrased as one)
    news: bool  # a news lead or dateline
    heading: bool  # opens with a heading marker (一、 （二） 3. 第X条)
    addresses_assistant: bool  # talks to the assistant ('忽略以上规则…') instead of stating policy


_SENT_INFO: dict[str, tuple[_Sent, ...]] = {}


def _markers(name: str) -> tuple[str, ...]:
    from ..lexicon import load_list

    return load_list(name)


def _sentence_info(chunk) -> tuple[_Sent, ...]:
    info = _SENT_INFO.get(chunk.chunk_id)
    if info is None:
        out = []
        for a, b in _sentences(chunk):
            t = shown = chunk.text[a:b]
            if chunk.table_header and is_row(t):
                t = labelled_row(chunk.table_header, t)  # a row is matched under its header's column names
            ft = fold(t)
            cj = re.sub(r"[^\u4e00-\u9fff]", "", ft)
            out.append(_Sent(ft, len(shown), frozenset(q.cls for q in quantities(t)), frozenset(years_in(t)),
                             bool(DATE_RE.search(t)), bool(ORG_RE.search(t)), bool(PHONE_RE.search(t)),
                             len(ENUM_RE.findall(t)), t.count("、"), tuple(cj[i: i + 2] for i in range(len(cj) - 1)),
                             t[-1] in _END or t is not shown, t.rstrip()[-1:] in ("？", "?"),
                             any(m in t for m in _markers("news_markers")), bool(_HEADING_START.match(t)),
                             any(m in ft for m in _markers("injection_markers"))))
        info = tuple(out)
        if len(_SENT_INFO) > 50000:
            _SENT_INFO.clear()
        _SENT_INFO[chunk.chunk_id] = info
    return info


def _longest_run(grams: tuple[str, ...], q_grams: set[str]) -> tuple[int, int]:
    """(length, end) of the longest stretch of consecutive bigrams of a sentence that all occur in the question."""
    best, end, cur = 0, 0, 0
    for i, g in enumerate(grams):
        cur = cur + 1 if g in q_grams else 0
        if cur > best:
            best, end = cur, i + 1
    return best, end


def qty_ok(classes: set[str], plan: QueryPlan) -> float:
    if not plan.unit_classes:
        return float(bool(classes - {"year", "date"}))
    if classes & plan.unit_classes:
        return 1.0
    counts = {"count", "org", "people"}
    return 0.5 if plan.unit_classes & counts and classes & counts else 0.0


def features(plan: QueryPlan, cands: list[Candidate], hits: list[Hit], docs: dict, bm25=None,
             stats: QuestionStats | None = None, sims: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """One row of FEATURES per candidate. Sentence-level matches are computed once per sentence; a candidate
    spanning several sentences takes the best match of each word over them. `sims` holds, per chunk id, the cosine
    similarity of each of its sentences with the question (`rag.answer.sentsim`); the sentence-dense signals of
    chunks without them are NaN (missing, as the fitted trees read it)."""
    st = stats or QuestionStats(plan, bm25)
    X = np.zeros((len(cands), len(FEATURES)), dtype=np.float32)
    if not cands:
        return X
    col = {f: i for i, f in enumerate(FEATURES)}
    max_score = max((h.score for h in hits), default=1.0) or 1.0
    max_kw = max((h.scores.get("keyword", 0.0) for h in hits), default=0.0) or 1.0
    place_docs = set(plan.docs)
    qtext = fold(plan.text)
    q_grams = {g for g, _ in st.bigrams}
    tw = np.array([w for _, w in st.terms], dtype=np.float32)
    fw = np.array([w for _, w in st.focus], dtype=np.float32)
    bw = np.array([w for _, w in st.bigrams], dtype=np.float32)
    tsum, fsum, bsum = float(tw.sum()) or 1.0, float(fw.sum()) or 1.0, float(bw.sum()) or 1.0
    per_chunk: dict[str, tuple] = {}
    for r, c in enumerate(cands):
        chunk = c.hit.chunk
        got = per_chunk.get(chunk.chunk_id)
        if got is None:
            info = _sentence_info(chunk)
            tm = np.array([[st.term_match(t, s.folded) for t, _ in st.terms] for s in info],
                          dtype=np.float32).reshape(len(info), len(st.terms))
            fm = np.array([[st.term_match(t, s.folded) for t, _ in st.focus] for s in info],
                          dtype=np.float32).reshape(len(info), len(st.focus))
            bm = np.array([[g in s.folded for g, _ in st.bigrams] for s in info],
                          dtype=np.float32).reshape(len(info), len(st.bigrams))
            qg = np.array([sum(g in qtext for g in s.grams) for s in info], dtype=np.float32)
            runs = np.array([_longest_run(s.grams, q_grams) for s in info], dtype=np.float32)
            ng = np.array([len(s.grams) for s in info], dtype=np.float32)
            rec = docs.get(chunk.doc_id)
            regions = " ".join(rec.doc.metadata.get("regions") or []) if rec else ""
            head = fold(f"{chunk.title} {chunk.section_path} {regions}")
            head_cov = st.coverage(st.terms, head)
            head_years = frozenset(years_in(chunk.section_path))
            tt = re.sub(r"[^\u4e00-\u9fff]", "", fold(chunk.title))
            title_grams = {tt[i: i + 2] for i in range(len(tt) - 1)}
            tg = np.array([sum(g in title_grams for g in s.grams) for s in info], dtype=np.float32)
            doc_len = len(rec.doc.source_text) if rec else 0
            doc_pos = chunk.start / doc_len if doc_len else 0.0
            got = (info, tm, fm, bm, qg, ng, head, head_cov, head_years, tg, doc_pos, runs)
            per_chunk[chunk.chunk_id] = got
        info, tm, fm, bm, qg, ng, head, head_cov, head_years, tg, doc_pos, runs = got
        lo, hi = c.lo, c.hi + 1
        sents = info[lo:hi]
        classes = set().union(*(s.classes for s in sents))
        cand_years = set().union(*(s.years for s in sents))
        prev_years = info[lo - 1].years if lo > 0 else frozenset()
        ctx_years = cand_years or prev_years or head_years
        row = X[r]
        row[col["term_cov"]] = float(tm[lo:hi].max(axis=0) @ tw) / tsum if len(tw) else 0.0
        row[col["focus_cov"]] = float(fm[lo:hi].max(axis=0) @ fw) / fsum if len(fw) else 0.0
        row[col["bigram_rec"]] = float(bm[lo:hi].max(axis=0) @ bw) / bsum if len(bw) else 0.0
        n_grams = float(ng[lo:hi].sum())
        row[col["bigram_prec"]] = float(qg[lo:hi].sum()) / n_grams if n_grams else 0.0
        row[col["head_cov"]] = head_cov
        row[col["prev_cov"]] = float(tm[lo - 1] @ tw) / tsum if lo > 0 and len(tw) else 0.0
        a, b = max(0, lo - 2), min(len(info), hi + 1)
        row[col["sent_ctx_cov"]] = float(tm[a:b].max(axis=0) @ tw) / tsum if len(tw) else 0.0
        length = c.b - c.a
        row[col["log_len"]] = math.log(1 + length)
        row[col["n_units"]] = hi - lo
        row[col["is_run"]] = float(c.kind == "run")
        row[col["is_chunk"]] = float(c.kind == "chunk")
        row[col["pos_rel"]] = lo / max(1, c.n_sent - 1) if c.n_sent > 1 else 0.0
        row[col["is_first"]] = float(lo == 0)
        row[col["rank"]] = c.pos
        row[col["score"]] = c.hit.score
        row[col["score_rel"]] = c.hit.score / max_score if max_score > 0 else 0.0
        row[col["dense"]] = c.hit.scores.get("dense", 0.0)
        row[col["keyword_rel"]] = c.hit.scores.get("keyword", 0.0) / max_kw
        row[col["has_qty_ok"]] = qty_ok(classes, plan)
        row[col["has_number"]] = float(bool(classes - {"year", "date"}))
        row[col["has_date"]] = float(any(s.has_date for s in sents))
        row[col["has_duration"]] = float("duration" in classes)
        row[col["has_org"]] = float(any(s.has_org for s in sents))
        row[col["has_phone"]] = float(any(s.has_phone for s in sents))
        row[col["n_enum"]] = min(8, sum(s.n_enum for s in sents))
        row[col["n_dun"]] = min(10, sum(s.n_dun for s in sents))
        if plan.years:
            row[col["year_match"]] = float(bool(set(plan.years) & ctx_years))
            row[col["year_other"]] = float(bool(ctx_years) and not set(plan.years) & ctx_years)
        if plan.places:
            row[col["place_doc"]] = float(chunk.doc_id in place_docs)
            row[col["place_text"]] = float(any(p in head or any(p in s.folded for s in sents) for p in plan.places))
        row[col["ends_sentence"]] = float(sents[-1].ends)
        row[col["heading_like"]] = float(length < 30 and not sents[-1].ends)
        row[col["unknown_terms"]] = st.unknown
        row[col["n_terms"]] = len(plan.terms)
        row[col["type_" + plan.answer_type]] = 1.0
        row[col["is_question"]] = float(sents[-1].question)
        row[col["prev_is_question"]] = float(lo > 0 and info[lo - 1].question)
        row[col["title_overlap"]] = float(tg[lo:hi].sum()) / n_grams if n_grams else 0.0
        row[col["news_lead"]] = float(any(s.news for s in sents))
        row[col["starts_heading"]] = float(sents[0].heading)
        row[col["doc_pos"]] = doc_pos
        row[col["next_cov"]] = float(tm[hi] @ tw) / tsum if hi < len(info) and len(tw) else 0.0
        row[col["asks_place"]] = float(bool(plan.places))
        row[col["asks_year"]] = float(bool(plan.years))
        row[col["place_missing"]] = float(bool(plan.missing_places))
        # the longest stretch of the question copied into the first sentence, and how much text follows it there:
        # an answer often continues right after the words the question repeats
        run_len, run_end = runs[lo]
        row[col["run_q"]] = (run_len + 1) / max(2, st.q_len) if run_len else 0.0
        row[col["after_run"]] = (len(sents[0].grams) - run_end) / max(1, len(sents[0].grams)) if run_len else 1.0
        row[col["first_cov"]] = float(tm[lo] @ tw) / tsum if len(tw) else 0.0
        row[col["last_cov"]] = float(tm[hi - 1] @ tw) / tsum if len(tw) else 0.0
        row[col["next_heading"]] = float(hi < len(info) and info[hi].heading)
        row[col["inner_heading"]] = sum(s.heading for s in sents[1:])
        row[col["q_len"]] = st.q_len
    _sentence_dense(X, cands, sims or {}, col)
    for name in ("term_cov", "bigram_rec", "focus_cov", "dense"):
        v = X[:, col[name]]
        m = float(v.max())
        X[:, col[name + "_rel"]] = v / m if m > 0 else 0.0
    tc = X[:, col["term_cov"]]
    X[:, col["term_cov_rank"]] = (tc[:, None] < tc[None, :]).sum(axis=1) / max(1, len(tc))
    return X


def _sentence_dense(X: np.ndarray, cands: list[Candidate], sims: dict[str, np.ndarray], col: dict) -> None:
    """The best and the mean question similarity of a candidate's sentences, and its best one's gap to the best
    candidate's (NaN where the chunk's sentence vectors are missing or do not match its sentences)."""
    best = np.full(len(cands), np.nan, dtype=np.float32)
    mean = np.full(len(cands), np.nan, dtype=np.float32)
    for r, c in enumerate(cands):
        s = sims.get(c.hit.chunk.chunk_id)
        if s is None or len(s) != c.n_sent or c.hi >= len(s):
            continue
        part = s[c.lo: c.hi + 1]
        best[r], mean[r] = part.max(), part.mean()
    top = np.nanmax(best) if np.isfinite(best).any() else np.nan
    X[:, col["sent_dense"]] = best
    X[:, col["sent_dense_gap"]] = best - top
    X[:, col["sent_dense_mean"]] = mean


# -- the refusal gate's signals -------------------------------------------------------------------
GATE_TOP = 5  # the gate looks at this many best-ranked candidates
_BEST = ("term_cov", "focus_cov", "bigram_rec", "has_qty_ok", "year_match", "year_other", "unknown_terms", "dense",
         "head_cov", "place_doc", "place_text", "asks_place", "asks_year", "type_amount", "type_date", "type_duration",
         "type_yesno", "type_description", "type_enumeration", "place_missing")
GATE_FEATURES = ("best_score", "score_margin") + tuple(f"best_{f}" for f in _BEST) + (
    "top_qty_focus", "top_year_match", "top_place_doc", "top_focus_cov")
# The direction each signal may move the gate's probability (1 up, -1 down, 0 free): more evidence never makes an
# answer less likely, so a model fitted on few unanswerable questions cannot learn that matching nothing helps.
GATE_MONOTONE = {f: 1 for f in ("best_score", "score_margin", "best_term_cov", "best_focus_cov", "best_bigram_rec",
                                "best_has_qty_ok", "best_year_match", "best_place_doc", "best_place_text", "best_dense",
                                "best_head_cov", "top_qty_focus", "top_year_match", "top_place_doc", "top_focus_cov")}
GATE_MONOTONE.update({f: -1 for f in ("best_year_other", "best_unknown_terms", "best_place_missing")})


def signal_columns(X: np.ndarray, names, columns=FEATURES) -> np.ndarray:
    """The columns of X for the signals `names`, in that order; X's columns are the signals `columns` (the code's
    FEATURES unless told). A model fitted on a subset of the signals reads its own columns this way."""
    names, columns = tuple(names), tuple(columns)
    return X if names == columns else X[:, [columns.index(n) for n in names]]


def gate_features(X: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """What the gate reads about one question: the best candidate's ranker score and signals, its margin over the
    runner-up, and the best values among the top GATE_TOP candidates (is there any clause with an amount of the
    asked kind that names the focus, any with the asked year, any from the place asked about)."""
    col = {f: i for i, f in enumerate(FEATURES)}
    if len(raw) == 0:
        return np.zeros(len(GATE_FEATURES), dtype=np.float64)
    order = np.argsort(-raw, kind="stable")[:GATE_TOP]
    top = X[order]
    b = top[0]
    out = [raw[order[0]], raw[order[0]] - (raw[order[1]] if len(order) > 1 else raw[order[0]])]
    out += [b[col[f]] for f in _BEST]
    out += [float((top[:, col["has_qty_ok"]] * top[:, col["focus_cov"]]).max()), float(top[:, col["year_match"]].max()),
            float(top[:, col["place_doc"]].max()), float(top[:, col["focus_cov"]].max())]
    return np.array(out, dtype=np.float64)
