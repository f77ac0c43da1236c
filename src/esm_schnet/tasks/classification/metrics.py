"""Classification metrics (the `classification` task) with 95% percentile-bootstrap intervals and paired comparisons.

Inputs: `y_true`, the class index (0..K-1) of each protein, and `prob` [n, K], the predicted
class probabilities (rows summing to 1 within `PROB_TOLERANCE`; a 1-D `prob` is read as
P(class 1) of a binary task).
The predicted class is the most probable one (ties: the lower index).

Metrics (`CLS_METRICS`), point estimates from scikit-learn:
- `auroc`: area under the ROC curve; binary: class 1 is positive; K > 2: macro one-vs-rest
  (the mean over classes of AUROC(class c vs the rest, prob[:, c])).
- `auprc`: average precision (step-wise area under the precision-recall curve, sklearn's
  `average_precision_score`); binary: class 1; K > 2: macro one-vs-rest.
- `accuracy`, `balanced_accuracy` (mean per-class recall), `mcc` (Matthews correlation,
  multi-class form; 0 when the predictions are all one class, as in sklearn), `log_loss`
  (mean negative log probability of the true class, rows renormalised to sum to exactly 1 and
  probabilities clipped at float64 eps).
Higher is better for every metric but `log_loss` (`HIGHER_IS_BETTER`).

Macro averages run over the classes present in `y_true`; a class with no protein is named in the
notes. With one class only, auroc, auprc, balanced_accuracy and mcc are NaN with that reason.

Bootstrap: resampling weights from `tasks.common.unit_weights` (proteins, or whole groups when
`units` is given), every metric recomputed on each resample by vectorised weighted formulas
(equal to sklearn on the resampled set, tested). A resample that lacks a class present in the
data has no defined auroc / auprc / balanced_accuracy / mcc (for K > 2 the macro average would
silently change meaning): those resamples are NaN, left out of the interval, and counted in the
notes; with fewer than half of them left the interval is NaN (`tasks.common.interval`).
"""

from __future__ import annotations

import logging
import math
import warnings

import numpy as np

from esm_schnet.tasks.common import CONFIDENCE, interval, unit_weights, verdict

log = logging.getLogger("esm_schnet.tasks.classification.metrics")

CLS_METRICS: tuple[str, ...] = (
    "auroc", "auprc", "accuracy", "balanced_accuracy", "mcc", "log_loss",
)
HIGHER_IS_BETTER: dict[str, bool] = {m: m != "log_loss" for m in CLS_METRICS}
# Metrics that need every class of the data present (NaN on a resample that lacks one).
CLASS_METRICS: tuple[str, ...] = ("auroc", "auprc", "balanced_accuracy", "mcc")
PROB_TOLERANCE = 1e-4  # rows of `prob` must sum to 1 within this (float32 softmax is close)
EPS = float(np.finfo(np.float64).eps)


def as_inputs(y_true, prob) -> tuple[np.ndarray, np.ndarray]:
    """(y as int [n], prob as float64 [n, K]) after checking shapes, classes and probabilities."""
    y = np.asarray(y_true)
    p = np.asarray(prob, dtype=np.float64)
    if y.ndim != 1:
        raise ValueError(f"y_true must be 1-D, got shape {y.shape}")
    if p.ndim == 1:  # binary: P(class 1)
        p = np.column_stack([1.0 - p, p])
    if p.ndim != 2 or p.shape[0] != y.shape[0]:
        raise ValueError(f"prob must be [n={y.size}, K], got shape {np.shape(prob)}")
    k = p.shape[1]
    if k < 2:
        raise ValueError(f"classification needs at least 2 classes, prob has {k} column(s)")
    if y.size and not np.all(np.isfinite(y.astype(np.float64))):
        raise ValueError("class labels must be finite")
    yi = y.astype(np.int64)
    if y.size and (np.any(yi != y) or yi.min() < 0 or yi.max() >= k):
        raise ValueError(f"class labels must be integers 0..{k - 1} (prob has {k} columns)")
    if not np.all(np.isfinite(p)) or np.any(p < 0) or np.any(p > 1):
        raise ValueError("probabilities must be finite and within [0, 1]")
    if p.size and np.max(np.abs(p.sum(axis=1) - 1.0)) > PROB_TOLERANCE:
        raise ValueError("each row of prob must sum to 1")
    return yi, p


