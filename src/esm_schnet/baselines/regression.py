"""The regression baselines, scored on the SAME cross-validation folds as SchNet.

Registered from the one that sees least to the one that sees most (tables show them in the
reverse order):

| baseline       | sees                                              | cannot see / express                     |
|----------------|---------------------------------------------------|------------------------------------------|
| `mean`         | nothing (the training labels only)                | anything about the protein               |
| `size_linear`  | the residue count                                 | composition, sequence, structure         |
| `ridge_pooled` | mean composition (average embedding)              | size: cannot express extensive labels    |
| `ridge_seq`    | size and composition/sequence features (mean and  | structure (coordinates, contacts)        |
|                | sum pooled embeddings, residue count)             |                                          |

- `ridge_pooled`: features standardised and alpha chosen by efficient leave-one-out CV (RidgeCV)
  inside the training fold only.
- `ridge_seq`: the honest sequence-only model. Ridge regression on [mean-pooled features,
  sum-pooled features, residue count]; the penalty alpha and whether to standardise the features
  are chosen together by an inner k-fold CV (k = min(5, training proteins); whole clusters kept
  together when groups are given) run on the training fold only, so no held-out protein informs
  the choice. With `onehot` embeddings the sum-pooled features are the amino-acid counts, so it
  fits any label that is a weighted sum over residues; SchNet beating it means the 3-D graph
  added something that sequence composition and size alone do not give.

Each is also a function over arrays (`ridge_seq(features, y, fold)`: `fold[i]` is the fold in
which protein i is held out), running the same estimator per fold.
"""

from __future__ import annotations

import numpy as np

from esm_schnet.baselines.base import Baseline, Proteins, Style
from esm_schnet.baselines.fitting import (
    INNER_FOLDS, RIDGE_ALPHAS, apply_scaler, check, feature_inputs, inner_splits, per_fold,
    ridge_apply, ridge_fit, scale, scaler, sequence_features,
)
from esm_schnet.baselines.registry import register


def _y(train: Proteins) -> np.ndarray:
    return np.asarray(train.labels, dtype=np.float64)


@register
class MeanLabel(Baseline):
    name = "mean"
    description = "mean label of the training fold (sees nothing)"
    sees = "nothing (the training labels only)"
    style = Style(color="#8c8c8c", label="training mean")

    def fit(self, train: Proteins) -> MeanLabel:
        self.value_ = _y(train).mean()
        return self

    def predict(self, test: Proteins) -> np.ndarray:
        return np.full(len(test), self.value_)


@register
class SizeLinear(Baseline):
    name = "size_linear"
    description = "linear regression on the residue count (size only)"
    sees = "the residue count"
    style = Style(color="#d98c1a", label="size-only linear")

    @staticmethod
    def features(p: Proteins) -> np.ndarray:
        return p.n_residues.reshape(-1, 1)

    def fit(self, train: Proteins) -> SizeLinear:
        return self.fit_arrays(self.features(train), _y(train))

    def fit_arrays(self, x, y) -> SizeLinear:
        from sklearn.linear_model import LinearRegression

        self.model_ = LinearRegression().fit(x, y)
        return self

    def predict(self, test: Proteins) -> np.ndarray:
        return self.model_.predict(self.features(test))


@register
class RidgePooled(Baseline):
    name = "ridge_pooled"
    description = ("ridge regression on mean-pooled embeddings (mean composition only: cannot "
                   "express size-extensive labels; no structure)")
    sees = "mean composition (average embedding); cannot express size"
    style = Style(color="#2ca02c", label="ridge, pooled embedding")
    info_key = "ridge_alpha_per_fold"

    def __init__(self, alphas=RIDGE_ALPHAS):
        self.alphas = alphas

    def fit(self, train: Proteins) -> RidgePooled:
        return self.fit_arrays(train.mean, _y(train))

    def fit_arrays(self, x, y) -> RidgePooled:
        from sklearn.linear_model import RidgeCV
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        # RidgeCV with cv=None: efficient leave-one-out over the training fold only.
        self.model_ = make_pipeline(StandardScaler(), RidgeCV(alphas=self.alphas)).fit(x, y)
        self.chosen_ = float(self.model_[-1].alpha_)
        return self

    def predict(self, test: Proteins) -> np.ndarray:
        return self.predict_arrays(test.mean)

    def predict_arrays(self, x) -> np.ndarray:
        return self.model_.predict(x)

    @classmethod
    def summary(cls, choices: dict, proteins: Proteins) -> str:
        a = np.array(list(choices.values()))
        return (f"{proteins.mean.shape[1]} features, alpha per fold median {np.median(a):.3g} "
                f"(range {a.min():.3g}-{a.max():.3g})")


