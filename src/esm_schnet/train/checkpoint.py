"""Model checkpoints (model.pt): save, load, and the loaded `TrainedModel` that predicts.

Payload (a dict, loadable with `torch.load(weights_only=True)`): `format` ("esm-schnet-model"),
`format_version`, `model_config` (asdict of ModelConfig), `labels` (every label's head:
spec with task and classes, target scaler or class prior; esm_schnet.tasks.heads), `meta`,
`state_dict`. Version 8 added `model.schnet.head` to the schnet settings (before: the
per-residue head, "residue"). Version 7 added `model_config.node_features` (model.node_features: the
descriptor groups after the embedding, esm_schnet.encoders.node_features; before: none). Version 6 moved the encoder's own settings into `model_config.settings` (the
section model.<encoder>; before, SchNet's were flat fields of the model config, and every model
was SchNet); version 4 added `labels` and `model_config.out_channels` (before: one regression
label `label`, its `target_scaler`); version 2 added `model_config.encoder`; versions 1-7 still
load (their fields translated).

`meta["embedding"]` records how the training embeddings were made, enough to make them again for
new structures (`esm-schnet predict --model M FILE...`): `featurizer`, `model` (embedding.model),
`revision` (embedding.revision as configured), `weights` (their identity: hub commit, weights
hash, `builtin`), `layer` (the hidden-state index actually exported), `dtype` (the compute
dtype actually used), `window`, `overlap` (0: the featurizer does not window), `storage_dtype`
and `dim`. Files written before it have only `meta["embedding_model"]` and
`meta["embedding_revision"]`; `TrainedModel.embedding` fills the rest from the schema's defaults
and says so (`recorded: False`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from esm_schnet.core.errors import ConfigError, CorruptFileError
from esm_schnet.core.files import write_torch
from esm_schnet.tasks.heads import LabelHeads
from esm_schnet.encoders.model import ModelConfig, TargetScaler, build_model

MODEL_FORMAT = "esm-schnet-model"
# 8: model.schnet.head in model_config.settings; 7: model_config.node_features; 6: the encoder's settings in model_config.settings; 5: model_config.centroid and .linear;
# 4: several labels (`labels` heads, model_config.out_channels); 3: target scaler with
# intercept + slope (1, 2: mu)
MODEL_FORMAT_VERSION = 8
# the fields of versions 1-5's flat model config that were SchNet's own (now model.schnet)
SCHNET_FIELDS = ("hidden_channels", "num_filters", "num_interactions", "num_gaussians", "filter",
                 "filter_spacing")


@dataclass
class TrainedModel:
    """A loaded model.pt: the network (eval mode), its config and the labels' heads."""

    model: nn.Module
    config: ModelConfig
    heads: LabelHeads  # (a TargetScaler: the one default regression label)
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        self.heads = as_heads(self.heads)

    @property
    def labels(self):
        """The LabelSpecs this model predicts, in output order."""
        return self.heads.specs

    @property
    def scaler(self) -> TargetScaler | None:
        """The first regression label's target scaler (one-label models: the scaler)."""
        return self.heads.first_scaler()

    @torch.no_grad()
    def predict_labels(self, graphs, batch_size: int = 8) -> dict[str, dict]:
        """Every label of ProteinGraphs (built with this model's cutoff): {label name: {id:
        value}}, the value a float (regression) or a numpy vector of class probabilities in
        the order of the spec's classes (classification). `graphs`: any iterable; a Sequence
        (e.g. esm_schnet.train.batches.ProteinDataset, read as batches need it) is indexed
        `batch_size` graphs at a time, not copied."""
        from collections.abc import Sequence

        from esm_schnet.encoders.graph import collate
        from esm_schnet.encoders.tabulated import shared_filter_tables
        from esm_schnet.tasks import task_of

        self.model.eval()
        out: dict[str, dict] = {s.name: {} for s in self.heads.specs}
        graphs = graphs if isinstance(graphs, Sequence) else list(graphs)
        device = next(self.model.parameters()).device
        with shared_filter_tables(self.model):
            for k in range(0, len(graphs), batch_size):
                b = collate([graphs[j] for j in range(k, min(k + batch_size, len(graphs)))])
                b = b.to(device)
                values = self.heads.to_outputs(self.model(b).double(), b.num_nodes.double())
                for spec, v in zip(self.heads.specs, values):
                    v = v.cpu().numpy()
                    task = task_of(spec)
                    out[spec.name].update({i: task.as_value(spec, p) for i, p in zip(b.ids, v)})
        return out

    def predict(self, graphs, batch_size: int = 8) -> dict[str, float]:
        """The first label of ProteinGraphs: {id: value} (one-label regression models: the
        prediction; for a classification label, the probability of its last class)."""
        from esm_schnet.tasks import task_of

        spec = self.heads.specs[0]
        first = self.predict_labels(graphs, batch_size)[spec.name]
        task = task_of(spec)
        return {i: task.first_value(spec, p) for i, p in first.items()}

    @property
    def embedding(self) -> dict:
        """How this model's training embeddings were made (see the module docstring)."""
        return recorded_embedding(self.meta)

    def graph(self, record, descriptors=None):
        """The ProteinGraph of one esm_schnet.core.store ProteinRecord as this model reads it:
        its embedding, then its structural descriptors' columns of model.node_features
        (`descriptors`: the structure's full descriptor array, esm_schnet.parse; needed only
        when the model has node features), on this model's radius graph."""
        from esm_schnet.encoders.graph import build_graph
        from esm_schnet.encoders.node_features import node_features, node_inputs

        groups = self.config.node_features
        n = len(record.ca)
        feats = node_features(record.id, descriptors, groups, n) if groups else None
        return build_graph(record.id, node_inputs(record.embedding, feats), record.ca,
                           self.config.cutoff, self.config.max_neighbors)

    def _graphs(self, records, descriptors=None):
        recs = records.values() if isinstance(records, dict) else records
        descriptors = descriptors or {}
        return [self.graph(r, descriptors.get(r.id)) for r in recs]

    def predict_records(self, records, batch_size: int = 8, descriptors=None) -> dict[str, float]:
        """`predict` from esm_schnet.core.store ProteinRecords (dict id -> record, or an
        iterable); `descriptors`: id -> full descriptor array (models with node features)."""
        return self.predict(self._graphs(records, descriptors), batch_size)

    def predict_records_labels(self, records, batch_size: int = 8,
                               descriptors=None) -> dict[str, dict]:
        """`predict_labels` from esm_schnet.core.store ProteinRecords."""
        return self.predict_labels(self._graphs(records, descriptors), batch_size)


