"""Gather the cross-validation folds: predictions, baselines on the same folds, metrics.

`esm-schnet evaluate` reads every fold's predictions.tsv and history.tsv, the folds table, the
sample table (labels) and the embedding shards (residue counts, per-chain lengths and mean-pooled
embeddings for the baselines), and writes

- results/predictions.tsv  id, label, prediction, fold, model (one row per protein per model:
  `schnet`, `mean`, `size_linear`, `ridge_pooled`)
- results/metrics.tsv / .json  one row per model: n, mse, rmse, mae, r2, pearson, spearman, each
  with its 95% bootstrap interval (_lo, _hi), plus the embedding model, its kind (language model
  or the onehot ablation) and the CV scheme
- results/evaluate/lengths.tsv  id, chain, length (residues with a C-alpha per chain), for plots
- results/evaluate/history.tsv  fold, epoch, train_loss, val_loss, seconds (all folds), for plots

The log ends with a summary table like the original analysis's.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from .baselines import mean_pool, run_baselines
from .errors import CorruptFileError, InputError
from .metrics import METRICS, compute_metrics, metric_columns

log = logging.getLogger("esm_schnet.evaluate")

MODEL_NAME = "schnet"
PRED_COLUMNS = ["id", "label", "prediction", "fold", "model"]
MODEL_ORDER = ["schnet", "ridge_pooled", "size_linear", "mean"]
MODEL_DESCRIPTIONS = {
    "schnet": "SchNet on the C-alpha graph with per-residue embeddings",
    "ridge_pooled": "ridge regression on mean-pooled embeddings (sequence only, no structure)",
    "size_linear": "linear regression on the residue count",
    "mean": "mean label of the training fold",
}
_FOLD_DIR = re.compile(r"fold-(\d+)$")


def embedding_kind(model_id: str) -> str:
    """The featurizer's kind (`language model`, `onehot`, ...), from the featurizer registry."""
    from .embed.featurizers import featurizer_kind

    return featurizer_kind(model_id)


# ----------------------------------------------------------------------------------- reading
def _read_tsv(path, required: Sequence[str]) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, sep="\t")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise CorruptFileError(path, str(exc).splitlines()[0]) from exc
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise CorruptFileError(path, f"missing column(s) {', '.join(missing)}")
    return df


def fold_of_path(path) -> int:
    """Fold number from a path .../fold-<k>/<file>."""
    m = _FOLD_DIR.search(Path(path).parent.name)
    if not m:
        raise ValueError(f"cannot tell the fold of {path} (expected .../fold-<k>/...)")
    return int(m.group(1))


def gather_fold_predictions(paths: Sequence) -> pd.DataFrame:
    """Concatenate fold predictions.tsv files (id, y_true, y_pred, fold)."""
    frames = []
    for p in paths:
        df = _read_tsv(p, ["id", "y_true", "y_pred"])
        if "fold" not in df.columns:
            df["fold"] = fold_of_path(p)
        frames.append(df[["id", "y_true", "y_pred", "fold"]])
    if not frames:
        raise InputError(None, "no fold predictions to evaluate")
    out = pd.concat(frames, ignore_index=True)
    out["id"] = out["id"].astype(str)
    dup = out["id"][out["id"].duplicated()].unique()
    if len(dup):
        raise InputError(dup[0], f"predicted in more than one fold ({len(dup)} such proteins)")
    return out


def gather_histories(paths: Sequence) -> pd.DataFrame:
    """Concatenate fold history.tsv files into one table with a fold column."""
    cols = ["fold", "epoch", "train_loss", "val_loss", "seconds"]
    frames = []
    for p in paths:
        df = _read_tsv(p, ["epoch", "train_loss"])
        df["fold"] = fold_of_path(p)
        for c in ("val_loss", "seconds"):
            if c not in df.columns:
                df[c] = np.nan
        frames.append(df[cols])
    if not frames:
        return pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True).sort_values(["fold", "epoch"], kind="stable")


def chain_lengths(records: Mapping) -> pd.DataFrame:
    """Residues per chain of every record: columns id, chain (0-based), name, length."""
    rows = []
    for pid, rec in records.items():
        chain_index = np.asarray(rec.chain_index)
        names = list(getattr(rec, "chain_names", None) or [])
        chains, counts = np.unique(chain_index, return_counts=True)
        for c, n in zip(chains, counts):
            name = names[c] if c < len(names) else ""
            rows.append({"id": pid, "chain": int(c), "name": name, "length": int(n)})
    return pd.DataFrame(rows, columns=["id", "chain", "name", "length"])


