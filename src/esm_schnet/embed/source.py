"""Where downloaded weights live: hub id or local directory, the download folder and its marker.

Which featurizer handles a model id, and whether it needs a download, is the registry's
business (esm_schnet.embed.featurizers: exact names such as the built-in one-hot, plugins, and
ESM2 for hub ids and local directories); this module imports nothing of it.
A hub id is downloaded once by `esm-schnet download-model` into `<models_dir>/<tag>/` with a
marker file `download.json`. Imports nothing heavy (no torch).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from esm_schnet.core.paths import model_tag

MARKER = "download.json"


def source_kind(model: str) -> str:
    """'local' (a checkpoint directory) or 'hub' (a Hugging Face hub id)."""
    if model.startswith(("/", ".", "~")) or os.path.isdir(os.path.expanduser(model)):
        return "local"
    return "hub"


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
    or `default` when there is no marker (no download needed)."""
    if marker and not isinstance(marker, str):
        marker = marker[0] if len(marker) else None
    if not marker:
        return default
    return os.path.dirname(os.path.dirname(str(marker)))
