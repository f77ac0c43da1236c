"""A regression label's evaluation: SchNet's held-out predictions next to the regression
baselines on the same folds, their metrics (tasks.regression.metrics: MSE, RMSE, MAE, R2,
Pearson, Spearman, each with a 95% bootstrap interval over proteins), the paired comparisons
(RMSE, MAE; intervals over proteins, or whole clusters under the grouped schemes) and the
plain-text summary the evaluate log ends with."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from esm_schnet import baselines
from esm_schnet.core.errors import InputError
from esm_schnet.evaluate.schema import COMPARISON_COLUMNS, MODEL_NAME, PRED_COLUMNS, model_order
from esm_schnet.evaluate.summary import comparison_line, convergence_lines
from esm_schnet.evaluate.tables import baseline_proteins, comparison_rows, resampling_units
from esm_schnet.tasks.common import extra_metric_values
from esm_schnet.tasks.common import fmt as _fmt
from esm_schnet.tasks.names import REGRESSION
from esm_schnet.tasks.regression.metrics import (
    PAIRED_METRICS, compute_metrics, metric_columns, paired_difference,
)

log = logging.getLogger("esm_schnet.evaluate")


def evaluate_tables(
    fold_predictions: pd.DataFrame,
    folds: pd.DataFrame,
    labels: pd.Series,
    records: Mapping,
    n_boot: int = 1000,
    seed: int = 0,
    scheme: str = "",
    structure: Mapping | None = None,
    baseline_task: str = REGRESSION,
    added_metrics=None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Predictions of SchNet and the baselines, and their metrics.

    fold_predictions: id, y_true, y_pred, fold (SchNet's held-out predictions);
    folds: id, fold[, cluster] (the CV folds; baselines use exactly these; under scheme `group`
    ridge_seq's inner CV keeps the clusters whole too);
    labels: label by id (the sample table); records: id -> object with embedding [L, D],
    n_residues, chain_index (esm_schnet.core.store.ProteinRecord); structure: id -> (pooled, surface)
    structure summaries (esm_schnet.baselines.read_structure_summaries; None: the baselines that
    need them are skipped); baseline_task: whose baselines run (esm_schnet.baselines);
    added_metrics: a task's added metrics (Task.extra_metrics), scored after the built-in ones.
    Returns (predictions long table, metrics table one row per model, info dict).
    """
    folds = folds.copy()
    folds["id"] = folds["id"].astype(str)
    ids = list(folds["id"])
    fold = folds["fold"].to_numpy()
    missing_pred = sorted(set(ids) - set(fold_predictions["id"]))
    if missing_pred:
        raise InputError(
            missing_pred[0],
            f"in the folds table but has no fold prediction ({len(missing_pred)} such proteins)",
        )
    extra = sorted(set(fold_predictions["id"]) - set(ids))
    if extra:
        raise InputError(extra[0], f"predicted but not in the folds table ({len(extra)} such)")
    missing_rec = [i for i in ids if i not in records]
    if missing_rec:
        raise InputError(missing_rec[0], f"has no embedding record ({len(missing_rec)} such)")
    missing_lab = [i for i in ids if i not in labels.index or not np.isfinite(labels.get(i))]
    if missing_lab:
        raise InputError(missing_lab[0], f"has no label ({len(missing_lab)} such)")

    y = labels.loc[ids].to_numpy(dtype=np.float64)
    schnet = fold_predictions.set_index("id").loc[ids]
    if not np.allclose(schnet["y_true"].to_numpy(dtype=float), y, rtol=1e-5, atol=1e-6):
        bad = [i for i, a, b in zip(ids, schnet["y_true"], y) if not np.isclose(a, b)]
        raise InputError(bad[0], "fold predictions carry a label that differs from the sample table")
    if not np.array_equal(schnet["fold"].to_numpy(), fold):
        bad = [i for i, a, b in zip(ids, schnet["fold"], fold) if a != b]
        raise InputError(bad[0], "predicted in a different fold than the folds table says")

    proteins = baseline_proteins(ids, records, folds, scheme, structure).with_labels(y)
    base, info = baselines.run(baseline_task, proteins, fold)
    own = pd.DataFrame(
        {
            "id": ids,
            "label": y,
            "prediction": schnet["y_pred"].to_numpy(dtype=np.float64),
            "fold": fold,
            "model": MODEL_NAME,
        }
    )
    frames = [pd.DataFrame({"id": ids, "label": y, "prediction": p, "fold": fold, "model": name})
              for name, p in base.items()]  # registration order
    preds = pd.concat([own, *frames], ignore_index=True)[PRED_COLUMNS]

    rows = []
    ran = set(preds["model"])  # a baseline without what it needs was skipped
    for name in (m for m in model_order(baseline_task) if m in ran):
        sub = preds[preds["model"] == name]
        row = {"model": name}
        row.update(compute_metrics(sub["label"], sub["prediction"], n_boot=n_boot, seed=seed))
        row.update(extra_metric_values(added_metrics or {}, sub["label"].to_numpy(),
                                       sub["prediction"].to_numpy(), n_boot=n_boot, seed=seed))
        if row["notes"]:
            log.warning("%s: %s", name, row["notes"])
        rows.append(row)
    added = [c for m in (added_metrics or {}) for c in (m, f"{m}_lo", f"{m}_hi")]
    metrics = pd.DataFrame(rows, columns=["model", "n", *metric_columns(), *added, "notes"])
    outside = out_of_range(ids, y, own["prediction"].to_numpy(), fold)
    if outside:
        shown = ", ".join(f"{o['id']} {o['prediction']:.4g} (fold {o['fold']}: "
                          f"[{o['lo']:.4g}, {o['hi']:.4g}])" for o in outside[:5])
        log.warning("%s: %d held-out prediction(s) outside the training labels' range widened by "
                    "one standard deviation: %s%s", MODEL_NAME, len(outside), shown,
                    " ..." if len(outside) > 5 else "")
    info = {
        "n_proteins": len(ids),
        "n_folds": int(len(np.unique(fold))),
        "embedding_dim": int(proteins.mean.shape[1]),
        "out_of_range": outside,
        **info,
    }
    return preds, metrics, info


