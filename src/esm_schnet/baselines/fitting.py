"""Numerics shared by the baselines (and by the linear term's ridge start, esm_schnet.train):
pooled features, the inner-CV splits, standardisation, ridge over a path of penalties, and the
array-level out-of-fold loop behind the function API (`ridge_seq(features, y, fold)`, ...)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

RIDGE_ALPHAS = tuple(float(a) for a in np.logspace(-3, 4, 15))
INNER_FOLDS = 5


def check(y: np.ndarray, fold: np.ndarray, x: np.ndarray | None = None) -> None:
    if y.ndim != 1 or fold.shape != y.shape:
        raise ValueError(f"y {y.shape} and fold {fold.shape} must be 1-D of the same length")
    if x is not None and x.shape[0] != y.shape[0]:
        raise ValueError(f"features have {x.shape[0]} rows, labels {y.shape[0]}")
    if not np.all(np.isfinite(y)):
        raise ValueError("baselines need finite labels")


def feature_inputs(features, y, fold) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(y, fold, features) as checked float64/int arrays; features must be [proteins, dims]."""
    y = np.asarray(y, dtype=np.float64)
    fold = np.asarray(fold)
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"features must be 2-D [proteins, dims], got {x.shape}")
    check(y, fold, x)
    return y, fold, x


def per_fold(
    y: np.ndarray, fold: np.ndarray, fit_predict: Callable[[np.ndarray, np.ndarray], np.ndarray],
    width: int | None = None,
) -> np.ndarray:
    """Out-of-fold predictions over arrays: [n], or [n, width] when width is given."""
    pred = np.full(y.shape if width is None else (y.size, width), np.nan)
    for k in np.unique(fold):
        test = fold == k
        train = ~test
        if not train.any():
            raise ValueError(f"fold {k} leaves no training proteins")
        pred[test] = fit_predict(train, test)
    return pred


def inner_splits(n: int, groups, k: int, seed: int) -> list[np.ndarray]:
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


def ridge_fit(xtr, ytr, alphas) -> tuple:
    """Ridge with an unpenalised intercept, every alpha at once (SVD): (mx, my, vt, coef [A, r])."""
    mx, my = xtr.mean(axis=0), ytr.mean()
    u, s, vt = np.linalg.svd(xtr - mx, full_matrices=False)
    uty = u.T @ (ytr - my)
    a = np.asarray(alphas, dtype=np.float64)[:, None]
    coef = (s / (s**2 + a)) * uty  # [A, r]
    return mx, my, vt, coef


def ridge_apply(fitted: tuple, xte) -> np.ndarray:
    """Predictions of a ridge_fit for every alpha: [n_test, A]."""
    mx, my, vt, coef = fitted
    return my + ((xte - mx) @ vt.T) @ coef.T


def ridge_path(xtr, ytr, xte, alphas) -> np.ndarray:
    """Ridge fitted on (xtr, ytr) predicting xte for every alpha: [n_test, A]."""
    return ridge_apply(ridge_fit(xtr, ytr, alphas), xte)


def scaler(xtr, standardise: bool) -> tuple | None:
    """(mean, sd) of the training features (sd 0 -> 1), or None without standardising."""
    if not standardise:
        return None
    mu, sd = xtr.mean(axis=0), xtr.std(axis=0)
    return mu, np.where(sd > 0, sd, 1.0)


def apply_scaler(sc: tuple | None, x):
    return x if sc is None else (x - sc[0]) / sc[1]


def scale(xtr, xte, standardise: bool):
    """Both sets standardised with the training mean and sd (unchanged without standardise)."""
    sc = scaler(xtr, standardise)
    return apply_scaler(sc, xtr), apply_scaler(sc, xte)


def sequence_features(mean_pooled, summed, n_residues) -> np.ndarray:
    """[mean-pooled features, sum-pooled features, residue count] per protein."""
    m = np.asarray(mean_pooled, dtype=np.float64)
    s = np.asarray(summed, dtype=np.float64)
    n = np.asarray(n_residues, dtype=np.float64).reshape(-1, 1)
    if m.ndim != 2 or s.shape != m.shape or n.shape[0] != m.shape[0]:
        raise ValueError(f"mean {m.shape}, sum {s.shape}, counts {n.shape} do not match")
    return np.hstack([m, s, n])


def mean_pool(embedding) -> np.ndarray:
    """Mean over residues of a per-residue embedding [L, D] -> [D] (float64)."""
    e = np.asarray(embedding, dtype=np.float64)
    if e.ndim != 2 or e.shape[0] == 0:
        raise ValueError(f"embedding must be [L>0, D], got {e.shape}")
    return e.mean(axis=0)
