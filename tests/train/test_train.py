import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from esm_schnet.core.settings import TrainingSettings
from esm_schnet.cv import write_folds
from esm_schnet.encoders.graph import build_graph
from esm_schnet.train.checkpoint import TrainedModel, load_model
from esm_schnet.encoders.model import ModelConfig
from esm_schnet.train import cli_fold, train_model

from traindata import config_file, make_records, radius_of_gyration, write_dataset

SMALL_MODEL = {"schnet": {"hidden_channels": 16, "num_filters": 16, "num_interactions": 2,
                          "num_gaussians": 20}}


@pytest.fixture
def dataset(tmp_path):
    recs = make_records(8, seed=0, sizes=(15, 40))
    labels = {r.id: 0.3 * r.n_residues + radius_of_gyration(r.ca) for r in recs}
    shards, samples = write_dataset(tmp_path, recs, labels)
    folds = tmp_path / "folds.tsv"
    write_folds([{"id": r.id, "fold": k % 4, "cluster": f"c{k}"} for k, r in enumerate(recs)],
                folds)
    return tmp_path, shards, samples, folds, labels


def run_fold(tmp_path, shards, samples, folds, fold, outdir, training=None):
    training = {"epochs": 3, "batch_size": 3, "seed": 7, "device": "cpu", **(training or {})}
    argv = ["--shards", *shards, "--samples", samples, "--folds", str(folds),
            "--fold", str(fold), "--config-file",
            config_file(tmp_path / "fold.yaml", graph={"cutoff": 12.0}, model=SMALL_MODEL,
                        training=training),
            "--outdir", str(outdir), "--threads", "1", "--log", str(tmp_path / "fold.log")]
    assert cli_fold(argv) == 0
    return pd.read_csv(outdir / "predictions.tsv", sep="\t")


def test_fold_job_end_to_end(dataset):
    tmp, shards, samples, folds, labels = dataset
    out = tmp / "fold-1"
    pred = run_fold(tmp, shards, samples, folds, 1, out,
                    {"val_fraction": 0.2, "min_val_proteins": 1, "patience": 2})
    assert list(pred.columns) == ["id", "y_true", "y_pred", "fold"]
    assert list(pred["id"]) == ["p01", "p05"] and (pred["fold"] == 1).all()
    assert np.allclose(pred["y_true"], [labels["p01"], labels["p05"]])
    assert np.isfinite(pred["y_pred"]).all()
    hist = pd.read_csv(out / "history.tsv", sep="\t")
    assert list(hist.columns) == ["epoch", "train_loss", "val_loss", "lr", "seconds"]
    assert len(hist) >= 1 and hist["val_loss"].notna().all()
    prov = json.loads((out / "provenance.json").read_text())
    assert sorted(prov["test_ids"]) == ["p01", "p05"]
    assert not set(prov["train_ids"]) & set(prov["test_ids"])
    assert not set(prov["val_ids"]) & set(prov["test_ids"])
    assert len(prov["train_ids"]) + len(prov["val_ids"]) == 6
    assert prov["seed"] == 7 and prov["versions"]["torch"] == torch.__version__
    assert prov["graphs"]["train"]["edges"] > 0 and prov["config"]["graph"]["cutoff"] == 12.0
    assert "fold.log" in str(tmp / "fold.log")
    assert len(prov["val_ids"]) == 1

    log_text = (tmp / "fold.log").read_text()
    assert "epoch 1/3 train_loss" in log_text
    # model.pt loads with weights_only=True and reproduces the fold's predictions
    trained = load_model(out / "model.pt")
    from esm_schnet.core.store import load_records

    recs = load_records(shards, ids=["p01", "p05"])
    again = trained.predict_records([recs["p01"], recs["p05"]])
    assert np.allclose([again["p01"], again["p05"]], pred["y_pred"], rtol=1e-6)


