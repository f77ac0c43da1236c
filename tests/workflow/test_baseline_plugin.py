"""Workflow: a baseline from a plugin (the toy `median` of tests/plugins/toy_baseline.py), end to
end. Mirrors docs/extending.md, "Add a baseline": one module that registers one Baseline
subclass, and an entry point in the `esm_schnet.baselines` group; no module of esm_schnet is
touched. The toy is installed as a user's package would be (its module plus a `*.dist-info`
declaring the entry point, in a directory on PYTHONPATH); Snakemake and every `esm-schnet` job
it starts find it there. It must show up in metrics.tsv, comparisons.tsv, metrics.json, the
report pages and the parity plot's legend.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))
from plugin_helpers import install_plugin  # noqa: E402

pytestmark = pytest.mark.slow

TARGETS = ["results/metrics.tsv", "results/comparisons.tsv", "results/report/tables.html",
           "results/report/headline.rst", "results/plots/parity.svg"]


def test_toy_baseline_plugin_end_to_end(tmp_path, monkeypatch, run_snakemake, sample_table,
                                        tiny_config):
    site = install_plugin(tmp_path / "site", "toy_baseline", "esm_schnet.baselines", "median")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (str(site), os.environ.get("PYTHONPATH")) if p))
    wd = tmp_path / "wd"
    sample_table(wd, ids=["ex20", "ex12", "ex11", "ex10"])
    cfg = tiny_config(
        embedding={"model": "onehot", "shards": 1, "device": "cpu", "cache": "cache"},
        model={"schnet": {"hidden_channels": 8, "num_filters": 8, "num_interactions": 1,
                          "num_gaussians": 10}},
        training={"epochs": 2, "device": "cpu"},
        cv={"scheme": "kfold", "k": 2},
        evaluate={"bootstrap": 50},
        plots={"dpi": 60},
    )
    run_snakemake(wd, *TARGETS, config=cfg, check=True, timeout=600)
    res = wd / "results"

    metrics = pd.read_csv(res / "metrics.tsv", sep="\t")
    assert list(metrics["model"]) == [
        "schnet", "median", "hgb_struct", "ridge_surface", "ridge_seq", "ridge_pooled",
        "size_linear", "mean"]
    assert metrics.set_index("model").loc["median", "rmse"] > 0
    comp = pd.read_csv(res / "comparisons.tsv", sep="\t")
    assert set(comp.loc[comp["baseline"] == "median", "metric"]) == {"rmse", "mae"}
    preds = pd.read_csv(res / "predictions.tsv", sep="\t")
    assert (preds["model"] == "median").sum() == 4

    doc = json.loads((res / "metrics.json").read_text())
    description = "median label of the training fold (sees nothing)"
    assert doc["models"]["median"]["description"] == description
    # the report: the landing page's metrics table, the tables page, evaluate's metrics page
    assert "``median``" in (res / "report/headline.rst").read_text()
    assert ">median<" in (res / "report/tables.html").read_text()
    page = (res / "evaluate/metrics.html").read_text()
    assert description in page and "nothing (the training labels only)" in page
    # the parity plot: its points (gid) and its legend entry (SVG text is drawn as paths, each
    # with the text in a comment)
    svg = (res / "plots/parity.svg").read_text()
    assert 'id="points-median"' in svg
    assert "<!-- training median (RMSE " in svg
