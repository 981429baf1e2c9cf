"""The answer fit's folds are by document: no document's questions are split across folds, and with `--split all`
the report halves are folds of their own, so the out-of-fold scores of a report-half question come from a ranker
that never saw its document."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from rag.evaluate import EvalItem, split_of

spec = importlib.util.spec_from_file_location(
    "fit_answerer", Path(__file__).resolve().parent.parent / "scripts" / "fit_answerer.py")
fit_answerer = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fit_answerer)


def items():
    return [EvalItem(id=f"q{i}", question="问题", type="fact", must_contain=("x",), doc=(f"doc{i % 40}.txt",))
            for i in range(200)]


def test_folds_follow_documents_and_halves():
    by_doc: dict[str, set[int]] = {}
    for split in ("fit", "all"):
        for it in items():
            by_doc.setdefault((split, it.doc[0]), set()).add(fit_answerer.fold_of(it, split))
    assert all(len(f) == 1 for f in by_doc.values())  # one fold per document
    all_folds = {it.id: fit_answerer.fold_of(it, "all") for it in items()}
    assert set(all_folds.values()) == {0, 1, 2, 3}
    for it in items():
        assert (all_folds[it.id] >= 2) == (split_of(it) == "report")
        assert fit_answerer.fold_of(it, "fit") in (0, 1)
        assert all_folds[it.id] % 2 == fit_answerer.fold_of(it, "fit")


def test_drop_features_refits_on_a_subset_of_the_signals_in_the_codes_order():
    import pytest

    from rag.answer.features import FEATURES

    assert fit_answerer.ranker_features("") == FEATURES
    kept = fit_answerer.ranker_features("q_len, doc_pos")
    assert "q_len" not in kept and "doc_pos" not in kept and len(kept) == len(FEATURES) - 2
    assert list(kept) == [f for f in FEATURES if f in kept]  # a model reads its columns by name, in this order
    with pytest.raises(SystemExit, match="no_such_signal"):
        fit_answerer.ranker_features("no_such_signal")


def test_the_threshold_never_refuses_more_answerable_questions_than_allowed():
    import numpy as np

    p = np.array([0.05, 0.10, 0.20, 0.30, 0.60, 0.70, 0.80, 0.90, 0.95, 0.99])
    answerable = np.array([False, False, True, False, True, True, True, True, True, True])
    t, rec = fit_answerer.choose_threshold(p, answerable, 0.0)
    assert not (answerable & (p < t)).any() and rec["recall"] == round(2 / 3, 4)
    t, rec = fit_answerer.choose_threshold(p, answerable, 0.2)  # one of 7 answerable may go: all 3 caught
    assert (~answerable <= (p < t)).all() and rec["refusal_rate_answerable"] <= 0.2


def test_utility_weights_change_which_candidate_grades_higher():
    import numpy as np

    # a long span that holds the gold (contains 1, recall 1, F1 0.2) against a tight one missing a bit of it
    conts, recs, f1s = np.array([1.0, 0.0]), np.array([1.0, 0.8]), np.array([0.2, 0.9])
    default = fit_answerer.grades(conts, recs, f1s)
    f1_only = fit_answerer.grades(conts, recs, f1s, {"contains": 0.0, "recall": 0.0, "f1": 1.0})
    no_f1 = fit_answerer.grades(conts, recs, f1s, {"contains": 1.0, "recall": 1.0, "f1": 0.0})
    assert f1_only[1] > f1_only[0] and no_f1[0] > no_f1[1]
    assert list(default) == [round(10 * (1 + 1 + 0.4) / 4), round(10 * (0 + 0.8 + 1.8) / 4)]


def test_questions_asking_for_a_passage_may_be_graded_by_weights_of_their_own():
    import numpy as np

    from rag.answer.features import FEATURES

    # two candidates of one question: the whole list (contains 1, recall 1, F1 0.3) and its first item alone
    # (contains 0, recall 0.45, F1 0.6); asked as a passage ('有哪些措施') the whole list grades higher, asked for a
    # figure the tight span still may not lose to padding
    conts, recs, f1s = np.array([1.0, 0.0]), np.array([1.0, 0.45]), np.array([0.3, 0.6])
    X = np.zeros((2, len(FEATURES)), np.float32)
    X[:, FEATURES.index("type_enumeration")] = 1
    passage = fit_answerer.asks_passage(X)
    assert passage.all()
    assert not fit_answerer.asks_passage(np.zeros((2, len(FEATURES)), np.float32)).any()
    recall_first = {"contains": 1.0, "recall": 2.0, "f1": 1.0}
    g = fit_answerer.grades(conts, recs, f1s, passage=passage, passage_utility=recall_first)
    assert list(g) == [round(10 * (1 + 2 + 0.3) / 4), round(10 * (0 + 0.9 + 0.6) / 4)]
    short = fit_answerer.grades(conts, recs, f1s, passage=~passage, passage_utility=recall_first)
    assert list(short) == list(fit_answerer.grades(conts, recs, f1s, passage=passage))
    assert g[0] - g[1] > short[0] - short[1]


def test_bad_params_and_utility_are_clear_errors():
    import pytest

    with pytest.raises(SystemExit, match="--utility"):
        fit_answerer.main(["--load", "/nonexistent.npz", "--utility", "1,2"])
    with pytest.raises(SystemExit, match="non-negative"):
        fit_answerer.main(["--load", "/nonexistent.npz", "--utility", "0,0,0"])
    with pytest.raises(SystemExit, match="--passage-utility"):
        fit_answerer.main(["--load", "/nonexistent.npz", "--passage-utility", "1,x,1"])
    with pytest.raises(SystemExit, match="non-negative"):
        fit_answerer.main(["--load", "/nonexistent.npz", "--utility", "1,-1,2"])
    with pytest.raises(SystemExit, match="not a candidate matrix"):
        fit_answerer.main(["--load", "/nonexistent.npz", "--params", "{}"])


def test_missing_sentence_signals_are_learned_and_evaluated_as_lightgbm_does():
    """Questions copied with the sentence-dense signals missing train the ranker to rank without them; the numpy
    evaluation of the trees reads a missing value as LightGBM does, both for splits that saw missing values in
    training and for those that did not (LightGBM reads NaN as 0 there)."""
    import numpy as np

    from rag.answer.features import FEATURES
    from rag.answer.model import TreeEnsemble

    rng = np.random.default_rng(1)
    used = FEATURES
    n_q, per = 60, 12
    X = rng.random((n_q * per, len(used))).astype(np.float32)
    X[:, [used.index(f) for f in fit_answerer.SENTENCE_SIGNALS]] -= 0.5  # splits on both sides of 0
    qids = np.repeat(np.arange(n_q), per)
    s = used.index("sent_dense")
    rel = np.clip(np.round(10 * (0.6 * X[:, s] + 0.4 * X[:, used.index("term_cov")])), 0, 10).astype(int)
    Xa, rela, qa = fit_answerer.with_missing_sentences(X, rel, qids, used, 0.5)
    copies = len(Xa) - len(X)
    assert 0 < copies < len(X) and copies % per == 0
    cols = [used.index(f) for f in fit_answerer.SENTENCE_SIGNALS]
    assert np.isnan(Xa[len(X):][:, cols]).all() and not np.isnan(Xa[len(X):]).any(axis=0)[
        [i for i in range(len(used)) if i not in cols]].any()
    assert len(set(qa[len(X):]) & set(qids)) == 0  # the copies are questions of their own
    assert fit_answerer.with_missing_sentences(X, rel, qids, used, 0.0)[0] is X
    params = fit_answerer.PARAMS | {"n_estimators": 30, "random_state": 0}
    test = np.vstack([X[:50], Xa[len(X):len(X) + 50]])
    for fitted in (fit_answerer.fit_trees(Xa, rela, qa, params), fit_answerer.fit_trees(X, rel, qids, params)):
        trees = TreeEnsemble.from_lightgbm(fitted.booster_.dump_model())
        again = TreeEnsemble.from_dict(trees.to_dict())
        want = fitted.predict(test, raw_score=True)
        assert np.allclose(trees.raw_score(test), want, atol=1e-6)
        assert np.allclose(again.raw_score(test), want, atol=1e-6)
