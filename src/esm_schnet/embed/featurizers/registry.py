"""The featurizer registry itself (see esm_schnet.embed.featurizers for the contract): what is
registered, lookup of a model id, building a featurizer. Plugins import `register` from here and
are loaded through their entry points at the first lookup; the built-in modules import nothing of
the registry and are registered by `load_builtins` (their `setup(register)`) before anything
else, so there is no import circle.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from esm_schnet.core.errors import EsmSchnetError
from esm_schnet.embed.featurizers.base import LANGUAGE_MODEL, Featurizer

log = logging.getLogger("esm_schnet.embed.featurizers")

ENTRY_POINT_GROUP = "esm_schnet.featurizers"
# what every featurizer object must have (the protocol's members without defaults)
REQUIRED = ("id", "revision", "kind", "dim", "window", "cacheable", "forward")


@dataclass(frozen=True)
class Registration:
    """One registered featurizer: `factory(embedding_cfg) -> Featurizer` plus what can be said
    about a model id without building it."""

    name: str
    factory: Callable[..., Featurizer]
    kind: str
    predicate: Callable[[str], bool] | None = None  # None: matches `name` exactly
    needs_download: Callable[[str], bool] | bool = False
    download: Callable[..., object] | None = None  # (model, revision, models_dir) -> marker path

    def matches(self, model_id: str) -> bool:
        return model_id == self.name if self.predicate is None else bool(self.predicate(model_id))

    def download_needed(self, model_id: str) -> bool:
        nd = self.needs_download
        return bool(nd(model_id) if callable(nd) else nd)


_EXACT: dict[str, Registration] = {}
_MATCHERS: list[Registration] = []
_plugins_loaded = False
_builtins_loaded = False


def load_builtins() -> None:
    """Register the built-in featurizers (once per process), before anything else is registered
    or looked up: ESM2 first (the catch-all), ProtT5 after it, so its predicate is asked first.
    Each built-in module exposes `setup(register)` and imports nothing of the registry, so
    there is no import circle."""
    global _builtins_loaded
    if _builtins_loaded:
        return
    _builtins_loaded = True
    from esm_schnet.embed.featurizers import esm2, onehot, prott5

    for module in (esm2, prott5, onehot):
        module.setup(register)


def register(
    name_or_predicate: str | Callable[[str], bool],
    factory: Callable[..., Featurizer],
    *,
    kind: str | None = None,
    name: str | None = None,
    needs_download: Callable[[str], bool] | bool = False,
    download: Callable[..., object] | None = None,
) -> Registration:
    """Register a featurizer for one exact `embedding.model` name or for every id a predicate
    accepts. `factory(cfg)` receives the embedding settings (esm_schnet.embed.shard.EmbedConfig:
    model, revision, layer, dtype, device, models_dir, ...) and returns a `Featurizer`.

    kind: reported in metrics and plots (default: the factory's `kind` attribute, else the name);
    name: recorded in shards (default: the exact name, else the factory's `name` or __name__);
    needs_download / download: for featurizers whose weights the `download_model` rule fetches.
    A name registered again replaces the earlier registration.
    """
    load_builtins()  # built-ins first, whoever registers first: a later registration wins
    if isinstance(name_or_predicate, str):
        reg_name, predicate = name_or_predicate, None
    elif callable(name_or_predicate):
        reg_name = name or getattr(factory, "name", None) or factory.__name__
        predicate = name_or_predicate
    else:
        raise TypeError("register() needs a model name or a predicate over model ids")
    reg_name = name or reg_name
    reg = Registration(
        name=reg_name,
        factory=factory,
        kind=kind or getattr(factory, "kind", None) or reg_name,
        predicate=predicate,
        needs_download=needs_download,
        download=download,
    )
    if predicate is None:
        _EXACT[reg_name] = reg
    else:
        _MATCHERS[:] = [r for r in _MATCHERS if r.name != reg_name]
        _MATCHERS.append(reg)
    return reg


def load_plugins() -> None:
    """Load the `esm_schnet.featurizers` entry points (once per process)."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    from esm_schnet.core.plugins import load_entry_points

    load_entry_points(ENTRY_POINT_GROUP, "featurizer")


def registrations() -> list[Registration]:
    """Every registration, in lookup order (exact names, then predicates newest first)."""
    load_builtins()
    load_plugins()
    return [*_EXACT.values(), *reversed(_MATCHERS)]


def lookup(model_id: str) -> Registration:
    """The registration that handles `embedding.model` = model_id."""
    model_id = str(model_id)
    for reg in registrations():
        if reg.matches(model_id):
            return reg
    names = ", ".join(r.name for r in registrations()) or "none"
    raise EsmSchnetError(f"no featurizer handles embedding.model {model_id!r} (registered: {names})")


def get_featurizer(embedding_cfg) -> Featurizer:
    """Build the featurizer for the embedding settings (an EmbedConfig or the config's
    `embedding` mapping); loads weights from disk, never downloads."""
    if isinstance(embedding_cfg, Mapping):
        from esm_schnet.embed.config import EmbedConfig

        embedding_cfg = EmbedConfig.from_dict(embedding_cfg)
    reg = lookup(embedding_cfg.model)
    featurizer = reg.factory(embedding_cfg)
    missing = [a for a in REQUIRED if not hasattr(featurizer, a)]
    if missing:
        raise EsmSchnetError(
            f"featurizer {reg.name!r} for {embedding_cfg.model!r} returned an object without "
            f"{', '.join(missing)} (see esm_schnet.embed.featurizers.base.Featurizer)"
        )
    return featurizer


def featurizer_name(model_id: str) -> str:
    """Registered name of the featurizer for a model id (`esm2`, `onehot`, a plugin's name)."""
    return lookup(model_id).name


def featurizer_kind(model_id: str) -> str:
    """Kind of the featurizer for a model id (`language model`, `onehot`, ...), without loading it."""
    return lookup(model_id).kind


def describe(model_id: str) -> str:
    """One phrase for summaries: `protein language model`, or `<kind> ablation, no language model`."""
    kind = featurizer_kind(model_id)
    return "protein language model" if kind == LANGUAGE_MODEL else f"{kind} ablation, no language model"


def is_language_model(model_id: str) -> bool:
    return featurizer_kind(model_id) == LANGUAGE_MODEL


def needs_download(model_id: str) -> bool:
    """Whether the `download_model` rule has to fetch weights for this model id first."""
    return lookup(model_id).download_needed(model_id)


def download(model_id: str, revision: str = "main", models_dir="resources/models"):
    """Fetch the weights of a model id (the `download-model` command); returns the marker path."""
    reg = lookup(model_id)
    if reg.download is None or not reg.download_needed(model_id):
        raise EsmSchnetError(
            f"embedding.model {model_id!r} ({reg.name} featurizer) needs no download: nothing to do"
        )
    return reg.download(model_id, revision, models_dir)


def model_kind(model_id: str) -> str:
    """'hub' or 'local' for an ESM2 model id, else the name of the featurizer that handles it."""
    from esm_schnet.embed.featurizers.esm2 import NAME
    from esm_schnet.embed.source import source_kind

    name = featurizer_name(model_id)
    return source_kind(model_id) if name == NAME else name
