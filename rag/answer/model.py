"""The fitted answer model: a gradient-boosted tree ensemble over candidate signals, evaluated with numpy.

`scripts/fit_answerer.py` fits it on the dev sets' fit halves (a LightGBM LambdaRank ensemble that ranks a
question's candidates, and a small monotone tree gate over the best candidates' signals) and writes
`rag/data/answer_model.json`: the trees, the gate's weights, the refusal threshold chosen on dev data, and the
command, data and scores of the fit. Here it is only read and evaluated, so answering needs neither LightGBM nor
scikit-learn.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import RagError

MODEL_PATH = Path(__file__).resolve().parent.parent / "data" / "answer_model.json"


class ModelError(RagError):
    """The answer model file is missing or unreadable."""


@dataclass
class TreeEnsemble:
    """All trees flattened into arrays; every row walks every tree at once (one numpy step per depth level)."""

    feature: np.ndarray  # int32, -1 at leaves
    threshold: np.ndarray
    left: np.ndarray  # child node ids (global)
    right: np.ndarray
    value: np.ndarray  # leaf values
    roots: np.ndarray  # root node id of each tree
    default_left: np.ndarray  # bool: where a missing value (NaN) goes
    depth: int
    nan_as_zero: np.ndarray | None = None  # bool: a split that never saw a missing value reads NaN as 0 (LightGBM's
    # missing_type "None"); the others send it the default way

    @classmethod
    def from_lightgbm(cls, dump: dict) -> "TreeEnsemble":
        """Flatten a LightGBM `booster.dump_model()` dictionary."""
        feature, threshold, left, right, value, dleft, roots, zero = [], [], [], [], [], [], [], []
        max_depth = 0

        def add(node: dict, depth: int) -> int:
            nonlocal max_depth
            max_depth = max(max_depth, depth)
            i = len(feature)
            feature.append(-1)
            threshold.append(0.0)
            left.append(i)
            right.append(i)
            value.append(0.0)
            dleft.append(True)
            zero.append(False)
            if "leaf_value" in node:
                value[i] = float(node["leaf_value"])
                return i
            if node.get("decision_type", "<=") != "<=":
                raise ModelError("回答模型文件格式不受支持", f"unsupported decision type {node.get('decision_type')}")
            feature[i] = int(node["split_feature"])
            threshold[i] = float(node["threshold"])
            dleft[i] = bool(node.get("default_left", True))
            zero[i] = node.get("missing_type", "None") == "None"
            left[i] = add(node["left_child"], depth + 1)
            right[i] = add(node["right_child"], depth + 1)
            return i

        for tree in dump["tree_info"]:
            roots.append(add(tree["tree_structure"], 0))
        return cls(np.array(feature, np.int32), np.array(threshold, np.float64), np.array(left, np.int32),
                   np.array(right, np.int32), np.array(value, np.float64), np.array(roots, np.int32),
                   np.array(dleft, bool), max_depth, np.array(zero, bool))

    def to_dict(self) -> dict:
        out = {k: getattr(self, k).tolist() for k in ("feature", "threshold", "left", "right", "value", "roots",
                                                     "default_left")} | {"depth": self.depth}
        if self.nan_as_zero is not None:
            out["nan_as_zero"] = self.nan_as_zero.tolist()
        return out

    @classmethod
    def from_dict(cls, d: dict) -> "TreeEnsemble":
        return cls(np.array(d["feature"], np.int32), np.array(d["threshold"], np.float64),
                   np.array(d["left"], np.int32), np.array(d["right"], np.int32), np.array(d["value"], np.float64),
                   np.array(d["roots"], np.int32), np.array(d["default_left"], bool), int(d["depth"]),
                   np.array(d["nan_as_zero"], bool) if "nan_as_zero" in d else None)

    def raw_score(self, X: np.ndarray) -> np.ndarray:
        """Sum of the trees' leaf values for each row of X."""
        n = X.shape[0]
        if n == 0:
            return np.zeros(0)
        X = X.astype(np.float64, copy=False)
        node = np.broadcast_to(self.roots, (n, len(self.roots))).copy()
        rows = np.arange(n)[:, None]
        for _ in range(self.depth):
            f = self.feature[node]
            inner = f >= 0
            if not inner.any():
                break
            x = X[rows, np.where(inner, f, 0)]
            if self.nan_as_zero is not None:
                x = np.where(np.isnan(x) & self.nan_as_zero[node], 0.0, x)
            go_left = np.where(np.isnan(x), self.default_left[node], x <= self.threshold[node])
            node = np.where(inner, np.where(go_left, self.left[node], self.right[node]), node)
        return self.value[node].sum(axis=1)


