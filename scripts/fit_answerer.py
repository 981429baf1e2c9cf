#!/usr/bin/env python
"""Fit the answer selector and the refusal gate on the dev sets; write rag/data/answer_model.json.

    python scripts/fit_answerer.py                       # qa + ncp2020 + ncp2020-unanswerable + cmrc, fit halves
    python scripts/fit_answerer.py --split all           # every question (four folds by document; not shipped)
    python scripts/fit_answerer.py --sets qa,ncp2020     # other sets (names from eval/sets.json)
    python scripts/fit_answerer.py --dump /tmp/c.npz     # also keep the candidate matrix for analysis
    python scripts/fit_answerer.py --load /tmp/c.npz     # refit from a kept matrix (no retrieval)
    python scripts/fit_answerer.py --load /tmp/c.npz --drop-features q_len,doc_pos --out /tmp/m.json

For every question of each set's fit half (`rag.evaluate.split_of`, by document; `--split all`: every question) the
pipeline reads the question, retrieves, and lists every candidate span with its signals (`rag.answer.features`). Each
candidate is graded by what it would score as the answer (UTILITY: contains, LCS recall and CMRC F1 against the gold;
`--passage-utility`: other weights for questions asking for a passage). A LightGBM LambdaRank ensemble is fitted fold
by fold to get out-of-fold scores; the folds are by document (four: each half of `split_of` cut in two by a hash of
the document; two with `--split fit`), so no question is scored by a ranker that saw its document. From those, each
policy question (qa, ncp2020 and its unanswerable set: CMRC has none) gets the gate's signals
(`features.gate_features`: the best candidates' scores and signals), a monotone tree gate is fitted on them
(answerable or not), and the refusal threshold is the one with the best refusal F1 on the out-of-fold gate
probabilities among those that refuse at most 5% of the answerable questions (`choose_threshold`). The final ranker
and gate are fitted on all the questions read. The scores written with the model are out of fold: each question
measured by a model that never saw its document. With the default the report halves are never read here (`rag eval
--split report` measures on them); with `--split all` the numbers `rag eval` prints on qa, ncp2020 and cmrc are
in-sample and only the out-of-fold scores and `paraphrase` (never fitted) are clean. The model file records the
command, the data and the scores reached.
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
from rag.answer.features import (  # noqa: E402
    FEATURES, GATE_FEATURES, GATE_MONOTONE, QuestionStats, candidates, features, gate_features, signal_columns,
)
from rag.answer.model import MODEL_PATH, AnswerModel, Gate, TreeEnsemble  # noqa: E402
from rag.answer.sentsim import SentenceSims  # noqa: E402
from rag.eval_sets import load_set, named_sets  # noqa: E402
from rag.evaluate import split_of  # noqa: E402
from rag.retriever import Retriever  # noqa: E402
from rag.settings import Settings  # noqa: E402

log = logging.getLogger("fit_answerer")
DEFAULT_SETS = "qa,ncp2020,ncp2020-unanswerable,cmrc"
GATE_SETS = "qa,ncp2020,ncp2020-unanswerable"  # policy questions; CMRC has no unanswerable items
PARAMS = dict(objective="lambdarank", learning_rate=0.05, num_leaves=31, min_child_samples=20, n_estimators=300,
              subsample=0.8, subsample_freq=1, colsample_bytree=0.8, reg_lambda=1.0, verbose=-1,
              label_gain=[float(g) for g in range(11)])
MIN_PRECISION = 0.9  # refusal precision the gate must reach on dev data
MAX_ANSWERABLE_REFUSED = 0.05  # when it cannot: refuse at most this share of answerable questions


def gold_of(item) -> str:
    """The verbatim gold span: the evidence quote when the set has one, else the answer, else must_contain."""
    return "".join(item.evidence) or item.answer or "".join(item.must_contain)


def label(cand, item, must_contain=None) -> tuple[int, float, float, float, float]:
    """(positive?, LCS recall of the gold, share of the candidate that is gold, CMRC F1 with the gold, holds every
    must_contain string?) for one candidate: positive when it holds every must_contain string (as one sentence, or
    at most 4x longer than the gold), or recovers most of a long gold answer without being much longer.
    `must_contain`: the strings this candidate must hold (one part of a multi-place question: its own place's)."""
    if not item.answerable:
        return 0, 0.0, 0.0, 0.0, 0.0
    text = cand.text
    gold = gold_of(item)
    rec = M.answer_recall(text, gold) or 0.0
    prec = min(1.0, rec * len(M.match_key(gold)) / max(1, len(M.match_key(text))))
    if must_contain is None:
        contains = M.answer_contains(text, item.must_contain)
    else:
        contains = any(M.answer_contains(text, [m]) for m in must_contain)
    pos = (contains and (cand.kind == "sent" or prec >= 0.25)) or (rec >= 0.8 and prec >= 0.4)
    if must_contain is not None:
        pos = contains
    return int(pos), rec, prec, M.answer_f1(text, item.gold) or 0.0, float(contains)


def fold_of(item, split: str) -> int:
    """The question's fold, by document: the document hash cut in two, and with `split="all"` also its half
    (`split_of`), so the fit/report halves are folds of their own (four folds)."""
    doc = ",".join(sorted(item.doc)) or item.id
    f = int(hashlib.sha1(("fold:" + doc).encode()).hexdigest(), 16) % 2
    return f + (2 if split == "all" and split_of(item) == "report" else 0)


def collect(set_names: list[str], settings: Settings, limit: int | None, split: str = "fit"):
    """Candidate rows of every question of the split: X, y, question ids, set names, per-candidate
    recall/precision, whether the question is answerable, its fold, per-candidate F1 and contains."""
    rows, ys, qids, sets, recs, precs, answerable, folds, f1s, conts = [], [], [], [], [], [], [], [], [], []
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
        items, index_dir = load_set(s, settings, limit=limit, split=split)
        retriever = Retriever.load(index_dir, settings.model_copy(update={"index_dir": index_dir}))
        sims = SentenceSims.of(retriever)
        t0 = time.perf_counter()
        for it in items:
            plan = retriever.plan(it.question)
            hits, part_hits = retriever.retrieve(plan, k=settings.top_k)
            groups = list(zip(plan.parts, part_hits)) if part_hits else [(plan, hits)]
            for p, h in groups:
                cands = candidates(h)
                if not cands:
                    continue
                X = features(p, cands, h, retriever.index.docs, retriever.bm25, QuestionStats(p, retriever.bm25),
                             sims(p.text, [x.chunk for x in h]))
                # a part of a multi-place question is positive where it holds one of the must_contain strings
                own = it.must_contain if len(groups) > 1 else None
                labs = [label(c, it, own) for c in cands]
                rows.append(X)
                ys.extend(lb[0] for lb in labs)
                recs.extend(lb[1] for lb in labs)
                precs.extend(lb[2] for lb in labs)
                f1s.extend(lb[3] for lb in labs)
                conts.extend(lb[4] for lb in labs)
                qids.extend([qn] * len(cands))
                sets.extend([name] * len(cands))
                answerable.extend([it.answerable] * len(cands))
                folds.extend([fold_of(it, split)] * len(cands))
                qn += 1
        log.warning("set %s: %d %s questions, %.1f s", name, len(items), split, time.perf_counter() - t0)
    return (np.vstack(rows), np.array(ys), np.array(qids), np.array(sets), np.array(recs), np.array(precs),
            np.array(answerable), np.array(folds), np.array(f1s), np.array(conts))


# What an answer is worth, in the terms it is measured by: holds the expected strings, recovers the gold's
# characters (LCS recall), matches the gold span (CMRC F1, counted twice: it is the one that punishes padding).
UTILITY = {"contains": 1.0, "recall": 1.0, "f1": 2.0}
# Questions that ask for a passage (what is done, how, which measures: the plan's answer type `description` or
# `enumeration`) may be graded with weights of their own (`--passage-utility`); by default every question shares
# UTILITY. Measured 2026-12-02 with 1,2,1: longer answers, more of them holding the gold on ncp2020 and CMRC, none
# more on the bundled documents, only padding there (eval/experiments.md, "又量过、没有采用").
PASSAGE_TYPES = ("description", "enumeration")
LEVELS = 10  # the ranker's relevance grades: utility in [0, 1] rounded to tenths


def grades(conts, recs, f1s, utility=UTILITY, passage=None, passage_utility=None):
    """Relevance grade of each candidate for the ranker: its utility (UTILITY-weighted contains, recall and F1
    against the gold; `passage_utility` for the rows of `passage`, a mask) in 0..LEVELS; a candidate of an
    unanswerable question is 0."""
    def weighted(w):
        return (w["contains"] * conts + w["recall"] * recs + w["f1"] * f1s) / sum(w.values())
    u = weighted(utility)
    if passage is not None and passage_utility is not None:
        u = np.where(passage, weighted(passage_utility), u)
    return np.round(u * LEVELS).astype(int)


def asks_passage(X, columns=FEATURES) -> np.ndarray:
    """Rows (candidates) of questions whose answer type is one of PASSAGE_TYPES (the plan's type_* signals)."""
    at = {f: i for i, f in enumerate(columns)}
    return np.any([X[:, at[f"type_{t}"]] > 0 for t in PASSAGE_TYPES], axis=0)


def parse_utility(text: str, option: str) -> dict:
    """'1,1,2' -> {"contains": 1.0, "recall": 1.0, "f1": 2.0}; SystemExit with the option's name when malformed."""
    try:
        utility = dict(zip(("contains", "recall", "f1"), (float(w) for w in text.split(",")), strict=True))
    except ValueError:
        raise SystemExit(f"{option}: three comma-separated weights (contains,recall,f1)") from None
    if min(utility.values()) < 0 or not sum(utility.values()) > 0:
        raise SystemExit(f"{option}: weights must be non-negative and not all zero")
    return utility


def fit_trees(X, rel, qids, params=PARAMS):
    """A LambdaRank ensemble: candidates of one question are ranked against each other."""
    import lightgbm as lgb

    order = np.argsort(qids, kind="stable")
    _, counts = np.unique(qids[order], return_counts=True)
    return lgb.LGBMRanker(**params).fit(X[order], rel[order], group=counts)


SENTENCE_SIGNALS = ("sent_dense", "sent_dense_gap", "sent_dense_mean")
MISSING_SHARE = 0.2


def with_missing_sentences(X, rel, qids, used, share=MISSING_SHARE, seed=0):
    """The training rows plus, for a random `share` of the questions, a copy with the sentence-dense signals missing
    (NaN): an index without sentence vectors (switched off, or not yet filled in) is then ranked by trees that
    learned where a missing value goes, instead of by splits that never saw one."""
    cols = [i for i, f in enumerate(used) if f in SENTENCE_SIGNALS]
    if not cols or share <= 0 or not len(qids):
        return X, rel, qids
    rng = np.random.default_rng(seed)
    uq = np.unique(qids)
    copy = np.isin(qids, uq[rng.random(len(uq)) < share])
    Xc = X[copy].copy()
    Xc[:, cols] = np.nan
    return (np.vstack([X, Xc]), np.concatenate([rel, rel[copy]]),
            np.concatenate([qids, qids[copy] + int(qids.max()) + 1]))


def best_per_question(scores, qids):
    """Index of the top-scoring candidate of each question."""
    order = np.lexsort((-scores, qids))
    first = np.ones(len(order), bool)
    first[1:] = qids[order][1:] != qids[order][:-1]
    return order[first]


def choose_threshold(p_best, answerable, max_refused: float = MAX_ANSWERABLE_REFUSED) -> tuple[float, dict]:
    """The refusal threshold (refuse when p < t): of the thresholds that refuse at most MAX_ANSWERABLE_REFUSED of
    the answerable questions, the one with the best refusal F1 (ties: the higher precision). A threshold that
    reaches MIN_PRECISION by refusing one or two questions is not preferred: the gate must catch unanswerable
    questions, not only avoid wrong refusals. The precision reached is recorded next to MIN_PRECISION."""
    n_un = int((~answerable).sum())
    rows = []
    for t in np.unique(np.round(p_best, 4)):
        refused = p_best < t
        if not refused.any():
            continue
        hit = int((~answerable & refused).sum())
        prec, rec = hit / refused.sum(), hit / max(1, n_un)
        rate = float((answerable & refused).sum() / max(1, answerable.sum()))
        rows.append((float(t), float(prec), float(rec), rate))
    capped = [r for r in rows if r[3] <= max_refused]
    if not capped:
        return 0.0, {"precision": None, "recall": 0.0, "refusal_rate_answerable": 0.0, "rule": "never refuse"}
    f1 = lambda r: 2 * r[1] * r[2] / (r[1] + r[2]) if r[1] + r[2] else 0.0  # noqa: E731
    best = max(capped, key=lambda r: (round(f1(r), 4), r[1]))
    return best[0], {"precision": round(best[1], 4), "recall": round(best[2], 4),
                     "refusal_rate_answerable": round(best[3], 4), "target_precision": MIN_PRECISION,
                     "rule": f"best refusal F1 refusing <= {max_refused:.0%} of answerable questions"}


def question_gate_rows(X, raw, qids):
    """Gate signals of every question (rows in order of question id) from its candidates' ranker scores."""
    out = {}
    for qi in np.unique(qids):
        m = qids == qi
        out[int(qi)] = gate_features(X[m], raw[m])
    keys = sorted(out)
    return np.array(keys), np.vstack([out[k] for k in keys])


GATE_PARAMS = dict(objective="binary", learning_rate=0.05, n_estimators=150, num_leaves=7, min_child_samples=10,
                   subsample=0.8, subsample_freq=1, reg_lambda=1.0, verbose=-1)


def fit_gate(G, labels):
    """The gate: boosted trees, monotone in the evidence signals (GATE_MONOTONE), classes weighted equally."""
    import lightgbm as lgb

    mono = [GATE_MONOTONE.get(f, 0) for f in GATE_FEATURES]
    clf = lgb.LGBMClassifier(**GATE_PARAMS, monotone_constraints=mono, class_weight="balanced")
    clf.fit(G, labels.astype(int))
    return Gate(TreeEnsemble.from_lightgbm(clf.booster_.dump_model()))


def held_out_scores(model, used, X, qids, sets, recs, answerable, f1s, conts) -> dict:
    """Best-candidate scores of the final model's ranker on sets of the matrix it was not fitted on (answerable
    questions; no gate)."""
    raw = model.scores(signal_columns(X, used))
    best = best_per_question(raw, qids)
    out = {}
    for name in dict.fromkeys(sets[best]):
        b = best[(sets[best] == name) & answerable[best]]
        if len(b):
            out[f"{name} (held out)"] = {"questions": int(len(b)), "best_contains": round(float(conts[b].mean()), 4),
                                         "best_recall": round(float(recs[b].mean()), 4),
                                         "best_f1": round(float(f1s[b].mean()), 4)}
    return out


def file_sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def ranker_features(drop: str) -> tuple[str, ...]:
    """FEATURES less the ones named in `drop` (comma-separated), in the code's order."""
    names = [n.strip() for n in drop.split(",") if n.strip()]
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise SystemExit(f"--drop-features: unknown signals {', '.join(unknown)}")
    return tuple(f for f in FEATURES if f not in names)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", default=DEFAULT_SETS,
                    help=f"comma-separated set names (default {DEFAULT_SETS}); with --load, the sets of the matrix "
                         "to fit on (the others are scored as held out)")
    ap.add_argument("--gate-sets", default=GATE_SETS,
                    help=f"sets whose questions calibrate the refusal gate (default {GATE_SETS}); one not in --sets "
                         "calibrates the gate only, the ranker is not fitted on it")
    ap.add_argument("--limit", type=int, help="first N fit questions per set (a quick look)")
    ap.add_argument("--out", default=str(MODEL_PATH), help="model file to write")
    ap.add_argument("--split", choices=("fit", "all"), default="fit",
                    help="fit on the fit halves (default; two folds by document give the out-of-fold scores; the "
                         "report halves stay unseen) or on every question (four folds by document)")
    ap.add_argument("--dump", help="also save the candidate matrix (npz) for analysis")
    ap.add_argument("--load", help="refit from a candidate matrix saved with --dump instead of reading the sets (with "
                    "--split fit, the default, only the fit halves of a matrix dumped with --split all)")
    ap.add_argument("--max-answerable-refused", type=float, default=MAX_ANSWERABLE_REFUSED,
                    help="the threshold refuses at most this share of the gate sets' answerable questions out of "
                         f"fold (default {MAX_ANSWERABLE_REFUSED})")
    ap.add_argument("--seed", type=int, help="random seed of the ranker's row and column sampling (default: "
                    "LightGBM's); refits with several seeds show how much of a score difference is noise")
    ap.add_argument("--drop-features", default="",
                    help="comma-separated signals (features.FEATURES) the ranker does not read: an ablation "
                         "refitted from one --dump matrix")
    ap.add_argument("--keep-gate", metavar="MODEL",
                    help="keep the refusal gate (its trees, the ranker whose scores it reads, its threshold) of an "
                         "earlier model file and fit only the answer ranker")
    ap.add_argument("--add-gate-ranker", action="store_true",
                    help="with --keep-gate: answer with the sum of the kept gate's ranker and the fitted one (the "
                         "fitted trees learn what the kept ranker misses, e.g. new signals)")
    ap.add_argument("--missing-share", type=float, default=MISSING_SHARE,
                    help="share of the questions added again with the sentence-dense signals missing, so the ranker "
                         f"learns to rank without sentence vectors (default {MISSING_SHARE}; 0: none)")
    ap.add_argument("--params", default="",
                    help='ranker settings over the defaults, as JSON (e.g. \'{"min_child_samples": 200}\')')
    ap.add_argument("--utility", default="",
                    help="weights of contains, recall and F1 in a candidate's grade, comma-separated (default "
                         f"{UTILITY['contains']:g},{UTILITY['recall']:g},{UTILITY['f1']:g})")
    ap.add_argument("--passage-utility", default="",
                    help="the same weights for questions that ask for a passage (answer type "
                         f"{' or '.join(PASSAGE_TYPES)}; default: those of --utility, one grade for every question)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    utility = parse_utility(args.utility, "--utility") if args.utility else UTILITY
    passage_utility = parse_utility(args.passage_utility, "--passage-utility") if args.passage_utility else None
    try:
        params = PARAMS | json.loads(args.params or "{}")
    except (json.JSONDecodeError, TypeError) as e:
        raise SystemExit(f"--params: not a JSON object ({e})") from None
    if args.seed is not None:
        params = params | {"random_state": args.seed}
    kept = None
    if args.keep_gate:
        try:
            kept = AnswerModel.load(args.keep_gate)
        except Exception as e:
            raise SystemExit(f"--keep-gate: {args.keep_gate} is not a readable answer model ({e})") from None
        if tuple(kept.gate_features) != GATE_FEATURES or not kept.signals <= set(FEATURES):
            raise SystemExit(f"--keep-gate: {args.keep_gate} reads other signals than the code's")
    elif args.add_gate_ranker:
        raise SystemExit("--add-gate-ranker needs --keep-gate MODEL")
    settings = Settings()
    names = [s for s in args.sets.split(",") if s]
    gate_sets = {s for s in args.gate_sets.split(",") if s}
    # a gate set the ranker is not fitted on (not in --sets) is read too: its questions calibrate the gate with
    # ranker scores from rankers that never saw them
    read = names + sorted(gate_sets - set(names))
    if args.load:
        try:
            d = np.load(args.load, allow_pickle=False)
            X, y, qids, sets, recs, precs, answerable, folds, f1s, conts = (
                d[k] for k in ("X", "y", "qids", "sets", "recs", "precs", "answerable", "folds", "f1s", "conts"))
        except (OSError, ValueError, KeyError) as e:
            raise SystemExit(f"{args.load}: not a candidate matrix written by --dump ({e})") from None
        # a matrix that names its columns may hold more signals than the code reads (one dump for several
        # ablations): the code's are taken by name
        cols = [str(f) for f in d["features"]] if "features" in d else list(FEATURES)[: X.shape[1]]
        if X.shape[1] != len(cols) or not set(FEATURES) <= set(cols):
            raise SystemExit(f"{args.load}: {X.shape[1]} signals, not the {len(FEATURES)} of the code; collect again")
        X = signal_columns(X, FEATURES, cols)
        # the matrix may hold more sets than --sets names: fit on those named only, score the others (held out);
        # a matrix of every question (--split all) refitted with --split fit keeps its fit halves (folds 0-1) and
        # scores the report halves as held out
        keep = np.isin(sets, read)
        if args.split == "fit":
            keep &= folds < 2
        held = tuple(a[~keep] for a in (X, qids, sets, recs, answerable, f1s, conts))
        X, y, qids, sets, recs, precs, answerable, folds, f1s, conts = (
            a[keep] for a in (X, y, qids, sets, recs, precs, answerable, folds, f1s, conts))
    else:
        held = None
        X, y, qids, sets, recs, precs, answerable, folds, f1s, conts = collect(read, settings, args.limit,
                                                                                args.split)
    if args.dump:
        np.savez_compressed(args.dump, features=np.array(FEATURES), X=X, y=y, qids=qids, sets=sets, recs=recs,
                            precs=precs, answerable=answerable, folds=folds, f1s=f1s, conts=conts)
    rel = grades(conts, recs, f1s, utility, asks_passage(X), passage_utility)
    used = ranker_features(args.drop_features)
    X_full, X = X, signal_columns(X, used)
    # Out-of-fold ranker scores (folds by document): what the gate and the threshold are fitted on.
    ranked = np.isin(sets, names)  # rows the ranker is fitted on (not those of a gate-only set)
    oof = np.zeros(len(y))
    for f in np.unique(folds):
        tr, te = (folds != f) & ranked, folds == f
        oof[te] = fit_trees(*with_missing_sentences(X[tr], rel[tr], qids[tr], used, args.missing_share),
                            params).predict(X[te], raw_score=True)
    best = best_per_question(oof, qids)  # sorted by question id
    q_sets, q_answerable, q_folds = sets[best], answerable[best], folds[best]
    _, G = question_gate_rows(X_full, oof, qids)
    in_gate = np.isin(q_sets, list(gate_sets))
    p_oof = np.zeros(len(best))
    for f in np.unique(q_folds):
        tr = in_gate & (q_folds != f)
        gate_f = fit_gate(G[tr], q_answerable[tr])  # once per fold, not once per question
        p_oof[q_folds == f] = [gate_f.probability(g) for g in G[q_folds == f]]
    threshold, gate = choose_threshold(p_oof[in_gate], q_answerable[in_gate], args.max_answerable_refused)
    scores = {"threshold": threshold, "gate_fit_halves_out_of_fold": gate}
    halves = {"all": np.ones(len(best), bool)}
    if len(np.unique(q_folds)) > 2:  # --split all: folds 0-1 are the fit halves, 2-3 the report halves
        halves |= {"fit_half": q_folds < 2, "report_half": q_folds >= 2}
    for name, half in ((n, h) for n in dict.fromkeys(sets) for h in halves):
        sel = np.where((q_sets == name) & halves[half])[0]
        ans = sel[q_answerable[sel]]
        row = {"questions": int(len(sel))}
        if len(ans):
            row.update({"oof_best_positive": round(float(y[best[ans]].mean()), 4),
                        "oof_best_recall": round(float(recs[best[ans]].mean()), 4),
                        "oof_best_f1": round(float(f1s[best[ans]].mean()), 4),
                        "oof_best_contains": round(float(conts[best[ans]].mean()), 4),
                        "oof_refusal_rate": round(float((p_oof[ans] < threshold).mean()), 4)})
        if len(sel) > len(ans):
            un = sel[~q_answerable[sel]]
            row["oof_refused_unanswerable"] = round(float((p_oof[un] < threshold).mean()), 4)
        scores[name if half == "all" else f"{name} ({half})"] = row
    final = fit_trees(*with_missing_sentences(X[ranked], rel[ranked], qids[ranked], used, args.missing_share), params)
    final_gate = fit_gate(G[in_gate], q_answerable[in_gate])
    meta = {
        "command": "python scripts/fit_answerer.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "folds": int(len(np.unique(folds))),
        "data": {n: str(named_sets()[n].questions) for n in dict.fromkeys(sets)},
        "split": ("all questions; scores out of fold (four folds by document: each half of rag.evaluate.split_of "
                  "in two)" if len(np.unique(folds)) > 2 else
                  "fit halves (rag.evaluate.split_of); report halves untouched; scores out of fold (two folds by "
                  "document)"),
        "dropped_features": [f for f in FEATURES if f not in used],
        "missing_sentence_share": args.missing_share,
        "candidates": int(len(y)), "positives": int(y.sum()), "questions": int(len(best)),
        "gate_sets": sorted(gate_sets), "params": params, "gate_params": GATE_PARAMS,
        "label": "graded 0..10: round(10 * utility), utility = weighted mean of contains (all must_contain; a part "
                 f"of a multi-place question: one of them), LCS recall and CMRC F1 against the gold, weights {utility}"
                 + (f"; for questions of answer type {' or '.join(PASSAGE_TYPES)}: {passage_utility}"
                    if passage_utility else ""),
        "gate_label": "the question is answerable (dev sets' unanswerable items are 0)",
        "scores": scores, "date": time.strftime("%Y-%m-%d"),
    }
    if kept is not None:
        # the kept gate and threshold, reading the scores of the ranker they were calibrated with
        final_gate = Gate(kept.gate.trees, kept.gate.ranker or kept.trees, kept.gate.ranker_features or kept.features)
        threshold = kept.refuse_below
        meta["gate"] = {"kept_from": str(args.keep_gate), "threshold": threshold,
                        "fit": kept.meta["gate"] if "gate" in kept.meta else kept.meta}
        scores["threshold"] = threshold
        scores["gate_fit_halves_out_of_fold"] = {
            "note": "the gate is kept (see gate.fit for its own record); oof_refusal_* below are those of a gate "
                    "refitted here on this ranker's out-of-fold scores, for comparison", "refitted": gate}
    trees = TreeEnsemble.from_lightgbm(final.booster_.dump_model())
    check = np.vstack([X[:200], with_missing_sentences(X[:200], rel[:200], qids[:200], used, 1.0)[0][200:]])
    want = final.predict(check, raw_score=True)
    if kept is not None:
        meta["gate"]["sha256"] = file_sha256(args.keep_gate)
        if args.add_gate_ranker:
            if not set(final_gate.ranker_features) <= set(used):
                raise SystemExit("--add-gate-ranker: the kept ranker reads signals this fit does not")
            want = want + final_gate.ranker.raw_score(signal_columns(check, final_gate.ranker_features, used))
            meta["ranker"] = "the kept gate's ranker plus the trees fitted here (scores summed)"
    model = AnswerModel(used, trees, GATE_FEATURES, final_gate, threshold, meta, adds_gate_ranker=args.add_gate_ranker)
    if not np.allclose(model.scores(check), want, atol=1e-6):
        raise SystemExit("numpy tree evaluation disagrees with LightGBM")
    if held is not None and len(held[0]):
        scores |= held_out_scores(model, used, *held)
    model.save(args.out)
    print(json.dumps(scores, ensure_ascii=False, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
