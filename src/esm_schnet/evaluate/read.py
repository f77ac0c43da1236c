"""Reading what the folds wrote: predictions.tsv, history.tsv and provenance.json
(convergence), and per-chain lengths of the embedding records."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from esm_schnet.core.errors import CorruptFileError, InputError
from esm_schnet.evaluate.schema import CONVERGENCE_COLUMNS
from esm_schnet.tasks.common import to_float as _float

_FOLD_DIR = re.compile(r"fold-(\d+)$")


def _read_tsv(path, required: Sequence[str], **kwargs) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, sep="\t", **kwargs)
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
    """Concatenate fold predictions.tsv files: id, y_true, y_pred, fold, and with several labels
    also target (the label's name) and p_<class> columns (esm_schnet.train.job)."""
    frames = []
    for p in paths:
        df = _read_tsv(p, ["id", "y_true", "y_pred"])
        if "target" in df.columns:  # several labels: class names stay text ("1", not 1.0)
            df = _read_tsv(p, ["id", "y_true", "y_pred"],
                           dtype={"id": str, "target": str, "y_true": str, "y_pred": str})
        if "fold" not in df.columns:
            df["fold"] = fold_of_path(p)
        extra = [c for c in df.columns if c == "target" or c.startswith("p_")]
        frames.append(df[["id", "y_true", "y_pred", "fold", *extra]])
    if not frames:
        raise InputError(None, "no fold predictions to evaluate")
    out = pd.concat(frames, ignore_index=True)
    out["id"] = out["id"].astype(str)
    key = out["id"] if "target" not in out.columns else out["target"].astype(str) + "/" + out["id"]
    dup = out["id"][key.duplicated()].unique()
    if len(dup):
        raise InputError(dup[0], f"predicted in more than one fold ({len(dup)} such proteins)")
    return out


def label_predictions(fold_predictions: pd.DataFrame, spec, specs) -> pd.DataFrame:
    """The fold predictions of one label (LabelSpec `spec` of `specs`): id, y_true, y_pred,
    fold, typed by its task (floats for regression; for classification the class text and
    p_<class> of its classes)."""
    from esm_schnet.tasks import task_of

    fp = fold_predictions
    if "target" in fp.columns:
        fp = fp[fp["target"].astype(str) == spec.name]
    elif len(specs) > 1 or task_of(spec).has_classes:
        raise InputError(None, "fold predictions have no target column but several labels "
                               "or a classification label are configured: rerun the folds")
    return task_of(spec).read_fold_predictions(fp, spec)


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


@dataclass
class PooledRecord:
    """What evaluate keeps of one protein instead of its embedding: residue count, chains and
    the mean- and sum-pooled features (float64, as the baselines pool them)."""

    id: str
    n_residues: int
    chain_index: np.ndarray
    chain_names: list[str]
    mean: np.ndarray  # [D] mean over residues
    sum: np.ndarray  # [D] sum over residues


def pool_record(rec) -> PooledRecord:
    """The PooledRecord of a record with an embedding [L, D] (esm_schnet.core.store.ProteinRecord)."""
    e = np.asarray(rec.embedding, dtype=np.float64)
    return PooledRecord(rec.id, int(rec.n_residues), np.asarray(rec.chain_index),
                        list(getattr(rec, "chain_names", None) or []), e.mean(axis=0),
                        e.sum(axis=0))


def pooled_records(shards: Sequence, ids=None, chunk: int = 64) -> dict[str, PooledRecord]:
    """PooledRecord of every protein of `shards` (or of `ids`), read `chunk` proteins at a time
    shard by shard: memory holds the pooled features, never all embeddings (10,000 proteins of
    300 residues of ESM2-650M would be 15 GB)."""
    from esm_schnet.core.store import index_shards, read_shard

    index, _ = index_shards(list(shards), ids)
    by_shard: dict[Path, list[str]] = {}
    for pid, path in index.items():
        by_shard.setdefault(path, []).append(pid)
    out: dict[str, PooledRecord] = {}
    for path, members in by_shard.items():
        for k in range(0, len(members), chunk):
            for pid, rec in read_shard(path, members[k : k + chunk]).items():
                out[pid] = pool_record(rec)
    return out


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
