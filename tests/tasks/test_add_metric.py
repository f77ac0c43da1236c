"""docs/extending.md, "Add a metric", step by step: a plugin module (tests/plugins/toy_metric.py)
that calls Task.add_metric at import, found through an entry point of the `esm_schnet.tasks`
group; the metric then lands in metrics.tsv, metrics.json and evaluate's metrics page."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from esm_schnet import evaluate, tasks
from esm_schnet.tasks import get_task

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))
from evaldata import synthetic_cv  # noqa: E402
from plugin_helpers import install_plugin  # noqa: E402


@pytest.fixture
def toy_metric(tmp_path, monkeypatch):
    """The toy metric installed as a package would be, loaded by the task registry."""
    site = install_plugin(tmp_path / "site", "toy_metric", tasks.ENTRY_POINT_GROUP, "max_error")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(tasks, "_loaded", False)  # the registry loads its plugins again
    task = get_task("regression")
    yield task
    task.remove_metric("max_error")
    sys.modules.pop("toy_metric", None)


def test_added_metric_in_metrics_tsv_json_and_page(toy_metric, tmp_path, monkeypatch):
    from esm_schnet.evaluate import read

    assert toy_metric.all_metrics[-1] == "max_error"  # the entry point ran the module
    d = synthetic_cv(tmp_path, n=8, n_folds=4)
    monkeypatch.setattr(read, "pooled_records",
                        lambda paths: {i: read.pool_record(r) for i, r in d["records"].items()})
    inputs = evaluate.EvaluateInputs(
        fold_predictions=d["pred_paths"], histories=d["hist_paths"], provenances=d["prov_paths"],
        folds=d["folds"], samples=d["samples"], shards=[tmp_path / "unused.h5"],
        embedding_model="onehot", scheme="kfold", n_boot=50, seed=0,
    )
    out = evaluate.EvaluateOutputs.under(tmp_path / "out")
    evaluate.run(inputs, out)

    metrics = pd.read_csv(out.metrics, sep="\t").set_index("model")
    assert {"max_error", "max_error_lo", "max_error_hi"} <= set(metrics.columns)
    preds = pd.read_csv(out.predictions, sep="\t")
    for model, sub in preds.groupby("model"):
        worst = float(np.max(np.abs(sub["prediction"] - sub["label"])))
        assert metrics.loc[model, "max_error"] == pytest.approx(worst, rel=1e-3)  # TSV: 6 digits
        assert metrics.loc[model, "max_error_lo"] <= metrics.loc[model, "max_error_hi"]
    doc = json.loads(out.json.read_text())
    assert doc["metrics"][-1] == "max_error"
    assert "max_error" in doc["models"]["schnet"]
    assert "max_error" in out.html.read_text()  # evaluate's metrics page, every metric column


def test_a_built_in_metric_cannot_be_added_twice():
    with pytest.raises(ValueError, match="built in"):
        get_task("regression").add_metric("rmse", lambda y, p: 0.0)
