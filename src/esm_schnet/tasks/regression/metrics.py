"""Regression metrics (the `regression` task) with 95% percentile-bootstrap intervals.

Point estimates come from scikit-learn (MSE, MAE, R2) and scipy (Pearson, Spearman); the
bootstrap resamples proteins with replacement (`n_boot` times, fixed seed) and recomputes every
metric on each resample with vectorised numpy equivalents of the same formulas.

Degenerate inputs never raise: a metric that is undefined (fewer than 3 proteins, constant
labels, constant predictions) is NaN and `compute_metrics` says why in its `notes` entry.
"""

from __future__ import annotations

import logging
import math
import warnings

import numpy as np

from esm_schnet.tasks.common import CONFIDENCE, interval, unit_weights, verdict

log = logging.getLogger("esm_schnet.tasks.regression.metrics")

METRICS: tuple[str, ...] = ("mse", "rmse", "mae", "r2", "pearson", "spearman")
MIN_N = 3  # fewer proteins than this: R2 and the correlations are reported as NaN

__all__ = ["CONFIDENCE", "METRICS", "PAIRED_METRICS", "bootstrap_metrics", "compute_metrics",
           "interval", "metric_columns", "paired_difference", "point_metrics", "unit_weights",
           "verdict"]


def _as_arrays(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype=np.float64).ravel()
    p = np.asarray(y_pred, dtype=np.float64).ravel()
    if y.shape != p.shape:
        raise ValueError(f"y_true has {y.size} values, y_pred {p.size}")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(p))):
        raise ValueError("metrics need finite labels and predictions")
    return y, p


def _constant(x: np.ndarray) -> bool:
    return x.size == 0 or bool(np.all(x == x[0]))


def point_metrics(y_true, y_pred) -> tuple[dict[str, float], list[str]]:
    """Metrics of one set of predictions: ({metric: value}, [reasons for NaN values])."""
    from scipy import stats
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    y, p = _as_arrays(y_true, y_pred)
    n = y.size
    out = {m: math.nan for m in METRICS}
    notes: list[str] = []
    if n == 0:
        return out, ["no predictions"]
    out["mse"] = float(mean_squared_error(y, p))
    out["rmse"] = math.sqrt(out["mse"])
    out["mae"] = float(mean_absolute_error(y, p))
    if n < MIN_N:
        notes.append(f"r2, pearson, spearman undefined for n={n} < {MIN_N}")
        return out, notes
    if _constant(y):
        notes.append("r2, pearson, spearman undefined: constant labels")
        return out, notes
    out["r2"] = float(r2_score(y, p))
    if _constant(p):
        notes.append("pearson, spearman undefined: constant predictions")
        return out, notes
    out["pearson"] = float(stats.pearsonr(y, p).statistic)
    out["spearman"] = float(stats.spearmanr(y, p).statistic)
    return out, notes


def _rowwise_corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row pair; NaN where either row is constant."""
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    num = (a * b).sum(axis=1)
    den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return np.clip(r, -1.0, 1.0)


def bootstrap_metrics(y_true, y_pred, n_boot: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Every metric on `n_boot` resamples (with replacement) of the proteins.

    Returns {metric: array [n_boot]}; resamples where a metric is undefined hold NaN.
    """
    from scipy import stats

    y, p = _as_arrays(y_true, y_pred)
    n = y.size
    if n_boot <= 0 or n == 0:
        return {m: np.full(0, np.nan) for m in METRICS}
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    yb, pb = y[idx], p[idx]
    err = pb - yb
    mse = (err**2).mean(axis=1)
    res: dict[str, np.ndarray] = {
        "mse": mse,
        "rmse": np.sqrt(mse),
        "mae": np.abs(err).mean(axis=1),
    }
    if n < MIN_N:
        for m in ("r2", "pearson", "spearman"):
            res[m] = np.full(n_boot, np.nan)
        return res
    ss_tot = ((yb - yb.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    ss_res = (err**2).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        res["r2"] = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0), np.nan)
    res["pearson"] = _rowwise_corr(yb, pb)
    res["spearman"] = _rowwise_corr(
        stats.rankdata(yb, axis=1), stats.rankdata(pb, axis=1)
    )
    return res


def compute_metrics(y_true, y_pred, n_boot: int = 1000, seed: int = 0) -> dict:
    """Point metrics with 95% percentile-bootstrap intervals.

    Returns a flat dict: n, then for each metric m: m, m_lo, m_hi; and `notes` (a string, empty
    when every metric is defined) explaining any NaN.
    """
    y, p = _as_arrays(y_true, y_pred)
    point, notes = point_metrics(y, p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        boot = bootstrap_metrics(y, p, n_boot, seed)
    row: dict = {"n": int(y.size)}
    for m in METRICS:
        row[m] = point[m]
        if math.isnan(point[m]) or boot[m].size == 0:
            lo, hi = math.nan, math.nan
        else:
            lo, hi = interval(boot[m])
        row[f"{m}_lo"] = lo
        row[f"{m}_hi"] = hi
    if n_boot <= 0:
        notes.append("no bootstrap intervals (evaluate.bootstrap = 0)")
    row["notes"] = "; ".join(notes)
    return row


def metric_columns() -> list[str]:
    """Column order of the metrics table after `n`: m, m_lo, m_hi for each metric."""
    cols = []
    for m in METRICS:
        cols += [m, f"{m}_lo", f"{m}_hi"]
    return cols


# ----------------------------------------------------------------------- paired comparisons
PAIRED_METRICS: tuple[str, ...] = ("rmse", "mae")


def _weighted_errors(err: np.ndarray, w: np.ndarray) -> dict[str, np.ndarray]:
    tot = w.sum(axis=1)
    mse = (w * err**2).sum(axis=1) / tot
    return {"rmse": np.sqrt(mse), "mae": (w * np.abs(err)).sum(axis=1) / tot}


def paired_difference(
    y_true, pred_a, pred_b, units=None, n_boot: int = 1000, seed: int = 0,
    confidence: float = CONFIDENCE,
) -> dict[str, dict]:
    """Difference in RMSE and MAE, model a minus model b, on the same proteins, with a 95%
    paired percentile-bootstrap interval (both models scored on each resample of the units).

    `units`: the resampling unit of each protein (None: the proteins themselves; clusters to
    keep them whole). Returns {metric: {difference, a, b, lo, hi, verdict}}.
    """
    y, pa = _as_arrays(y_true, pred_a)
    _, pb = _as_arrays(y_true, pred_b)
    units = np.arange(y.size) if units is None else np.asarray(units)
    if units.shape != y.shape:
        raise ValueError(f"units has {units.size} values, labels {y.size}")
    ea, eb = pa - y, pb - y
    ones = np.ones((1, y.size))
    point_a, point_b = _weighted_errors(ea, ones), _weighted_errors(eb, ones)
    w = unit_weights(units, n_boot, seed)
    boot_a, boot_b = _weighted_errors(ea, w), _weighted_errors(eb, w)
    out = {}
    for m in PAIRED_METRICS:
        diff = float(point_a[m][0] - point_b[m][0])
        if w.shape[0]:
            lo, hi = interval(boot_a[m] - boot_b[m], confidence)
        else:
            lo, hi = math.nan, math.nan
        out[m] = {
            "difference": diff, "a": float(point_a[m][0]), "b": float(point_b[m][0]),
            "lo": lo, "hi": hi, "verdict": verdict(lo, hi),
        }
    return out
