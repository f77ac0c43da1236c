"""The classification baselines (class indices 0..K-1), scored on the SAME folds as SchNet; each
predicts [n, K] class probabilities.

- `majority_class`: the class frequencies of the training fold (its argmax is the majority
  class; AUROC 0.5; its log loss is what knowing only the class balance scores).
- `size_logistic`: L2 logistic regression (C = `SIZE_C`) on the standardised log residue count.
- `seq_logistic`: the sequence-only classifier: L2 logistic regression on standardised
  `sequence_features` (mean-pooled, sum-pooled, residue count), C chosen from `LOGISTIC_CS` by
  the lowest inner-CV log loss (ties: the smaller C, i.e. the stronger penalty) with the same
  inner folds as `ridge_seq` (`inner_splits`, whole groups together), on the training fold only.

A training set with one class only predicts that class with probability 1 (nothing else can be
learned); a class absent from a training set gets probability 0 from the logistic models.
"""

from __future__ import annotations

import numpy as np

from esm_schnet.baselines.base import Baseline, Proteins, Style
from esm_schnet.baselines.fitting import (
    INNER_FOLDS, apply_scaler, check, inner_splits, per_fold, scaler, sequence_features,
)
from esm_schnet.baselines.registry import one_thread, register
from esm_schnet.tasks.names import CLASSIFICATION

LOGISTIC_CS = tuple(float(c) for c in np.logspace(-3, 3, 13))  # inverse L2 penalty, seq_logistic
SIZE_C = 1.0  # inverse L2 penalty of size_logistic (one standardised feature)
LOGISTIC_MAX_ITER = 1000


def class_inputs(y, fold, n_classes: int | None, x=None):
    """(y as int, fold, K, x as float64 or None), checked: classes 0..K-1, K >= 2."""
    y = np.asarray(y)
    fold = np.asarray(fold)
    x = None if x is None else np.asarray(x, dtype=np.float64)
    if x is not None and x.ndim != 2:
        raise ValueError(f"features must be 2-D [proteins, dims], got {x.shape}")
    check(y.astype(np.float64), fold, x)
    yi = y.astype(np.int64)
    k = int(yi.max()) + 1 if n_classes is None else int(n_classes)
    if np.any(yi != y) or yi.min() < 0 or yi.max() >= k or k < 2:
        raise ValueError(f"class labels must be integers 0..K-1 with K >= 2 (K = {k})")
    return yi, fold, k, x


def _prior(ytr: np.ndarray, k: int, n_test: int) -> np.ndarray:
    return np.tile(np.bincount(ytr, minlength=k) / ytr.size, (n_test, 1))


def _n_classes(train: Proteins) -> int:
    return int(train.n_classes) if train.n_classes else int(np.max(train.labels)) + 1


class _Logistic:
    """Standardised L2 logistic regression (lbfgs) at one C; classes missing from the training
    labels get probability 0, and a single class its prior (probability 1)."""

    def __init__(self, xtr, ytr, k: int, c: float, model=None):
        from sklearn.linear_model import LogisticRegression

        self.k = k
        if np.unique(ytr).size < 2:
            self.prior = np.bincount(ytr, minlength=k) / ytr.size
            return
        self.prior = None
        self.scaler = scaler(xtr, True)
        self.model = model or LogisticRegression(max_iter=LOGISTIC_MAX_ITER)
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model.set_params(C=float(c)).fit(apply_scaler(self.scaler, xtr), ytr)

    def predict(self, xte) -> np.ndarray:
        if self.prior is not None:
            return np.tile(self.prior, (len(xte), 1))
        prob = np.zeros((len(xte), self.k))
        prob[:, self.model.classes_] = self.model.predict_proba(apply_scaler(self.scaler, xte))
        return prob


def logistic_path(xtr, ytr, xte, k: int, cs) -> list[np.ndarray]:
    """[n_test, K] probabilities of a `_Logistic` fitted at each C in `cs` (one model object,
    refitted per C)."""
    if np.unique(ytr).size < 2:
        return [_prior(ytr, k, len(xte)) for _ in cs]
    model = None
    out = []
    for c in cs:
        fitted = _Logistic(xtr, ytr, k, c, model)
        model = fitted.model
        out.append(fitted.predict(xte))
    return out


def _log_loss(prob: np.ndarray, y: np.ndarray) -> float:
    from esm_schnet.tasks.classification.metrics import EPS

    return float(-np.log(np.clip(prob[np.arange(y.size), y], EPS, 1.0)).mean())


@register
class MajorityClass(Baseline):
    name = "majority_class"
    task = CLASSIFICATION
    description = ("class frequencies of the training fold (sees nothing; predicts the majority "
                   "class)")
    sees = "nothing (the training class balance only)"
    style = Style(color="#8c8c8c", label="training class frequencies")

    def fit(self, train: Proteins) -> MajorityClass:
        y = np.asarray(train.labels, dtype=np.int64)
        self.prior_ = np.bincount(y, minlength=_n_classes(train)) / y.size
        return self

    def predict(self, test: Proteins) -> np.ndarray:
        return np.tile(self.prior_, (len(test), 1))


