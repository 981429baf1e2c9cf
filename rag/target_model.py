"""The fitted target classifier: is a candidate figure (`rag/target_candidates.py`) a target?

`scripts/fit_targets.py` fits it on the hand-annotated targets (eval/targets_gold.jsonl) and writes
`rag/data/target_model.json`: a small boosted-tree ensemble (or a logistic model) over the candidates' signals, the
probability threshold chosen on out-of-fold predictions, and the command, data and scores of the fit. Here it is
only read and evaluated with numpy, so ingest needs neither LightGBM nor scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .answer.model import TreeEnsemble, read_model_file, write_model_file

TARGET_MODEL_PATH = Path(__file__).resolve().parent / "data" / "target_model.json"


@dataclass
class TargetModel:
    """Trees (LightGBM, binary), a linear model, or both (their probabilities averaged) over named signals, and the
    threshold a target must reach."""

    features: tuple[str, ...]
    threshold: float
    trees: TreeEnsemble | None = None
    weights: tuple[float, ...] = ()
    bias: float = 0.0
    meta: dict | None = None
    measure_rule: dict | None = None  # figure class -> the measure reading fitted for it ('segment', 'item'...)

    def probabilities(self, X: np.ndarray) -> np.ndarray:
        """P(target) of each row of X (columns in `features` order)."""
        X = np.asarray(X, dtype=np.float64).reshape(-1, len(self.features))
        parts = []
        if self.trees is not None:
            parts.append(self.trees.raw_score(X))
        if self.weights:
            parts.append(X @ np.asarray(self.weights) + self.bias)
        # trees and a linear model together (a blend): the mean of their probabilities
        return np.mean([1.0 / (1.0 + np.exp(-np.clip(z, -40, 40))) for z in parts], axis=0)

    def to_dict(self) -> dict:
        d = {"features": list(self.features), "threshold": self.threshold, "measure_rule": self.measure_rule or {},
             "fit": self.meta or {}}
        if self.trees is not None:
            d["trees"] = self.trees.to_dict()
        if self.weights:
            d["weights"], d["bias"] = list(self.weights), self.bias
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TargetModel":
        trees = TreeEnsemble.from_dict(d["trees"]) if "trees" in d else None
        return cls(tuple(d["features"]), float(d["threshold"]), trees, tuple(d.get("weights", ())),
                   float(d.get("bias", 0.0)), d.get("fit", {}), d.get("measure_rule", {}))

    @classmethod
    def load(cls, path: str | Path | None = None) -> "TargetModel":
        return read_model_file(Path(path or TARGET_MODEL_PATH), cls.from_dict, "量化目标模型", "target model",
                               "scripts/fit_targets.py")

    def save(self, path: str | Path) -> None:
        write_model_file(path, self.to_dict())


@lru_cache(maxsize=4)
def load_target_model(path: str | None = None) -> TargetModel:
    """The target model (read once per process)."""
    return TargetModel.load(path)