# ----------------------------------------------------------------------------------- compute
def evaluate_tables(
    fold_predictions: pd.DataFrame,
    folds: pd.DataFrame,
    labels: pd.Series,
    records: Mapping,
    n_boot: int = 1000,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Predictions of SchNet and the baselines, and their metrics.

    fold_predictions: id, y_true, y_pred, fold (SchNet's held-out predictions);
    folds: id, fold (the CV folds; baselines use exactly these);
    labels: label by id (the sample table); records: id -> object with embedding [L, D],
    n_residues, chain_index (esm_schnet.store.ProteinRecord).
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

    n_res = np.array([int(records[i].n_residues) for i in ids])
    pooled = np.stack([mean_pool(records[i].embedding) for i in ids])
    base, info = run_baselines(ids, y, fold, n_res, pooled)
    own = pd.DataFrame(
        {
            "id": ids,
            "label": y,
            "prediction": schnet["y_pred"].to_numpy(dtype=np.float64),
            "fold": fold,
            "model": MODEL_NAME,
        }
    )
    preds = pd.concat([own, base], ignore_index=True)[PRED_COLUMNS]

    rows = []
    for name in MODEL_ORDER:
        sub = preds[preds["model"] == name]
        row = {"model": name}
        row.update(compute_metrics(sub["label"], sub["prediction"], n_boot=n_boot, seed=seed))
        if row["notes"]:
            log.warning("%s: %s", name, row["notes"])
        rows.append(row)
    metrics = pd.DataFrame(rows, columns=["model", "n", *metric_columns(), "notes"])
    info = {
        "n_proteins": len(ids),
        "n_folds": int(len(np.unique(fold))),
        "embedding_dim": int(pooled.shape[1]),
        **info,
    }
    return preds, metrics, info


# ----------------------------------------------------------------------------------- output
def _fmt(v: float, digits: int = 3) -> str:
    return "nan" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}g}"


def summary_table(metrics: pd.DataFrame, model_id: str = "", scheme: str = "") -> str:
    """Plain-text table of every model's metrics (RMSE and R2 with 95% intervals)."""
    head = (
        f"{'model':<13}{'n':>4}  {'RMSE [95% CI]':<24}{'MAE':>8}{'R2 [95% CI]':>26}"
        f"{'Pearson':>9}{'Spearman':>10}"
    )
    lines = []
    if model_id or scheme:
        from .embed.featurizers import describe

        kind = describe(model_id)
        lines.append(f"embedding: {model_id} ({kind}); CV scheme: {scheme}")
    lines += [head, "-" * len(head)]
    for _, r in metrics.iterrows():
        rmse = f"{_fmt(r['rmse'], 4)} [{_fmt(r['rmse_lo'])}, {_fmt(r['rmse_hi'])}]"
        r2 = f"{_fmt(r['r2'], 3)} [{_fmt(r['r2_lo'])}, {_fmt(r['r2_hi'])}]"
        lines.append(
            f"{r['model']:<13}{int(r['n']):>4}  {rmse:<24}{_fmt(r['mae'], 4):>8}{r2:>26}"
            f"{_fmt(r['pearson']):>9}{_fmt(r['spearman']):>10}"
        )
    m = metrics.set_index("model")
    base = m.drop(index=MODEL_NAME, errors="ignore")["rmse"].dropna()
    if MODEL_NAME in m.index and len(base) and not math.isnan(m.loc[MODEL_NAME, "rmse"]):
        best = base.idxmin()
        ratio = m.loc[MODEL_NAME, "rmse"] / base[best] if base[best] > 0 else math.nan
        verdict = "lower than" if ratio < 1 else "not lower than"
        lines.append(
            f"SchNet RMSE is {_fmt(ratio)}x that of the best baseline ({best}, RMSE "
            f"{_fmt(base[best], 4)}): {verdict} the best baseline's"
        )
    return "\n".join(lines)


