"""What the tasks' metrics share: the percentile interval of bootstrap samples, the bootstrap
weights that resample whole units (proteins or clusters), and the verdict of a paired interval.

Each task's own metrics (esm_schnet.tasks.regression.metrics,
esm_schnet.tasks.classification.metrics) build on these; neither reaches into the other."""

from __future__ import annotations

import math

import numpy as np

CONFIDENCE = 0.95


def interval(samples: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Percentile interval (lo, hi) of bootstrap samples (NaN when under half are finite)."""
    finite = samples[np.isfinite(samples)]
    # An interval from fewer than half of the resamples would be misleading.
    if finite.size == 0 or finite.size < 0.5 * samples.size:
        return math.nan, math.nan
    tail = (1.0 - confidence) / 2.0 * 100.0
    lo, hi = np.percentile(finite, [tail, 100.0 - tail])
    return float(lo), float(hi)


def verdict(lo: float, hi: float) -> str:
    """What a 95% interval of (model minus baseline) error says: lower error is better."""
    if math.isfinite(hi) and hi < 0:
        return "better"
    if math.isfinite(lo) and lo > 0:
        return "worse"
    return "not distinguishable"


def directed_verdict(higher_is_better: bool, lo: float, hi: float) -> str:
    """The verdict of a (model minus baseline) interval of a metric read in its direction."""
    return verdict(-hi, -lo) if higher_is_better else verdict(lo, hi)


def unit_weights(units, n_boot: int, seed: int = 0) -> np.ndarray:
    """Bootstrap weights [n_boot, n] that resample whole units (proteins or clusters).

    Each resample draws as many units as there are, with replacement; protein i's weight is
    the number of times its unit was drawn, so every member of a cluster shares one weight
    (clusters are kept whole). `units`: one label per protein.
    """
    _, idx = np.unique(np.asarray(units).astype(str), return_inverse=True)
    n_units = int(idx.max()) + 1 if idx.size else 0
    if n_boot <= 0 or n_units == 0:
        return np.zeros((0, idx.size))
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_units, size=(n_boot, n_units))
    counts = np.zeros((n_boot, n_units))
    np.add.at(counts, (np.arange(n_boot)[:, None], draws), 1.0)
    return counts[:, idx]


def metric_columns(metrics) -> list[str]:
    """Column order of a metrics table's metrics: m, m_lo, m_hi for each metric."""
    return [c for m in metrics for c in (m, f"{m}_lo", f"{m}_hi")]


def to_float(v) -> float:
    """float(v), NaN for anything that is not a number."""
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def fmt(v: float, digits: int = 3) -> str:
    """A number to `digits` significant digits for the plain-text summaries; None, NaN: `nan`."""
    return "nan" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}g}"


def fmt_rst(v, digits: int = 4) -> str:
    """A number for the report's RST pages: `digits` significant digits, non-finite as `nan`,
    anything that is not a number as its text."""
    try:
        v = float(v)
    except (TypeError, ValueError):
        return str(v)
    return f"{v:.{digits}g}" if math.isfinite(v) else "nan"


def best_model(metrics, metric: str, higher_is_better: bool, own: str = "schnet") -> str | None:
    """The model other than `own` with the best point estimate of `metric` in a metrics table
    (a DataFrame with a `model` column), or None."""
    if metric not in metrics.columns:
        return None
    base = metrics[metrics["model"] != own].set_index("model")[metric].dropna()
    if not len(base):
        return None
    return str(base.idxmax() if higher_is_better else base.idxmin())


def extra_metric_values(extra, y, pred, n_boot: int = 1000, seed: int = 0) -> dict:
    """Metrics added to a task (Task.add_metric: {name: (function, higher_is_better)}), each
    with a 95% percentile-bootstrap interval over proteins: {m, m_lo, m_hi}. The function
    takes (y_true, prediction) as the task's evaluate tables hold them and returns a float;
    it is called once per resample (n_boot times), so keep it cheap."""
    if not extra:
        return {}
    y, pred = np.asarray(y), np.asarray(pred)
    n = len(y)
    idx = np.random.default_rng(seed).integers(0, n, size=(max(n_boot, 0), n)) if n else None
    out = {}
    for name, (fn, _) in extra.items():
        out[name] = float(fn(y, pred)) if n else math.nan
        lo = hi = math.nan
        if idx is not None and len(idx) and math.isfinite(out[name]):
            with np.errstate(all="ignore"):
                boot = np.array([float(fn(y[i], pred[i])) for i in idx])
            lo, hi = interval(boot)
        out[f"{name}_lo"], out[f"{name}_hi"] = lo, hi
    return out
