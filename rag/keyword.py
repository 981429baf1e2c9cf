"""jieba BM25 keyword index with a policy-domain user dictionary."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import threading
import numpy as np

from .lexicon import _override, load_list
from .textnorm import fold

# Word lists are data (rag/data/lexicon/): policy terms jieba would otherwise cut apart, and question words that
# name no content. Tuples, loaded once at import.
POLICY_TERMS: tuple[str, ...] = load_list("policy_terms")
QUESTION_WORDS: frozenset[str] = frozenset(load_list("question_words"))
_TOKEN_OK = re.compile(r"[\w\u4e00-\u9fff%.]")

_jieba = None
_jieba_lock = threading.Lock()
_index_jieba: dict[tuple[str, float], object] = {}  # (override file, mtime) -> a jieba.Tokenizer of its own


def _get_jieba(index_dir=None):
    """jieba with the policy terms as user words: the packaged list, or, for an index that has its own
    `lexicon/policy_terms.txt`, a separate tokenizer with that corpus's list (other indexes are not affected)."""
    global _jieba
    key = _override("policy_terms", index_dir)
    with _jieba_lock:
        if _jieba is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            for term in POLICY_TERMS:
                jieba.add_word(fold(term), freq=200000)
            _jieba = jieba
        if not key[0]:
            return _jieba
        seg = _index_jieba.get(key)
        if seg is None:
            import jieba

            seg = jieba.Tokenizer()
            for term in load_list("policy_terms", index_dir):
                seg.add_word(fold(term), freq=200000)
            if len(_index_jieba) > 8:
                _index_jieba.clear()
            _index_jieba[key] = seg
        return seg


# Recorded in the index manifest: an index whose stored tokens came from another tokenizer is re-tokenised on load.
TOKENIZER_VERSION = "jieba-search+cjk-bigram/4"


def tokenizer_version(index_dir=None) -> str:
    """The tokenizer an index's stored tokens come from: TOKENIZER_VERSION, plus a hash of the index's own policy
    terms when it has them, so editing that file re-tokenises the index on its next load."""
    path = _override("policy_terms", index_dir)[0]
    if not path:
        return TOKENIZER_VERSION
    load_list("policy_terms", index_dir)  # a list that cannot be read is said so here, not taken for a broken index
    try:
        digest = hashlib.sha1(open(path, "rb").read()).hexdigest()[:12]
    except OSError:
        return TOKENIZER_VERSION
    return f"{TOKENIZER_VERSION}+policy_terms:{digest}"
BIGRAM_PREFIX = "bi:"  # keeps character bigrams apart from jieba words (their own document frequencies)
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")


def tokenize(text: str, for_query: bool = False, index_dir=None) -> list[str]:
    """Folded jieba search-mode words plus Chinese character bigrams; question words and punctuation dropped
    for queries.

    The bigrams make the keyword signal robust to segmentation: jieba may cut a name or a term one way in a
    question and another way in the document (measured: keyword hit@1 0.765 -> 0.824 on eval/qa.jsonl).
    `index_dir`: the index whose word lists (policy terms, question words) apply."""
    jieba = _get_jieba(index_dir)
    ask = _question_words(index_dir) if for_query else frozenset()
    folded = fold(text)
    toks = []
    for tok in jieba.lcut_for_search(folded):
        tok = tok.strip()
        if not tok or not _TOKEN_OK.search(tok):
            continue
        if tok in ask:
            continue
        toks.append(tok)
    for run in _CJK_RUN.finditer(folded):
        w = run.group()
        pairs = (w[i : i + 2] for i in range(len(w) - 1))
        toks.extend(BIGRAM_PREFIX + b for b in pairs if b not in ask)
    return toks


def _question_words(index_dir=None) -> frozenset[str]:
    return QUESTION_WORDS if index_dir is None else frozenset(load_list("question_words", index_dir))


