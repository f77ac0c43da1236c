"""Several trained models scoring the same proteins: per-model predictions and their summary.

- `as_models(model_or_models)`: model.pt paths and/or loaded `TrainedModel`s -> a list of models
  (esm_schnet.train.checkpoint), checked to read the same features (`shared_embedding`).
- `model_predictions(models, records, ids)`: the array [n_models, n_proteins] of predictions
  (NaN where a protein could not be scored, with the reason); `per_label=True`: one array per
  label (class probabilities [n_models, n_proteins, classes] for a classification label). A protein's prediction never
  depends on the other proteins asked for: each is scored on its own.
- `summarise(predictions)`: over the models axis, the mean, the standard deviation (ddof=1; NaN
  with fewer than two models) and the number of models. Any trailing axis (several outputs per
  model) passes through, so one more loop over labels needs no change here.

What the spread is: the disagreement between models trained on different subsets of the proteins
(the cross-validation folds) and/or all of them (the final model), i.e. training-set and
optimisation variance. It is not a calibrated predictive uncertainty (docs/predict.md,
Ensembles).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from esm_schnet.core.errors import ConfigError
from esm_schnet.core.files import first_line

# what two models must agree on to score the same embeddings (when both files record it)
EMBEDDING_IDENTITY = ("model", "weights", "layer", "dtype", "window", "overlap", "storage_dtype")


def _describe(emb: dict) -> str:
    return f"{emb.get('model') or '?'} (weights {emb.get('weights') or '?'}, layer {emb.get('layer')})"


def as_models(model_or_models, device: str = "cpu") -> list:
    """A list of TrainedModels from a path, a TrainedModel, or an iterable of either."""
    from esm_schnet.prediction.load import load_model  # records the file's path in meta
    from esm_schnet.train.checkpoint import TrainedModel

    items = (
        [model_or_models]
        if isinstance(model_or_models, (str, os.PathLike, TrainedModel))
        else list(model_or_models)
    )
    if not items:
        raise ConfigError("no model given: pass a model.pt (results/final/model.pt) or several")
    models = []
    for item in items:
        if isinstance(item, TrainedModel):
            models.append(item)
            continue
        if not os.path.isfile(item):
            raise ConfigError(f"model {os.fspath(item)} does not exist")
        models.append(load_model(item, device=device))
    shared_embedding(models)
    shared_labels(models)
    return models


def shared_embedding(models: Sequence) -> dict:
    """The embedding record (checkpoint.recorded_embedding) the models share; ConfigError when
    two models were trained on different features (an ensemble averages like with like)."""
    first = models[0].embedding
    for m in models[1:]:
        emb = m.embedding
        keys = EMBEDDING_IDENTITY if first["recorded"] and emb["recorded"] else ("model",)
        differ = [k for k in keys if emb.get(k) != first.get(k)]
        if differ or m.config.embedding_width != models[0].config.embedding_width:
            where = m.meta.get("path", "a model")
            raise ConfigError(
                f"{where} was trained on other embeddings ({_describe(emb)}, "
                f"{m.config.in_channels} features) than {models[0].meta.get('path', 'the first model')} "
                f"({_describe(first)}, {models[0].config.in_channels} features): the models of an "
                f"ensemble must share their features"
            )
    return first


def shared_labels(models: Sequence) -> list:
    """The LabelSpecs the models share; ConfigError when two predict other labels (names,
    tasks or classes): an ensemble averages like with like."""
    first = models[0].labels
    for m in models[1:]:
        if m.labels != first:
            names = ", ".join(f"{s.name} ({s.task})" for s in m.labels)
            raise ConfigError(
                f"{m.meta.get('path', 'a model')} predicts other labels ({names}) than "
                f"{models[0].meta.get('path', 'the first model')} "
                f"({', '.join(f'{s.name} ({s.task})' for s in first)}): the models of an "
                "ensemble must predict the same labels"
            )
    return first


def model_predictions(
    models: Sequence, records: Mapping, ids: Iterable[str], per_label: bool = False,
    descriptors: Mapping | None = None,
) -> tuple[np.ndarray | dict[str, np.ndarray], dict[str, str]]:
    """(predictions [n_models, n_ids], failed id -> reason). A protein without a record, or one a
    model cannot score, is NaN in every row and listed in `failed` with the first reason.
    `descriptors`: id -> the structure's full descriptor array (esm_schnet.parse), which models
    with model.node_features read their columns from (TrainedModel.graph).

    The array holds each model's `TrainedModel.predict` (its first label). `per_label`: instead
    {label name: [n_models, n_ids]} for regression labels and [n_models, n_ids, classes] (class
    probabilities) for classification labels, every label of the (shared) LabelSpecs."""
    from esm_schnet.tasks import task_of

    ids = list(ids)
    descriptors = descriptors or {}
    specs = shared_labels(models)
    outs = {s.name: np.full((len(models), len(ids)) + task_of(s).ensemble_shape(s), np.nan)
            for s in specs}
    failed: dict[str, str] = {}
    graphs: dict[tuple, dict] = {}  # (cutoff, max_neighbors, node_features) -> id -> graph
    for m, model in enumerate(models):
        key = (model.config.cutoff, model.config.max_neighbors,
               tuple(model.config.node_features))
        if key not in graphs:
            graphs[key] = {}
            for pid in ids:
                if pid not in records:
                    continue
                r = records[pid]
                try:
                    graphs[key][pid] = model.graph(r, descriptors.get(pid))
                except (ValueError, RuntimeError) as exc:
                    failed.setdefault(pid, first_line(exc))
        for j, pid in enumerate(ids):
            if pid in failed:
                continue
            if pid not in records:
                failed[pid] = "no embedding record for this protein"
                continue
            try:
                values = model.predict_labels([graphs[key][pid]])
            except (ValueError, RuntimeError) as exc:
                failed[pid] = first_line(exc)
                continue
            for s in specs:
                outs[s.name][m, j] = values[s.name][pid]
    column = {pid: j for j, pid in enumerate(ids)}
    for pid in failed:  # a protein one model could not score is not scored by the others
        for out in outs.values():
            out[:, column[pid]] = np.nan
    if per_label:
        return outs, failed
    first = outs[specs[0].name]  # what TrainedModel.predict returns
    return task_of(specs[0]).ensemble_first(first), failed


def summarise(predictions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, std, n) over axis 0 (the models) of [n_models, n_proteins, ...]; NaN entries are
    left out; std has ddof=1 and is NaN where fewer than two models scored."""
    p = np.asarray(predictions, dtype=float)
    n = np.isfinite(p).sum(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: failed proteins
        mean = np.nanmean(p, axis=0)
        std = np.nanstd(p, axis=0, ddof=1)
    std = np.where(n >= 2, std, np.nan)
    return mean, std, n
