"""What the plain-text summaries the evaluate log ends with share (each task writes its own
table: Task.summary_table): a WARNING line per fold that did not fit, SchNet against the best
baseline, and metrics.json's convergence part."""

from __future__ import annotations

import math

import pandas as pd

from esm_schnet.tasks.common import to_float as _float
from esm_schnet.tasks.common import best_model
from esm_schnet.tasks.common import fmt as _fmt


def convergence_document(conv: pd.DataFrame) -> dict:
    """metrics.json `convergence`: n_folds, unconverged [{fold, ratio, final_train_loss,
    mean_predictor_loss, hint}], threshold, plus the folds whose convergence is unknown."""
    bad = conv[conv["status"] == "unconverged"]
    thresholds = sorted({float(t) for t in conv["threshold"] if math.isfinite(_float(t))})
    return {
        "n_folds": int(len(conv)),
        "n_converged": int((conv["status"] == "converged").sum()),
        "unconverged": [
            {"fold": int(r["fold"]), "ratio": r["ratio"], "final_train_loss": r["final_train_loss"],
             "mean_predictor_loss": r["mean_predictor_loss"], "hint": r["hint"]}
            for _, r in bad.iterrows()
        ],
        "unknown": [int(f) for f in conv.loc[conv["status"] == "unknown", "fold"]],
        "threshold": (thresholds[0] if len(thresholds) == 1 else thresholds or None),
    }


def convergence_lines(conv: pd.DataFrame | None) -> list[str]:
    """WARNING lines for unconverged folds and one line for folds of unknown convergence."""
    if conv is None or not len(conv):
        return []
    lines = []
    for _, r in conv[conv["status"] == "unconverged"].iterrows():
        lines.append(
            f"WARNING: fold {int(r['fold'])} did not fit: final train loss is {_fmt(r['ratio'])}x "
            f"the mean predictor's (threshold {_fmt(r['threshold'])})"
            + (f"; {r['hint']}" if r["hint"] else "")
        )
    unknown = conv.loc[conv["status"] == "unknown", "fold"].astype(int).tolist()
    if unknown:
        shown = ", ".join(map(str, unknown[:10])) + (", ..." if len(unknown) > 10 else "")
        lines.append(
            f"convergence unknown for {len(unknown)} of {len(conv)} folds (their provenance.json "
            f"has no convergence entry, e.g. an older run): fold {shown}"
        )
    return lines


def comparison_line(metrics: pd.DataFrame, comparisons: pd.DataFrame | None,
                    metric: str = "rmse", higher_is_better: bool = False) -> str:
    """SchNet against the best baseline by the task's headline `metric` (Task.headline): the
    paired difference, its interval and the verdict."""
    best = best_model(metrics, metric, higher_is_better)
    what = metric.upper()
    if best is None or comparisons is None or not len(comparisons):
        return "SchNet vs the best baseline: no comparison (no baseline scored)"
    r = comparisons[(comparisons["baseline"] == best) & (comparisons["metric"] == metric)]
    if not len(r):
        return f"SchNet vs the best baseline ({best}): no comparison"
    r = r.iloc[0]
    ci = (
        f"[95% paired CI {_fmt(r['lo'])}, {_fmt(r['hi'])}]" if math.isfinite(_float(r["lo"]))
        else "[no bootstrap interval]"
    )
    return (
        f"SchNet vs the best baseline ({best}, {what} {_fmt(r['baseline_value'], 4)}): {what} "
        f"difference {_fmt(r['difference'], 3)} {ci} over {int(r['n_units'])} "
        f"{r['resampling_unit']}s resampled: {r['verdict']}"
    )