def embedding_meta(attrs: dict) -> dict:
    """`meta["embedding"]` of a model trained on shards with these file attrs
    (esm_schnet.core.store.shard_attrs); {} without attrs (no non-empty shard)."""
    if not attrs:
        return {}
    from esm_schnet.core.settings import default

    return {
        "featurizer": str(attrs.get("featurizer", "")),
        "model": str(attrs.get("model_id", "")),
        # shards written before `requested_revision` existed: the schema's default revision
        "revision": str(attrs.get("requested_revision") or default("embedding.revision")),
        "weights": str(attrs.get("model_revision", "")),
        "layer": int(attrs.get("layer", default("embedding.layer"))),
        "dtype": str(attrs.get("dtype", default("embedding.dtype"))),
        "window": int(attrs.get("window", 0)),
        "overlap": int(attrs.get("overlap", 0)),
        "storage_dtype": str(attrs.get("storage_dtype", default("embedding.storage_dtype"))),
        "dim": int(attrs.get("embedding_dim", 0)),
    }


def recorded_embedding(meta: dict) -> dict:
    """`meta["embedding"]` with `recorded: True`, or, for a model file written before it, what
    the file says (embedding_model, embedding_revision, embedding_dim) with the schema's defaults
    for the rest and `recorded: False`."""
    rec = meta.get("embedding")
    if isinstance(rec, dict) and rec.get("model"):
        return {**rec, "recorded": True}
    from esm_schnet.core.settings import default

    return {
        "featurizer": "",
        "model": str(meta.get("embedding_model", "")),
        "revision": default("embedding.revision"),
        "weights": str(meta.get("embedding_revision", "")),
        "layer": default("embedding.layer"),
        "dtype": default("embedding.dtype"),
        "window": default("embedding.window"),
        "overlap": default("embedding.overlap"),
        "storage_dtype": default("embedding.storage_dtype"),
        "dim": int(meta.get("embedding_dim", 0) or 0),
        "recorded": False,
    }


