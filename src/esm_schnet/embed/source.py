"""What `embedding.model` names, and where downloaded hub weights live. Imports nothing heavy.

`embedding.model` is one of
- `onehot`: the built-in featurizer (20 residues + X), no weights;
- a local checkpoint directory (an absolute or relative path, or `~/...`; anything that exists
  as a directory, or starts with '/', '.', '~');
- a Hugging Face hub id (`facebook/esm2_t6_8M_UR50D`), downloaded once by `esm-schnet
  download-model` into `<models_dir>/<tag>/` with a marker file `download.json`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..paths import model_tag

ONEHOT = "onehot"
MARKER = "download.json"


def model_kind(model: str) -> str:
    """'onehot', 'local' or 'hub'."""
    if model == ONEHOT:
        return "onehot"
    if model.startswith(("/", ".", "~")) or os.path.isdir(os.path.expanduser(model)):
        return "local"
    return "hub"


def needs_download(model: str) -> bool:
    return model_kind(model) == "hub"


def download_dir(model: str, models_dir: str | os.PathLike) -> Path:
    """Directory that download-model fills for a hub id: <models_dir>/<tag>."""
    return Path(models_dir) / model_tag(model)


def marker_path(model: str, models_dir: str | os.PathLike) -> Path:
    return download_dir(model, models_dir) / MARKER


def read_marker(path: str | os.PathLike) -> dict | None:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def models_dir_of(marker, default: str) -> str:
    """<models_dir> of a `<models_dir>/<tag>/download.json` input (a str or a one-element list),
    or `default` when there is no marker (onehot, local directory)."""
    if marker and not isinstance(marker, str):
        marker = marker[0] if len(marker) else None
    if not marker:
        return default
    return os.path.dirname(os.path.dirname(str(marker)))