def _true_class_prob(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Probability of the true class, its row renormalised (a float32 softmax sums to 1 only
    within ~1e-7) and clipped at EPS, for the log loss. Ranking metrics use prob as given."""
    return np.clip(p[np.arange(y.size), y] / p.sum(axis=1), EPS, 1.0)


def _present(y: np.ndarray, k: int) -> np.ndarray:
    return np.flatnonzero(np.bincount(y, minlength=k) > 0)


def _scored_classes(k: int, present: np.ndarray) -> np.ndarray:
    """Classes whose one-vs-rest curves enter auroc/auprc: class 1 if binary, else those present."""
    return np.array([1]) if k == 2 else present


def point_metrics(y_true, prob) -> tuple[dict[str, float], list[str]]:
    """Metrics of one set of predictions: ({metric: value}, [reasons for NaN values])."""
    from sklearn import metrics as skm

    y, p = as_inputs(y_true, prob)
    n, k = p.shape
    out = {m: math.nan for m in CLS_METRICS}
    if n == 0:
        return out, ["no predictions"]
    notes: list[str] = []
    pred = p.argmax(axis=1)
    out["accuracy"] = float(skm.accuracy_score(y, pred))
    out["log_loss"] = float(
        skm.log_loss(y, np.clip(p / p.sum(axis=1, keepdims=True), EPS, 1.0), labels=list(range(k)))
    )
    present = _present(y, k)
    if present.size < 2:
        notes.append(f"{', '.join(CLASS_METRICS)} undefined: one class only (class {present[0]})")
        return out, notes
    if present.size < k:
        missing = sorted(set(range(k)) - set(present.tolist()))
        notes.append(
            f"classes {missing} have no protein: macro averages over the {present.size} present"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns on classes only predicted
        scored = _scored_classes(k, present)
        out["auroc"] = float(np.mean([skm.roc_auc_score(y == c, p[:, c]) for c in scored]))
        out["auprc"] = float(
            np.mean([skm.average_precision_score(y == c, p[:, c]) for c in scored])
        )
        out["balanced_accuracy"] = float(skm.balanced_accuracy_score(y, pred))
        out["mcc"] = float(skm.matthews_corrcoef(y, pred))
    return out, notes


# ------------------------------------------------------------- weighted (bootstrap) formulas
def _ranking_metrics(y: np.ndarray, score: np.ndarray, c: int, w: np.ndarray):
    """Weighted AUROC and average precision of class c vs the rest, per row of w [B, n].

    Scores are sorted once (descending) and tied scores form one block, so ties count one half
    in AUROC and one threshold in average precision, as in sklearn.
    """
    order = np.argsort(-score, kind="stable")
    s = score[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    pos = (y[order] == c).astype(np.float64)
    ws = w[:, order]
    bpos = np.add.reduceat(ws * pos, starts, axis=1)  # [B, blocks]
    bneg = np.add.reduceat(ws * (1.0 - pos), starts, axis=1)
    cpos, cneg = np.cumsum(bpos, axis=1), np.cumsum(bneg, axis=1)
    n_pos, n_neg = cpos[:, -1], cneg[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        pairs = (bpos * (n_neg[:, None] - cneg + 0.5 * bneg)).sum(axis=1)
        auroc = np.where((n_pos > 0) & (n_neg > 0), pairs / (n_pos * n_neg), np.nan)
        hit = cpos + cneg
        precision = np.where(hit > 0, cpos / np.where(hit > 0, hit, 1.0), 0.0)
        ap = np.where(n_pos > 0, (bpos * precision).sum(axis=1) / n_pos, np.nan)
    return auroc, ap


def weighted_metrics(y_true, prob, w) -> dict[str, np.ndarray]:
    """Every metric for each row of weights w [B, n] (a protein counted w times).

    Rows that lack a class present in y_true are NaN for `CLASS_METRICS` (see module doc).
    """
    y, p = as_inputs(y_true, prob)
    w = np.asarray(w, dtype=np.float64)
    n, k = p.shape
    b = w.shape[0]
    if n == 0 or b == 0:
        return {m: np.full(b, np.nan) for m in CLS_METRICS}
    pred = p.argmax(axis=1)
    tot = w.sum(axis=1)
    onehot = np.zeros((n, k * k))
    onehot[np.arange(n), y * k + pred] = 1.0
    conf = (w @ onehot).reshape(b, k, k)  # [B, true, predicted]
    true_n, pred_n = conf.sum(axis=2), conf.sum(axis=1)
    diag = np.trace(conf, axis1=1, axis2=2)
    res = {
        "accuracy": diag / tot,
        "log_loss": -(w * np.log(_true_class_prob(y, p))).sum(axis=1) / tot,
    }
    present = _present(y, k)
    complete = np.all(true_n[:, present] > 0, axis=1) & (present.size >= 2)
    if present.size < 2:
        return res | {m: np.full(b, np.nan) for m in CLASS_METRICS}
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = conf[:, present, present] / true_n[:, present]
        res["balanced_accuracy"] = recall.mean(axis=1)
        num = diag * tot - (true_n * pred_n).sum(axis=1)
        den = np.sqrt((tot**2 - (pred_n**2).sum(axis=1)) * (tot**2 - (true_n**2).sum(axis=1)))
        res["mcc"] = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
    curves = [_ranking_metrics(y, p[:, c], c, w) for c in _scored_classes(k, present)]
    res["auroc"] = np.mean([a for a, _ in curves], axis=0)
    res["auprc"] = np.mean([ap for _, ap in curves], axis=0)
    for m in CLASS_METRICS:
        res[m] = np.where(complete, res[m], np.nan)
    return res


def _units(units, n: int) -> np.ndarray:
    units = np.arange(n) if units is None else np.asarray(units)
    if units.shape != (n,):
        raise ValueError(f"units has {units.size} values, labels {n}")
    return units


def _dropped_note(y: np.ndarray, k: int, w: np.ndarray) -> list[str]:
    """A note saying how many resamples lacked a class (NaN for CLASS_METRICS), if any."""
    present = _present(y, k)
    if present.size < 2 or w.shape[0] == 0:
        return []
    counts = w @ (y[:, None] == present[None, :]).astype(np.float64)
    dropped = int((counts == 0).any(axis=1).sum())
    if not dropped:
        return []
    kept = "interval from the rest" if dropped <= 0.5 * w.shape[0] else "no interval"
    return [
        f"{', '.join(CLASS_METRICS)}: {dropped} of {w.shape[0]} resamples lack a class ({kept})"
    ]


def compute_metrics(
    y_true, prob, units=None, n_boot: int = 1000, seed: int = 0,
    confidence: float = CONFIDENCE,
) -> dict:
    """Point metrics with 95% percentile-bootstrap intervals.

    `units`: the resampling unit of each protein (None: proteins; groups to resample whole
    groups). Returns a flat dict: n, n_classes, then for each metric m: m, m_lo, m_hi; and
    `notes` (a string, empty when every metric and interval is defined) explaining any NaN.
    """
    y, p = as_inputs(y_true, prob)
    point, notes = point_metrics(y, p)
    w = unit_weights(_units(units, y.size), n_boot, seed)
    boot = weighted_metrics(y, p, w)
    row: dict = {"n": int(y.size), "n_classes": int(p.shape[1])}
    for m in CLS_METRICS:
        row[m] = point[m]
        if math.isnan(point[m]) or w.shape[0] == 0:
            lo, hi = math.nan, math.nan
        else:
            lo, hi = interval(boot[m], confidence)
        row[f"{m}_lo"], row[f"{m}_hi"] = lo, hi
    if n_boot <= 0:
        notes.append("no bootstrap intervals (evaluate.bootstrap = 0)")
    elif y.size:
        notes += _dropped_note(y, p.shape[1], w)
    row["notes"] = "; ".join(notes)
    return row


def metric_columns() -> list[str]:
    """Column order of the metrics table after `n`, `n_classes`: m, m_lo, m_hi per metric."""
    return [c for m in CLS_METRICS for c in (m, f"{m}_lo", f"{m}_hi")]


# ----------------------------------------------------------------------- paired comparisons
def directed_verdict(metric: str, lo: float, hi: float) -> str:
    """What a 95% interval of (model minus baseline) `metric` says, reading its direction:
    for auroc higher is better (lo > 0: better), for log_loss lower is better (hi < 0: better)."""
    if HIGHER_IS_BETTER[metric]:
        return verdict(-hi, -lo)  # common.verdict reads "lower is better"
    return verdict(lo, hi)


def paired_difference(
    y_true, prob_a, prob_b, units=None, n_boot: int = 1000, seed: int = 0,
    confidence: float = CONFIDENCE, metrics: tuple[str, ...] = CLS_METRICS,
) -> dict[str, dict]:
    """Model a minus model b for each metric, on the same proteins, with a 95% paired
    percentile-bootstrap interval (both scored on each resample of the units).

    Returns {metric: {difference, a, b, lo, hi, verdict, higher_is_better}}; the verdict
    ("better", "worse", "not distinguishable") is a's, read in the metric's direction.
    """
    y, pa = as_inputs(y_true, prob_a)
    _, pb = as_inputs(y_true, prob_b)
    if pa.shape != pb.shape:
        raise ValueError(f"prob_a {pa.shape} and prob_b {pb.shape} differ")
    point_a, _ = point_metrics(y, pa)
    point_b, _ = point_metrics(y, pb)
    w = unit_weights(_units(units, y.size), n_boot, seed)
    boot_a, boot_b = weighted_metrics(y, pa, w), weighted_metrics(y, pb, w)
    out = {}
    for m in metrics:
        lo, hi = interval(boot_a[m] - boot_b[m], confidence) if w.shape[0] else (math.nan,) * 2
        out[m] = {
            "difference": point_a[m] - point_b[m], "a": point_a[m], "b": point_b[m],
            "lo": lo, "hi": hi, "verdict": directed_verdict(m, lo, hi),
            "higher_is_better": HIGHER_IS_BETTER[m],
        }
    return out
