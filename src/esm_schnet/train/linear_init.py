"""Closed-form start for the linear term of `model.linear` (`training.linear_init: ridge`).

The linear term adds, per residue, w . u_i + b to SchNet's output before the readout, u_i the
residue's input features (embedding, centroid features when on, neighbour profile). Through the
readout and the target scaler it is a linear model of the protein's pooled inputs:

- `mean`: y = a + c N + sigma (w . mean(u) + b),
- `add`:  y = a + c N + sigma N (w . mean(u) + b),

with a + c N the head's offset (esm_schnet.encoders.model.TargetScaler). Like SchNet's `atomref`, or the
per-element reference energies that interatomic potentials fit by least squares before
training, the best value of that linear model on the training proteins has a closed form, so
training can start there instead of at zero: the untrained network then predicts what the
linear model predicts, and SchNet's nonlinear path only has to learn the rest.

For each regression label the offset (a, c) and w are fitted jointly by a weighted ridge
regression on the training proteins (`mean`: y on [mean(u), N]; `add`: y / N on [mean(u), 1 / N]
with weights N^2, so the weighted squared error is the label-space one), then written into the
head's scaler and into `model.skip` (b = 0: the ridge intercept is the scaler's a or c). The
inputs come in groups (the embedding, the structural descriptors of model.node_features when
set, the centroid features, the neighbour profile, the size column). Columns are centred and each group is divided by its total spread (the root of its
columns' variances summed), not column by column: a column that barely varies on the training
proteins (a neighbour-profile Gaussian below the usual C-alpha spacing) stays small instead of
being blown up to unit variance, where a held-out protein slightly outside its range would get
an arbitrarily large prediction. Each group then gets a weight from `SCALES` (0 drops it), and
the weights and the penalty with the lowest inner-CV error are kept: an inner k-fold CV over the
same training proteins, so nothing held out is seen. (With one penalty over all columns the
embedding's and the profile's columns drowned the few that matter for a label.) Classification
logits keep a zero start; so does a label that fewer than 2 training proteins have.
"""

from __future__ import annotations

import itertools

import numpy as np

from esm_schnet.baselines import INNER_FOLDS, RIDGE_ALPHAS, _inner_splits
from esm_schnet.tasks import task_of


def _weighted_ridge(x, r, w, xte, alphas):
    """Weighted ridge with an unpenalised intercept, every alpha at once: [n_test, A]."""
    sw = w / w.sum()
    mx, mr = sw @ x, sw @ r
    q = np.sqrt(w)[:, None]
    u, s, vt = np.linalg.svd(q * (x - mx), full_matrices=False)
    uty = u.T @ (np.sqrt(w) * (r - mr))
    a = np.asarray(alphas, dtype=np.float64)[:, None]
    coef = (s / (s**2 + a)) * uty  # [A, rank]
    return mr + ((xte - mx) @ vt.T) @ coef.T, (coef @ vt, mx, mr)


SCALES = (0.0, 0.1, 1.0)


def fit_ridge(x, r, w, groups=None, alphas=RIDGE_ALPHAS, folds: int = INNER_FOLDS,
              seed: int = 0, units=None):
    """(coef [D], intercept, choice): weighted ridge of r on x [n, D] (weights w [n]) in x's own
    units. `groups`: the column counts of consecutive feature groups (default: one group; zero
    counts are skipped). Each group is scaled to total spread 1 times one of SCALES; the scales
    and the alpha with the lowest inner-CV weighted squared error are kept (ties: the larger
    alpha, then the earlier scales). `units` [n]: inner-CV units (rows of one unit stay in one
    inner fold; None: every row its own), as ridge_seq's inner CV does (esm_schnet.baselines).
    choice: {"alpha", "scales"}."""
    x, r, w = (np.asarray(v, dtype=np.float64) for v in (x, r, w))
    w = w / w.mean()  # mean weight 1: the alphas mean the same with any weights
    groups = [x.shape[1]] if groups is None else [int(g) for g in groups if g]
    # each group divided by its total spread, not column by column (see the module doc)
    mu = x.mean(axis=0)
    var = x.var(axis=0)
    edges = np.cumsum([0] + groups)
    sd = np.concatenate([np.full(g, max(float(np.sqrt(var[a:b].sum())), 1e-12))
                         for g, a, b in zip(groups, edges[:-1], edges[1:])])
    z = (x - mu) / sd
    alphas = np.asarray(sorted(alphas), dtype=np.float64)
    combos = [c for c in itertools.product(SCALES, repeat=len(groups)) if any(c)]

    def colscale(c):
        return np.concatenate([np.full(g, s) for g, s in zip(groups, c)])

    n = len(r)
    best = (np.inf, combos[-1], len(alphas) - 1)
    if n >= 3:
        masks = _inner_splits(n, units, folds, seed)
        for c in combos:
            zc = z * colscale(c)
            sse = np.zeros(len(alphas))
            for te in masks:
                pred, _ = _weighted_ridge(zc[~te], r[~te], w[~te], zc[te], alphas)
                sse += (w[te][:, None] * (pred - r[te][:, None]) ** 2).sum(0)
            j = len(alphas) - 1 - int(np.argmin(sse[::-1]))
            if sse[j] < best[0]:
                best = (sse[j], c, j)
    _, c, j = best
    cs = colscale(c)
    _, (coef, mx, mr) = _weighted_ridge(z * cs, r, w, z[:1], alphas[j : j + 1])
    coef_z = coef[0]
    coef = coef_z * cs / sd
    return coef, float(mr - coef_z @ mx - coef @ mu), {"alpha": float(alphas[j]),
                                                          "scales": list(c)}


