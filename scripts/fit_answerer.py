#!/usr/bin/env python
"""Fit the answer selector and the refusal gate on the dev sets' fit halves; write rag/data/answer_model.json.

    python scripts/fit_answerer.py                       # qa + ncp2020 + ncp2020-unanswerable + cmrc, fit halves
    python scripts/fit_answerer.py --sets qa,ncp2020     # other sets (names from eval/sets.json)
    python scripts/fit_answerer.py --dump /tmp/cands.npz # also keep the candidate matrix for analysis

For every question of a set's fit half (`rag.evaluate.split_of`, by document) the pipeline reads the question,
retrieves, and lists every candidate span with its signals (`rag.answer.features`). A candidate is labelled
positive when it carries the gold answer: it contains every must_contain string, or it recovers most of a long
gold answer (LCS recall >= 0.8) without being much longer than it. A LightGBM classifier is fitted on two folds
(split by document) to get out-of-fold scores; those fit the Platt calibration and the refusal threshold (the
lowest probability with refusal precision >= 0.9 on the fit halves' answerable and unanswerable questions); the
final trees are fitted on the whole fit half. The report halves are never read here: `rag eval --split report`
measures on them. The model file records the command, the data and the scores reached.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag import eval_metrics as M  # noqa: E402
from rag.answer.features import FEATURES, QuestionStats, candidates, features  # noqa: E402
from rag.answer.model import MODEL_PATH, AnswerModel, TreeEnsemble  # noqa: E402
from rag.eval_sets import load_set, named_sets  # noqa: E402
from rag.retriever import Retriever  # noqa: E402
from rag.settings import Settings  # noqa: E402

log = logging.getLogger("fit_answerer")
DEFAULT_SETS = "qa,ncp2020,ncp2020-unanswerable,cmrc"
PARAMS = dict(objective="binary", learning_rate=0.05, num_leaves=31, min_child_samples=20, n_estimators=300,
              subsample=0.8, subsample_freq=1, colsample_bytree=0.8, reg_lambda=1.0, verbose=-1)
MIN_PRECISION = 0.9  # refusal precision the gate must reach on dev data


def gold_of(item) -> str:
    """The verbatim gold span: the evidence quote when the set has one, else the answer, else must_contain."""
    return "".join(item.evidence) or item.answer or "".join(item.must_contain)


def label(cand, item) -> tuple[int, float, float]:
    """(positive?, LCS recall of the gold, share of the candidate that is gold) for one candidate: positive when
    it holds every must_contain string (as one sentence, or at most 4x longer than the gold), or recovers most of
    a long gold answer without being much longer."""
    if not item.answerable:
        return 0, 0.0, 0.0
    text = cand.text
    gold = gold_of(item)
    rec = M.answer_recall(text, gold) or 0.0
    prec = min(1.0, rec * len(M.match_key(gold)) / max(1, len(M.match_key(text))))
    contains = M.answer_contains(text, item.must_contain)
    pos = (contains and (cand.kind == "sent" or prec >= 0.25)) or (rec >= 0.8 and prec >= 0.4)
    return int(pos), rec, prec


def collect(set_names: list[str], settings: Settings, limit: int | None):
    """Candidate rows of every fit-half question: X, y, question ids, set names, per-candidate recall/precision."""
    rows, ys, qids, sets, recs, precs, answerable, folds = [], [], [], [], [], [], [], []
    known = named_sets()
    qn = 0
    for name in set_names:
        if name not in known:
            log.warning("unknown set %s skipped", name)
            continue
        s = known[name]
        if s.optional and not s.questions.exists():
            log.warning("set %s: %s missing, skipped", name, s.questions)
            continue
        items, index_dir = load_set(s, settings, limit=limit, split="fit")
        retriever = Retriever.load(index_dir, settings.model_copy(update={"index_dir": index_dir}))
        t0 = time.perf_counter()
        for it in items:
            plan = retriever.plan(it.question)
            hits, part_hits = retriever.retrieve(plan, k=settings.top_k)
            groups = list(zip(plan.parts, part_hits)) if part_hits else [(plan, hits)]
            for p, h in groups:
                cands = candidates(h)
                if not cands:
                    continue
                X = features(p, cands, h, retriever.index.docs, retriever.bm25, QuestionStats(p, retriever.bm25))
                labs = [label(c, it) for c in cands]
                if len(groups) > 1 and it.answerable:
                    # a part is positive where it holds one of the must_contain strings of its own place
                    labs = [(int(any(M.answer_contains(c.text, [m]) for m in it.must_contain)), r, pr)
                            for c, (_, r, pr) in zip(cands, labs)]
                rows.append(X)
                ys.extend(lb for lb, _, _ in labs)
                recs.extend(r for _, r, _ in labs)
                precs.extend(pr for _, _, pr in labs)
                qids.extend([qn] * len(cands))
                sets.extend([name] * len(cands))
                answerable.extend([it.answerable] * len(cands))
                doc = ",".join(sorted(it.doc)) or it.id
                folds.extend([int(hashlib.sha1(("fold:" + doc).encode()).hexdigest(), 16) % 2] * len(cands))
                qn += 1
        log.warning("set %s: %d fit questions, %.1f s", name, len(items), time.perf_counter() - t0)
    return (np.vstack(rows), np.array(ys), np.array(qids), np.array(sets), np.array(recs), np.array(precs),
            np.array(answerable), np.array(folds))


def fit_trees(X, y):
    import lightgbm as lgb

    clf = lgb.LGBMClassifier(**PARAMS)
    clf.fit(X, y)
    return clf


def best_per_question(scores, qids):
    """Index of the top-scoring candidate of each question."""
    order = np.lexsort((-scores, qids))
    first = np.ones(len(order), bool)
    first[1:] = qids[order][1:] != qids[order][:-1]
    return order[first]


def choose_threshold(p_best, answerable) -> tuple[float, dict]:
    """The lowest threshold whose refusals (p < t) reach MIN_PRECISION on dev data, scanning from the top down:
    refusal precision = refused unanswerable / refused."""
    best = (0.0, {"precision": 1.0, "recall": 0.0, "refusal_rate_answerable": 0.0})
    n_un = int((~answerable).sum())
    for t in np.unique(np.round(p_best, 4)):
        refused = p_best < t
        if not refused.any():
            continue
        prec = float((~answerable & refused).sum() / refused.sum())
        rec = float((~answerable & refused).sum() / max(1, n_un))
        if prec >= MIN_PRECISION and rec >= best[1]["recall"]:
            best = (float(t), {"precision": prec, "recall": rec,
                               "refusal_rate_answerable": float((answerable & refused).sum() / max(1, answerable.sum()))})
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", default=DEFAULT_SETS, help=f"comma-separated set names (default {DEFAULT_SETS})")
    ap.add_argument("--limit", type=int, help="first N fit questions per set (a quick look)")
    ap.add_argument("--out", default=str(MODEL_PATH), help="model file to write")
    ap.add_argument("--dump", help="also save the candidate matrix (npz) for analysis")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    settings = Settings()
    names = [s for s in args.sets.split(",") if s]
    X, y, qids, sets, recs, precs, answerable, folds = collect(names, settings, args.limit)
    if args.dump:
        np.savez_compressed(args.dump, X=X, y=y, qids=qids, sets=sets, recs=recs, precs=precs,
                            answerable=answerable, folds=folds)
    # Out-of-fold scores (two folds by document) for calibration and the threshold.
    oof = np.zeros(len(y))
    for f in (0, 1):
        tr, te = folds != f, folds == f
        oof[te] = fit_trees(X[tr], y[tr]).predict_proba(X[te], raw_score=True)
    from sklearn.linear_model import LogisticRegression

    platt = LogisticRegression(C=1e4).fit(oof[:, None], y)
    a, b = float(platt.coef_[0, 0]), float(platt.intercept_[0])
    p_oof = 1 / (1 + np.exp(-(a * oof + b)))
    best = best_per_question(p_oof, qids)
    q_answerable = answerable[best]
    threshold, gate = choose_threshold(p_oof[best], q_answerable)
    scores = {"threshold": threshold, "gate_fit_halves": gate}
    for name in dict.fromkeys(sets):
        sel = best[sets[best] == name]
        ans = sel[answerable[sel]]
        if len(ans):
            scores[name] = {"questions": int(len(sel)), "oof_best_positive": round(float(y[ans].mean()), 4),
                            "oof_best_recall": round(float(recs[ans].mean()), 4),
                            "oof_refusal_rate": round(float((p_oof[ans] < threshold).mean()), 4)}
        else:
            scores[name] = {"questions": int(len(sel)), "oof_refused": round(float((p_oof[sel] < threshold).mean()), 4)}
    final = fit_trees(X, y)
    dump = final.booster_.dump_model()
    meta = {
        "command": "python scripts/fit_answerer.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "data": {n: str(named_sets()[n].questions) for n in dict.fromkeys(sets)},
        "split": "fit halves (rag.evaluate.split_of); report halves untouched",
        "candidates": int(len(y)), "positives": int(y.sum()), "questions": int(qids.max() + 1),
        "params": PARAMS, "label": "contains every must_contain as one sentence or with precision >= 0.25, or LCS "
                                   "recall >= 0.8 with precision >= 0.4",
        "scores": scores, "date": time.strftime("%Y-%m-%d"),
    }
    model = AnswerModel(FEATURES, TreeEnsemble.from_lightgbm(dump), a, b, threshold, meta)
    raw_ours = model.trees.raw_score(X[:200])
    raw_lgb = final.predict_proba(X[:200], raw_score=True)
    if not np.allclose(raw_ours, raw_lgb, atol=1e-6):
        raise SystemExit("numpy tree evaluation disagrees with LightGBM")
    model.save(args.out)
    print(json.dumps(scores, ensure_ascii=False, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
