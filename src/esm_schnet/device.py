"""The torch device of a `device` setting (auto: CUDA, else Apple MPS, else CPU)."""

from __future__ import annotations


def resolve_device(name: str = "auto", setting: str = "training.device"):
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        from .errors import ConfigError

        raise ConfigError(f"{setting} is cuda but no CUDA device is available")
    return torch.device(name)