def init_linear_term(model, batches, heads, readout: str, seed: int = 0,
                     units=None, node_features: int = 0) -> dict:
    """Fit the size line of each regression head's scaler and model.skip (the linear term)
    jointly, by group ridge on the one-graph training `batches` (read once, in order: only each
    protein's pooled inputs are kept); returns {label: choice}.
    `units`: the inner-CV unit of each batch (None: each its own); `node_features`: how many
    of the input columns after the embedding are model.node_features' (a group of their own).
    No-op (empty dict) without a linear term."""
    import torch

    skip = getattr(model, "skip", None)
    if skip is None:
        return {}
    pooled, sizes, ys = [], [], []
    with torch.no_grad():  # one pass: `batches` may read each protein from the shards
        for b in batches:
            pooled.append(model.linear_inputs(b).double().mean(0).cpu().numpy())
            sizes.append(float(b.num_nodes))
            ys.append(b.y.double().cpu().numpy().reshape(-1))
    pooled = np.stack(pooled)  # [n, D]: one pooled row per protein, never the residues
    n = np.array(sizes)
    extra = model.centroid.width if model.centroid is not None else 0
    profile = model.num_gaussians  # the neighbour profile: SchNet's Gaussians, summed
    feats = int(node_features)
    widths = {"embedding": pooled.shape[1] - extra - profile - feats, "node_features": feats,
              "centroid": extra, "profile": profile, "size": 1}
    names = [k for k, v in widths.items() if v]
    size_col = (1.0 / n if readout == "add" else n)[:, None]
    design = np.hstack([pooled, size_col])
    targets = np.stack(ys)  # [n, labels]
    chosen = {}
    from threadpoolctl import threadpool_limits

    # one BLAS thread: these matrices are small, and OpenBLAS's idle threads spin; with other
    # jobs on the cores the fit ran 20-40x slower (the same numbers either way, checked)
    with torch.no_grad(), threadpool_limits(limits=1, user_api="blas"):
        for j, h in enumerate(heads.heads):
            if not task_of(h.spec).linear_init:
                continue
            y = targets[:, j]
            have = np.isfinite(y)
            if have.sum() < 2:
                continue
            if readout == "add":  # y = a + b N + N (w . mean u): y / N on [mean u, 1 / N]
                r, w = y[have] / n[have], n[have] ** 2
            else:  # y = a + b N + w . mean u
                r, w = y[have], np.ones(int(have.sum()))
            coef, b0, choice = fit_ridge(
                design[have], r, w, list(widths.values()), seed=seed + j,
                units=None if units is None else np.asarray(units)[have])
            if not np.all(np.isfinite(coef)) or not np.isfinite(b0):
                continue  # non-finite inputs: this label keeps the zero start
            sc = h.scaler
            if readout == "add":
                sc.intercept, sc.slope = float(coef[-1]), b0
            else:
                sc.intercept, sc.slope = b0, float(coef[-1])
            skip.weight[h.start] = torch.as_tensor(coef[:-1] / sc.sigma, dtype=skip.weight.dtype)
            skip.bias[h.start] = 0.0
            chosen[h.spec.name] = {"alpha": choice["alpha"],
                                   "scales": dict(zip(names, choice["scales"]))}
    return chosen
