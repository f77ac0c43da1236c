"""Workflow: a third featurizer from a plugin (the toy residue scales of tests/plugins), end to end.

The toy is installed as a user's package would be: its module plus a `*.dist-info` declaring the
`esm_schnet.featurizers` entry point, in a directory on PYTHONPATH. Snakemake (and every
`esm-schnet` job it starts) finds it there; no module of esm_schnet is touched.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import h5py
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))
from plugin_helpers import install_toy_plugin  # noqa: E402

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def test_toy_featurizer_plugin_end_to_end(tmp_path, monkeypatch, run_snakemake, sample_table, tiny_config):
    site = install_toy_plugin(tmp_path / "site")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p))
    wd = tmp_path / "wd"
    sample_table(wd, ids=["ex20", "ex12", "ex11", "ex10"])
    cfg = tiny_config(
        embedding={"model": "toy-scales", "shards": 1, "device": "cpu", "cache": "cache"},
        model={"schnet": {"hidden_channels": 8, "num_filters": 8, "num_interactions": 1,
                          "num_gaussians": 10}},
        training={"epochs": 2, "device": "cpu"},
        cv={"scheme": "kfold", "k": 2},
        evaluate={"bootstrap": 50},
        plots={"dpi": 60},
    )
    dry = run_snakemake(wd, "-n", "results/metrics.tsv", config=cfg, check=True)
    assert "download_model" not in dry.output  # the toy needs no weights
    run_snakemake(wd, "results/metrics.tsv", config=cfg, check=True, timeout=600)

    metrics = pd.read_csv(wd / "results/metrics.tsv", sep="\t")
    assert (metrics["embedding_model"] == "toy-scales").all()
    assert (metrics["embedding_kind"] == "residue scales").all()
    shard = wd / "results/embeddings/toy-scales/shard-000.h5"
    with h5py.File(shard, "r") as f:
        assert f.attrs["featurizer"] == "toy-scales"
        assert f.attrs["featurizer_kind"] == "residue scales"
        assert f.attrs["embedding_dim"] == 3
        assert all(f[pid]["embedding"].shape[1] == 3 for pid in f)
    res = subprocess.run([str(BIN / "esm-schnet"), "inspect", str(shard)], capture_output=True, text=True)
    assert res.returncode == 0 and "featurizer toy-scales (residue scales)" in res.stdout