@register
class RidgeSeq(Baseline):
    name = "ridge_seq"
    description = ("ridge regression on mean- and sum-pooled embeddings and the residue count, "
                   "alpha and standardisation by inner CV on the training fold (size and "
                   "sequence, no structure)")
    sees = ("size and composition/sequence (mean- and sum-pooled embeddings, residue count); "
            "no structure")
    style = Style(color="#9467bd", label="ridge, size + sequence")
    info_key = "ridge_seq_per_fold"

    def __init__(self, alphas=RIDGE_ALPHAS, standardise=(True, False),
                 inner_folds: int = INNER_FOLDS, seed: int = 0):
        self.alphas = np.asarray(sorted(alphas), dtype=np.float64)
        self.standardise = standardise
        self.inner_folds = inner_folds
        self.seed = seed

    @staticmethod
    def features(p: Proteins) -> np.ndarray:
        return sequence_features(p.mean, p.summed, p.n_residues)

    def fit(self, train: Proteins) -> RidgeSeq:
        return self.fit_arrays(self.features(train), _y(train), train.groups, train.fold or 0)

    def fit_arrays(self, xtr, ytr, groups, k: int) -> RidgeSeq:
        """(alpha, standardise) with the lowest inner-CV MSE (ties: the larger alpha) over the
        training proteins only (inner folds seeded with seed + k), then refitted on them all."""
        alphas = self.alphas
        if len(ytr) < 3:  # too few proteins for an inner CV: the strongest penalty
            best = (float(alphas[-1]), bool(self.standardise[0]), float("nan"))
        else:
            masks = inner_splits(len(ytr), groups, self.inner_folds, self.seed + k)
            best = None
            for st in self.standardise:
                sse = np.zeros(len(alphas))
                for m in masks:
                    a, b = scale(xtr[~m], xtr[m], st)
                    sse += ((ridge_apply(ridge_fit(a, ytr[~m], alphas), b)
                             - ytr[m][:, None]) ** 2).sum(0)
                mse = sse / len(ytr)
                j = len(alphas) - 1 - int(np.argmin(mse[::-1]))  # ties -> larger alpha
                if best is None or mse[j] < best[2]:
                    best = (float(alphas[j]), bool(st), float(mse[j]))
        self.scaler_ = scaler(xtr, best[1])
        self.ridge_ = ridge_fit(apply_scaler(self.scaler_, xtr), ytr, [best[0]])
        self.chosen_ = {"alpha": best[0], "standardise": best[1], "inner_mse": best[2]}
        return self

    def predict(self, test: Proteins) -> np.ndarray:
        return self.predict_arrays(self.features(test))

    def predict_arrays(self, x) -> np.ndarray:
        return ridge_apply(self.ridge_, apply_scaler(self.scaler_, x))[:, 0]

    @classmethod
    def summary(cls, choices: dict, proteins: Proteins) -> str:
        sa = np.array([c["alpha"] for c in choices.values()])
        n_std = sum(c["standardise"] for c in choices.values())
        return (f"{proteins.mean.shape[1] * 2 + 1} features, alpha per fold median "
                f"{np.median(sa):.3g} (range {sa.min():.3g}-{sa.max():.3g}), standardised in "
                f"{n_std} of {len(choices)} folds (inner CV on each training fold)")


# ------------------------------------------------------------------ the same, over arrays
def mean_predictor(y, fold) -> np.ndarray:
    """Each held-out protein is predicted as the mean label of its training fold."""
    y = np.asarray(y, dtype=np.float64)
    fold = np.asarray(fold)
    check(y, fold)
    return per_fold(y, fold, lambda tr, te: np.full(int(te.sum()), y[tr].mean()))


def size_linear(n_residues, y, fold) -> np.ndarray:
    """Linear regression of the label on the residue count, fitted per training fold."""
    y = np.asarray(y, dtype=np.float64)
    fold = np.asarray(fold)
    x = np.asarray(n_residues, dtype=np.float64).reshape(-1, 1)
    check(y, fold, x)
    return per_fold(y, fold, lambda tr, te: SizeLinear().fit_arrays(x[tr], y[tr])
                    .model_.predict(x[te]))


def ridge_pooled(features, y, fold, alphas=RIDGE_ALPHAS) -> tuple[np.ndarray, dict[int, float]]:
    """Standardised ridge regression on mean-pooled embeddings; alpha by inner CV per fold.

    Returns (predictions, {fold: chosen alpha}).
    """
    y, fold, x = feature_inputs(features, y, fold)
    chosen: dict[int, float] = {}

    def fit_predict(tr, te):
        est = RidgePooled(alphas).fit_arrays(x[tr], y[tr])
        chosen[int(fold[te][0])] = est.chosen_
        return est.predict_arrays(x[te])

    return per_fold(y, fold, fit_predict), chosen


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
    y, fold, x = feature_inputs(features, y, fold)
    g = None if groups is None else np.asarray(groups)
    chosen: dict[int, dict] = {}

    def fit_predict(tr, te):
        k = int(fold[te][0])
        est = RidgeSeq(alphas, standardise, inner_folds, seed)
        est.fit_arrays(x[tr], y[tr], None if g is None else g[tr], k)
        chosen[k] = est.chosen_
        return est.predict_arrays(x[te])

    return per_fold(y, fold, fit_predict), chosen