def _json_safe(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        return _json_safe(obj.item())
    return obj


def _atomic_write_text(path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_tsv(df: pd.DataFrame, path) -> None:
    _atomic_write_text(path, df.to_csv(sep="\t", index=False, float_format="%.6g", na_rep="nan"))


def metrics_document(
    metrics: pd.DataFrame, info: dict, model_id: str, scheme: str, n_boot: int, seed: int
) -> dict:
    return _json_safe(
        {
            "embedding_model": model_id,
            "embedding_kind": embedding_kind(model_id),
            "cv_scheme": scheme,
            "bootstrap": {"resamples": n_boot, "seed": seed, "confidence": 0.95},
            "metrics": list(METRICS),
            "models": {
                r["model"]: {"description": MODEL_DESCRIPTIONS.get(r["model"], ""), **r}
                for r in metrics.to_dict(orient="records")
            },
            "esm_schnet_version": __version__,
            **info,
        }
    )


def run(
    fold_prediction_paths: Sequence,
    history_paths: Sequence,
    folds_path,
    samples_path,
    shard_paths: Sequence,
    model_id: str,
    scheme: str,
    n_boot: int,
    seed: int,
    out_predictions,
    out_metrics,
    out_json,
    out_lengths,
    out_history,
) -> pd.DataFrame:
    """Everything `esm-schnet evaluate` does; returns the metrics table."""
    from .samples import read_sample_table
    from .store import load_records

    fold_preds = gather_fold_predictions(fold_prediction_paths)
    histories = gather_histories(history_paths)
    folds = _read_tsv(folds_path, ["id", "fold"])
    samples = read_sample_table(samples_path, require_labels=True)
    log.info(
        "%d proteins in %d folds (scheme %s); loading %d shard(s)",
        len(folds), folds["fold"].nunique(), scheme, len(shard_paths),
    )
    records = load_records(list(shard_paths))
    preds, metrics, info = evaluate_tables(
        fold_preds, folds, samples["label"], records, n_boot=n_boot, seed=seed
    )
    lengths = chain_lengths({i: records[i] for i in folds["id"].astype(str)})
    mt = metrics.copy()
    mt["embedding_model"] = model_id
    mt["embedding_kind"] = embedding_kind(model_id)
    mt["cv_scheme"] = scheme
    write_tsv(preds, out_predictions)
    write_tsv(mt, out_metrics)
    write_tsv(lengths, out_lengths)
    write_tsv(histories, out_history)
    doc = metrics_document(metrics, info, model_id, scheme, n_boot, seed)
    _atomic_write_text(out_json, json.dumps(doc, indent=2, sort_keys=False) + "\n")
    log.info("wrote %s, %s, %s", out_predictions, out_metrics, out_json)
    log.info(
        "summary (held-out predictions, 95%% bootstrap intervals over %d resamples):\n%s",
        n_boot, summary_table(metrics, model_id, scheme),
    )
    return metrics


def cli(argv: list[str]) -> int:
    from .log import job_log

    ap = argparse.ArgumentParser(
        prog="esm-schnet evaluate",
        description="Gather fold predictions, score SchNet and the baselines on the same folds.",
    )
    ap.add_argument("--fold-predictions", nargs="+", required=True, metavar="TSV")
    ap.add_argument("--histories", nargs="*", default=[], metavar="TSV")
    ap.add_argument("--folds", required=True, metavar="TSV")
    ap.add_argument("--samples", required=True, metavar="TSV")
    ap.add_argument("--shards", nargs="+", required=True, metavar="H5")
    ap.add_argument("--embedding-model", required=True)
    ap.add_argument("--scheme", required=True)
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out-predictions", default="results/predictions.tsv")
    ap.add_argument("--out-metrics", default="results/metrics.tsv")
    ap.add_argument("--out-json", default="results/metrics.json")
    ap.add_argument("--out-lengths", default="results/evaluate/lengths.tsv")
    ap.add_argument("--out-history", default="results/evaluate/history.tsv")
    ap.add_argument("--log", default=None, help="append the log to this file")
    a = ap.parse_args(argv)
    with job_log(a.log, echo=a.log is None):
        run(
            a.fold_predictions, a.histories, a.folds, a.samples, a.shards,
            a.embedding_model, a.scheme, a.bootstrap, a.seed,
            a.out_predictions, a.out_metrics, a.out_json, a.out_lengths, a.out_history,
        )
    return 0
