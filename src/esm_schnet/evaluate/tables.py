"""SchNet's held-out predictions next to the baselines on the same folds: the predictions and
metrics tables, and the paired comparisons of SchNet against each baseline."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from esm_schnet import baselines
from esm_schnet.baselines import Proteins, mean_pool
from esm_schnet.cv import GROUPED_SCHEMES
from esm_schnet.core.errors import InputError
from esm_schnet.tasks.metrics import PAIRED_METRICS, compute_metrics, metric_columns, paired_difference
from esm_schnet.evaluate.schema import COMPARISON_COLUMNS, MODEL_NAME, PRED_COLUMNS, model_order

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
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Predictions of SchNet and the baselines, and their metrics.

    fold_predictions: id, y_true, y_pred, fold (SchNet's held-out predictions);
    folds: id, fold[, cluster] (the CV folds; baselines use exactly these; under scheme `group`
    ridge_seq's inner CV keeps the clusters whole too);
    labels: label by id (the sample table); records: id -> object with embedding [L, D],
    n_residues, chain_index (esm_schnet.core.store.ProteinRecord); structure: id -> (pooled, surface)
    structure summaries (esm_schnet.baselines.read_structure_summaries; None: the baselines that
    need them are skipped).
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
    base, info = baselines.run("regression", proteins, fold)
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
    for name in (m for m in model_order("regression") if m in ran):
        sub = preds[preds["model"] == name]
        row = {"model": name}
        row.update(compute_metrics(sub["label"], sub["prediction"], n_boot=n_boot, seed=seed))
        if row["notes"]:
            log.warning("%s: %s", name, row["notes"])
        rows.append(row)
    metrics = pd.DataFrame(rows, columns=["model", "n", *metric_columns(), "notes"])
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


def resampling_units(folds: pd.DataFrame, scheme: str) -> tuple[str, np.ndarray]:
    """(unit name, unit of each protein in folds order) for the paired bootstrap: whole clusters
    under the grouped schemes, `group` and `logo` (the folds table's `cluster` column), else
    proteins."""
    if scheme in GROUPED_SCHEMES and "cluster" in folds.columns:
        return "cluster", folds["cluster"].astype(str).to_numpy()
    return "protein", folds["id"].astype(str).to_numpy()


def compare_to_baselines(
    preds: pd.DataFrame, folds: pd.DataFrame, scheme: str = "", n_boot: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """SchNet minus every baseline (RMSE, MAE) on the same held-out proteins, with 95% paired
    bootstrap intervals (one set of resamples, shared by every baseline) and verdicts."""
    unit, units = resampling_units(folds, scheme)
    ids = list(folds["id"].astype(str))
    wide = preds.pivot(index="id", columns="model", values="prediction").loc[ids]
    y = preds[preds["model"] == MODEL_NAME].set_index("id").loc[ids, "label"].to_numpy(float)
    rows = []
    for name in model_order("regression"):
        if name == MODEL_NAME or name not in wide.columns:
            continue
        res = paired_difference(
            y, wide[MODEL_NAME].to_numpy(float), wide[name].to_numpy(float),
            units=units, n_boot=n_boot, seed=seed,
        )
        rows += comparison_rows(name, res, PAIRED_METRICS, unit, units)
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def _pools(rec) -> tuple[np.ndarray, np.ndarray]:
    """(mean, sum) over residues in float64: a PooledRecord's (evaluate.read), else computed
    from the record's embedding [L, D]."""
    if getattr(rec, "mean", None) is not None:
        return rec.mean, rec.sum
    e = np.asarray(rec.embedding, dtype=np.float64)
    return mean_pool(e), e.sum(0)


def baseline_proteins(ids, records: Mapping, folds: pd.DataFrame, scheme: str,
                      structure: Mapping | None = None) -> Proteins:
    """What the baselines see of `ids` (esm_schnet.baselines.Proteins, without labels): residue
    counts, mean- and sum-pooled embeddings, inner-CV groups (None: proteins), and the structure
    summaries {id: (pooled, surface)} where given."""
    n_res = np.array([int(records[i].n_residues) for i in ids])
    pools = [_pools(records[i]) for i in ids]
    pooled = np.stack([m for m, _ in pools])
    summed = np.stack([s for _, s in pools])
    groups = resampling_units(folds, scheme)[1] if scheme in GROUPED_SCHEMES else None
    proteins = Proteins.from_arrays(ids, n_res, pooled, summed, groups)
    if structure is None:
        return proteins
    missing = [i for i in ids if i not in structure]
    if missing:
        raise InputError(missing[0], f"has no parsed structure summary ({len(missing)} such)")
    return proteins.with_structure(np.stack([structure[i][0] for i in ids]),
                                   np.stack([structure[i][1] for i in ids]))


def comparison_rows(name: str, res: dict, metrics, unit: str, units) -> list[dict]:
    """comparisons.tsv rows of one baseline from a paired_difference result {metric: ...}."""
    return [
        {"baseline": name, "metric": m, "difference": res[m]["difference"], "lo": res[m]["lo"],
         "hi": res[m]["hi"], "verdict": res[m]["verdict"], "resampling_unit": unit,
         "n_units": int(len(set(units))), "schnet_value": res[m]["a"],
         "baseline_value": res[m]["b"]}
        for m in metrics
    ]


# The metric that picks the best baseline and the headline comparison, per task.
HEADLINE_METRIC = {"regression": "rmse", "classification": "auroc"}


def best_baseline(metrics: pd.DataFrame, task: str = "regression") -> str | None:
    """The baseline with the lowest RMSE (classification: the highest AUROC; point
    estimates), or None."""
    col = HEADLINE_METRIC[task]
    if col not in metrics.columns:
        return None
    base = metrics[metrics["model"] != MODEL_NAME].set_index("model")[col].dropna()
    if not len(base):
        return None
    return str(base.idxmax() if task == "classification" else base.idxmin())
