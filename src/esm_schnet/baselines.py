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

Classification labels (class indices 0..K-1) have their own three, same folds, same rule; each
returns [n, K] out-of-fold class probabilities (`CLS_BASELINES`):

- `majority_class`: the class frequencies of the training fold (its argmax is the majority
  class; AUROC 0.5; its log loss is what knowing only the class balance scores).
- `size_logistic`: L2 logistic regression (C = `SIZE_C`) on the standardised log residue count.
- `seq_logistic`: the sequence-only classifier: L2 logistic regression on standardised
  `sequence_features` (mean-pooled, sum-pooled, residue count), C chosen from `LOGISTIC_CS` by
  the lowest inner-CV log loss (ties: the smaller C, i.e. the stronger penalty) with the same
  inner folds as `ridge_seq` (`_inner_splits`, whole groups together), on the training fold only.

A training set with one class only predicts that class with probability 1 (nothing else can be
learned); a class absent from a training set gets probability 0 from the logistic models.
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
CLS_BASELINES: tuple[str, ...] = ("majority_class", "size_logistic", "seq_logistic")
LOGISTIC_CS = tuple(float(c) for c in np.logspace(-3, 3, 13))  # inverse L2 penalty, seq_logistic
SIZE_C = 1.0  # inverse L2 penalty of size_logistic (one standardised feature)
LOGISTIC_MAX_ITER = 1000


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
    y: np.ndarray, fold: np.ndarray, fit_predict: Callable[[np.ndarray, np.ndarray], np.ndarray],
    width: int | None = None,
) -> np.ndarray:
    """Out-of-fold predictions: [n], or [n, width] (class probabilities) when width is given."""
    pred = np.full(y.shape if width is None else (y.size, width), np.nan)
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


# --------------------------------------------------------------------------- classification
def _class_inputs(y, fold, n_classes: int | None, x=None):
    """(y as int, fold, K, x as float64 or None), checked: classes 0..K-1, K >= 2."""
    y = np.asarray(y)
    fold = np.asarray(fold)
    x = None if x is None else np.asarray(x, dtype=np.float64)
    if x is not None and x.ndim != 2:
        raise ValueError(f"features must be 2-D [proteins, dims], got {x.shape}")
    _check(y.astype(np.float64), fold, x)
    yi = y.astype(np.int64)
    k = int(yi.max()) + 1 if n_classes is None else int(n_classes)
    if np.any(yi != y) or yi.min() < 0 or yi.max() >= k or k < 2:
        raise ValueError(f"class labels must be integers 0..K-1 with K >= 2 (K = {k})")
    return yi, fold, k, x


def _one_thread():
    """BLAS on one thread: these fits are tiny, and threaded BLAS made them ~10x slower."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def _prior(ytr: np.ndarray, k: int, n_test: int) -> np.ndarray:
    return np.tile(np.bincount(ytr, minlength=k) / ytr.size, (n_test, 1))


def majority_class(y, fold, n_classes: int | None = None) -> np.ndarray:
    """Class frequencies of each training fold as the held-out proteins' probabilities [n, K]."""
    y, fold, k, _ = _class_inputs(y, fold, n_classes)
    return _per_fold(y, fold, lambda tr, te: _prior(y[tr], k, int(te.sum())), width=k)


