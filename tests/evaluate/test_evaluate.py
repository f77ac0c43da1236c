"""evaluate: gathering folds, the long predictions table, metrics for SchNet and baselines."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from esm_schnet import evaluate
from esm_schnet.errors import InputError


def _tables(d):
    fp = evaluate.gather_fold_predictions(d["pred_paths"])
    folds = pd.read_csv(d["folds"], sep="\t")
    labels = pd.Series(d["y"], index=d["ids"])
    return fp, folds, labels


def test_evaluate_tables_one_row_per_protein_per_model(cv_data):
    fp, folds, labels = _tables(cv_data)
    preds, metrics, info = evaluate.evaluate_tables(fp, folds, labels, cv_data["records"], n_boot=200)
    n = len(cv_data["ids"])
    assert list(preds.columns) == ["id", "label", "prediction", "fold", "model"]
    assert len(preds) == 4 * n
    assert preds.groupby("model")["id"].nunique().to_dict() == {
        "schnet": n, "mean": n, "size_linear": n, "ridge_pooled": n
    }
    assert list(metrics["model"]) == ["schnet", "ridge_pooled", "size_linear", "mean"]
    assert (metrics["n"] == n).all()
    # SchNet row equals the metrics of the fold predictions themselves
    s = metrics.set_index("model").loc["schnet"]
    err = fp.set_index("id").loc[cv_data["ids"]]
    assert s["rmse"] == pytest.approx(np.sqrt(((err.y_pred - err.y_true) ** 2).mean()))
    # mean baseline under LOOCV: (sum - y_i) / (n - 1)
    y = cv_data["y"]
    mean_pred = preds[preds.model == "mean"].set_index("id").loc[cv_data["ids"], "prediction"]
    np.testing.assert_allclose(mean_pred, (y.sum() - y) / (n - 1))
    # size tracks the label in the synthetic data: size-only beats the mean
    m = metrics.set_index("model")
    assert m.loc["size_linear", "rmse"] < m.loc["mean", "rmse"]
    assert info["n_folds"] == n


def test_missing_fold_prediction_is_named(cv_data):
    fp, folds, labels = _tables(cv_data)
    with pytest.raises(InputError, match="p03"):
        evaluate.evaluate_tables(fp[fp.id != "p03"], folds, labels, cv_data["records"], n_boot=0)


def test_label_mismatch_is_refused(cv_data):
    fp, folds, labels = _tables(cv_data)
    labels = labels.copy()
    labels["p05"] += 1.0
    with pytest.raises(InputError, match="p05"):
        evaluate.evaluate_tables(fp, folds, labels, cv_data["records"], n_boot=0)


def test_histories_and_chain_lengths(cv_data):
    h = evaluate.gather_histories(cv_data["hist_paths"])
    assert set(h["fold"]) == set(range(len(cv_data["ids"])))
    assert list(h.columns) == ["fold", "epoch", "train_loss", "val_loss", "seconds"]
    lens = evaluate.chain_lengths(cv_data["records"])
    per_protein = lens.groupby("id")["length"].sum()
    for pid, rec in cv_data["records"].items():
        assert per_protein[pid] == rec.n_residues


def test_summary_table_and_json(cv_data, tmp_path):
    fp, folds, labels = _tables(cv_data)
    _, metrics, info = evaluate.evaluate_tables(fp, folds, labels, cv_data["records"], n_boot=100)
    text = evaluate.summary_table(metrics, "onehot", "loocv")
    assert "onehot ablation" in text
    assert len(text.splitlines()) == 3 + 4 + 1
    assert "best baseline" in text.splitlines()[-1]
    doc = evaluate.metrics_document(metrics, info, "facebook/esm2_t6_8M_UR50D", "group", 100, 0)
    assert doc["embedding_kind"] == "language model"
    assert doc["cv_scheme"] == "group"
    s = json.dumps(doc, allow_nan=False)  # no NaN leaks into JSON
    assert set(json.loads(s)["models"]) == {"schnet", "ridge_pooled", "size_linear", "mean"}


def test_fold_of_path():
    assert evaluate.fold_of_path("results/cv/loocv/fold-12/predictions.tsv") == 12
    with pytest.raises(ValueError):
        evaluate.fold_of_path("results/cv/loocv/predictions.tsv")
    assert evaluate.embedding_kind("onehot") == "onehot"
    assert evaluate.embedding_kind("/x/esm2") == "language model"
    assert math.isnan(float("nan"))
