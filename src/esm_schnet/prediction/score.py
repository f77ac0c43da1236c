"""Score new structures with trained models (`esm-schnet predict`, `esm_schnet.predict`): the
scoring table and the workflow mode here; the one-step mode in prediction/one_step.py, the
command line in prediction/cli.py.

Two ways in, one scoring path (esm_schnet.prediction.ensemble), so both give the same numbers:

- The workflow's `predict` target parses the structures of `predict.samples` into their own
  namespace (results/predict/structures/<id>.h5, with parse.on_error forced to `skip` so one
  broken file never stops the others), embeds them through the embedding stage (reusing its
  content-addressed cache) into results/predict/embeddings/<tag>/, and `run` scores them with the
  models `predict.models` names (the final model, the fold models, or both):
  `esm-schnet predict --samples T --structures H5... --shards H5... --model M [--model M ...]`.
- One step, no sample table and no Snakemake (`predict_structures`; the public
  `esm_schnet.predict`): `esm-schnet predict --model M [--model M ...] FILE...` parses the files
  in memory, embeds them with the featurizer and settings recorded in the model
  (checkpoint.recorded_embedding; the same embedding cache), and prints or writes the table.

The table: id, prediction (the mean over the models), prediction_std (their standard deviation,
ddof=1; empty with one model), n_models, status, reason (+ label, error where the sample table
has labels; + structure in the one-step mode). status is `ok`, `skipped` (the structure could not
be parsed; reason says why) or `failed` (parsed but could not be scored); the prediction columns
are empty unless ok.

A model of several labels (or a classification label) writes, instead of prediction and
prediction_std, per label `prediction_<label>` and `prediction_std_<label>` (regression) or
`prediction_<label>` (the most probable class of the mean probabilities) and `p_<label>_<class>`
(the class probabilities averaged over the models) (classification); where the sample table has
that label's column, `label_<label>` (and `error_<label>` for regression) too.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from esm_schnet.core.errors import ConfigError

log = logging.getLogger("esm_schnet.predict")

COLUMNS = ["id", "prediction", "prediction_std", "n_models", "status", "reason"]


def predict_table(
    ids: Sequence[str],
    labels: Mapping[str, float] | None,
    parse_errors: Mapping[str, str | None],
    records: Mapping,
    models: Sequence,
    descriptors: Mapping | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """(table, per-model predictions [n_models, n_ids]): one row per requested id, in order.
    `labels`: id -> label; for models of several labels, label name -> {id: value} (and the
    per-model predictions {label: array}, see `_per_label_table`).

    parse_errors: id -> reason the structure was skipped (None when it parsed);
    records: id -> esm_schnet.core.store.ProteinRecord; models: esm_schnet.train.checkpoint.TrainedModels;
    descriptors: id -> the parsed structure's full descriptor array (models with
    model.node_features append their columns to the embedding, as in training).
    """
    from esm_schnet.prediction.ensemble import model_predictions, summarise

    want = int(models[0].config.embedding_width)
    dims = {int(np.asarray(r.embedding).shape[1]) for r in records.values()}
    if dims and dims != {want}:
        got = ", ".join(map(str, sorted(dims)))
        raise ConfigError(
            f"the model expects {want}-dimensional embeddings but the prediction "
            f"embeddings have {got} (was embedding.model changed after training? "
            f"retrain with `snakemake results/final/model.pt`)"
        )
    ids = list(ids)
    parsed = [i for i in ids if not parse_errors.get(i)]
    from esm_schnet.core.labels import is_default

    if not is_default(models[0].labels):
        return _per_label_table(ids, parsed, labels or {}, parse_errors, records, models,
                                descriptors)
    preds, failed = model_predictions(models, records, parsed, descriptors=descriptors)
    mean, std, n = summarise(preds)
    column = {pid: j for j, pid in enumerate(parsed)}
    per_model = np.full((len(models), len(ids)), np.nan)
    rows = []
    for k, pid in enumerate(ids):
        status, reason = _status(pid, parse_errors, failed)
        row = {"id": pid, "prediction": math.nan, "prediction_std": math.nan, "n_models": 0,
               "status": status, "reason": reason}
        if status == "ok":
            j = column[pid]
            per_model[:, k] = preds[:, j]
            row.update(prediction=float(mean[j]), prediction_std=float(std[j]), n_models=int(n[j]))
        rows.append(row)
    table = pd.DataFrame(rows, columns=COLUMNS)
    if labels is not None:
        lab = pd.Series([labels.get(i, math.nan) for i in ids], dtype=float)
        if lab.notna().any():
            table["label"] = lab.to_numpy()
            table["error"] = table["prediction"] - table["label"]
    return table, per_model


def _status(pid: str, parse_errors: Mapping, failed: Mapping) -> tuple[str, str]:
    """(status, reason) of one requested protein; a warning in the log when it is not ok."""
    if parse_errors.get(pid):
        status, reason = "skipped", f"could not be parsed: {parse_errors[pid]}"
    elif pid in failed:
        status, reason = "failed", failed[pid]
    else:
        return "ok", ""
    log.warning("%s: %s (%s)", pid, status, reason)
    return status, reason


def _per_label_table(ids, parsed, labels: Mapping[str, Mapping], parse_errors, records, models,
                     descriptors=None) -> tuple[pd.DataFrame, dict]:
    """predict_table of models with several labels: (table, {label: per-model predictions})."""
    from esm_schnet.prediction.ensemble import model_predictions, summarise
    from esm_schnet.tasks import task_of

    specs = models[0].labels
    outs, failed = model_predictions(models, records, parsed, per_label=True,
                                     descriptors=descriptors)
    column = {pid: j for j, pid in enumerate(parsed)}
    stats = {s.name: summarise(outs[s.name]) for s in specs}
    columns = ["id", "n_models", "status", "reason"]
    for s in specs:
        columns.append(f"prediction_{s.name}")
        columns += task_of(s).predict_columns(s)
    rows = []
    for pid in ids:
        status, reason = _status(pid, parse_errors, failed)
        row = {"id": pid, "n_models": 0, "status": status, "reason": reason}
        if status == "ok":
            j = column[pid]
            for s in specs:
                mean, std, n = stats[s.name]
                row.update(task_of(s).predict_cells(s, mean[j], std[j]))
                row["n_models"] = int(np.min(n[j]))
        rows.append(row)
    table = pd.DataFrame(rows, columns=columns)
    for s in specs:
        given = labels.get(s.name) or {}
        col = [given.get(i) for i in ids]
        col = [None if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in col]
        if any(v is not None for v in col):
            table[f"label_{s.name}"] = col
            task_of(s).label_error(table, s)
    return table, outs


def log_summary(table: pd.DataFrame, n_models: int, where: str | None) -> None:
    n_ok = int((table["status"] == "ok").sum())
    log.info("predicted %d of %d protein(s) with %d model(s)%s", n_ok, len(table), n_models,
             f"; wrote {where}" if where else "")
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


def check_shard_embeddings(models: Sequence, attrs: dict) -> None:
    """ConfigError when the prediction shard's featurizer is not the one the models were trained
    on (only what both sides record is compared)."""
    from esm_schnet.prediction.ensemble import shared_embedding

    emb = shared_embedding(models)
    pairs = [("model", "model_id")] + ([("weights", "model_revision")] if emb["recorded"] else [])
    for ours, theirs in pairs:
        a, b = emb.get(ours), attrs.get(theirs)
        if a and b and str(a) != str(b):
            raise ConfigError(
                f"the model was trained on embeddings with {ours} {a!r} but the prediction "
                f"embeddings have {b!r} (was embedding.model or its weights changed after "
                f"training? retrain with `snakemake results/final/model.pt`)"
            )


def run(
    samples_path,
    structure_paths: Sequence,
    shard_paths: Sequence,
    model_paths,
    out_path,
    device: str = "cpu",
) -> pd.DataFrame:
    """Everything the workflow's `esm-schnet predict --samples ...` does; returns the table."""
    from esm_schnet.prediction.ensemble import as_models
    from esm_schnet.evaluate import write_tsv
    from esm_schnet.parse import read_structure_h5
    from esm_schnet.core.samples import read_sample_table
    from esm_schnet.core.store import load_records, shard_attrs

    models = as_models(model_paths, device=device)
    specs = models[0].labels
    samples = read_sample_table(samples_path, require_labels=False, labels=specs)
    ids = list(samples["id"])
    parse_errors: dict[str, str | None] = {}
    descriptors: dict = {}  # id -> full descriptor array (models with model.node_features)
    groups = next((m.config.node_features for m in models if m.config.node_features), [])
    for p in structure_paths:
        protein = read_structure_h5(p)
        parse_errors[protein.id] = protein.error or (
            None if protein.n_residues > 0 else "no residue with a C-alpha atom"
        )
        if groups and not parse_errors[protein.id]:
            if protein.descriptors is None:
                from esm_schnet.core.errors import EsmSchnetError
                from esm_schnet.encoders.node_features import stale_file

                raise EsmSchnetError(stale_file(p, groups))
            descriptors[protein.id] = protein.descriptors
    for i in ids:
        parse_errors.setdefault(i, "no parsed structure was given for this id")
    records = load_records(list(shard_paths)) if shard_paths else {}
    records = {k: v for k, v in records.items() if k in set(ids)}
    attrs = next((a for a in map(shard_attrs, shard_paths) if a.get("n_proteins")), {})
    check_shard_embeddings(models, attrs)
    log.info(
        "scoring %d protein(s) with %d model(s): %s (trained on %s embeddings, %d features)",
        len(ids), len(models), ", ".join(map(str, as_list(model_paths))),
        models[0].embedding["model"] or "?", models[0].config.in_channels,
    )
    from esm_schnet.core.labels import is_default

    labels = (samples["label"].to_dict() if is_default(specs)
              else {s.name: samples[s.name].to_dict() for s in specs})
    table, _ = predict_table(ids, labels, parse_errors, records, models, descriptors)
    write_tsv(table, out_path)
    log_summary(table, len(models), str(out_path))
    return table


def as_list(x) -> list:
    return [x] if isinstance(x, (str, os.PathLike)) else list(x)


NOT_CONFIGURED = (
    "predict.samples is not set: set it to a sample table (columns id, structure) of the "
    "structures to score, e.g. snakemake --cores 2 --config 'predict={samples: new.tsv}'"
)


def not_configured(log=None) -> None:
    """The `predict` target without predict.samples: one clear error (job log + console)."""
    from esm_schnet.core.log import job_log

    with job_log(log):
        raise ConfigError(NOT_CONFIGURED)
