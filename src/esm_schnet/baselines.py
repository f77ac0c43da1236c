"""Baselines scored on the SAME cross-validation folds as SchNet.

Each baseline is a pure function over arrays: `fold[i]` is the fold in which protein i is held
out; for every fold k the model is fitted on the proteins with fold != k and predicts those with
fold == k. Nothing is fitted on a protein it later predicts.

- `mean`: the mean label of the training fold (what "no model at all" scores).
- `size_linear`: least-squares line over the residue count (is the label just protein size?).
- `ridge_pooled`: ridge regression over mean-pooled per-residue embeddings, i.e. the sequence
  alone without structure; features standardised and alpha chosen by efficient leave-one-out
  CV (RidgeCV) inside the training fold only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import pandas as pd

log = logging.getLogger("esm_schnet.baselines")

RIDGE_ALPHAS = tuple(float(a) for a in np.logspace(-3, 4, 15))
BASELINES: tuple[str, ...] = ("mean", "size_linear", "ridge_pooled")


def _check(y: np.ndarray, fold: np.ndarray, x: np.ndarray | None = None) -> None:
    if y.ndim != 1 or fold.shape != y.shape:
        raise ValueError(f"y {y.shape} and fold {fold.shape} must be 1-D of the same length")
    if x is not None and x.shape[0] != y.shape[0]:
        raise ValueError(f"features have {x.shape[0]} rows, labels {y.shape[0]}")
    if not np.all(np.isfinite(y)):
        raise ValueError("baselines need finite labels")


def _per_fold(
    y: np.ndarray, fold: np.ndarray, fit_predict: Callable[[np.ndarray, np.ndarray], np.ndarray]
) -> np.ndarray:
    pred = np.full(y.shape, np.nan)
    for k in np.unique(fold):
        test = fold == k
        train = ~test
        if not train.any():
            raise ValueError(f"fold {k} leaves no training proteins")
        pred[test] = fit_predict(train, test)
    return pred


def mean_predictor(y, fold) -> np.ndarray:
    """Each held-out protein is predicted as the mean label of its training fold."""
    y = np.asarray(y, dtype=np.float64)
    fold = np.asarray(fold)
    _check(y, fold)
    return _per_fold(y, fold, lambda tr, te: np.full(int(te.sum()), y[tr].mean()))


def size_linear(n_residues, y, fold) -> np.ndarray:
    """Linear regression of the label on the residue count, fitted per training fold."""
    from sklearn.linear_model import LinearRegression

    y = np.asarray(y, dtype=np.float64)
    fold = np.asarray(fold)
    x = np.asarray(n_residues, dtype=np.float64).reshape(-1, 1)
    _check(y, fold, x)

    def fit_predict(tr, te):
        return LinearRegression().fit(x[tr], y[tr]).predict(x[te])

    return _per_fold(y, fold, fit_predict)


def ridge_pooled(
    features, y, fold, alphas=RIDGE_ALPHAS
) -> tuple[np.ndarray, dict[int, float]]:
    """Standardised ridge regression on mean-pooled embeddings; alpha by inner CV per fold.

    Returns (predictions, {fold: chosen alpha}).
    """
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y = np.asarray(y, dtype=np.float64)
    fold = np.asarray(fold)
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"features must be 2-D [proteins, dims], got {x.shape}")
    _check(y, fold, x)
    chosen: dict[int, float] = {}

    def fit_predict(tr, te):
        # RidgeCV with cv=None: efficient leave-one-out over the training fold only.
        pipe = make_pipeline(StandardScaler(), RidgeCV(alphas=alphas))
        pipe.fit(x[tr], y[tr])
        k = int(fold[te][0])
        chosen[k] = float(pipe[-1].alpha_)
        return pipe.predict(x[te])

    pred = _per_fold(y, fold, fit_predict)
    return pred, chosen


def mean_pool(embedding) -> np.ndarray:
    """Mean over residues of a per-residue embedding [L, D] -> [D] (float64)."""
    e = np.asarray(embedding, dtype=np.float64)
    if e.ndim != 2 or e.shape[0] == 0:
        raise ValueError(f"embedding must be [L>0, D], got {e.shape}")
    return e.mean(axis=0)


def run_baselines(
    ids, y, fold, n_residues, pooled
) -> tuple[pd.DataFrame, dict]:
    """All baselines on the same folds.

    Returns (long table with columns id, label, prediction, fold, model; info dict with the
    ridge alphas chosen per fold).
    """
    ids = list(ids)
    y = np.asarray(y, dtype=np.float64)
    fold = np.asarray(fold)
    preds = {
        "mean": mean_predictor(y, fold),
        "size_linear": size_linear(n_residues, y, fold),
    }
    preds["ridge_pooled"], alphas = ridge_pooled(pooled, y, fold)
    frames = [
        pd.DataFrame({"id": ids, "label": y, "prediction": p, "fold": fold, "model": name})
        for name, p in preds.items()
    ]
    a = np.array(list(alphas.values()))
    log.info(
        "ridge_pooled: %d features, alpha per fold median %.3g (range %.3g-%.3g)",
        np.asarray(pooled).shape[1], np.median(a), a.min(), a.max(),
    )
    return pd.concat(frames, ignore_index=True), {"ridge_alpha_per_fold": alphas}
