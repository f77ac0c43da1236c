"""Baselines scored on the SAME cross-validation folds as SchNet.

Each baseline is a pure function over arrays: `fold[i]` is the fold in which protein i is held
out; for every fold k the model is fitted on the proteins with fold != k and predicts those with
fold == k. Nothing is fitted on a protein it later predicts.

- `mean`: the mean label of the training fold (what "no model at all" scores).
- `size_linear`: least-squares line over the residue count (is the label just protein size?).
- `ridge_pooled`: ridge regression over mean-pooled per-residue embeddings, i.e. the sequence
  alone without structure; features standardised and alpha chosen by efficient leave-one-out
  CV (RidgeCV) inside the training fold only.
- `ridge_seq`: the honest sequence-only model. Ridge regression on [mean-pooled features,
  sum-pooled features, residue count]; the penalty alpha and whether to standardise the features
  are chosen together by an inner k-fold CV (k = min(5, training proteins); whole clusters kept
  together when groups are given) run on the training fold only, so no held-out protein informs
  the choice.

What each baseline can and cannot see:

| baseline       | sees                                              | cannot see / express                     |
|----------------|---------------------------------------------------|------------------------------------------|
| `mean`         | nothing (the training labels only)                | anything about the protein               |
| `size_linear`  | the residue count                                 | composition, sequence, structure         |
| `ridge_pooled` | mean composition (average embedding)              | size: cannot express extensive labels    |
| `ridge_seq`    | size and composition/sequence features (mean and  | structure (coordinates, contacts)        |
|                | sum pooled embeddings, residue count)             |                                          |

With `onehot` embeddings the sum-pooled features are the amino-acid counts, so `ridge_seq` fits
any label that is a weighted sum over residues; SchNet beating it means the 3-D graph added
something that sequence composition and size alone do not give.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import pandas as pd

log = logging.getLogger("esm_schnet.baselines")

RIDGE_ALPHAS = tuple(float(a) for a in np.logspace(-3, 4, 15))
BASELINES: tuple[str, ...] = ("mean", "size_linear", "ridge_pooled", "ridge_seq")
INNER_FOLDS = 5


def _check(y: np.ndarray, fold: np.ndarray, x: np.ndarray | None = None) -> None:
    if y.ndim != 1 or fold.shape != y.shape:
        raise ValueError(f"y {y.shape} and fold {fold.shape} must be 1-D of the same length")
    if x is not None and x.shape[0] != y.shape[0]:
        raise ValueError(f"features have {x.shape[0]} rows, labels {y.shape[0]}")
    if not np.all(np.isfinite(y)):
        raise ValueError("baselines need finite labels")


def _feature_inputs(features, y, fold) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(y, fold, features) as checked float64/int arrays; features must be [proteins, dims]."""
    y = np.asarray(y, dtype=np.float64)
    fold = np.asarray(fold)
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"features must be 2-D [proteins, dims], got {x.shape}")
    _check(y, fold, x)
    return y, fold, x


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

    y, fold, x = _feature_inputs(features, y, fold)
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


def _inner_splits(n: int, groups, k: int, seed: int) -> list[np.ndarray]:
    """Inner-CV test masks over n training proteins: k folds, whole groups kept together."""
    rng = np.random.default_rng(seed)
    if groups is None:
        units = np.arange(n)
    else:
        _, units = np.unique(np.asarray(groups).astype(str), return_inverse=True)
        if units.max() < 1:  # a single group: no grouped split exists, split proteins
            units = np.arange(n)
    n_units = int(units.max()) + 1
    k = max(2, min(k, n_units))
    order = rng.permutation(n_units)
    unit_fold = np.empty(n_units, dtype=int)
    unit_fold[order] = np.arange(n_units) % k
    f = unit_fold[units]
    return [f == j for j in range(k)]


def _ridge_path(xtr, ytr, xte, alphas) -> np.ndarray:
    """Ridge with an unpenalised intercept, every alpha at once (SVD): [len(alphas), n_test]."""
    mx, my = xtr.mean(axis=0), ytr.mean()
    u, s, vt = np.linalg.svd(xtr - mx, full_matrices=False)
    uty = u.T @ (ytr - my)
    a = np.asarray(alphas, dtype=np.float64)[:, None]
    coef = (s / (s**2 + a)) * uty  # [A, r]
    return my + ((xte - mx) @ vt.T) @ coef.T  # [n_test, A]


def _scale(xtr, xte, standardise: bool):
    if not standardise:
        return xtr, xte
    mu, sd = xtr.mean(axis=0), xtr.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return (xtr - mu) / sd, (xte - mu) / sd


def sequence_features(mean_pooled, summed, n_residues) -> np.ndarray:
    """[mean-pooled features, sum-pooled features, residue count] per protein."""
    m = np.asarray(mean_pooled, dtype=np.float64)
    s = np.asarray(summed, dtype=np.float64)
    n = np.asarray(n_residues, dtype=np.float64).reshape(-1, 1)
    if m.ndim != 2 or s.shape != m.shape or n.shape[0] != m.shape[0]:
        raise ValueError(f"mean {m.shape}, sum {s.shape}, counts {n.shape} do not match")
    return np.hstack([m, s, n])


