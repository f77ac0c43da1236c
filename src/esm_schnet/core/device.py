"""The one place that turns a configured device name into a torch.device."""

from __future__ import annotations

from esm_schnet.core.errors import ConfigError


def _mps_available(torch) -> bool:
    mps = getattr(torch.backends, "mps", None)
    return mps is not None and mps.is_available()


def resolve_device(name: str = "auto", *, setting: str = "device"):
    """`auto` -> cuda if available, else mps if available, else cpu; any other name as given.

    Asking for `cuda` (or `mps`) where there is none raises ConfigError naming `setting`
    (the config key, e.g. `embedding.device` or `training.device`)."""
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available(torch):
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"{setting} is 'cuda' but no CUDA device is available")
    if name == "mps" and not _mps_available(torch):
        raise ConfigError(f"{setting} is 'mps' but MPS is not available")
    return torch.device(name)
