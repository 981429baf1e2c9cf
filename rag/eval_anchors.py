"""Anchors of `rag eval`: trivial answers and a ceiling, computed on the very hits the assistant answered from, so
a run shows where the answerer stands between "paste the top chunk" and "the best one sentence there is".

- `top1_chunk`: the whole text of the top-1 chunk;
- `bigram_sentence`: the sentence of the top-k chunks sharing the most character bigrams with the question;
- `dense_sentence`: the sentence closest to the question by the index's embedding model;
- `best_sentence`: the best single sentence of the top k judged against the gold (each metric takes its own best
  sentence): the ceiling of one-sentence answers.

Sentence vectors cost eval time only: each sentence is embedded once (length-sorted batches) and kept in a cache
file under the cache folder, so a rerun over the same hits embeds nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from . import eval_metrics as M
from .textnorm import sentence_spans

ANCHORS = (("top1_chunk", "top-1 chunk"), ("bigram_sentence", "bigram sentence"),
           ("dense_sentence", "dense sentence"), ("best_sentence", "best sentence (ceiling)"))


def hit_sentences(hits) -> list[str]:
    """The sentences of the hits' chunk texts, in rank order (`textnorm.sentence_spans`)."""
    return [h.chunk.text[a:b] for h in hits for a, b in sentence_spans(h.chunk.text)]


def bigrams(text: str) -> set[str]:
    """Character bigrams of a text in `match_key` form."""
    key = M.match_key(text)
    return {key[i : i + 2] for i in range(len(key) - 1)}


def bigram_sentence(question: str, sentences: Sequence[str]) -> str:
    """The sentence sharing the most character bigrams with the question (the earlier one on a tie)."""
    q = bigrams(question)
    return max(sentences, key=lambda s: len(q & bigrams(s)), default="")


def best_sentence(sentences: Sequence[str], item) -> tuple[str, dict[str, float]]:
    """The sentence with the best F1 against the gold (recall breaks ties), and each metric's best over all
    sentences: the most any one-sentence answer could score."""
    from .evaluate import span_scores

    scored = [(s, span_scores(s, item)) for s in sentences]
    if not scored:
        return "", {k: 0.0 for k in M.SPAN_KEYS}
    top = max(scored, key=lambda x: (x[1]["answer_f1"] or 0.0, x[1]["answer_recall"] or 0.0))[0]
    return top, {k: max((r[k] or 0.0) for _, r in scored) for k in M.SPAN_KEYS}


class SentenceVectors:
    """Unit vectors of sentences (passages) and questions (queries) by the index's embedder, cached by text in
    memory and in a .npz file under the cache folder."""

    def __init__(self, embedder, cache_dir: Path | None = None):
        from .baselines import VectorCache

        self.embedder = embedder
        self.model = f"{getattr(embedder, 'backend', '')}:{embedder.name}"
        self.cache = VectorCache()
        self.path = None
        if cache_dir is not None:
            digest = hashlib.sha1(self.model.encode("utf-8")).hexdigest()[:10]
            self.path = Path(cache_dir) / f"eval-sentence-vectors-{digest}.npz"
            self.cache.load(self.path)
        self.n_embedded = 0

    def prepare(self, passages: Sequence[str], queries: Sequence[str],
                progress: Callable[[int, int], None] | None = None, say: Callable[[str], None] | None = None) -> None:
        """Embed every passage and query not cached yet, passages in length-sorted batches (little padding); the
        cache file is written every few thousand sentences, so an interrupted first run keeps its work."""
        todo = sorted({t for t in passages if self._key("passage", t) not in self.cache.vectors}, key=len)
        if todo and say:
            say(f"  计算 {len(todo)} 个句向量（{sum(map(len, todo)):,} 字；已缓存的不再计算）")
        for i in range(0, len(todo), 256):
            batch = todo[i : i + 256]
            for t, v in zip(batch, self.embedder.embed_passages(batch)):
                self.cache.vectors[self._key("passage", t)] = v
            if progress:
                progress(min(i + 256, len(todo)), len(todo))
            if self.path is not None and (i // 256) % 16 == 15:
                self.cache.save(self.path)
        for q in dict.fromkeys(queries):
            if self._key("query", q) not in self.cache.vectors:
                self.cache.vectors[self._key("query", q)] = self.embedder.embed_query(q)
        self.n_embedded += len(todo)
        if self.path is not None and todo:
            self.cache.save(self.path)

    def _key(self, kind: str, text: str) -> str:
        return self.cache.key(self.model, kind, text)

    def passage(self, text: str) -> np.ndarray:
        return self.cache.vectors[self._key("passage", text)]

    def query(self, text: str) -> np.ndarray:
        return self.cache.vectors[self._key("query", text)]

    def closest(self, question: str, sentences: Sequence[str]) -> str:
        """The sentence with the highest cosine similarity to the question (the earlier one on a tie)."""
        if not sentences:
            return ""
        sims = np.stack([self.passage(s) for s in sentences]) @ self.query(question)
        return sentences[int(np.argmax(sims))]


def anchor_rows(items, answers: dict, k: int, vectors: SentenceVectors | None = None,
                progress: Callable[[int, int], None] | None = None,
                say: Callable[[str], None] | None = None) -> dict[str, dict[str, dict]]:
    """Per answerable item: {anchor: {"text", answer_contains, answer_recall, answer_f1}} on the answer's top-k
    hits. `vectors` None leaves out the dense-sentence anchor."""
    from .evaluate import span_scores

    todo = [(it, answers[it.id]) for it in items if it.answerable and answers.get(it.id) is not None]
    sentences = {it.id: hit_sentences(a.hits[:k]) for it, a in todo}
    if vectors is not None:
        vectors.prepare([s for ss in sentences.values() for s in ss], [it.question for it, _ in todo],
                        progress, say)
    out = {}
    for it, a in todo:
        sents = sentences[it.id]
        top1 = a.hits[0].chunk.text if a.hits else ""
        texts = {"top1_chunk": top1, "bigram_sentence": bigram_sentence(it.question, sents)}
        if vectors is not None:
            texts["dense_sentence"] = vectors.closest(it.question, sents)
        row = {name: {"text": t, **span_scores(t, it)} for name, t in texts.items()}
        best_text, best_scores = best_sentence(sents, it)
        row["best_sentence"] = {"text": best_text, **best_scores}
        out[it.id] = row
    return out


def summarize_anchors(rows: dict[str, dict[str, dict]], items) -> dict[str, dict[str, float | None]]:
    """Mean contains/recall/F1 of each anchor over the answerable items (an item without hits scores 0)."""
    answerable = [it for it in items if it.answerable]
    out = {}
    for name, _ in ANCHORS:
        present = [rows.get(it.id, {}).get(name) for it in answerable]
        if all(r is None for r in present):
            continue
        out[name] = {k: M.mean((r or {}).get(k) or 0.0 for r in present) for k in M.SPAN_KEYS}
    return out
