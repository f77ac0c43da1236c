"""Baselines scored on the SAME cross-validation folds as SchNet: small estimators, registered
in one place.

A baseline is a `Baseline` subclass (`base.py`: name, task kind, description, what it sees, plot
style, `fit(train proteins)` / `predict(test proteins)` over a `Proteins` bundle of ids, residue
counts, mean- and sum-pooled features, groups and labels), registered with `register`
(`registry.py`). `run(task, proteins, fold)` fits every registered baseline of the label's task
kind once per fold on the proteins outside it and predicts the proteins inside it; nothing is
fitted on a protein it later predicts. The evaluate tables, the comparisons, metrics.json, the
report and the plots list the baselines from the registry, so registering one is the only step
(docs/extending.md, "Add a baseline").

Built in: regression (`regression.py`) `mean`, `size_linear`, `ridge_pooled`, `ridge_seq`, and
the structure-aware `ridge_surface` and `hgb_struct` (`structure.py`; they need the structure
summaries, `Proteins.with_structure`); classification (`classification.py`) `majority_class`, `size_logistic`, `seq_logistic`. Each is
also a function over arrays (`ridge_seq(features, y, fold)`), and `run_baselines` /
`run_cls_baselines` run all of a task from arrays.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from esm_schnet.baselines.base import Baseline, Proteins, Style
from esm_schnet.baselines.classification import (
    LOGISTIC_CS, LOGISTIC_MAX_ITER, SIZE_C, MajorityClass, SeqLogistic, SizeLogistic,
    majority_class, seq_logistic, size_logistic,
)
from esm_schnet.baselines.classification import class_inputs as _class_inputs
from esm_schnet.baselines.fitting import INNER_FOLDS, RIDGE_ALPHAS, inner_splits, mean_pool, sequence_features
from esm_schnet.baselines.registry import (
    ENTRY_POINT_GROUP, descriptions, display_order, load_plugins, lookup, out_of_fold, register,
    registered, run, sees, styles, unregister,
)
from esm_schnet.baselines.regression import (
    MeanLabel, RidgePooled, RidgeSeq, SizeLinear, mean_predictor, ridge_pooled, ridge_seq,
    size_linear,
)
from esm_schnet.baselines.structure import HGBStructure, RidgeSurface, read_structure_summaries  # after regression
from esm_schnet.tasks.names import CLASSIFICATION, REGRESSION

_inner_splits = inner_splits  # the name esm_schnet.train.linear_init imports


def run_baselines(
    ids, y, fold, n_residues, pooled, summed=None, groups=None
) -> tuple[pd.DataFrame, dict]:
    """Every regression baseline on the same folds.

    `pooled`: mean-pooled embeddings [proteins, D]; `summed`: sum-pooled ones (default: pooled
    times the residue count); `groups`: clusters for the inner CVs (None: proteins).
    Returns (long table with columns id, label, prediction, fold, model, in registration order;
    info dict with the choices per fold, e.g. ridge_alpha_per_fold, ridge_seq_per_fold).
    """
    proteins = Proteins.from_arrays(ids, n_residues, pooled, summed, groups,
                                    labels=np.asarray(y, dtype=np.float64))
    preds, info = run(REGRESSION, proteins, fold)
    frames = [
        pd.DataFrame({"id": list(proteins.ids), "label": proteins.labels, "prediction": p,
                      "fold": np.asarray(fold), "model": name})
        for name, p in preds.items()
    ]
    return pd.concat(frames, ignore_index=True), info


def run_cls_baselines(
    y, fold, n_residues, pooled, summed=None, groups=None, n_classes: int | None = None
) -> tuple[dict[str, np.ndarray], dict]:
    """Every classification baseline on the same folds: ({name: [n, K] probabilities}, info with
    the choices per fold, e.g. seq_logistic_per_fold). Inputs as in `run_baselines`; y holds
    class indices 0..K-1 (K = n_classes, default the largest index + 1)."""
    yi, fold, k, _ = _class_inputs(y, fold, n_classes)
    proteins = Proteins.from_arrays(range(len(yi)), n_residues, pooled, summed, groups,
                                    labels=yi, n_classes=k)
    return run(CLASSIFICATION, proteins, fold)

__all__ = [
    "ENTRY_POINT_GROUP", "INNER_FOLDS", "LOGISTIC_CS", "LOGISTIC_MAX_ITER", "RIDGE_ALPHAS",
    "SIZE_C", "Baseline", "HGBStructure", "MajorityClass", "MeanLabel", "Proteins", "RidgePooled", "RidgeSeq",
    "SeqLogistic", "SizeLinear", "SizeLogistic", "Style", "descriptions", "display_order",
    "inner_splits", "load_plugins", "lookup", "majority_class", "mean_pool", "mean_predictor",
    "out_of_fold", "read_structure_summaries", "register", "registered", "ridge_pooled",
    "ridge_seq", "RidgeSurface", "run",
    "run_baselines", "run_cls_baselines", "sees", "seq_logistic", "sequence_features",
    "size_linear", "size_logistic", "styles", "unregister",
]