def ridge_seq(
    features, y, fold, groups=None, alphas=RIDGE_ALPHAS, standardise=(True, False),
    inner_folds: int = INNER_FOLDS, seed: int = 0,
) -> tuple[np.ndarray, dict[int, dict]]:
    """Ridge on sequence features with (alpha, standardise) chosen by inner CV per training fold.

    `features`: [proteins, dims], e.g. from `sequence_features`. For every outer fold k the inner
    CV runs on the proteins with fold != k only (grouped by `groups` when given), the setting
    with the lowest inner MSE (ties: the larger alpha) is refitted on the whole training fold and
    predicts fold k. Returns (predictions, {fold: {"alpha", "standardise", "inner_mse"}}).
    """
    y, fold, x = _feature_inputs(features, y, fold)
    alphas = np.asarray(sorted(alphas), dtype=np.float64)
    g = None if groups is None else np.asarray(groups)
    chosen: dict[int, dict] = {}

    def fit_predict(tr, te):
        xtr, ytr = x[tr], y[tr]
        k = int(fold[te][0])
        if len(ytr) < 3:  # too few proteins for an inner CV: the strongest penalty
            best = (float(alphas[-1]), bool(standardise[0]), float("nan"))
        else:
            masks = _inner_splits(len(ytr), None if g is None else g[tr], inner_folds, seed + k)
            best = None
            for st in standardise:
                sse = np.zeros(len(alphas))
                for m in masks:
                    a, b = _scale(xtr[~m], xtr[m], st)
                    sse += ((_ridge_path(a, ytr[~m], b, alphas) - ytr[m][:, None]) ** 2).sum(0)
                mse = sse / len(ytr)
                j = len(alphas) - 1 - int(np.argmin(mse[::-1]))  # ties -> larger alpha
                if best is None or mse[j] < best[2]:
                    best = (float(alphas[j]), bool(st), float(mse[j]))
        a, b = _scale(xtr, x[te], best[1])
        chosen[k] = {"alpha": best[0], "standardise": best[1], "inner_mse": best[2]}
        return _ridge_path(a, ytr, b, [best[0]])[:, 0]

    pred = _per_fold(y, fold, fit_predict)
    return pred, chosen


def mean_pool(embedding) -> np.ndarray:
    """Mean over residues of a per-residue embedding [L, D] -> [D] (float64)."""
    e = np.asarray(embedding, dtype=np.float64)
    if e.ndim != 2 or e.shape[0] == 0:
        raise ValueError(f"embedding must be [L>0, D], got {e.shape}")
    return e.mean(axis=0)


def run_baselines(
    ids, y, fold, n_residues, pooled, summed=None, groups=None
) -> tuple[pd.DataFrame, dict]:
    """All baselines on the same folds.

    `pooled`: mean-pooled embeddings [proteins, D]; `summed`: sum-pooled ones (default: pooled
    times the residue count); `groups`: clusters for ridge_seq's inner CV (None: proteins).
    Returns (long table with columns id, label, prediction, fold, model; info dict with the
    ridge alphas chosen per fold and ridge_seq's chosen settings per fold).
    """
    ids = list(ids)
    y = np.asarray(y, dtype=np.float64)
    fold = np.asarray(fold)
    preds = {
        "mean": mean_predictor(y, fold),
        "size_linear": size_linear(n_residues, y, fold),
    }
    preds["ridge_pooled"], alphas = ridge_pooled(pooled, y, fold)
    pooled = np.asarray(pooled, dtype=np.float64)
    n_res = np.asarray(n_residues, dtype=np.float64)
    summed = pooled * n_res[:, None] if summed is None else summed
    preds["ridge_seq"], seq_choice = ridge_seq(
        sequence_features(pooled, summed, n_res), y, fold, groups=groups
    )
    frames = [
        pd.DataFrame({"id": ids, "label": y, "prediction": p, "fold": fold, "model": name})
        for name, p in preds.items()
    ]
    a = np.array(list(alphas.values()))
    log.info(
        "ridge_pooled: %d features, alpha per fold median %.3g (range %.3g-%.3g)",
        np.asarray(pooled).shape[1], np.median(a), a.min(), a.max(),
    )
    sa = np.array([c["alpha"] for c in seq_choice.values()])
    n_std = sum(c["standardise"] for c in seq_choice.values())
    log.info(
        "ridge_seq: %d features, alpha per fold median %.3g (range %.3g-%.3g), standardised in "
        "%d of %d folds (inner CV on each training fold)",
        pooled.shape[1] * 2 + 1, np.median(sa), sa.min(), sa.max(), n_std, len(seq_choice),
    )
    info = {"ridge_alpha_per_fold": alphas, "ridge_seq_per_fold": seq_choice}
    return pd.concat(frames, ignore_index=True), info
