"""A labelled prediction table is scored as a fixed test set (esm_schnet.evaluate.testset), end
to end on the bundled example: 15 proteins train (k-fold CV and the final model), the other 5,
with their labels, are the test set. The model and every baseline refitted on all 15 training
proteins are scored on the 5 with metrics and paired comparisons, and drawn in a parity plot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from esm_schnet.evaluate import model_order

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EXAMPLE = REPO / "resources" / "example"
TEST_IDS = ["ex16", "ex17", "ex18", "ex19", "ex20"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    wd = tmp_path_factory.mktemp("testset")
    table = pd.read_csv(EXAMPLE / "samples.tsv", sep="\t", comment="#", dtype=str)
    table["structure"] = [str(EXAMPLE / s) for s in table["structure"]]
    table[~table["id"].isin(TEST_IDS)].to_csv(wd / "train.tsv", sep="\t", index=False)
    table[table["id"].isin(TEST_IDS)][["id", "structure", "label"]].to_csv(
        wd / "test.tsv", sep="\t", index=False)
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    cfg["samples"] = "train.tsv"
    cfg["embedding"].update(model="onehot", shards=1, cache="cache", device="cpu")
    cfg["model"]["schnet"] = dict(hidden_channels=8, num_filters=8, num_interactions=1,
                                 num_gaussians=10)
    cfg["training"].update(epochs=2, batch_size=4, device="cpu")
    cfg["cv"].update(scheme="kfold", k=3)
    cfg["evaluate"].update(bootstrap=50)
    cfg["predict"].update(samples="test.tsv", models="final")
    (wd / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(wd), "MPLBACKEND": "Agg",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    if os.environ.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    res = subprocess.run(
        [str(BIN / "snakemake"), "--snakefile", str(REPO / "Snakefile"), "--directory", str(wd),
         "--configfile", str(wd / "config.yaml"), "--cores", "2", "results/predict/metrics.tsv"],
        cwd=wd, env=env, capture_output=True, text=True, timeout=900,
    )
    assert res.returncode == 0, (res.stdout + res.stderr)[-5000:]
    return wd


def test_model_and_every_baseline_scored_on_the_test_proteins(run):
    metrics = pd.read_csv(run / "results/predict/metrics.tsv", sep="\t")
    assert list(metrics["model"]) == model_order("regression")  # structure baselines included
    assert (metrics["n"] == len(TEST_IDS)).all()
    pred = pd.read_csv(run / "results/predict/predictions.tsv", sep="\t", dtype={"id": str})
    err = pred["prediction"] - pred["label"]
    schnet = metrics.set_index("model").loc["schnet"]
    assert schnet["rmse"] == pytest.approx(float(np.sqrt(np.mean(err**2))), rel=1e-4)  # 6 digits
    assert schnet["rmse_lo"] <= schnet["rmse"] <= schnet["rmse_hi"]
    comp = pd.read_csv(run / "results/predict/comparisons.tsv", sep="\t")
    assert set(comp["baseline"]) == set(model_order("regression")[1:])
    assert set(comp["metric"]) == {"rmse", "mae"} and (comp["resampling_unit"] == "protein").all()
    assert (run / "results/predict/parity.png").stat().st_size > 0
    assert "hgb_struct" in (run / "results/predict/parity.svg").read_text()


def test_baselines_refitted_on_all_training_proteins_and_nothing_else(run):
    long = pd.read_csv(run / "results/predict/test_predictions.tsv", sep="\t", dtype={"id": str})
    assert set(long["id"]) == set(TEST_IDS)
    train = pd.read_csv(run / "train.tsv", sep="\t")
    mean = long[long["model"] == "mean"]["prediction"]
    assert np.allclose(mean, train["label"].astype(float).mean())  # the 15, not the 5
    test = pd.read_csv(run / "test.tsv", sep="\t").set_index("id")["label"]
    assert np.allclose(long.set_index(["model", "id"]).loc["schnet", "label"].loc[TEST_IDS],
                       test.loc[TEST_IDS])
