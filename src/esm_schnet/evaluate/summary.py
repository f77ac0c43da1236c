"""The plain-text summary the log ends with (regression: `summary_table`; a classification
label: `summary_table_cls`): the metrics table, the paired comparisons, a WARNING line per fold
that did not fit, and SchNet against the best baseline."""

from __future__ import annotations

import math

import pandas as pd

from esm_schnet.evaluate.read import _float
from esm_schnet.evaluate.tables import HEADLINE_METRIC, best_baseline


def _fmt(v: float, digits: int = 3) -> str:
    return "nan" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}g}"


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
                    task: str = "regression") -> str:
    """SchNet against the best baseline: paired RMSE difference (classification: AUROC), its
    interval and the verdict."""
    best = best_baseline(metrics, task)
    metric = HEADLINE_METRIC[task]
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


def summary_table(
    metrics: pd.DataFrame,
    model_id: str = "",
    scheme: str = "",
    comparisons: pd.DataFrame | None = None,
    convergence: pd.DataFrame | None = None,
    task: str = "regression",
) -> str:
    """Plain-text table of every model's metrics (RMSE and R2 with 95% intervals; for a
    classification label AUROC, balanced accuracy, MCC and log loss), then a WARNING line per
    unconverged fold and, last, SchNet against the best baseline (paired)."""
    if task == "classification":
        return summary_table_cls(metrics, model_id, scheme, comparisons, convergence)
    head = (
        f"{'model':<13}{'n':>4}  {'RMSE [95% CI]':<24}{'MAE':>8}  {'R2 [95% CI]':>26}"
        f"{'Pearson':>9}{'Spearman':>10}"
    )
    lines = []
    if model_id or scheme:
        from esm_schnet.embed.featurizers import describe

        kind = describe(model_id)
        lines.append(f"embedding: {model_id} ({kind}); CV scheme: {scheme}")
    lines += [head, "-" * len(head)]
    for _, r in metrics.iterrows():
        rmse = f"{_fmt(r['rmse'], 4)} [{_fmt(r['rmse_lo'])}, {_fmt(r['rmse_hi'])}]"
        r2 = f"{_fmt(r['r2'], 3)} [{_fmt(r['r2_lo'])}, {_fmt(r['r2_hi'])}]"
        lines.append(
            f"{r['model']:<13}{int(r['n']):>4}  {rmse:<24}{_fmt(r['mae'], 4):>8}  {r2:>26}"
            f"{_fmt(r['pearson']):>9}{_fmt(r['spearman']):>10}"
        )
    if comparisons is not None and len(comparisons):
        lines.append("")
        lines.append(
            f"{'SchNet minus':<14}{'metric':<8}{'difference [95% paired CI]':<34}verdict"
        )
        for _, r in comparisons.iterrows():
            d = f"{_fmt(r['difference'], 3)} [{_fmt(r['lo'])}, {_fmt(r['hi'])}]"
            lines.append(f"{r['baseline']:<14}{r['metric']:<8}{d:<34}{r['verdict']}")
    lines += convergence_lines(convergence)
    lines.append(comparison_line(metrics, comparisons))
    return "\n".join(lines)


def summary_table_cls(metrics: pd.DataFrame, model_id: str = "", scheme: str = "",
                      comparisons: pd.DataFrame | None = None,
                      convergence: pd.DataFrame | None = None) -> str:
    """Plain-text table of a classification label: AUROC and balanced accuracy with their 95%
    intervals, MCC, log loss; the paired comparisons; SchNet against the best baseline."""
    head = (f"{'model':<15}{'n':>4}  {'AUROC [95% CI]':<22}{'AUPRC':>7}{'acc.':>7}  "
            f"{'bal. acc. [95% CI]':<22}{'MCC':>7}{'log loss':>10}")
    lines = []
    if model_id or scheme:
        lines.append(f"embedding: {model_id}; CV scheme: {scheme}")
    lines += [head, "-" * len(head)]
    for _, r in metrics.iterrows():
        auroc = f"{_fmt(r['auroc'])} [{_fmt(r['auroc_lo'])}, {_fmt(r['auroc_hi'])}]"
        bal = (f"{_fmt(r['balanced_accuracy'])} [{_fmt(r['balanced_accuracy_lo'])}, "
               f"{_fmt(r['balanced_accuracy_hi'])}]")
        lines.append(f"{r['model']:<15}{int(r['n']):>4}  {auroc:<22}{_fmt(r['auprc']):>7}"
                     f"{_fmt(r['accuracy']):>7}  {bal:<22}{_fmt(r['mcc']):>7}"
                     f"{_fmt(r['log_loss']):>10}")
    if comparisons is not None and len(comparisons):
        lines.append("")
        lines.append(f"{'SchNet minus':<15}{'metric':<19}{'difference [95% paired CI]':<34}"
                     "verdict")
        for _, r in comparisons.iterrows():
            d = f"{_fmt(r['difference'], 3)} [{_fmt(r['lo'])}, {_fmt(r['hi'])}]"
            lines.append(f"{r['baseline']:<15}{r['metric']:<19}{d:<34}{r['verdict']}")
    lines += convergence_lines(convergence)
    lines.append(comparison_line(metrics, comparisons, "classification"))
    return "\n".join(lines)
