"""A classification label's evaluation: SchNet's held-out class probabilities next to the
classification baselines on the same folds, their metrics (esm_schnet.tasks.metrics_cls: AUROC,
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
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(predictions long table, metrics one row per model, info) of one classification label.

    fold_predictions: id, y_true, y_pred, fold, p_<class> (SchNet, this label's rows);
    folds: id, fold[, cluster] of the proteins that have this label; values: the label's class
    text by id (the sample table)."""
    from esm_schnet import baselines
    from esm_schnet.tasks.metrics_cls import compute_metrics, metric_columns
    from esm_schnet.evaluate.tables import baseline_proteins

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
    base, info = baselines.run("classification", proteins, fold)
    probs.update(base)
    frames, rows = [], []
    for name in model_order("classification"):
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
        if row["notes"]:
            log.warning("%s (%s): %s", name, spec.name, row["notes"])
        rows.append(row)
    preds = pd.concat(frames, ignore_index=True)
    metrics = pd.DataFrame(rows, columns=["model", "n", "n_classes", *metric_columns(), "notes"])
    info = {"n_proteins": len(ids), "n_folds": int(len(np.unique(fold))),
            "classes": classes, "class_counts": np.bincount(y, minlength=len(classes)).tolist(),
            "embedding_dim": int(proteins.mean.shape[1]), **info}
    return preds, metrics, info


def compare_classification(spec, preds: pd.DataFrame, folds: pd.DataFrame, scheme: str = "",
                           n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """SchNet minus every baseline for each classification metric on the same held-out
    proteins, with 95% paired bootstrap intervals and direction-aware verdicts (AUROC higher is
    better, log loss lower)."""
    from esm_schnet.tasks.metrics_cls import CLS_METRICS, paired_difference
    from esm_schnet.evaluate.tables import comparison_rows, resampling_units

    classes = list(spec.classes)
    unit, units = resampling_units(folds, scheme)
    ids = list(folds["id"].astype(str))
    by_model = {m: g.set_index("id").loc[ids] for m, g in preds.groupby("model")}
    schnet = by_model[MODEL_NAME]
    y = np.array([classes.index(str(c)) for c in schnet["label"]], dtype=int)
    rows = []
    for name in model_order("classification"):
        if name == MODEL_NAME or name not in by_model:
            continue
        res = paired_difference(y, _probabilities(schnet, classes),
                                _probabilities(by_model[name], classes), units=units,
                                n_boot=n_boot, seed=seed)
        rows += comparison_rows(name, res, CLS_METRICS, unit, units)
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)
