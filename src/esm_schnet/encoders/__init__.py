"""Graph encoders: a small registry from `model.encoder` to a builder.

Contract of an encoder (an nn.Module built by `build_encoder(cfg)` from a ModelConfig):
`encoder(batch)` takes an `esm_schnet.encoders.graph.Batch` (node features, C-alpha coordinates and the
precomputed radius graph) and returns one value per protein, a [B] tensor in standardised target
units (see esm_schnet.encoders.model.TargetScaler). Registering another encoder:
`register_encoder("name", builder)` where `builder(cfg) -> nn.Module`, and add the name to the
schema's `model.encoder` enum.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from esm_schnet.encoders import pyg  # noqa: F401  (first: PyG loads here, without `transformers`)

Builder = Callable[..., nn.Module]
_ENCODERS: dict[str, Builder] = {}


def register_encoder(name: str, builder: Builder) -> None:
    """Make `builder(cfg)` available as `model.encoder: name`."""
    if name in _ENCODERS and _ENCODERS[name] is not builder:
        raise ValueError(f"encoder {name!r} is already registered")
    _ENCODERS[name] = builder


def encoder_names() -> list[str]:
    return sorted(_ENCODERS)


def build_encoder(cfg) -> nn.Module:
    """The encoder named by `cfg.encoder`, built from the ModelConfig `cfg`."""
    from esm_schnet.core.errors import ConfigError

    try:
        builder = _ENCODERS[cfg.encoder]
    except KeyError:
        raise ConfigError(
            f"unknown model.encoder {cfg.encoder!r} (known: {', '.join(encoder_names())})"
        ) from None
    return builder(cfg)


def _register_builtin() -> None:
    from esm_schnet.encoders.schnet import SchNetEncoder

    register_encoder("schnet", SchNetEncoder)


_register_builtin()
