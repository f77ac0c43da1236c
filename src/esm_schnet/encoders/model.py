"""The model: its hyperparameters (`ModelConfig`), the encoder built from them and the target
standardisation (`TargetScaler`).

- encoders: esm_schnet.encoders (registry from `model.encoder`; `schnet` in encoders/schnet.py,
  its tabulated filter in encoders/tabulated.py)
- checkpoints (model.pt save/load, `TrainedModel`): esm_schnet.train.checkpoint
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import torch
from torch import Tensor, nn

from esm_schnet.encoders.graph import Batch


# settings every encoder receives besides its own section (`ModelConfig.encoder_kwargs`)
COMMON_KWARGS = ("in_channels", "out_channels", "cutoff", "max_neighbors", "readout",
                 "layer_norm", "centroid", "linear", "dropout")


@dataclass
class ModelConfig:
    """Everything needed to rebuild the network (stored in model.pt).

    No defaults here: build it with `from_config` from the (validated, default-filled) `graph`
    and `model` config sections; `cutoff` and `max_neighbors` come from the graph settings.
    `settings` is the encoder's own section, `model.<encoder>` (model.schnet); the encoder is
    built from `encoder_kwargs()`: the common fields and that section, as keyword arguments."""

    in_channels: int
    encoder: str
    cutoff: float
    max_neighbors: int | None
    readout: str
    layer_norm: bool
    centroid: bool  # per-residue centroid-distance features (esm_schnet.encoders.geometry)
    linear: bool  # a linear term of the input features beside the encoder (encoders/schnet.py)
    dropout: float
    out_channels: int  # outputs per protein: the labels' widths summed (esm_schnet.tasks.heads)
    settings: dict  # the encoder's own section, model.<encoder>
    # model.node_features: descriptor groups appended to the embedding, part of in_channels
    # (esm_schnet.encoders.node_features; [] = the embedding alone)
    node_features: list = field(default_factory=list)

    @classmethod
    def from_config(cls, in_channels: int, graph_cfg=None, model_cfg: dict | None = None,
                    out_channels: int = 1) -> "ModelConfig":
        """From the `graph` section (dict or GraphSettings) and the `model` section (dict); the
        schema fills what is missing, an unknown key is a ConfigError. `in_channels`: the node
        features' width (embedding + model.node_features); `out_channels`: the multi-task
        head's width (1: one regression label)."""
        from esm_schnet.core.settings import GraphSettings, section
        from esm_schnet.encoders.node_features import normalise

        graph = graph_cfg if isinstance(graph_cfg, GraphSettings) else GraphSettings.from_dict(graph_cfg)
        model = section("model", model_cfg)
        common = {k: model[k] for k in ("readout", "layer_norm", "centroid", "linear", "dropout")}
        return cls(in_channels=int(in_channels), encoder=model["encoder"],
                   cutoff=float(graph.cutoff), max_neighbors=graph.max_neighbors,
                   out_channels=int(out_channels), settings=dict(model.get(model["encoder"], {})),
                   node_features=normalise(model.get("node_features", [])), **common)

    @property
    def embedding_width(self) -> int:
        """The embedding's width: in_channels without the node features' columns."""
        from esm_schnet.encoders.node_features import width

        return self.in_channels - width(self.node_features)

    def encoder_kwargs(self) -> dict:
        """The encoder's keyword arguments: the common settings, then its own section."""
        return {**{k: getattr(self, k) for k in COMMON_KWARGS}, **self.settings}

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        """From a stored `asdict(cfg)` (model.pt); every field required, unknown keys refused."""
        from esm_schnet.core.errors import ConfigError

        names = [f.name for f in fields(cls)]
        unknown = sorted(set(data) - set(names))
        missing = [n for n in names if n not in data]
        if unknown or missing:
            raise ConfigError(f"model config: unknown {unknown}, missing {missing}")
        return cls(**data)


def build_model(cfg: ModelConfig) -> nn.Module:
    """The encoder named by `cfg.encoder` (esm_schnet.encoders registry)."""
    from esm_schnet.encoders import build_encoder

    return build_encoder(cfg)


def forward_batch(model: nn.Module, batch: Batch) -> Tensor:
    """The encoder on one batch: [B] (kept for callers; same as `model(batch)`)."""
    return model(batch)


@dataclass
class TargetScaler:
    """Standardisation of the targets, fitted on the training proteins only.

    Offset: the least-squares line y ~ a + b N over the training proteins (the size-only
    baseline of the same fold), so a network whose output is 0 predicts exactly that line and
    training only has to learn what size does not explain (with model.linear's ridge start,
    esm_schnet.train.linear_init refits a and b jointly with the linear term). (With `add` the
    sum over residues cannot express a constant a; fitting the offset through the origin
    instead left every fold a plateau at the intercept's error. Measured in the closing note
    of the convergence work.)

    readout `add` (extensive targets): y = a + b N + sigma * out, sigma the standard deviation
    of the per-residue residual (y - a - b N) / N; the loss is the label-space MSE divided by
    (sigma * mean N)^2. readout `mean`: same offset, sigma the residual's standard deviation,
    loss = label-space MSE / sigma^2. Either way the mean predictor of the standardised target
    (out = its training mean, 0 up to rounding) scores about 1 when N varies little.
    """

    readout: str
    intercept: float
    slope: float
    sigma: float
    scale: float  # loss scale in units of sigma (mean N for add, 1 for mean)

    @classmethod
    def fit(cls, readout: str, y, n) -> "TargetScaler":
        y = torch.as_tensor(y, dtype=torch.float64)
        n = torch.as_tensor(n, dtype=torch.float64)
        if y.numel() >= 2 and float(n.var(unbiased=False)) > 0:
            nc = n - n.mean()
            slope = float((nc * (y - y.mean())).sum() / (nc * nc).sum())
            intercept = float(y.mean() - slope * n.mean())
        else:  # one protein, or all of one size: the mean (per residue for add)
            slope = float(y.sum() / n.sum()) if readout == "add" else 0.0
            intercept = 0.0 if readout == "add" else float(y.mean())
        resid = y - intercept - slope * n
        if readout == "add":
            resid = resid / n
            scale = float(n.mean())
        else:
            scale = 1.0
        sigma = float(resid.std(unbiased=False)) if resid.numel() > 1 else 0.0
        size = float(y.abs().mean() / (n.mean() if readout == "add" else 1.0))
        if not math.isfinite(sigma) or sigma <= 1e-12 * max(1.0, size):
            sigma = max(size, 1.0) * (1e-2 if readout == "add" else 1.0)
        return cls(readout=readout, intercept=intercept, slope=slope, sigma=sigma, scale=scale)

    @classmethod
    def from_dict(cls, data: dict) -> "TargetScaler":
        """A stored scaler; format 1 and 2 files stored `mu` (offset mu N for add, mu for mean)."""
        data = dict(data)
        if "mu" in data:
            mu = float(data.pop("mu"))
            add = data.get("readout") == "add"
            data["intercept"], data["slope"] = (0.0, mu) if add else (mu, 0.0)
        return cls(**data)

    def offset(self, n: Tensor) -> Tensor:
        return self.intercept + self.slope * n

    def standardise(self, y: Tensor, n: Tensor) -> Tensor:
        return (y - self.offset(n)) / self.sigma

    def to_label(self, out: Tensor, n: Tensor) -> Tensor:
        return self.offset(n) + self.sigma * out

    def loss(self, out: Tensor, y: Tensor, n: Tensor) -> Tensor:
        """MSE in label space, divided by (sigma * scale)^2."""
        return torch.mean(((out - self.standardise(y, n)) / self.scale) ** 2)