@register
class SizeLogistic(Baseline):
    name = "size_logistic"
    task = CLASSIFICATION
    description = "logistic regression on the residue count (size only)"
    sees = "the residue count"
    style = Style(color="#d98c1a", label="size-only logistic")
    single_thread = True

    def __init__(self, log_size: bool = True):
        self.log_size = log_size

    def features(self, p: Proteins) -> np.ndarray:
        n = p.n_residues.reshape(-1, 1)
        if self.log_size and np.any(n <= 0):
            raise ValueError("log size needs residue counts > 0")
        return np.log(n) if self.log_size else n

    def fit(self, train: Proteins) -> SizeLogistic:
        y = np.asarray(train.labels, dtype=np.int64)
        self.model_ = _Logistic(self.features(train), y, _n_classes(train), SIZE_C)
        return self

    def predict(self, test: Proteins) -> np.ndarray:
        return self.model_.predict(self.features(test))


@register
class SeqLogistic(Baseline):
    name = "seq_logistic"
    task = CLASSIFICATION
    description = ("logistic regression on mean- and sum-pooled embeddings and the residue "
                   "count, C by inner CV on the training fold (size and sequence, no structure)")
    sees = ("size and composition/sequence (mean- and sum-pooled embeddings, residue count); "
            "no structure")
    style = Style(color="#9467bd", label="logistic, size + sequence")
    info_key = "seq_logistic_per_fold"
    single_thread = True

    def __init__(self, cs=LOGISTIC_CS, inner_folds: int = INNER_FOLDS, seed: int = 0):
        self.cs = np.asarray(sorted(cs), dtype=np.float64)
        self.inner_folds = inner_folds
        self.seed = seed

    @staticmethod
    def features(p: Proteins) -> np.ndarray:
        return sequence_features(p.mean, p.summed, p.n_residues)

    def fit(self, train: Proteins) -> SeqLogistic:
        y = np.asarray(train.labels, dtype=np.int64)
        return self.fit_arrays(self.features(train), y, train.groups, train.fold or 0,
                               _n_classes(train))

    def fit_arrays(self, xtr, ytr, groups, f: int, k: int) -> SeqLogistic:
        """C with the lowest inner-CV log loss (ties: the smaller C) over the training proteins
        only (inner folds seeded with seed + f), then refitted on them all."""
        cs = self.cs
        if len(ytr) < 3:  # too few proteins for an inner CV: the strongest penalty
            best, loss = float(cs[0]), float("nan")
        else:
            masks = inner_splits(len(ytr), groups, self.inner_folds, self.seed + f)
            held = [np.zeros((len(ytr), k)) for _ in cs]
            for m in masks:
                for j, prob in enumerate(logistic_path(xtr[~m], ytr[~m], xtr[m], k, cs)):
                    held[j][m] = prob
            losses = np.array([_log_loss(h, ytr) for h in held])
            j = int(np.argmin(losses))  # first minimum: the smallest C among ties
            best, loss = float(cs[j]), float(losses[j])
        self.chosen_ = {"C": best, "inner_log_loss": loss}
        self.model_ = _Logistic(xtr, ytr, k, best)
        return self

    def predict(self, test: Proteins) -> np.ndarray:
        return self.model_.predict(self.features(test))

    @classmethod
    def summary(cls, choices: dict, proteins: Proteins) -> str:
        c = np.array([v["C"] for v in choices.values()])
        return (f"{proteins.mean.shape[1] * 2 + 1} features, C per fold median {np.median(c):.3g} "
                f"(range {c.min():.3g}-{c.max():.3g}), inner CV on each training fold")


# ------------------------------------------------------------------ the same, over arrays
def majority_class(y, fold, n_classes: int | None = None) -> np.ndarray:
    """Class frequencies of each training fold as the held-out proteins' probabilities [n, K]."""
    y, fold, k, _ = class_inputs(y, fold, n_classes)
    return per_fold(y, fold, lambda tr, te: _prior(y[tr], k, int(te.sum())), width=k)


def size_logistic(
    n_residues, y, fold, n_classes: int | None = None, log_size: bool = True
) -> np.ndarray:
    """Logistic regression on the standardised log residue count (or the count), per training
    fold, C = SIZE_C. Returns [n, K] out-of-fold probabilities."""
    n = np.asarray(n_residues, dtype=np.float64).reshape(-1, 1)
    if log_size and np.any(n <= 0):
        raise ValueError("log size needs residue counts > 0")
    y, fold, k, x = class_inputs(y, fold, n_classes, np.log(n) if log_size else n)
    with one_thread():
        return per_fold(y, fold, lambda tr, te: _Logistic(x[tr], y[tr], k, SIZE_C)
                        .predict(x[te]), width=k)


def seq_logistic(
    features, y, fold, groups=None, cs=LOGISTIC_CS, inner_folds: int = INNER_FOLDS, seed: int = 0,
    n_classes: int | None = None,
) -> tuple[np.ndarray, dict[int, dict]]:
    """L2 logistic regression on standardised sequence features, C chosen by inner CV per
    training fold (grouped by `groups` when given; the lowest inner log loss, ties: smaller C).

    `features`: [proteins, dims], e.g. from `sequence_features`. Returns ([n, K] out-of-fold
    probabilities, {fold: {"C", "inner_log_loss"}}).
    """
    y, fold, k, x = class_inputs(y, fold, n_classes, features)
    g = None if groups is None else np.asarray(groups)
    if g is not None and g.shape != y.shape:
        raise ValueError(f"groups has {g.size} values, labels {y.size}")
    chosen: dict[int, dict] = {}

    def fit_predict(tr, te):
        f = int(fold[te][0])
        est = SeqLogistic(cs, inner_folds, seed).fit_arrays(
            x[tr], y[tr], None if g is None else g[tr], f, k)
        chosen[f] = est.chosen_
        return est.model_.predict(x[te])

    with one_thread():
        return per_fold(y, fold, fit_predict, width=k), chosen
