"""evaluate for a classification label and for several labels: SchNet's class probabilities
next to the classification baselines on the same folds, metrics and paired comparisons."""

import json

import numpy as np
import pandas as pd
import pytest

from esm_schnet import evaluate
from esm_schnet.tasks.classification.tables import classification_tables, compare_classification
from esm_schnet.tasks.classification.tables import summary_table_cls
from esm_schnet.core.labels import LabelSpec, parse_labels
from esm_schnet.tasks.classification.metrics import CLS_METRICS

SPEC = LabelSpec("big", "classification", "none", ("big", "small"))
CLS_MODEL_ORDER = evaluate.model_order("classification")
# no parsed structures given here: the structure-aware regression baselines are skipped
REG_WITHOUT_STRUCTURE = [
    m for m in evaluate.model_order("regression") if m not in ("hgb_struct", "ridge_surface")
]


def test_classification_model_order_from_the_baseline_registry():
    assert CLS_MODEL_ORDER == ["schnet", "seq_logistic", "size_logistic", "majority_class"]


def _cls_inputs(d, noise=0.15, seed=0):
    """The synthetic CV data with a size-threshold class label and SchNet probabilities that
    track it (with noise)."""
    rng = np.random.default_rng(seed)
    size = d["size"]
    big = size > np.median(size)
    truth = pd.Series(np.where(big, "big", "small"), index=d["ids"])
    p_big = np.clip(np.where(big, 0.8, 0.2) + rng.normal(scale=noise, size=len(big)), 0.01, 0.99)
    fp = pd.DataFrame({"id": d["ids"], "y_true": list(truth),
                       "y_pred": np.where(p_big >= 0.5, "big", "small"), "fold": d["fold"],
                       "p_big": p_big, "p_small": 1 - p_big})
    folds = pd.read_csv(d["folds"], sep="\t")
    return fp, folds, truth


def test_classification_tables_and_comparisons(cv_data):
    fp, folds, truth = _cls_inputs(cv_data)
    preds, metrics, info = classification_tables(SPEC, fp, folds, truth, cv_data["records"],
                                                 n_boot=100)
    n = len(cv_data["ids"])
    assert list(metrics["model"]) == CLS_MODEL_ORDER
    assert (metrics["n"] == n).all() and (metrics["n_classes"] == 2).all()
    assert list(preds.columns) == ["id", "label", "prediction", "fold", "model", "p_big",
                                   "p_small"]
    assert preds.groupby("model")["id"].nunique().to_dict() == {m: n for m in CLS_MODEL_ORDER}
    np.testing.assert_allclose(preds[["p_big", "p_small"]].sum(axis=1), 1.0, atol=1e-9)
    m = metrics.set_index("model")
    # SchNet's row is the metrics of its own probabilities: AUROC from the ranks of p_big
    from sklearn.metrics import roc_auc_score

    y = (truth.loc[cv_data["ids"]] == "small").astype(int)  # class 1 = "small"
    assert m.loc["schnet", "auroc"] == pytest.approx(roc_auc_score(y, fp["p_small"]))
    # the label is a size threshold: size-only logistic ranks it almost perfectly; the
    # majority class carries no information about the protein (under LOOCV its training prior
    # even ranks against the held-out class)
    assert m.loc["size_logistic", "auroc"] > 0.9
    assert m.loc["majority_class", "auroc"] <= 0.5 < m.loc["schnet", "auroc"]
    assert info["class_counts"] == [int((truth == "big").sum()), int((truth == "small").sum())]
    comp = compare_classification(SPEC, preds, folds, n_boot=100)
    assert list(comp.columns) == evaluate.COMPARISON_COLUMNS
    assert set(comp["baseline"]) == set(CLS_MODEL_ORDER[1:])
    assert set(comp["metric"]) == set(CLS_METRICS)
    majority = comp[(comp.baseline == "majority_class") & (comp.metric == "auroc")].iloc[0]
    assert majority["difference"] > 0 and majority["verdict"] == "better"
    text = summary_table_cls(metrics, "onehot", "loocv", comp)
    best = m.drop(index="schnet")["auroc"].idxmax()
    assert "AUROC" in text and f"SchNet vs the best baseline ({best}, AUROC" in text


def test_wrong_class_in_fold_predictions_is_named(cv_data):
    from esm_schnet.core.errors import InputError

    fp, folds, truth = _cls_inputs(cv_data)
    fp.loc[fp.id == "p04", "y_true"] = "big" if truth["p04"] == "small" else "small"
    with pytest.raises(InputError, match="p04"):
        classification_tables(SPEC, fp, folds, truth, cv_data["records"], n_boot=0)


def test_run_with_a_regression_and_a_classification_label(cv_data, tmp_path, monkeypatch):
    """The evaluate job on long fold predictions of two labels writes every table with the
    label's name (target) and metrics.json per label."""
    fp, folds, truth = _cls_inputs(cv_data)
    samples = pd.read_csv(cv_data["samples"], sep="\t")
    samples["big"] = truth.loc[samples["id"]].to_numpy()
    samples.to_csv(cv_data["samples"], sep="\t", index=False)
    paths = []
    for path in cv_data["pred_paths"]:
        reg = pd.read_csv(path, sep="\t")
        reg.insert(1, "target", "label")
        cls = fp[fp["id"].isin(reg["id"])].copy()
        cls.insert(1, "target", "big")
        both = pd.concat([reg.assign(p_big=np.nan, p_small=np.nan), cls])
        both.to_csv(path, sep="\t", index=False, na_rep="")
        paths.append(path)
    from esm_schnet.evaluate.read import pool_record

    monkeypatch.setattr("esm_schnet.evaluate.read.pooled_records",
                        lambda shards, ids=None: {i: pool_record(r)
                                                  for i, r in cv_data["records"].items()})
    out = evaluate.EvaluateOutputs.under(tmp_path / "out")
    inputs = evaluate.EvaluateInputs(
        fold_predictions=paths, folds=cv_data["folds"], samples=cv_data["samples"], shards=[],
        embedding_model="onehot", scheme="loocv", histories=cv_data["hist_paths"],
        provenances=cv_data["prov_paths"], n_boot=50,
        labels=parse_labels(["label", {"column": "big", "task": "classification"}]))
    evaluate.run(inputs, out)
    metrics = pd.read_csv(out.metrics, sep="\t")
    assert list(metrics.columns[:3]) == ["target", "task", "model"]
    assert metrics.groupby("target")["model"].apply(list).to_dict() == {
        "big": CLS_MODEL_ORDER, "label": REG_WITHOUT_STRUCTURE}
    comp = pd.read_csv(out.comparisons, sep="\t")
    assert set(comp.loc[comp.target == "big", "metric"]) == set(CLS_METRICS)
    assert set(comp.loc[comp.target == "label", "metric"]) == {"rmse", "mae"}
    preds = pd.read_csv(out.predictions, sep="\t", dtype={"label": str, "prediction": str})
    assert len(preds) == len(cv_data["ids"]) * (len(CLS_MODEL_ORDER) + len(REG_WITHOUT_STRUCTURE))
    doc = json.loads(out.json.read_text())
    assert doc["task"] == "regression" and "rmse" in doc["models"]["schnet"]  # the first label
    assert doc["targets"]["big"]["task"] == "classification"
    cls = metrics[(metrics.target == "big") & (metrics.model != "schnet")]
    assert doc["targets"]["big"]["best_baseline"] == cls.set_index("model")["auroc"].idxmax()
    html = out.html.read_text()
    assert "Label big (classification)" in html and "AUROC [95% CI]" in html