def joined_terms(query: str, vocabulary, max_len: int = 6, index_dir=None) -> list[str]:
    """Index words that the query's own segmentation cut apart, e.g. a plant or firm name jieba splits
    differently without the document's context ("锦地罗又…" -> 锦地/罗又, while the document has 锦地罗).

    A query and a document segmented by jieba's HMM can disagree on words it does not know; reading the query's
    Chinese runs for spans the index's vocabulary holds, across a boundary of the query's cut, restores them."""
    jieba = _get_jieba(index_dir)
    ask = _question_words(index_dir)
    folded = fold(query)
    bounds = {start for _, start, _ in jieba.tokenize(folded)}
    out: list[str] = []
    for run in _CJK_RUN.finditer(folded):
        a, b = run.span()
        for i in range(a, b - 1):
            for j in range(i + 2, min(b, i + max_len) + 1):
                term = folded[i:j]
                if any(x in bounds for x in range(i + 1, j)) and term in vocabulary and term not in ask:
                    out.append(term)
    return list(dict.fromkeys(out))


class KeywordMatrix:
    """Okapi BM25 (k1=1.5, b=0.75) over a sparse chunk x term matrix, in files that load memory-mapped.

    Two forms of one matrix: term frequencies by chunk row (CSR, uint16: rows are dropped and appended when
    documents change) and BM25 weights by term column (CSC, float32: a query sums the columns of its words, so a
    search costs what its words' postings cost, never a loop over chunks). Weights are computed exactly as a
    per-term loop over postings in float32 would, so scores match the former in-memory index bit for bit."""

    FILES = ("kw_vocab.json", "kw_tf_indptr.npy", "kw_tf_indices.npy", "kw_tf_data.npy", "kw_lengths.npy",
             "kw_w_indptr.npy", "kw_w_indices.npy", "kw_w_data.npy")

    def __init__(self, vocab: list[str], tf_indptr, tf_indices, tf_data, lengths, w_indptr=None, w_indices=None,
                 w_data=None, k1: float = 1.5, b: float = 0.75):
        self.vocab = vocab
        self.col = {t: i for i, t in enumerate(vocab)}
        self.tf_indptr, self.tf_indices, self.tf_data = tf_indptr, tf_indices, tf_data
        self.lengths = lengths
        self.n = len(lengths)
        self.k1, self.b = k1, b
        if w_indptr is None:
            w_indptr, w_indices, w_data = self._weights()
        self.w_indptr, self.w_indices, self.w_data = w_indptr, w_indices, w_data

    # -- building ---------------------------------------------------------------------------------------------
    @classmethod
    def build(cls, token_lists, vocab: list[str] | None = None) -> "KeywordMatrix":
        """From one token list per chunk (in chunk order)."""
        vocab = list(vocab or [])
        indptr, indices, data, lengths = cls._rows(token_lists, vocab)
        return cls(vocab, indptr, indices, data, lengths)

    @staticmethod
    def _rows(token_lists, vocab: list[str]):
        col = {t: i for i, t in enumerate(vocab)}
        parts_i, parts_d, counts, lengths = [], [], [], []
        memo: dict[int, tuple] = {}  # the same token list object (a repeated text) is counted once
        for toks in token_lists:
            row = memo.get(id(toks))
            if row is None:
                ids = np.fromiter((col.setdefault(t, len(col)) for t in toks), dtype=np.int32, count=len(toks))
                u, c = np.unique(ids, return_counts=True)
                row = memo[id(toks)] = (u.astype(np.int32), np.minimum(c, 65535).astype(np.uint16), toks)
            parts_i.append(row[0])
            parts_d.append(row[1])
            counts.append(len(row[0]))
            lengths.append(len(toks))
        vocab[len(vocab):] = list(col)[len(vocab):]
        indptr = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        indices = np.concatenate(parts_i) if parts_i else np.zeros(0, np.int32)
        data = np.concatenate(parts_d) if parts_d else np.zeros(0, np.uint16)
        return indptr, indices, data, np.asarray(lengths, dtype=np.float32)

    def changed(self, keep_rows: np.ndarray, new_token_lists) -> "KeywordMatrix":
        """A new matrix: the rows kept (in order) followed by new chunks' rows; the vocabulary only grows."""
        vocab = list(self.vocab)
        n_indptr, n_indices, n_data, n_len = self._rows(new_token_lists, vocab)
        starts, ends = self.tf_indptr[keep_rows], self.tf_indptr[keep_rows + 1]
        sizes = ends - starts
        if len(keep_rows) == self.n:
            k_indices, k_data = np.asarray(self.tf_indices), np.asarray(self.tf_data)
        else:
            take = _ranges(starts, sizes)
            k_indices, k_data = np.asarray(self.tf_indices)[take], np.asarray(self.tf_data)[take]
        indptr = np.zeros(len(keep_rows) + len(n_len) + 1, dtype=np.int64)
        np.cumsum(np.concatenate([sizes, np.diff(n_indptr)]), out=indptr[1:])
        return KeywordMatrix(vocab, indptr, np.concatenate([k_indices, n_indices]),
                             np.concatenate([k_data, n_data]),
                             np.concatenate([np.asarray(self.lengths)[keep_rows], n_len]))

    def _weights(self):
        from scipy.sparse import csr_matrix

        n, v = self.n, len(self.vocab)
        tf = csr_matrix((np.asarray(self.tf_data, dtype=np.float32), np.asarray(self.tf_indices),
                         np.asarray(self.tf_indptr)), shape=(n, v)).tocsc()
        tf.sort_indices()
        indptr, rows, tfv = tf.indptr.astype(np.int64), tf.indices.astype(np.int32), tf.data.astype(np.float32)
        if not n:
            return indptr, rows, tfv
        lengths = np.asarray(self.lengths, dtype=np.float32)
        avgdl = float(lengths.mean())
        norm = self.k1 * (1 - self.b + self.b * lengths / max(avgdl, 1e-9))
        df = np.diff(indptr)
        idf = np.array([math.log(1 + (n - d + 0.5) / (d + 0.5)) for d in df.tolist()], dtype=np.float64)
        # per term as the postings loop did: python-float idf times float32 tf, all in float32
        idf32 = np.repeat(idf.astype(np.float32), df)
        w = idf32 * tfv
        w *= np.float32(self.k1 + 1)
        w /= tfv + norm[rows]
        return indptr, rows, w.astype(np.float32)

    # -- files ------------------------------------------------------------------------------------------------
    def save(self, folder) -> None:
        from pathlib import Path

        folder = Path(folder)
        (folder / "kw_vocab.json").write_text(json.dumps(self.vocab, ensure_ascii=False), encoding="utf-8")
        for name, arr in (("kw_tf_indptr", self.tf_indptr), ("kw_tf_indices", self.tf_indices),
                          ("kw_tf_data", self.tf_data), ("kw_lengths", self.lengths), ("kw_w_indptr", self.w_indptr),
                          ("kw_w_indices", self.w_indices), ("kw_w_data", self.w_data)):
            np.save(folder / f"{name}.npy", np.asarray(arr), allow_pickle=False)

    @classmethod
    def load(cls, folder) -> "KeywordMatrix":
        from pathlib import Path

        folder = Path(folder)
        vocab = json.loads((folder / "kw_vocab.json").read_text(encoding="utf-8"))
        arrays = [np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False) for name in (
            "kw_tf_indptr", "kw_tf_indices", "kw_tf_data", "kw_lengths", "kw_w_indptr", "kw_w_indices", "kw_w_data")]
        arrays[3] = np.asarray(arrays[3])  # lengths: small, read often
        arrays[4] = np.asarray(arrays[4])  # column pointers: one per word
        return cls(vocab, *arrays)

    # -- querying ---------------------------------------------------------------------------------------------
    def df(self, term: str) -> int:
        c = self.col.get(term)
        return 0 if c is None else int(self.w_indptr[c + 1] - self.w_indptr[c])

    def __contains__(self, term: object) -> bool:
        return isinstance(term, str) and self.df(term) > 0

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every chunk (float32, one per row)."""
        out = np.zeros(self.n, dtype=np.float32)
        for term in set(query_tokens):
            c = self.col.get(term)
            if c is None:
                continue
            s, e = int(self.w_indptr[c]), int(self.w_indptr[c + 1])
            if e > s:
                out[self.w_indices[s:e]] += self.w_data[s:e]
        return out


def _ranges(starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Concatenated aranges [starts[i], starts[i] + sizes[i])."""
    total = int(sizes.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    nz = sizes > 0
    starts, sizes = starts[nz], sizes[nz]
    steps = np.ones(total, dtype=np.int64)
    offs = np.cumsum(sizes)[:-1]
    steps[0] = starts[0]
    steps[offs] = starts[1:] - (starts[:-1] + sizes[:-1] - 1)
    return np.cumsum(steps)