def _logistic_path(xtr, ytr, xte, k: int, cs) -> list[np.ndarray]:
    """Standardised L2 logistic regression (lbfgs) for each C in `cs`: [n_test, K]
    probabilities per C, classes missing from ytr at probability 0."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    present = np.unique(ytr)
    if present.size < 2:
        return [_prior(ytr, k, len(xte)) for _ in cs]
    a, b = _scale(xtr, xte, True)
    model = LogisticRegression(max_iter=LOGISTIC_MAX_ITER)
    out = []
    for c in cs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.set_params(C=float(c)).fit(a, ytr)
        prob = np.zeros((len(xte), k))
        prob[:, model.classes_] = model.predict_proba(b)
        out.append(prob)
    return out


def size_logistic(
    n_residues, y, fold, n_classes: int | None = None, log_size: bool = True
) -> np.ndarray:
    """Logistic regression on the standardised log residue count (or the count), per training
    fold, C = SIZE_C. Returns [n, K] out-of-fold probabilities."""
    n = np.asarray(n_residues, dtype=np.float64).reshape(-1, 1)
    if log_size and np.any(n <= 0):
        raise ValueError("log size needs residue counts > 0")
    y, fold, k, x = _class_inputs(y, fold, n_classes, np.log(n) if log_size else n)
    with _one_thread():
        return _per_fold(
            y, fold, lambda tr, te: _logistic_path(x[tr], y[tr], x[te], k, [SIZE_C])[0], width=k
        )


def _log_loss(prob: np.ndarray, y: np.ndarray) -> float:
    from .metrics_cls import EPS

    return float(-np.log(np.clip(prob[np.arange(y.size), y], EPS, 1.0)).mean())


def seq_logistic(
    features, y, fold, groups=None, cs=LOGISTIC_CS, inner_folds: int = INNER_FOLDS, seed: int = 0,
    n_classes: int | None = None,
) -> tuple[np.ndarray, dict[int, dict]]:
    """L2 logistic regression on standardised sequence features, C chosen by inner CV per
    training fold (grouped by `groups` when given; the lowest inner log loss, ties: smaller C).

    `features`: [proteins, dims], e.g. from `sequence_features`. Returns ([n, K] out-of-fold
    probabilities, {fold: {"C", "inner_log_loss"}}).
    """
    y, fold, k, x = _class_inputs(y, fold, n_classes, features)
    cs = np.asarray(sorted(cs), dtype=np.float64)
    g = None if groups is None else np.asarray(groups)
    if g is not None and g.shape != y.shape:
        raise ValueError(f"groups has {g.size} values, labels {y.size}")
    chosen: dict[int, dict] = {}

    def fit_predict(tr, te):
        xtr, ytr = x[tr], y[tr]
        f = int(fold[te][0])
        if len(ytr) < 3:  # too few proteins for an inner CV: the strongest penalty
            best, loss = float(cs[0]), float("nan")
        else:
            masks = _inner_splits(len(ytr), None if g is None else g[tr], inner_folds, seed + f)
            held = [np.zeros((len(ytr), k)) for _ in cs]
            for m in masks:
                for j, prob in enumerate(_logistic_path(xtr[~m], ytr[~m], xtr[m], k, cs)):
                    held[j][m] = prob
            losses = np.array([_log_loss(h, ytr) for h in held])
            j = int(np.argmin(losses))  # first minimum: the smallest C among ties
            best, loss = float(cs[j]), float(losses[j])
        chosen[f] = {"C": best, "inner_log_loss": loss}
        return _logistic_path(xtr, ytr, x[te], k, [best])[0]

    with _one_thread():
        return _per_fold(y, fold, fit_predict, width=k), chosen


def run_cls_baselines(
    y, fold, n_residues, pooled, summed=None, groups=None, n_classes: int | None = None
) -> tuple[dict[str, np.ndarray], dict]:
    """The classification baselines on the same folds: ({name: [n, K] probabilities}, info with
    seq_logistic's C per fold). Inputs as in `run_baselines`."""
    pooled = np.asarray(pooled, dtype=np.float64)
    n_res = np.asarray(n_residues, dtype=np.float64)
    summed = pooled * n_res[:, None] if summed is None else summed
    probs = {
        "majority_class": majority_class(y, fold, n_classes),
        "size_logistic": size_logistic(n_res, y, fold, n_classes),
    }
    probs["seq_logistic"], choice = seq_logistic(
        sequence_features(pooled, summed, n_res), y, fold, groups=groups, n_classes=n_classes
    )
    c = np.array([v["C"] for v in choice.values()])
    log.info(
        "seq_logistic: %d features, C per fold median %.3g (range %.3g-%.3g), inner CV on each "
        "training fold", pooled.shape[1] * 2 + 1, np.median(c), c.min(), c.max(),
    )
    return probs, {"seq_logistic_per_fold": choice}