def test_no_validation_split_below_min_val_proteins(dataset):
    """val_fraction 0.2 of 6 training proteins is 1: below training.min_val_proteins (default
    20) no split is drawn and every epoch trains on all 6, exactly as with val_fraction 0."""
    tmp, shards, samples, folds, labels = dataset
    preds = {}
    for name, training in (("default", {"val_fraction": 0.2}), ("off", {"val_fraction": 0.0}),
                           ("two", {"val_fraction": 0.2, "min_val_proteins": 2})):
        out = tmp / f"fold-{name}"
        preds[name] = run_fold(tmp, shards, samples, folds, 1, out, training)["y_pred"]
        prov = json.loads((out / "provenance.json").read_text())
        assert len(prov["train_ids"]) == 6 and prov["val_ids"] == []
        assert pd.read_csv(out / "history.tsv", sep="\t")["val_loss"].isna().all()
    assert np.array_equal(preds["default"], preds["off"])  # the same training, bit for bit


def test_same_config_same_predictions_bit_for_bit(dataset):
    tmp, shards, samples, folds, _ = dataset
    a = run_fold(tmp, shards, samples, folds, 2, tmp / "a")
    b = run_fold(tmp, shards, samples, folds, 2, tmp / "b")
    assert a["y_pred"].tolist() == b["y_pred"].tolist()  # exact float equality
    sa = torch.load(tmp / "a" / "model.pt", weights_only=True)["state_dict"]
    sb = torch.load(tmp / "b" / "model.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    c = run_fold(tmp, shards, samples, folds, 2, tmp / "c", {"seed": 8})
    assert c["y_pred"].tolist() != a["y_pred"].tolist()  # the seed matters


def test_unknown_fold_is_a_user_error(dataset):
    from esm_schnet.core.errors import InputError

    tmp, shards, samples, folds, _ = dataset
    with pytest.raises(InputError, match="fold 9"):
        run_fold(tmp, shards, samples, folds, 9, tmp / "x")


@pytest.mark.slow
def test_learns_radius_of_gyration_from_geometry_alone():
    """Label = radius of gyration of 30-residue chains folded more or less compactly (geometry
    only; residue types are random): SchNet with onehot features must end far below the mean
    predictor on held-out proteins (measured: RMSE 0.74 vs 1.76)."""
    recs = make_records(120, seed=3, sizes=(30, 31))
    cutoff = 10.0
    graphs = [build_graph(r.id, r.embedding, r.ca, cutoff, y=radius_of_gyration(r.ca))
              for r in recs]
    train, test = graphs[:100], graphs[100:]
    cfg = ModelConfig.from_config(21, {"cutoff": cutoff},
                                  {"schnet": {"hidden_channels": 32, "num_filters": 32,
                                              "num_interactions": 2, "num_gaussians": 25},
                                   "readout": "mean", "centroid": False,
                                   "linear": False})  # SchNet alone
    training = {"epochs": 30, "lr": 3e-3, "lr_schedule": "cosine", "batch_size": 2,
                "weight_decay": 0.0, "val_fraction": 0.0, "patience": 10, "seed": 0}
    model, scaler, hist, _ = train_model(train, cfg, TrainingSettings.from_dict(training))
    pred = TrainedModel(model, cfg, scaler).predict(test)
    y = np.array([g.y for g in test])
    p = np.array([pred[g.id] for g in test])
    rmse = math.sqrt(np.mean((p - y) ** 2))
    mean_rmse = math.sqrt(np.mean((np.mean([g.y for g in train]) - y) ** 2))
    assert hist[-1]["train_loss"] < 0.2 * hist[0]["train_loss"]
    assert rmse < 0.5 * mean_rmse, (rmse, mean_rmse)


def test_centroid_features_let_it_learn_a_global_shape_label():
    """Label = fraction of residues farther than 1.25 Rg from the centroid (global shape, size
    and residue types uninformative). With an 8 A cutoff and one interaction a residue sees 16 A
    of a ~20-30 A wide chain: plain SchNet does no better than the mean predictor on held-out
    proteins, model.centroid does (measured: RMSE 0.052 without, 0.022 with, mean predictor
    0.034)."""
    recs = make_records(90, seed=5, sizes=(40, 80))

    def far(ca):
        r = np.linalg.norm(ca - ca.mean(0), axis=1)
        return float(np.mean(r > 1.25 * np.sqrt(np.mean(r**2))))

    cutoff = 8.0
    graphs = [build_graph(r.id, r.embedding, r.ca, cutoff, y=far(r.ca)) for r in recs]
    train, test = graphs[:70], graphs[70:]
    y = np.array([g.y for g in test])
    mean_rmse = math.sqrt(np.mean((np.mean([g.y for g in train]) - y) ** 2))
    rmse = {}
    for centroid in (False, True):
        cfg = ModelConfig.from_config(21, {"cutoff": cutoff},
                                      {"schnet": {"hidden_channels": 32, "num_filters": 32,
                                                  "num_interactions": 1, "num_gaussians": 25},
                                       "readout": "mean", "centroid": centroid})
        training = {"epochs": 30, "lr": 3e-3, "batch_size": 2, "seed": 0}
        model, heads, _, _ = train_model(train, cfg, TrainingSettings.from_dict(training))
        pred = TrainedModel(model, cfg, heads).predict(test)
        rmse[centroid] = math.sqrt(np.mean((np.array([pred[g.id] for g in test]) - y) ** 2))
    assert rmse[True] < 0.75 * mean_rmse, (rmse, mean_rmse)
    assert rmse[True] < 0.6 * rmse[False], (rmse, mean_rmse)


@pytest.mark.parametrize("option,value,message", [
    ("training", {"epoch": 3}, r"unknown setting training.epoch \(did you mean training.epochs\?\)"),
    ("model", {"hiden_channels": 8}, r"unknown setting model.hiden_channels \(did you mean"),
    ("graph", {"cutof": 8.0}, r"unknown setting graph.cutof \(did you mean graph.cutoff\?\)"),
])
def test_cli_unknown_setting_is_a_short_error(dataset, capsys, option, value, message):
    """`esm-schnet train-fold --config-file F` with `training: {epoch: 3}` in F fails before
    any work, in one line."""
    import re

    from esm_schnet.cli import main

    tmp, shards, samples, folds, _ = dataset
    argv = ["train-fold", "--shards", *shards, "--samples", samples, "--folds", str(folds),
            "--fold", "0", "--config-file", config_file(tmp / "bad.yaml", **{option: value}),
            "--outdir", str(tmp / "x"),
            "--log", str(tmp / "x.log")]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert re.search(message, err) and len(err.splitlines()) == 1, err
    assert not (tmp / "x" / "model.pt").exists()


def test_train_model_refuses_unknown_training_keys():
    from esm_schnet.core.errors import ConfigError

    recs = make_records(3, seed=0, sizes=(15, 20))
    graphs = [build_graph(r.id, r.embedding, r.ca, 10.0, y=1.0) for r in recs]
    cfg = ModelConfig.from_config(21, {}, SMALL_MODEL)
    with pytest.raises(ConfigError, match="unknown setting training.lr_shedule"):
        train_model(graphs, cfg, TrainingSettings.from_dict({"epochs": 1, "lr_shedule": "cosine"}))


def test_convergence_flags_a_fold_that_did_not_fit(dataset):
    """A fold trained normally fits; the same fold with a learning rate too small to move the
    weights stays at the mean predictor and is flagged in its log and provenance.json."""
    tmp_path, shards, samples, folds, _ = dataset
    run_fold(tmp_path, shards, samples, folds, 0, tmp_path / "ok",
             {"epochs": 40, "lr": 3e-3, "warmup_epochs": 2, "batch_size": 2})
    ok = json.loads((tmp_path / "ok" / "provenance.json").read_text())["convergence"]
    assert ok["converged"] and ok["ratio"] < ok["threshold"] and ok["hint"] == ""
    (tmp_path / "fold.log").unlink()
    run_fold(tmp_path, shards, samples, folds, 0, tmp_path / "stuck",
             {"epochs": 2, "lr": 1e-9, "linear_init": "zero"})  # the ridge start would fit
    bad = json.loads((tmp_path / "stuck" / "provenance.json").read_text())["convergence"]
    assert not bad["converged"]
    assert bad["ratio"] == pytest.approx(1.0, abs=0.05)  # zero output = the mean predictor
    assert bad["mean_predictor_loss"] > 0 and "training.epochs" in bad["hint"]
    log = (tmp_path / "fold.log").read_text()
    assert "fold 0 did not fit" in log


def test_warmup_then_cosine_schedule():
    from esm_schnet.train.loop import _epoch_lr

    lrs = [_epoch_lr(1.0, "cosine", e, 10, warmup=4) for e in range(10)]
    assert lrs[:4] == pytest.approx([0.2, 0.4, 0.6, 0.8])
    assert lrs[4] == pytest.approx(1.0) and lrs[-1] < 0.1
    assert all(a >= b for a, b in zip(lrs[4:], lrs[5:]))
    assert _epoch_lr(1.0, "constant", 7, 10, warmup=4) == 1.0


def test_fold_job_with_several_labels_writes_one_row_per_protein_and_label(dataset):
    """Two regression labels (one empty for some proteins) and a classification label: the
    fold's predictions.tsv is long (target column, class probabilities); the default label's
    file keeps id, y_true, y_pred, fold (test_fold_job_end_to_end)."""
    tmp, shards, samples, folds, labels = dataset
    table = pd.read_csv(samples, sep="\t")
    table["half"] = [0.5 * v if k % 2 else math.nan for k, v in enumerate(table["label"])]
    table["big"] = np.where(table["label"] > table["label"].median(), "big", "small")
    table.to_csv(samples, sep="\t", index=False, na_rep="")
    specs = ["label", "half", {"column": "big", "task": "classification"}]
    out = tmp / "multi"
    argv = ["--shards", *shards, "--samples", samples, "--folds", str(folds), "--fold", "1",
            "--config-file", config_file(tmp / "multi.yaml", labels=specs,
                                         graph={"cutoff": 12.0}, model=SMALL_MODEL,
                                         training={"epochs": 2, "seed": 1, "device": "cpu"}),
            "--outdir", str(out), "--threads", "1"]
    assert cli_fold(argv) == 0
    pred = pd.read_csv(out / "predictions.tsv", sep="\t", dtype={"y_true": str, "y_pred": str})
    assert list(pred.columns) == ["id", "target", "y_true", "y_pred", "fold", "p_big", "p_small"]
    test_ids = ["p01", "p05"]
    assert sorted(pred.loc[pred.target == "label", "id"]) == test_ids
    assert sorted(pred.loc[pred.target == "half", "id"]) == [
        i for i in test_ids if not math.isnan(table.set_index("id").at[i, "half"])]
    cls = pred[pred.target == "big"].set_index("id")
    assert set(cls["y_true"]) <= {"big", "small"}
    np.testing.assert_allclose(cls[["p_big", "p_small"]].astype(float).sum(axis=1), 1.0, atol=1e-6)
    assert (cls["y_pred"] == np.where(cls["p_big"].astype(float) >= 0.5, "big", "small")).all()
    trained = load_model(out / "model.pt")
    assert [s.name for s in trained.labels] == ["label", "half", "big"]
    assert trained.labels[2].classes == ("big", "small")
    prov = json.loads((out / "provenance.json").read_text())
    assert [h["spec"]["name"] for h in prov["labels"]] == ["label", "half", "big"]


def test_seeding_makes_cublas_deterministic_without_overriding_the_user(monkeypatch):
    import os

    from esm_schnet.train.runtime import seed_everything

    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    seed_everything(0)
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":16:8")
    seed_everything(0)
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":16:8"
