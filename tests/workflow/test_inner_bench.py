"""bench/inner.py on a real workflow run of the example (onehot, kfold k=2, parsed, embedded and
split by Snakemake): every variant is trained on inner folds of one outer fold's training
proteins with its overlay applied, the outer fold's test proteins are never predicted, and the
baselines are scored on the same inner folds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "resources" / "example"


def test_variants_on_inner_folds_of_one_outer_fold(tmp_path, run_snakemake, tiny_config):
    wd = tmp_path / "run"
    wd.mkdir()
    table = pd.read_csv(EXAMPLE / "samples.tsv", sep="\t", dtype=str)
    table["structure"] = [str(EXAMPLE / s) for s in table["structure"]]
    table.to_csv(wd / "samples.tsv", sep="\t", index=False)
    cfg = tiny_config(embedding={"model": "onehot", "shards": 1, "device": "cpu",
                                 "cache": "cache"},
                      model={"schnet": {"hidden_channels": 8, "num_filters": 8,
                                        "num_interactions": 1, "num_gaussians": 10}},
                      training={"epochs": 3, "device": "cpu"}, cv={"scheme": "kfold", "k": 2})
    run_snakemake(wd, "results/cv/kfold/folds.tsv", "results/embeddings/onehot/shard-000.h5",
                  config=cfg, check=True, timeout=600)
    variants = tmp_path / "variants.json"
    variants.write_text(json.dumps([
        {"name": "plain"},
        {"name": "mean_val", "model": {"readout": "mean"},
         "training": {"epochs": 2, "val_fraction": 0.3, "patience": 1}},
    ]))
    work = tmp_path / "inner"
    res = subprocess.run([sys.executable, str(REPO / "bench" / "inner.py"), str(wd),
                          "--variants", str(variants), "--inner", "2", "--jobs", "1",
                          "--workdir", str(work)], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout)
    folds = pd.read_csv(wd / "results/cv/kfold/folds.tsv", sep="\t", dtype={"id": str})
    train = set(folds.loc[folds["fold"] != 0, "id"])
    assert out["proteins"] == len(train) and out["inner_folds"] == 2
    assert {"ridge_seq", "hgb_struct", "plain", "mean_val"} <= set(out["models"])
    for name, readout, epochs in (("plain", "add", 3), ("mean_val", "mean", 2)):
        row = out["models"][name]
        assert len(row["rmse_minus_ridge_seq"]) == 3 and row["rmse"] > 0
        seen = set()
        for f in (0, 1):
            prov = json.loads((work / name / f"fold-{f}" / "provenance.json").read_text())
            assert prov["config"]["model"]["readout"] == readout
            assert prov["config"]["training"]["epochs"] == epochs
            # inner training and test proteins: both inside the outer training set, disjoint
            assert set(prov["test_ids"]) | set(prov["train_ids"]) | set(prov["val_ids"]) <= train
            assert not set(prov["test_ids"]) & set(prov["train_ids"])
            seen |= set(prov["test_ids"])
        assert seen == train  # every outer training protein predicted once, no test protein

    # bench/pooled_models.py on the same run: scikit-learn models on pooled features, scored
    # out of fold on the run's own outer folds
    res = subprocess.run([sys.executable, str(REPO / "bench" / "pooled_models.py"), str(wd),
                          "--trees", "20"], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    pooled = json.loads(res.stdout)
    assert pooled["proteins"] == len(folds) == 20 and pooled["folds"] == 2
    assert pooled["label"] == "label"
    sets = {"composition": 21, "+structure": 30, "+surface": 70, "+contacts": 240,
            "+potentials": 36}
    for name, width in sets.items():
        for model in ("ridge", "random_forest", "boosted_trees", "svr_rbf", "mlp", "average"):
            row = pooled["models"][f"{name}/{model}"]
            assert row["features"] == width and row["rmse"] > 0
            assert -1.0 <= row["pearson"] <= 1.0
    assert len(pooled["models"]) == 6 * len(sets) + 1
    assert pooled["models"]["all/average"]["rmse"] > 0
    assert set(pooled["potential_alone_pearson"]) == {
        "acc", "ss", "torsion", "pair_6", "pair_8", "pair_10"}

    # bench/fit_check.py on the same run: the workflow's training loop on a few training
    # proteins of outer fold 0, and a least-squares fit on the untrained network's features
    res = subprocess.run([sys.executable, str(REPO / "bench" / "fit_check.py"), str(wd),
                          "--proteins", "6", "--epochs", "2", "--model",
                          json.dumps({"linear": False, "schnet": {"hidden_channels": 8,
                                                                  "num_filters": 8}})],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    fit = json.loads(res.stdout)
    assert fit["proteins"] == 6 and fit["label"] == "label" and len(fit["training_loss"]) == 2
    assert fit["features_at_start"]["width"] == 4  # hidden_channels / 2: lin2's input
    # 6 proteins, 4 features + intercept: least squares fits them well but not exactly
    assert 0.0 < fit["features_at_start"]["least_squares_train_r2"] < 1.0
    assert fit["train_r2"] <= 1.0
