"""One step, no sample table and no Snakemake (`esm_schnet.predict`, `esm-schnet predict --model
M FILE...`): parse the files in memory, embed them with the featurizer and settings recorded in
the model (checkpoint.recorded_embedding; the same embedding cache as the workflow) and score
them through the same table as the workflow mode (esm_schnet.prediction.score)."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from esm_schnet.core.errors import ConfigError, InputError
from esm_schnet.prediction.score import as_list, log_summary, predict_table

log = logging.getLogger("esm_schnet.predict")


def structure_id(path) -> str:
    """The id of a structure file in the one-step mode: its name without .gz and extension."""
    name = Path(path).name
    if name.lower().endswith(".gz"):
        name = name[:-3]
    stem, dot, ext = name.rpartition(".")
    return stem if dot and stem else name


def embedding_config(models: Sequence, *, device=None, cache=None, models_dir=None,
                     max_tokens=None):
    """(EmbedConfig, embedding record) that make the models' features again: the featurizer
    settings recorded in the model files, plus what changes where and how fast, not what (device,
    cache, models_dir, max_tokens; None = the schema's default)."""
    from esm_schnet.embed.config import EmbedConfig
    from esm_schnet.prediction.ensemble import shared_embedding

    emb = shared_embedding(models)
    if not emb["model"]:
        raise ConfigError("the model file does not record which featurizer made its embeddings "
                          "(retrain it with this version of esm-schnet)")
    if not emb["recorded"]:
        log.warning("%s predates recorded featurizer settings: embedding %s with the default "
                    "revision, layer and dtype", models[0].meta.get("path", "the model"), emb["model"])
    settings = {k: emb[k] for k in ("model", "revision", "layer", "dtype", "storage_dtype")}
    if emb["window"]:  # 0: the featurizer does not window; the setting's default is unused then
        settings.update(window=emb["window"], overlap=emb["overlap"])
    where = dict(device=device, cache=cache, models_dir=models_dir, max_tokens=max_tokens)
    settings.update({k: v for k, v in where.items() if v is not None})
    return EmbedConfig.from_dict(settings), emb


def predict_structures(
    model_or_models,
    structures,
    *,
    ids: Sequence[str] | None = None,
    device: str | None = None,
    cache=None,
    models_dir=None,
    max_tokens: int | None = None,
) -> pd.DataFrame:
    """Parse, embed (featurizer settings recorded in the model, reusing the embedding cache) and
    score structure files with one model or several (an ensemble): the table of the module
    docstring, with a `structure` column. `ids` default to the file names without extension."""
    from esm_schnet.embed.shard import embed_proteins, load, make_cache
    from esm_schnet.prediction.ensemble import as_models
    from esm_schnet.parse import parse_structure
    from esm_schnet.core.settings import default

    paths = [os.fspath(p) for p in as_list(structures)]
    if not paths:
        raise ConfigError("no structure given: pass one or more PDB/mmCIF files (plain or .gz)")
    ids = list(ids) if ids is not None else [structure_id(p) for p in paths]
    if len(ids) != len(paths):
        raise ConfigError(f"{len(ids)} ids for {len(paths)} structures")
    seen: dict[str, str] = {}
    for pid, path in zip(ids, paths):
        if pid in seen:
            raise ConfigError(f"{seen[pid]} and {path} both have the id {pid!r}: rename one")
        seen[pid] = path
    device = device or default("embedding.device")
    models = as_models(model_or_models, device=_model_device(device))
    cfg, emb = embedding_config(models, device=device, cache=cache, models_dir=models_dir,
                                max_tokens=max_tokens)
    cfg.check()
    parse_errors: dict[str, str | None] = {}
    proteins = []
    for pid, path in zip(ids, paths):
        try:
            protein = parse_structure(path, pid)
        except InputError as exc:
            parse_errors[pid] = exc.reason
            continue
        parse_errors[pid] = None
        proteins.append(protein)
    records: dict = {}
    if proteins:
        featurizer = load(cfg)  # a featurizer whose weights are absent: one line saying how to fetch them
        if emb["recorded"] and emb["weights"] and featurizer.revision != emb["weights"]:
            log.warning("%s: the weights here (%s) are not those the model was trained with (%s): "
                        "the features, and so the predictions, may differ",
                        cfg.model, featurizer.revision, emb["weights"])
        for rec in embed_proteins(proteins, featurizer, cfg, cache=make_cache(featurizer, cfg)):
            # what a shard round trip does (esm_schnet.core.store): embeddings in the storage dtype
            rec.embedding = np.asarray(rec.embedding, dtype=np.dtype(cfg.storage_dtype))
            records[rec.id] = rec
    # the structural descriptors of model.node_features, from the same in-memory parse
    descriptors = {p.id: p.descriptors for p in proteins}
    table, _ = predict_table(ids, None, parse_errors, records, models, descriptors)
    table.insert(1, "structure", paths)
    log_summary(table, len(models), None)
    return table


def _model_device(device: str) -> str:
    from esm_schnet.core.device import resolve_device

    return str(resolve_device(device, setting="--device"))
