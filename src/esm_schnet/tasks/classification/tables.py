"""A classification label's evaluation: SchNet's held-out class probabilities next to the
classification baselines on the same folds, their metrics (tasks.classification.metrics: AUROC,
AUPRC, accuracy, balanced accuracy, MCC, log loss, each with a 95% bootstrap interval over
proteins) and the paired comparisons (intervals over proteins, or whole clusters under
`cv.scheme: group`).

Predictions (long, one row per protein per model): id, label (the true class), prediction (the
most probable class), fold, model, p_<class> for every class of the label.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from esm_schnet.core.errors import InputError
from esm_schnet.evaluate.schema import COMPARISON_COLUMNS, MODEL_NAME, model_order
from esm_schnet.evaluate.summary import comparison_line, convergence_lines
from esm_schnet.evaluate.tables import baseline_proteins, comparison_rows, resampling_units
from esm_schnet.tasks.common import fmt as _fmt
from esm_schnet.tasks.names import CLASSIFICATION

log = logging.getLogger("esm_schnet.evaluate")


def _probabilities(df: pd.DataFrame, classes) -> np.ndarray:
    return df[[f"p_{c}" for c in classes]].to_numpy(dtype=np.float64)


def classification_tables(
    spec,
    fold_predictions: pd.DataFrame,
    folds: pd.DataFrame,
    values: pd.Series,
    records: Mapping,
    n_boot: int = 1000,
    seed: int = 0,
    scheme: str = "",
    structure: Mapping | None = None,
    baseline_task: str = CLASSIFICATION,
    added_metrics=None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(predictions long table, metrics one row per model, info) of one classification label.

    fold_predictions: id, y_true, y_pred, fold, p_<class> (SchNet, this label's rows);
    folds: id, fold[, cluster] of the proteins that have this label; values: the label's class
    text by id (the sample table); baseline_task: whose baselines run (esm_schnet.baselines);
    added_metrics: a task's added metrics (Task.extra_metrics), scored after the built-in ones."""
    from esm_schnet import baselines
    from esm_schnet.tasks.classification.metrics import compute_metrics, metric_columns
    from esm_schnet.tasks.common import extra_metric_values

    classes = list(spec.classes)
    folds = folds.copy()
    folds["id"] = folds["id"].astype(str)
    ids = list(folds["id"])
    fold = folds["fold"].to_numpy()
    missing = sorted(set(ids) - set(fold_predictions["id"]))
    if missing:
        raise InputError(missing[0], f"has label {spec.name!r} but no fold prediction of it "
                                     f"({len(missing)} such proteins)")
    missing_rec = [i for i in ids if i not in records]
    if missing_rec:
        raise InputError(missing_rec[0], f"has no embedding record ({len(missing_rec)} such)")
    truth = values.loc[ids].astype(str)
    schnet = fold_predictions.set_index("id").loc[ids]
    bad = [i for i in ids if str(schnet.at[i, "y_true"]) != truth[i]]
    if bad:
        raise InputError(bad[0], f"fold predictions carry a class of {spec.name!r} that differs "
                                 "from the sample table")
    y = np.array([classes.index(c) for c in truth], dtype=int)
    probs = {MODEL_NAME: _probabilities(schnet, classes)}
    proteins = baseline_proteins(ids, records, folds, scheme, structure).with_labels(
        y, len(classes))
    base, info = baselines.run(baseline_task, proteins, fold)
    probs.update(base)
    frames, rows = [], []
    for name in model_order(baseline_task):
        if name not in probs:
            continue
        p = probs[name]
        frame = pd.DataFrame({
            "id": ids, "label": truth.to_numpy(), "prediction": [classes[j] for j in p.argmax(1)],
            "fold": fold, "model": name,
        })
        for j, c in enumerate(classes):
            frame[f"p_{c}"] = p[:, j]
        frames.append(frame)
        row = {"model": name}
        row.update(compute_metrics(y, p, n_boot=n_boot, seed=seed))
        row.update(extra_metric_values(added_metrics or {}, y, p, n_boot=n_boot, seed=seed))
        if row["notes"]:
            log.warning("%s (%s): %s", name, spec.name, row["notes"])
        rows.append(row)
    preds = pd.concat(frames, ignore_index=True)
    metrics = pd.DataFrame(rows, columns=["model", "n", "n_classes", *metric_columns(),
                                          *extra_columns(added_metrics), "notes"])
    info = {"n_proteins": len(ids), "n_folds": int(len(np.unique(fold))),
            "classes": classes, "class_counts": np.bincount(y, minlength=len(classes)).tolist(),
            "embedding_dim": int(proteins.mean.shape[1]), **info}
    return preds, metrics, info


def extra_columns(extra) -> list[str]:
    return [c for m in (extra or {}) for c in (m, f"{m}_lo", f"{m}_hi")]


def compare_classification(spec, preds: pd.DataFrame, folds: pd.DataFrame, scheme: str = "",
                           n_boot: int = 1000, seed: int = 0,
                           baseline_task: str = CLASSIFICATION) -> pd.DataFrame:
    """SchNet minus every baseline for each classification metric on the same held-out
    proteins, with 95% paired bootstrap intervals and direction-aware verdicts (AUROC higher is
    better, log loss lower)."""
    from esm_schnet.tasks.classification.metrics import CLS_METRICS, paired_difference

    classes = list(spec.classes)
    unit, units = resampling_units(folds, scheme)
    ids = list(folds["id"].astype(str))
    by_model = {m: g.set_index("id").loc[ids] for m, g in preds.groupby("model")}
    schnet = by_model[MODEL_NAME]
    y = np.array([classes.index(str(c)) for c in schnet["label"]], dtype=int)
    rows = []
    for name in model_order(baseline_task):
        if name == MODEL_NAME or name not in by_model:
            continue
        res = paired_difference(y, _probabilities(schnet, classes),
                                _probabilities(by_model[name], classes), units=units,
                                n_boot=n_boot, seed=seed)
        rows += comparison_rows(name, res, CLS_METRICS, unit, units)
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def summary_table_cls(metrics: pd.DataFrame, model_id: str = "", scheme: str = "",
                      comparisons: pd.DataFrame | None = None,
                      convergence: pd.DataFrame | None = None, headline: str = "auroc") -> str:
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
    lines.append(comparison_line(metrics, comparisons, headline, higher_is_better=True))
    return "\n".join(lines)
