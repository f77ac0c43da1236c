"""Gather the cross-validation folds: predictions, baselines on the same folds, metrics.

`esm-schnet evaluate` reads every fold's predictions.tsv, history.tsv and provenance.json, the
folds table, the sample table (labels) and the embedding shards (residue counts, per-chain lengths
and pooled embeddings for the baselines), and writes

- results/predictions.tsv  id, label, prediction, fold, model (one row per protein per model:
  `schnet`, `ridge_seq`, `ridge_pooled`, `size_linear`, `mean`)
- results/metrics.tsv / .json  one row per model: n, mse, rmse, mae, r2, pearson, spearman, each
  with its 95% bootstrap interval (_lo, _hi), plus the embedding model, its kind (language model
  or the onehot ablation) and the CV scheme
- results/comparisons.tsv  SchNet minus each baseline, on the same held-out proteins: baseline,
  metric (rmse, mae), difference, lo, hi (95% paired bootstrap interval: proteins resampled, or
  whole clusters under `cv.scheme: group`), verdict (better: hi < 0; worse: lo > 0; else not
  distinguishable), resampling_unit, n_units, schnet_value, baseline_value
- results/evaluate/lengths.tsv  id, chain, length (residues with a C-alpha per chain), for plots
- results/evaluate/history.tsv  fold, epoch, train_loss, val_loss, seconds (all folds), for plots
- results/evaluate/convergence.tsv  fold, status (converged, unconverged, unknown: the fold's
  provenance.json has no `convergence` entry), converged, ratio, final_train_loss,
  mean_predictor_loss, threshold, hint
- results/evaluate/metrics.html  the metrics, comparisons and convergence tables as HTML (the
  Snakemake report shows it inline)

The log ends with a summary table like the original analysis's, a WARNING line per fold that did
not fit, and SchNet against the best baseline with the paired interval and its verdict.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from .baselines import mean_pool, run_baselines
from .errors import CorruptFileError, InputError
from .files import write_json, write_text
from .metrics import METRICS, PAIRED_METRICS, compute_metrics, metric_columns, paired_difference

log = logging.getLogger("esm_schnet.evaluate")

MODEL_NAME = "schnet"
PRED_COLUMNS = ["id", "label", "prediction", "fold", "model"]
MODEL_ORDER = ["schnet", "ridge_seq", "ridge_pooled", "size_linear", "mean"]
MODEL_DESCRIPTIONS = {
    "schnet": "SchNet on the C-alpha graph with per-residue embeddings",
    "ridge_seq": "ridge regression on mean- and sum-pooled embeddings and the residue count, "
    "alpha and standardisation by inner CV on the training fold (size and sequence, no "
    "structure)",
    "ridge_pooled": "ridge regression on mean-pooled embeddings (mean composition only: cannot "
    "express size-extensive labels; no structure)",
    "size_linear": "linear regression on the residue count (size only)",
    "mean": "mean label of the training fold (sees nothing)",
}
COMPARISON_COLUMNS = [
    "baseline", "metric", "difference", "lo", "hi", "verdict", "resampling_unit", "n_units",
    "schnet_value", "baseline_value",
]
CONVERGENCE_COLUMNS = [
    "fold", "status", "converged", "ratio", "final_train_loss", "mean_predictor_loss",
    "threshold", "hint",
]
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
    scheme: str = "",
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Predictions of SchNet and the baselines, and their metrics.

    fold_predictions: id, y_true, y_pred, fold (SchNet's held-out predictions);
    folds: id, fold[, cluster] (the CV folds; baselines use exactly these; under scheme `group`
    ridge_seq's inner CV keeps the clusters whole too);
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
    summed = np.stack([np.asarray(records[i].embedding, dtype=np.float64).sum(0) for i in ids])
    groups = resampling_units(folds, scheme)[1] if scheme == "group" else None
    base, info = run_baselines(ids, y, fold, n_res, pooled, summed=summed, groups=groups)
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


def resampling_units(folds: pd.DataFrame, scheme: str) -> tuple[str, np.ndarray]:
    """(unit name, unit of each protein in folds order) for the paired bootstrap: whole clusters
    under `cv.scheme: group` (the folds table's `cluster` column), else proteins."""
    if scheme == "group" and "cluster" in folds.columns:
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
    for name in MODEL_ORDER:
        if name == MODEL_NAME or name not in wide.columns:
            continue
        res = paired_difference(
            y, wide[MODEL_NAME].to_numpy(float), wide[name].to_numpy(float),
            units=units, n_boot=n_boot, seed=seed,
        )
        for m in PAIRED_METRICS:
            r = res[m]
            rows.append({
                "baseline": name, "metric": m, "difference": r["difference"], "lo": r["lo"],
                "hi": r["hi"], "verdict": r["verdict"], "resampling_unit": unit,
                "n_units": int(len(set(units))), "schnet_value": r["a"], "baseline_value": r["b"],
            })
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def best_baseline(metrics: pd.DataFrame) -> str | None:
    """The baseline with the lowest RMSE (point estimate), or None."""
    base = metrics[metrics["model"] != MODEL_NAME].set_index("model")["rmse"].dropna()
    return str(base.idxmin()) if len(base) else None


# ----------------------------------------------------------------------------- convergence
def _float(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def read_convergence(paths: Sequence) -> pd.DataFrame:
    """One row per fold from the folds' provenance.json `convergence` entries.

    A provenance.json without the entry (an older run) gives status `unknown`, not an error.
    Columns: CONVERGENCE_COLUMNS; `converged` is True/False, or None when unknown.
    """
    rows = []
    for p in paths:
        try:
            doc = json.loads(Path(p).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CorruptFileError(p, str(exc).splitlines()[0]) from exc
        try:
            fold = fold_of_path(p)
        except ValueError:
            fold = int(doc.get("fold"))
        c = doc.get("convergence") if isinstance(doc, dict) else None
        row = {"fold": fold, "status": "unknown", "converged": None, "ratio": math.nan,
               "final_train_loss": math.nan, "mean_predictor_loss": math.nan,
               "threshold": math.nan, "hint": ""}
        if isinstance(c, dict):
            row.update(
                ratio=_float(c.get("ratio")), final_train_loss=_float(c.get("final_train_loss")),
                mean_predictor_loss=_float(c.get("mean_predictor_loss")),
                threshold=_float(c.get("threshold")), hint=str(c.get("hint") or ""),
            )
            conv = c.get("converged")
            if not isinstance(conv, bool) and math.isfinite(row["ratio"]) and math.isfinite(
                row["threshold"]
            ):
                conv = bool(row["ratio"] <= row["threshold"])
            if isinstance(conv, bool):
                row["converged"] = conv
                row["status"] = "converged" if conv else "unconverged"
        rows.append(row)
    df = pd.DataFrame(rows, columns=CONVERGENCE_COLUMNS)
    return df.sort_values("fold", kind="stable").reset_index(drop=True)


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


# ----------------------------------------------------------------------------------- output
def _fmt(v: float, digits: int = 3) -> str:
    return "nan" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}g}"


def comparison_line(metrics: pd.DataFrame, comparisons: pd.DataFrame | None) -> str:
    """SchNet against the best baseline: paired RMSE difference, its interval and the verdict."""
    best = best_baseline(metrics)
    if best is None or comparisons is None or not len(comparisons):
        return "SchNet vs the best baseline: no comparison (no baseline scored)"
    r = comparisons[(comparisons["baseline"] == best) & (comparisons["metric"] == "rmse")]
    if not len(r):
        return f"SchNet vs the best baseline ({best}): no comparison"
    r = r.iloc[0]
    ci = (
        f"[95% paired CI {_fmt(r['lo'])}, {_fmt(r['hi'])}]" if math.isfinite(_float(r["lo"]))
        else "[no bootstrap interval]"
    )
    return (
        f"SchNet vs the best baseline ({best}, RMSE {_fmt(r['baseline_value'], 4)}): RMSE "
        f"difference {_fmt(r['difference'], 3)} {ci} over {int(r['n_units'])} "
        f"{r['resampling_unit']}s resampled: {r['verdict']}"
    )


def summary_table(
    metrics: pd.DataFrame,
    model_id: str = "",
    scheme: str = "",
    comparisons: pd.DataFrame | None = None,
    convergence: pd.DataFrame | None = None,
) -> str:
    """Plain-text table of every model's metrics (RMSE and R2 with 95% intervals), then a
    WARNING line per unconverged fold and, last, SchNet against the best baseline (paired)."""
    head = (
        f"{'model':<13}{'n':>4}  {'RMSE [95% CI]':<24}{'MAE':>8}  {'R2 [95% CI]':>26}"
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


def write_tsv(df: pd.DataFrame, path) -> None:
    """A DataFrame as TSV, written atomically (esm_schnet.files.write_text)."""
    write_text(path, df.to_csv(sep="\t", index=False, float_format="%.6g", na_rep="nan"))


_HTML_STYLE = """<style>
body { font-family: sans-serif; font-size: 13px; margin: 1em; }
table.dataframe { border-collapse: collapse; margin-bottom: 1.5em; }
table.dataframe th, table.dataframe td { border: 1px solid #ccc; padding: 3px 8px; }
table.dataframe th { background: #f0f0f0; }
table.dataframe td { text-align: right; }
h2 { font-size: 15px; }
</style>"""


def tables_html(
    metrics: pd.DataFrame, comparisons: pd.DataFrame, convergence: pd.DataFrame, title: str = ""
) -> str:
    """The metrics, comparisons and convergence tables as one HTML page (pandas to_html)."""
    def table(df: pd.DataFrame) -> str:
        return df.to_html(index=False, na_rep="", float_format=lambda v: f"{v:.4g}", border=0)

    m = metrics.copy()
    m["RMSE [95% CI]"] = [
        f"{_fmt(r['rmse'], 4)} [{_fmt(r['rmse_lo'])}, {_fmt(r['rmse_hi'])}]"
        for _, r in m.iterrows()
    ]
    m["R2 [95% CI]"] = [
        f"{_fmt(r['r2'], 3)} [{_fmt(r['r2_lo'])}, {_fmt(r['r2_hi'])}]" for _, r in m.iterrows()
    ]
    m["description"] = m["model"].map(MODEL_DESCRIPTIONS).fillna("")
    short = m[["model", "n", "RMSE [95% CI]", "mae", "R2 [95% CI]", "pearson", "spearman",
               "description", "notes"]]
    parts = [
        "<!DOCTYPE html>", '<html><head><meta charset="utf-8"><title>esm-schnet metrics</title>',
        _HTML_STYLE, "</head><body>",
        f"<p>{title}</p>" if title else "",
        "<h2>Metrics (held-out predictions, 95% bootstrap intervals)</h2>", table(short),
        "<h2>SchNet minus each baseline (95% paired bootstrap intervals)</h2>",
        table(comparisons),
        "<h2>Convergence of each fold</h2>",
        table(convergence) if len(convergence) else "<p>no fold provenance given</p>",
        "<h2>All metric columns</h2>", table(metrics),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def metrics_document(
    metrics: pd.DataFrame,
    info: dict,
    model_id: str,
    scheme: str,
    n_boot: int,
    seed: int,
    comparisons: pd.DataFrame | None = None,
    convergence: pd.DataFrame | None = None,
) -> dict:
    extra = {}
    if comparisons is not None:
        extra["best_baseline"] = best_baseline(metrics)
        extra["comparisons"] = comparisons.to_dict(orient="records")
    if convergence is not None:
        extra["convergence"] = convergence_document(convergence)
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
            **extra,
            **info,
        }
    )


@dataclass(frozen=True)
class EvaluateInputs:
    """What `esm-schnet evaluate` reads, and its settings."""

    fold_predictions: Sequence[Path]
    folds: Path
    samples: Path
    shards: Sequence[Path]
    embedding_model: str
    scheme: str
    histories: Sequence[Path] = ()
    provenances: Sequence[Path] = ()  # every fold's provenance.json (convergence)
    n_boot: int = 1000
    seed: int = 0


@dataclass(frozen=True)
class EvaluateOutputs:
    """What `esm-schnet evaluate` writes (defaults: the workflow's paths)."""

    predictions: Path = Path("results/predictions.tsv")
    metrics: Path = Path("results/metrics.tsv")
    json: Path = Path("results/metrics.json")
    comparisons: Path = Path("results/comparisons.tsv")
    lengths: Path = Path("results/evaluate/lengths.tsv")
    history: Path = Path("results/evaluate/history.tsv")
    convergence: Path = Path("results/evaluate/convergence.tsv")
    html: Path = Path("results/evaluate/metrics.html")

    @classmethod
    def under(cls, root) -> "EvaluateOutputs":
        """The same layout below `root` instead of the working directory."""
        root = Path(root)
        return cls(**{
            k: root / getattr(cls, k) for k in
            ("predictions", "metrics", "json", "comparisons", "lengths", "history",
             "convergence", "html")
        })


def run(inputs: EvaluateInputs, outputs: EvaluateOutputs = EvaluateOutputs()) -> pd.DataFrame:
    """Everything `esm-schnet evaluate` does; returns the metrics table."""
    from .samples import read_sample_table
    from .store import load_records

    model_id, scheme = inputs.embedding_model, inputs.scheme
    n_boot, seed = inputs.n_boot, inputs.seed
    fold_preds = gather_fold_predictions(inputs.fold_predictions)
    histories = gather_histories(inputs.histories)
    convergence = read_convergence(inputs.provenances)
    folds = _read_tsv(inputs.folds, ["id", "fold"])
    folds["id"] = folds["id"].astype(str)
    samples = read_sample_table(inputs.samples, require_labels=True)
    log.info(
        "%d proteins in %d folds (scheme %s); loading %d shard(s)",
        len(folds), folds["fold"].nunique(), scheme, len(inputs.shards),
    )
    records = load_records(list(inputs.shards))
    preds, metrics, info = evaluate_tables(
        fold_preds, folds, samples["label"], records, n_boot=n_boot, seed=seed, scheme=scheme
    )
    comparisons = compare_to_baselines(preds, folds, scheme, n_boot=n_boot, seed=seed)
    for line in convergence_lines(convergence):
        log.warning("%s", line.removeprefix("WARNING: "))
    lengths = chain_lengths({i: records[i] for i in folds["id"].astype(str)})
    mt = metrics.copy()
    mt["embedding_model"] = model_id
    mt["embedding_kind"] = embedding_kind(model_id)
    mt["cv_scheme"] = scheme
    write_tsv(preds, outputs.predictions)
    write_tsv(mt, outputs.metrics)
    write_tsv(comparisons, outputs.comparisons)
    write_tsv(lengths, outputs.lengths)
    write_tsv(histories, outputs.history)
    write_tsv(convergence, outputs.convergence)
    doc = metrics_document(
        metrics, info, model_id, scheme, n_boot, seed, comparisons=comparisons,
        convergence=convergence,
    )
    write_json(outputs.json, doc, sort_keys=False)
    title = f"embedding {model_id}; CV scheme {scheme}; {len(folds)} proteins"
    write_text(outputs.html, tables_html(mt, comparisons, convergence, title))
    log.info("wrote %s, %s, %s, %s", outputs.predictions, outputs.metrics, outputs.json,
             outputs.comparisons)
    log.info(
        "summary (held-out predictions, 95%% bootstrap intervals over %d resamples):\n%s",
        n_boot, summary_table(metrics, model_id, scheme, comparisons, convergence),
    )
    return metrics


def cli(argv: list[str]) -> int:
    from .log import job_log

    ap = argparse.ArgumentParser(
        prog="esm-schnet evaluate",
        description="Gather fold predictions, score SchNet and the baselines on the same folds.",
    )
    d = EvaluateOutputs()
    ap.add_argument("--fold-predictions", nargs="+", required=True, metavar="TSV")
    ap.add_argument("--histories", nargs="*", default=[], metavar="TSV")
    ap.add_argument("--provenance", nargs="*", default=[], metavar="JSON",
                    help="every fold's provenance.json (convergence of each fold)")
    ap.add_argument("--folds", required=True, metavar="TSV")
    ap.add_argument("--samples", required=True, metavar="TSV")
    ap.add_argument("--shards", nargs="+", required=True, metavar="H5")
    ap.add_argument("--embedding-model", required=True)
    ap.add_argument("--scheme", required=True)
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out-predictions", type=Path, default=d.predictions)
    ap.add_argument("--out-metrics", type=Path, default=d.metrics)
    ap.add_argument("--out-json", type=Path, default=d.json)
    ap.add_argument("--out-comparisons", type=Path, default=d.comparisons)
    ap.add_argument("--out-lengths", type=Path, default=d.lengths)
    ap.add_argument("--out-history", type=Path, default=d.history)
    ap.add_argument("--out-convergence", type=Path, default=d.convergence)
    ap.add_argument("--out-html", type=Path, default=d.html)
    ap.add_argument("--log", default=None, help="append the log to this file")
    a = ap.parse_args(argv)
    inputs = EvaluateInputs(
        fold_predictions=[Path(p) for p in a.fold_predictions],
        histories=[Path(p) for p in a.histories],
        provenances=[Path(p) for p in a.provenance],
        folds=Path(a.folds),
        samples=Path(a.samples),
        shards=[Path(p) for p in a.shards],
        embedding_model=a.embedding_model,
        scheme=a.scheme,
        n_boot=a.bootstrap,
        seed=a.seed,
    )
    outputs = EvaluateOutputs(
        predictions=a.out_predictions, metrics=a.out_metrics, json=a.out_json,
        comparisons=a.out_comparisons, lengths=a.out_lengths, history=a.out_history,
        convergence=a.out_convergence, html=a.out_html,
    )
    with job_log(a.log, echo=a.log is None):
        run(inputs, outputs)
    return 0
