"""The model: its hyperparameters (`ModelConfig`), the encoder built from them and the target
standardisation (`TargetScaler`).

- encoders: esm_schnet.encoders (registry from `model.encoder`; `schnet` in encoders/schnet.py,
  its tabulated filter in encoders/tabulated.py)
- checkpoints (model.pt save/load, `TrainedModel`): esm_schnet.checkpoint

The names that used to live here (SchNet modules, checkpoint functions) are still importable from
this module for existing callers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch
from torch import Tensor, nn

from .graph import Batch


@dataclass
class ModelConfig:
    """Everything needed to rebuild the network (stored in model.pt).

    No defaults here: build it with `from_config` from the (validated, default-filled) `graph`
    and `model` config sections; `cutoff` and `max_neighbors` come from the graph settings."""

    in_channels: int
    encoder: str
    hidden_channels: int
    num_filters: int
    num_interactions: int
    num_gaussians: int
    cutoff: float
    max_neighbors: int | None
    readout: str
    layer_norm: bool
    dropout: float
    filter: str
    filter_spacing: float

    @classmethod
    def from_config(cls, in_channels: int, graph_cfg=None, model_cfg: dict | None = None
                    ) -> "ModelConfig":
        """From the `graph` section (dict or GraphSettings) and the `model` section (dict); the
        schema fills what is missing, an unknown key is a ConfigError."""
        from .settings import GraphSettings, section

        graph = graph_cfg if isinstance(graph_cfg, GraphSettings) else GraphSettings.from_dict(graph_cfg)
        model = section("model", model_cfg)
        return cls(in_channels=int(in_channels), cutoff=float(graph.cutoff),
                   max_neighbors=graph.max_neighbors, **model)

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        """From a stored `asdict(cfg)` (model.pt); every field required, unknown keys refused."""
        from .errors import ConfigError

        names = [f.name for f in fields(cls)]
        unknown = sorted(set(data) - set(names))
        missing = [n for n in names if n not in data]
        if unknown or missing:
            raise ConfigError(f"model config: unknown {unknown}, missing {missing}")
        return cls(**data)


def build_model(cfg: ModelConfig) -> nn.Module:
    """The encoder named by `cfg.encoder` (esm_schnet.encoders registry)."""
    from .encoders import build_encoder

    return build_encoder(cfg)


def forward_batch(model: nn.Module, batch: Batch) -> Tensor:
    """The encoder on one batch: [B] (kept for callers; same as `model(batch)`)."""
    return model(batch)


@dataclass
class TargetScaler:
    """Standardisation of the targets, fitted on the training proteins only.

    readout `add` (extensive targets): y = mu * N + sigma * out, where mu = sum(y) / sum(N) is the
    training set's label per residue and sigma the standard deviation of the per-residue residual
    (y - mu N) / N; the model's sum over residues then only has to explain O(1) per-residue
    deviations. The loss is the label-space MSE divided by (sigma * mean N)^2, i.e. O(1).
    readout `mean`: y = mu + sigma * out with mu, sigma the training labels' mean and std; the
    loss is the label-space MSE / sigma^2.
    """

    readout: str
    mu: float
    sigma: float
    scale: float  # loss scale in units of sigma (mean N for add, 1 for mean)

    @classmethod
    def fit(cls, readout: str, y, n) -> "TargetScaler":
        y = torch.as_tensor(y, dtype=torch.float64)
        n = torch.as_tensor(n, dtype=torch.float64)
        if readout == "add":
            mu = float(y.sum() / n.sum())
            resid = (y - mu * n) / n
            scale = float(n.mean())
        else:
            mu = float(y.mean())
            resid = y - mu
            scale = 1.0
        sigma = float(resid.std(unbiased=False)) if resid.numel() > 1 else 0.0
        if not math.isfinite(sigma) or sigma <= 1e-12 * max(1.0, abs(mu)):
            sigma = max(abs(mu), 1.0) * (1e-2 if readout == "add" else 1.0)
        return cls(readout=readout, mu=mu, sigma=sigma, scale=scale)

    def offset(self, n: Tensor) -> Tensor:
        return self.mu * n if self.readout == "add" else torch.full_like(n, self.mu)

    def to_label(self, out: Tensor, n: Tensor) -> Tensor:
        return self.offset(n) + self.sigma * out

    def loss(self, out: Tensor, y: Tensor, n: Tensor) -> Tensor:
        """MSE in label space, divided by (sigma * scale)^2."""
        target = (y - self.offset(n)) / self.sigma
        return torch.mean(((out - target) / self.scale) ** 2)


_SCHNET = ("FeatureProjection", "PrecomputedRadiusGraph", "SchNetEncoder")
_TABULATED = ("EdgeOperators", "GridCoordinate", "TabulatedCFConv", "edge_operators", "grid_cell",
              "shared_filter_tables")
_CHECKPOINT = ("MODEL_FORMAT", "MODEL_FORMAT_VERSION", "TrainedModel", "load_model", "save_model")


def __getattr__(name: str):
    """Names that moved to esm_schnet.encoders / esm_schnet.checkpoint (lazy: no import cycle)."""
    if name in _SCHNET:
        from .encoders import schnet as module
    elif name in _TABULATED:
        from .encoders import tabulated as module
    elif name in _CHECKPOINT:
        from . import checkpoint as module
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(module, name)
