"""Score new structures with the final model (`esm-schnet predict`).

The `predict` target parses the structures of `predict.samples` into their own namespace
(results/predict/structures/<id>.h5, with parse.on_error forced to `skip` so one broken file never
stops the others), embeds them through the embedding stage (reusing its content-addressed cache,
so a sequence seen in training is not embedded again) into results/predict/embeddings/<tag>/, and
this module scores them with results/final/model.pt:

results/predict/predictions.tsv  id, prediction, status, reason (+ label, error where the table
has labels). status is `ok`, `skipped` (the structure could not be parsed; reason says why) or
`failed` (parsed but could not be scored, e.g. no embedding); prediction is empty unless ok.

A model of several labels (or a classification label) writes, instead of `prediction`, one
column per label: `prediction_<label>` (the value, or the most probable class) and for a
classification label `p_<label>_<class>` per class; where the table has that label's column,
`label_<label>` (and `error_<label>` for regression) too.
"""

from __future__ import annotations

import argparse
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ConfigError

log = logging.getLogger("esm_schnet.predict")

COLUMNS = ["id", "prediction", "status", "reason"]


def predict_table(
    ids: Sequence[str],
    labels: Mapping[str, float] | None,
    parse_errors: Mapping[str, str | None],
    records: Mapping,
    trained,
) -> pd.DataFrame:
    """One row per requested id, in table order. `labels`: id -> label of the one-label
    model; for a model of several labels, label name -> {id: value}.

    parse_errors: id -> reason the structure was skipped (None when it parsed);
    records: id -> esm_schnet.store.ProteinRecord; trained: esm_schnet.checkpoint.TrainedModel.
    """
    want = int(trained.config.in_channels)
    dims = {int(np.asarray(r.embedding).shape[1]) for r in records.values()}
    if dims and dims != {want}:
        got = ", ".join(map(str, sorted(dims)))
        raise ConfigError(
            f"the final model expects {want}-dimensional embeddings but the prediction "
            f"embeddings have {got} (was embedding.model changed after training? "
            f"retrain with `snakemake results/final/model.pt`)"
        )
    from .labels import is_default

    if not is_default(trained.labels):
        return _per_label_table(ids, labels or {}, parse_errors, records, trained)
    rows = []
    for pid in ids:
        status, reason = _status(pid, parse_errors, records)
        row = {"id": pid, "prediction": math.nan, "status": status, "reason": reason}
        if status == "ok":
            try:
                row["prediction"] = float(trained.predict_records([records[pid]])[pid])
            except (ValueError, RuntimeError) as exc:
                row.update(status="failed", reason=str(exc).splitlines()[0])
        if row["status"] != "ok":
            log.warning("%s: %s (%s)", pid, row["status"], row["reason"])
        rows.append(row)
    table = pd.DataFrame(rows, columns=COLUMNS)
    if labels is not None:
        lab = pd.Series([labels.get(i, math.nan) for i in ids], dtype=float)
        if lab.notna().any():
            table["label"] = lab.to_numpy()
            table["error"] = table["prediction"] - table["label"]
    return table


def _status(pid, parse_errors, records) -> tuple[str, str]:
    err = parse_errors.get(pid)
    if err:
        return "skipped", f"could not be parsed: {err}"
    if pid not in records:
        return "failed", "no embedding record for this protein"
    return "ok", ""


def _per_label_table(ids, labels: Mapping[str, Mapping], parse_errors, records, trained
                     ) -> pd.DataFrame:
    """predict_table of a model with several labels; `labels`: label name -> {id: value} of
    the prediction table's label columns (absent or empty where it has none)."""
    specs = trained.labels
    columns = ["id", "status", "reason"]
    for s in specs:
        columns.append(f"prediction_{s.name}")
        if s.is_classification:
            columns += [f"p_{s.name}_{c}" for c in s.classes]
    rows = []
    for pid in ids:
        status, reason = _status(pid, parse_errors, records)
        row = {"id": pid, "status": status, "reason": reason}
        if status == "ok":
            try:
                values = trained.predict_records_labels([records[pid]])
            except (ValueError, RuntimeError) as exc:
                row.update(status="failed", reason=str(exc).splitlines()[0])
            else:
                for s in specs:
                    v = values[s.name][pid]
                    if s.is_classification:
                        row[f"prediction_{s.name}"] = s.classes[int(np.argmax(v))]
                        row.update({f"p_{s.name}_{c}": float(p) for c, p in zip(s.classes, v)})
                    else:
                        row[f"prediction_{s.name}"] = float(v)
        if row["status"] != "ok":
            log.warning("%s: %s (%s)", pid, row["status"], row["reason"])
        rows.append(row)
    table = pd.DataFrame(rows, columns=columns)
    for s in specs:
        given = labels.get(s.name) or {}
        col = [given.get(i) for i in ids]
        col = [None if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in col]
        if any(v is not None for v in col):
            table[f"label_{s.name}"] = col
            if not s.is_classification:
                table[f"error_{s.name}"] = (table[f"prediction_{s.name}"].astype(float)
                                           - table[f"label_{s.name}"].astype(float))
    return table


