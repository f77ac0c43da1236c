"""Workflow: a task from a plugin (the toy `log_regression` of tests/plugins/toy_task.py), end to
end. Mirrors docs/extending.md, "Add a task": one module that registers one Task subclass, an
entry point in the `esm_schnet.tasks` group, and a config that names the task in `labels:`; no
module of esm_schnet is touched. The toy is installed as a user's package would be (its module
plus a `*.dist-info` declaring the entry point, in a directory on PYTHONPATH); Snakemake and
every `esm-schnet` job it starts find it there. It goes through the real registry, label
reading, head and loss, metrics, evaluate tables, comparisons, plots and report, and must show
up in metrics.tsv, comparisons.tsv, metrics.json and the report.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))
from plugin_helpers import install_plugin  # noqa: E402

pytestmark = pytest.mark.slow

TARGETS = ["results/metrics.tsv", "results/comparisons.tsv", "results/report/tables.html",
           "results/report/headline.rst", "results/plots/parity.svg"]
IDS = ["ex20", "ex12", "ex11", "ex10"]


def test_toy_task_plugin_end_to_end(tmp_path, monkeypatch, run_snakemake, sample_table,
                                    tiny_config):
    site = install_plugin(tmp_path / "site", "toy_task", "esm_schnet.tasks", "log_regression")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (str(site), os.environ.get("PYTHONPATH")) if p))
    wd = tmp_path / "wd"
    sample_table(wd, ids=IDS)
    cfg = tiny_config(
        labels=[{"column": "label", "task": "log_regression"}],
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
    given = pd.read_csv(wd / "samples.tsv", sep="\t", dtype={"id": str}).set_index("id")["label"]

    # the task read the labels (their log) and the head trained on that scale
    preds = pd.read_csv(res / "predictions.tsv", sep="\t")
    schnet = preds[preds["model"] == "schnet"].set_index("id")
    assert set(schnet["target"]) == {"label"}
    assert np.allclose(schnet.loc[IDS, "label"].astype(float), np.log(given.loc[IDS]), rtol=1e-5)
    folds = [pd.read_csv(p, sep="\t") for p in sorted((res / "cv").rglob("predictions.tsv"))]
    assert folds and all(np.isfinite(f["y_pred"].astype(float)).all() for f in folds)
    # the regression baselines served it, on the same (log) labels
    assert {"mean", "size_linear", "ridge_pooled"} <= set(preds["model"])

    metrics = pd.read_csv(res / "metrics.tsv", sep="\t")
    assert set(metrics["task"]) == {"log_regression"}
    row = metrics.set_index("model").loc["schnet"]
    err = schnet.loc[IDS, "prediction"].astype(float) - schnet.loc[IDS, "label"].astype(float)
    assert math.isclose(row["mae"], float(np.abs(err).mean()), rel_tol=1e-4)
    comp = pd.read_csv(res / "comparisons.tsv", sep="\t")
    assert set(comp.loc[comp["baseline"] == "mean", "metric"]) == {"rmse", "mae"}

    doc = json.loads((res / "metrics.json").read_text())
    assert doc["task"] == "log_regression"
    assert doc["labels"][0]["task"] == "log_regression"
    assert doc["models"]["schnet"]["description"].endswith("(log label)")
    # the report: the headline by the task's headline metric (MAE), the metrics table
    headline = (res / "report/headline.rst").read_text()
    assert "**Headline:** SchNet MAE " in headline and "``mean``" in headline
    # its plots: parity only (the task's list), drawn with the regression baselines
    svg = (res / "plots/parity.svg").read_text()
    assert 'id="points-schnet"' in svg and 'id="points-mean"' in svg
    assert not (res / "plots/residuals.svg").exists()
