"""Compatibility names for code written before the featurizer registry (esm_schnet.embed.featurizers).

New code: `featurizers.get_featurizer(embedding_cfg)`; ESM2 lives in `featurizers.esm2`, the
one-hot featurizer in `featurizers.onehot`, `resolve_device` in `esm_schnet.device`.
"""

from __future__ import annotations

import os

from ..device import resolve_device
from .featurizers import download, get_featurizer
from .featurizers.esm2 import (
    ESM_WINDOW,
    EsmEmbedder,
    ModelNotAvailableError,
    download_model,
    resolve_dtype,
    weights_hash,
)
from .featurizers.onehot import OneHotFeaturizer
from .source import marker_path


def load_featurizer(
    model: str,
    *,
    revision: str = "main",
    layer: int = -1,
    dtype: str = "auto",
    device: str = "auto",
    models_dir: str | os.PathLike = "resources/models",
):
    """The featurizer the registry picks for `model`, with these settings; never downloads."""
    return get_featurizer(
        dict(model=str(model), revision=revision, layer=layer, dtype=dtype, device=device,
             models_dir=str(models_dir))
    )


__all__ = [
    "ESM_WINDOW",
    "EsmEmbedder",
    "ModelNotAvailableError",
    "OneHotFeaturizer",
    "download",
    "download_model",
    "load_featurizer",
    "marker_path",
    "resolve_device",
    "resolve_dtype",
    "weights_hash",
]