def run(
    samples_path,
    structure_paths: Sequence,
    shard_paths: Sequence,
    model_path,
    out_path,
    device: str = "cpu",
) -> pd.DataFrame:
    """Everything `esm-schnet predict` does; returns the predictions table."""
    from .evaluate import write_tsv
    from .checkpoint import load_model
    from .samples import read_sample_table
    from .store import load_records
    from .parse import read_structure_h5

    trained = load_model(model_path, device=device)
    samples = read_sample_table(samples_path, require_labels=False, labels=trained.labels)
    ids = list(samples["id"])
    parse_errors: dict[str, str | None] = {}
    for p in structure_paths:
        protein = read_structure_h5(p)
        parse_errors[protein.id] = protein.error or (
            None if protein.n_residues > 0 else "no residue with a C-alpha atom"
        )
    missing = [i for i in ids if i not in parse_errors]
    for i in missing:
        parse_errors[i] = "no parsed structure was given for this id"
    records = load_records(list(shard_paths)) if shard_paths else {}
    records = {k: v for k, v in records.items() if k in set(ids)}
    log.info(
        "scoring %d protein(s) with %s (trained on %s embeddings, %d features)",
        len(ids), model_path, trained.meta.get("embedding_model", "?"), trained.config.in_channels,
    )
    from .labels import is_default

    labels = (samples["label"].to_dict() if is_default(trained.labels)
              else {s.name: samples[s.name].to_dict() for s in trained.labels})
    table = predict_table(ids, labels, parse_errors, records, trained)
    write_tsv(table, out_path)
    n_ok = int((table["status"] == "ok").sum())
    log.info("predicted %d of %d protein(s); wrote %s", n_ok, len(table), out_path)
    if n_ok < len(table):
        bad = table[table["status"] != "ok"]
        log.warning(
            "%d protein(s) not predicted:\n%s",
            len(bad), "\n".join(f"  {r.id}: {r.status}: {r.reason}" for r in bad.itertuples()),
        )
    if "error" in table.columns and n_ok:
        ok = table[table["status"] == "ok"].dropna(subset=["label"])
        if len(ok):
            rmse = float(np.sqrt((ok["error"] ** 2).mean()))
            log.info("on the %d labelled protein(s): RMSE %.4g, MAE %.4g",
                     len(ok), rmse, float(ok["error"].abs().mean()))
    return table


NOT_CONFIGURED = (
    "predict.samples is not set: set it to a sample table (columns id, structure) of the "
    "structures to score, e.g. snakemake --cores 2 --config 'predict={samples: new.tsv}'"
)


def not_configured(log=None) -> None:
    """The `predict` target without predict.samples: one clear error (job log + console)."""
    from .log import job_log

    with job_log(log):
        raise ConfigError(NOT_CONFIGURED)


def cli(argv: list[str]) -> int:
    from .log import job_log

    ap = argparse.ArgumentParser(
        prog="esm-schnet predict",
        description="Score parsed and embedded new structures with the final model.",
    )
    ap.add_argument("--samples", required=True, help="prediction sample table (label optional)")
    ap.add_argument("--structures", nargs="+", required=True, metavar="H5",
                    help="parsed structures (results/predict/structures/<id>.h5)")
    ap.add_argument("--shards", nargs="*", default=[], metavar="H5",
                    help="embedding shard(s) of the prediction set")
    ap.add_argument("--model", required=True, help="final model (results/final/model.pt)")
    ap.add_argument("--out", required=True, help="output TSV")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--log", default=None)
    a = ap.parse_args(argv)
    for p in [a.model, *a.shards]:
        if not Path(p).is_file():
            raise ConfigError(f"{p} does not exist")
    with job_log(a.log, echo=a.log is None):
        if a.threads:
            import torch

            torch.set_num_threads(a.threads)
        run(a.samples, a.structures, a.shards, a.model, a.out, device=a.device)
    return 0