def as_heads(heads: LabelHeads | TargetScaler) -> LabelHeads:
    """LabelHeads, or a TargetScaler (one regression label `label`) as LabelHeads."""
    return LabelHeads.single(heads) if isinstance(heads, TargetScaler) else heads


def save_model(path, model: nn.Module, cfg: ModelConfig, heads: LabelHeads | TargetScaler,
               meta: dict) -> None:
    """Write model.pt atomically: state dict + hyperparameters, loadable with weights_only=True."""
    heads = as_heads(heads)
    payload = {
        "format": MODEL_FORMAT,
        "format_version": MODEL_FORMAT_VERSION,
        "model_config": asdict(cfg),
        "labels": heads.as_dict(),
        "meta": meta,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    write_torch(path, payload)


def _model_config(payload: dict, path) -> ModelConfig:
    version = payload.get("format_version")
    data = dict(payload["model_config"])
    if version not in range(1, MODEL_FORMAT_VERSION + 1):
        raise CorruptFileError(
            path, f"model format version {version!r}; this esm-schnet reads versions 1 to "
            f"{MODEL_FORMAT_VERSION} (a newer esm-schnet wrote it?)"
        )
    if version == 1:  # before the encoder registry: every model was SchNet
        data.setdefault("encoder", "schnet")
    if version < 4:  # before several labels: one output
        data.setdefault("out_channels", 1)
    if version < 5:  # before model.centroid and model.linear
        data.setdefault("centroid", False)
        data.setdefault("linear", False)
    if version < 6 and "settings" not in data:  # before per-encoder settings: flat fields
        data["settings"] = {k: data.pop(k) for k in SCHNET_FIELDS if k in data}
    if version < 7:  # before model.node_features: the embedding alone
        data.setdefault("node_features", [])
    if version < 8 and data.get("encoder") == "schnet":  # before model.schnet.head: PyG's
        data["settings"] = {"head": "residue", **data["settings"]}
    try:
        return ModelConfig.from_dict(data)
    except ConfigError as exc:
        raise CorruptFileError(path, str(exc)) from None


def load_model(path, device: str | torch.device = "cpu") -> TrainedModel:
    """Load a model.pt written by `save_model` (torch.load with weights_only=True)."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as exc:  # truncated zip, pickle error, ...
        raise CorruptFileError(path, type(exc).__name__) from exc
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
        raise CorruptFileError(path, "not an esm-schnet model file")
    cfg = _model_config(payload, path)
    model = build_model(cfg)
    model.load_state_dict(payload["state_dict"])
    model.to(device).eval()
    try:
        heads = (LabelHeads.from_dict(payload["labels"]) if "labels" in payload
                 else LabelHeads.single(TargetScaler.from_dict(payload["target_scaler"])))
    except (KeyError, TypeError, ValueError, ConfigError) as exc:
        raise CorruptFileError(path, f"label heads: {exc}") from None
    return TrainedModel(model=model, config=cfg, heads=heads, meta=dict(payload.get("meta", {})))
