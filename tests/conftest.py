"""Fixtures shared across the test tree; the test helpers live in tests/helpers (on sys.path
through pytest's `pythonpath`).

No test touches the network: HF_HUB_OFFLINE is set before huggingface_hub is imported.
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import pytest  # noqa: E402


@pytest.fixture
def cv_data(tmp_path):
    """A synthetic cross-validation run (fold predictions, features) for the evaluate tests."""
    from evaldata import synthetic_cv

    return synthetic_cv(tmp_path)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A tiny random ESM2-architecture checkpoint written by the test."""
    from embed_helpers import write_tiny_esm

    return write_tiny_esm(tmp_path_factory.mktemp("tiny_esm") / "esm2_tiny")


@pytest.fixture(scope="session")
def tiny(tiny_model_dir):
    """The tiny model loaded through the same code path as a real one (float32, CPU)."""
    from esm_schnet.embed.featurizers import get_featurizer

    return get_featurizer(dict(model=tiny_model_dir, dtype="float32", device="cpu"))