def out_of_range(ids, y, pred, fold) -> list[dict]:
    """Held-out predictions outside [min - sd, max + sd] of their fold's TRAINING labels (a
    model extrapolating far beyond anything it was fitted on), in the order of `ids`."""
    y, pred, fold = np.asarray(y, float), np.asarray(pred, float), np.asarray(fold)
    out = []
    for k in np.unique(fold):
        test, train = fold == k, fold != k
        if not train.any():
            continue
        sd = float(y[train].std())
        lo, hi = float(y[train].min()) - sd, float(y[train].max()) + sd
        for i in np.flatnonzero(test & ((pred < lo) | (pred > hi))):
            out.append({"id": str(ids[i]), "prediction": float(pred[i]), "fold": int(k),
                        "lo": lo, "hi": hi})
    order = {str(i): n for n, i in enumerate(ids)}
    return sorted(out, key=lambda o: order[o["id"]])


def compare_to_baselines(
    preds: pd.DataFrame, folds: pd.DataFrame, scheme: str = "", n_boot: int = 1000, seed: int = 0,
    baseline_task: str = REGRESSION,
) -> pd.DataFrame:
    """SchNet minus every baseline (RMSE, MAE) on the same held-out proteins, with 95% paired
    bootstrap intervals (one set of resamples, shared by every baseline) and verdicts."""
    unit, units = resampling_units(folds, scheme)
    ids = list(folds["id"].astype(str))
    wide = preds.pivot(index="id", columns="model", values="prediction").loc[ids]
    y = preds[preds["model"] == MODEL_NAME].set_index("id").loc[ids, "label"].to_numpy(float)
    rows = []
    for name in model_order(baseline_task):
        if name == MODEL_NAME or name not in wide.columns:
            continue
        res = paired_difference(
            y, wide[MODEL_NAME].to_numpy(float), wide[name].to_numpy(float),
            units=units, n_boot=n_boot, seed=seed,
        )
        rows += comparison_rows(name, res, PAIRED_METRICS, unit, units)
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def summary_table(
    metrics: pd.DataFrame,
    model_id: str = "",
    scheme: str = "",
    comparisons: pd.DataFrame | None = None,
    convergence: pd.DataFrame | None = None,
    headline: str = "rmse",
) -> str:
    """Plain-text table of every model's metrics (RMSE and R2 with 95% intervals), then a
    WARNING line per unconverged fold and, last, SchNet against the best baseline (paired)."""
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
    lines.append(comparison_line(metrics, comparisons, headline))
    return "\n".join(lines)