@dataclass
class Gate:
    """A small boosted-tree classifier over `features.GATE_FEATURES` (monotone in the evidence signals): the
    probability that the best candidate answers. `ranker` (with its signals `ranker_features`) is the ranker whose
    scores the gate was calibrated on when that is not the answer ranker: a gate kept from an earlier fit reads
    the scores it was fitted with (`scripts/fit_answerer.py --keep-gate`)."""

    trees: TreeEnsemble
    ranker: TreeEnsemble | None = None
    ranker_features: tuple[str, ...] = ()

    def probability(self, g: np.ndarray) -> float:
        return sigmoid(float(self.trees.raw_score(np.asarray(g, dtype=np.float64)[None, :])[0]))

    def to_dict(self) -> dict:
        out = {"trees": self.trees.to_dict()}
        if self.ranker is not None:
            out |= {"ranker": self.ranker.to_dict(), "ranker_features": list(self.ranker_features)}
        return out

    @classmethod
    def from_dict(cls, d: dict) -> "Gate":
        ranker = TreeEnsemble.from_dict(d["ranker"]) if "ranker" in d else None
        return cls(TreeEnsemble.from_dict(d["trees"]), ranker, tuple(d.get("ranker_features", ())))


@dataclass
class AnswerModel:
    """The candidate ranker, the gate, and the refusal threshold chosen on dev data."""

    features: tuple[str, ...]
    trees: TreeEnsemble
    gate_features: tuple[str, ...]
    gate: Gate
    refuse_below: float  # the gate: the best candidate's probability must reach this
    meta: dict
    adds_gate_ranker: bool = False  # the answer ranker is the kept gate's ranker plus `trees` (scores summed)

    def scores(self, X: np.ndarray, gate_scores: np.ndarray | None = None) -> np.ndarray:
        """Ranker scores of candidate rows (columns: `features`; comparable within one question). `gate_scores`:
        the gate ranker's scores of the same rows when already computed."""
        raw = self.trees.raw_score(X)
        if self.adds_gate_ranker:
            if gate_scores is None:
                from .features import signal_columns

                gate_scores = self.gate.ranker.raw_score(signal_columns(X, self.gate.ranker_features, self.features))
            raw = raw + gate_scores
        return raw

    @property
    def signals(self) -> set[str]:
        """Every candidate signal the model reads (its ranker's and, when kept apart, its gate's ranker's)."""
        return set(self.features) | set(self.gate.ranker_features)

    @classmethod
    def from_dict(cls, d: dict) -> "AnswerModel":
        model = cls(tuple(d["features"]), TreeEnsemble.from_dict(d["trees"]), tuple(d["gate_features"]),
                    Gate.from_dict(d["gate"]), float(d["refuse_below"]), d.get("fit", {}),
                    bool(d.get("adds_gate_ranker", False)))
        if model.adds_gate_ranker and model.gate.ranker is None:
            raise ValueError("adds_gate_ranker without a gate ranker")
        return model

    @classmethod
    def load(cls, path: str | Path | None = None) -> "AnswerModel":
        return read_model_file(Path(path or MODEL_PATH), cls.from_dict, "回答模型", "answer model",
                               "scripts/fit_answerer.py")

    def save(self, path: str | Path) -> None:
        write_model_file(path, {"features": list(self.features), "gate_features": list(self.gate_features),
                                "gate": self.gate.to_dict(), "refuse_below": self.refuse_below, "fit": self.meta,
                                "adds_gate_ranker": self.adds_gate_ranker,
                                "trees": self.trees.to_dict()})


def read_model_file(path: Path, build, what_zh: str, what_en: str, script: str):
    """A fitted model built (`build`) from its JSON file; a missing or broken file is a ModelError that names the
    script writing it."""
    try:
        return build(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise ModelError(f"找不到{what_zh}文件 {path}，请运行 {script}", f"{what_en} {path} not found") from None
    except (ValueError, KeyError, TypeError) as e:
        raise ModelError(f"{what_zh}文件 {path} 已损坏：{e}", f"bad {what_en} {path}: {e}") from e


def write_model_file(path: str | Path, d: dict) -> None:
    """Write a fitted model's dictionary as compact UTF-8 JSON."""
    Path(path).write_text(json.dumps(d, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


@lru_cache(maxsize=4)
def load_model(path: str | None = None) -> AnswerModel:
    """The answer model (read once per process)."""
    return AnswerModel.load(path)


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))
