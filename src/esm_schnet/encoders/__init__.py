"""Graph encoders: a small registry from `model.encoder` to a builder.

Contract of an encoder: `builder(**kwargs) -> nn.Module`, built like PyG's own models from
keyword arguments: the settings every encoder receives (`in_channels`, `out_channels`,
`cutoff`, `max_neighbors`, `readout`, `layer_norm`, `centroid`, `linear`, `dropout`;
esm_schnet.encoders.model.COMMON_KWARGS) and every key of its own config section
`model.<name>` (model.schnet for `schnet`). `encoder(batch)` takes an
`esm_schnet.encoders.graph.Batch` (node features, C-alpha coordinates and the precomputed radius
graph) and returns one value per protein, a [B] tensor in standardised target units ([B, K]
with out_channels K > 1; see esm_schnet.encoders.model.TargetScaler).

Registering another encoder (docs/extending.md, "Add an encoder"): `register_encoder("name",
builder)` in its own module, found through the entry point group `esm_schnet.encoders` (loaded
at the first lookup) or, in this repository, imported at the end of this file. Its section's
defaults: in the config schema for a built-in encoder, the builder's keyword defaults for a
plugin; an unknown key of the section is a ConfigError naming it.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable

from torch import nn

from esm_schnet.encoders import pyg  # noqa: F401  (first: PyG loads here, without `transformers`)

Builder = Callable[..., nn.Module]
_ENCODERS: dict[str, Builder] = {}
ENTRY_POINT_GROUP = "esm_schnet.encoders"
_plugins_loaded = False


def register_encoder(name: str, builder: Builder) -> None:
    """Make `builder(**kwargs)` available as `model.encoder: name` (settings: `model.<name>`)."""
    if name in _ENCODERS and _ENCODERS[name] is not builder:
        raise ValueError(f"encoder {name!r} is already registered")
    _ENCODERS[name] = builder


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    from esm_schnet.core.plugins import load_entry_points

    load_entry_points(ENTRY_POINT_GROUP, "encoder")


def encoder_names() -> list[str]:
    _load_plugins()
    return sorted(_ENCODERS)


def get_builder(name: str) -> Builder:
    """The builder registered as `name`; an unknown name is a ConfigError."""
    from esm_schnet.core.errors import ConfigError

    _load_plugins()
    try:
        return _ENCODERS[name]
    except KeyError:
        raise ConfigError(
            f"unknown model.encoder {name!r} (known: {', '.join(encoder_names())})"
        ) from None


def check_kwargs(name: str, builder: Builder, kwargs: dict, own: dict) -> None:
    """Refuse, in one line, keyword arguments the builder does not take or misses; `own`: the
    encoder's section, named model.<name>.<key> in messages."""
    from esm_schnet.core.errors import ConfigError

    try:
        params = inspect.signature(builder).parameters
    except (TypeError, ValueError):  # no signature to read: the builder checks
        return
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    known = [n for n, p in params.items() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
    for key in kwargs:
        if key not in known:
            if key in own:
                close = difflib.get_close_matches(key, [k for k in known if k not in kwargs or
                                                        k in own], n=1)
                hint = f" (did you mean model.{name}.{close[0]}?)" if close else ""
                raise ConfigError(f"unknown setting model.{name}.{key}{hint}")
            raise ConfigError(f"encoder {name!r} does not take the setting {key!r} that every "
                              "encoder receives (esm_schnet.encoders.model.COMMON_KWARGS)")
    missing = [n for n, p in params.items() if n in known and p.default is p.empty
               and n not in kwargs]
    if missing:
        raise ConfigError(f"encoder {name!r} needs model.{name}.{missing[0]}")


def build_encoder(cfg) -> nn.Module:
    """The encoder named by `cfg.encoder`, built from the ModelConfig `cfg`'s keyword arguments
    (`cfg.encoder_kwargs()`: the common settings and the section model.<encoder>)."""
    builder = get_builder(cfg.encoder)
    kwargs = cfg.encoder_kwargs()
    check_kwargs(cfg.encoder, builder, kwargs, cfg.settings)
    return builder(**kwargs)


def _register_builtin() -> None:
    from esm_schnet.encoders.schnet import SchNetEncoder

    register_encoder("schnet", SchNetEncoder)


_register_builtin()
