"""Several labels and classification through the whole workflow, on the bundled example.

One run (onehot features, a small SchNet, 5-fold CV) with three labels of the example's 20
proteins: `label` (the example's own, regression), `half` (regression, empty on every third row)
and `large` (classification: more than the median number of residues, so a size threshold the
model must learn). Checks fold predictions, metrics, comparisons, plots, the final model and the
report; and that a label column that does not fit its task is refused before any job runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EXAMPLE = REPO / "resources" / "example"

pytestmark = pytest.mark.slow

LABELS = ["label", "half", {"column": "large", "task": "classification",
                            "class_weights": "balanced"}]


def _smk(workdir: Path, *args: str, check: bool = True):
    cmd = [str(BIN / "snakemake"), "--snakefile", str(REPO / "Snakefile"),
           "--directory", str(workdir), "--configfile", str(workdir / "config.yaml"), *args]
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(workdir), "MPLBACKEND": "Agg"}
    if os.environ.get("PYTHONPATH"):  # a worktree's sources ahead of the venv's install
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=workdir)
    res.output = res.stdout + res.stderr
    if check and res.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{res.output[-8000:]}")
    return res


def _residues(path: Path) -> int:
    from esm_schnet.parse import parse_structure

    return parse_structure(path, path.name).n_residues


def _table(wd: Path) -> pd.DataFrame:
    """The example's samples with the extra label columns (absolute structure paths)."""
    ex = pd.read_csv(EXAMPLE / "samples.tsv", sep="\t", dtype=str)
    ex["structure"] = [str(EXAMPLE / s) for s in ex["structure"]]
    n = np.array([_residues(Path(s)) for s in ex["structure"]])
    ex["half"] = [f"{0.5 * float(v):.3f}" if k % 3 else "" for k, v in enumerate(ex["label"])]
    ex["large"] = np.where(n > np.median(n), "large", "small")
    ex["n_residues"] = n
    return ex


def _config(wd: Path, samples: str, labels, predict=None) -> None:
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    cfg["samples"] = samples
    cfg["labels"] = labels
    cfg["embedding"].update(model="onehot", shards=2, cache="cache", device="cpu")
    cfg["model"]["schnet"] = dict(hidden_channels=16, num_filters=16, num_interactions=1,
                                 num_gaussians=16)
    cfg["training"].update(epochs=15, batch_size=2, lr=0.005, warmup_epochs=1, device="cpu")
    cfg["cv"].update(scheme="kfold", k=5)
    cfg["evaluate"]["bootstrap"] = 100
    cfg["plots"]["dpi"] = 50
    cfg["predict"]["samples"] = predict
    cfg["predict"]["models"] = "both"  # the final model and the 5 fold models: an ensemble
    (wd / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    wd = tmp_path_factory.mktemp("multilabel")
    table = _table(wd)
    table.drop(columns=["n_residues"]).to_csv(wd / "samples.tsv", sep="\t", index=False)
    # prediction table: three of the proteins, with one of the labels only
    table.head(3)[["id", "structure", "half"]].to_csv(wd / "predict.tsv", sep="\t", index=False)
    _config(wd, "samples.tsv", LABELS, predict="predict.tsv")
    _smk(wd, "--cores", "2")
    return wd, table


def test_fold_predictions_one_row_per_protein_and_label(run):
    wd, table = run
    frames = [pd.read_csv(p, sep="\t", dtype={"y_true": str, "y_pred": str})
              for p in sorted((wd / "results/cv/kfold").glob("fold-*/predictions.tsv"))]
    assert len(frames) == 5
    fp = pd.concat(frames)
    assert list(fp.columns) == ["id", "target", "y_true", "y_pred", "fold", "p_large",
                                "p_small"]
    counts = fp.groupby("target")["id"].nunique().to_dict()
    labelled_half = int((table["half"] != "").sum())
    assert counts == {"label": 20, "half": labelled_half, "large": 20}
    assert labelled_half < 20  # rows without the label are not scored on it
    cls = fp[fp["target"] == "large"]
    p = cls[["p_large", "p_small"]].astype(float).to_numpy()
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-5)
    assert set(cls["y_true"]) == {"large", "small"}
    truth = table.set_index("id")["large"]
    assert (cls.set_index("id")["y_true"] == truth.loc[cls["id"]]).all()
    # regression rows carry no class probabilities; their y_true is the sample table's value
    reg = fp[fp["target"] == "half"].set_index("id")
    half = table.set_index("id")["half"]
    np.testing.assert_allclose(reg["y_true"].astype(float),
                               half.loc[reg.index].astype(float), rtol=1e-6)
    assert reg[["p_large", "p_small"]].isna().all().all()


def test_metrics_and_comparisons_per_label(run):
    wd, table = run
    m = pd.read_csv(wd / "results/metrics.tsv", sep="\t")
    assert list(m.columns[:4]) == ["target", "task", "model", "n"]
    assert set(m["target"]) == {"label", "half", "large"}
    reg = m[m["target"] == "half"].set_index("model")
    assert set(reg.index) == {"schnet", "hgb_struct", "ridge_surface", "ridge_seq", "ridge_pooled",
                              "size_linear", "mean"}
    assert (reg["n"] == int((table["half"] != "").sum())).all()
    cls = m[m["target"] == "large"].set_index("model")
    assert set(cls.index) == {"schnet", "seq_logistic", "size_logistic", "majority_class"}
    assert (cls["n"] == 20).all()
    # the size threshold is learned: AUROC well above chance, and the interval above 0.5
    assert cls.loc["schnet", "auroc"] > 0.8, cls.loc["schnet"].to_dict()
    assert cls.loc["schnet", "auroc_lo"] > 0.5
    # the size-only logistic baseline sees exactly the feature that defines the label
    assert cls.loc["size_logistic", "auroc"] > 0.9
    assert cls.loc["schnet", "auroc"] > cls.loc["majority_class", "auroc"]
    # kfold is stratified on the classification label: each class spread evenly over the folds
    folds = pd.read_csv(wd / "results/cv/kfold/folds.tsv", sep="\t").set_index("id")
    per_fold = pd.crosstab(folds["fold"], table.set_index("id").loc[folds.index, "large"])
    assert per_fold.shape == (5, 2)
    assert (per_fold.max() - per_fold.min()).max() <= 1, per_fold
    for c in ("auroc", "auprc", "accuracy", "balanced_accuracy", "mcc", "log_loss"):
        assert {c, f"{c}_lo", f"{c}_hi"} <= set(m.columns)
        assert cls[c].notna().all()
    comp = pd.read_csv(wd / "results/comparisons.tsv", sep="\t")
    assert set(comp["target"]) == {"label", "half", "large"}
    assert set(comp.loc[comp["target"] == "large", "metric"]) >= {"auroc", "log_loss"}
    assert set(comp.loc[comp["target"] == "half", "metric"]) == {"rmse", "mae"}
    assert comp["verdict"].isin(["better", "worse", "not distinguishable"]).all()
    doc = json.loads((wd / "results/metrics.json").read_text())
    assert [d["name"] for d in doc["labels"]] == ["label", "half", "large"]
    assert doc["labels"][2]["classes"] == ["large", "small"]
    assert doc["targets"]["large"]["task"] == "classification"
    assert doc["targets"]["large"]["models"]["schnet"]["auroc"] == pytest.approx(
        cls.loc["schnet", "auroc"], rel=1e-4)
    # the long predictions table: every model of every label
    preds = pd.read_csv(wd / "results/predictions.tsv", sep="\t", dtype={"label": str})
    assert preds.groupby("target")["id"].nunique().to_dict()["half"] == (table["half"] != "").sum()
    schnet = preds[(preds["target"] == "large") & (preds["model"] == "schnet")]
    assert len(schnet) == 20 and schnet[["p_large", "p_small"]].notna().all().all()


def test_plots_final_model_and_report(run):
    wd, _ = run
    plots = wd / "results" / "plots"
    for name in ("parity-label", "residuals-label", "parity-half", "residuals-half",
                 "roc_pr-large", "confusion-large", "lengths", "learning_curves"):
        for ext in ("png", "svg"):
            assert (plots / f"{name}.{ext}").stat().st_size > 0, name
    assert not (plots / "parity.png").exists()
    import torch

    from esm_schnet.train.checkpoint import MODEL_FORMAT_VERSION, load_model

    payload = torch.load(wd / "results/final/model.pt", weights_only=True)
    assert payload["format_version"] == MODEL_FORMAT_VERSION
    model = load_model(wd / "results/final/model.pt")
    assert [s.name for s in model.labels] == ["label", "half", "large"]
    assert model.labels[2].classes == ("large", "small")
    assert model.config.out_channels == 4  # two regression outputs + two logits
    res = _smk(wd, "--cores", "1", "--report", "results/report.html")
    assert "Traceback" not in res.output
    assert (wd / "results/report.html").stat().st_size > 0


def test_predict_writes_every_label(run):
    wd, table = run
    pred = pd.read_csv(wd / "results/predict/predictions.tsv", sep="\t")
    assert list(pred.columns) == [
        "id", "n_models", "status", "reason", "prediction_label", "prediction_std_label",
        "prediction_half", "prediction_std_half", "prediction_large", "p_large_large",
        "p_large_small", "label_half", "error_half"]
    assert (pred["n_models"] == 6).all()  # predict.models: both (final + 5 folds)
    # the ensemble is the mean of its models, each scored on its own (the one-step Python API)
    import esm_schnet

    paths = [wd / "results/final/model.pt",
             *sorted((wd / "results/cv/kfold").glob("fold-*/model.pt"))]
    each = [esm_schnet.predict(str(p), list(table["structure"][:3]), ids=list(table["id"][:3]),
                               device="cpu", cache="") for p in paths]
    for col in ("prediction_half", "p_large_large", "p_large_small"):
        mean = np.mean([t[col].to_numpy(dtype=float) for t in each], axis=0)
        np.testing.assert_allclose(pred[col], mean, rtol=1e-4, atol=1e-5)
    std = np.std([t["prediction_half"].to_numpy(dtype=float) for t in each], axis=0, ddof=1)
    np.testing.assert_allclose(pred["prediction_std_half"], std, rtol=1e-3, atol=1e-5)
    assert (each[0]["n_models"] == 1).all() and each[0]["prediction_std_half"].isna().all()
    assert list(pred["id"]) == list(table["id"][:3]) and (pred["status"] == "ok").all()
    np.testing.assert_allclose(pred[["p_large_large", "p_large_small"]].sum(axis=1), 1.0,
                               atol=1e-6)
    assert set(pred["prediction_large"]) <= {"large", "small"}
    ok = pred.dropna(subset=["label_half"])
    np.testing.assert_allclose(ok["error_half"], ok["prediction_half"] - ok["label_half"],
                               atol=1e-4)  # TSV cells carry 6 significant digits


@pytest.mark.parametrize(
    ("column", "values", "labels", "expected"),
    [
        ("half", ["x"] + ["1.0"] * 19, ["label", "half"],
         "line 2, column 'half': 'x' is not a number"),
        ("large", ["a"] * 20, ["label", {"column": "large", "task": "classification"}],
         "line 1, column 'large': classification label with one class only (every labelled row "
         "is 'a')"),
        ("large", [f"c{k}" for k in range(20)],
         [{"column": "large", "task": "classification"}],
         "line 1, column 'large': classification label with 20 classes in 20 rows"),
    ],
    ids=["not-a-number", "one-class", "too-many-classes"],
)
def test_label_that_does_not_fit_its_task_is_refused_before_any_job(tmp_path, column, values,
                                                                      labels, expected):
    ex = pd.read_csv(EXAMPLE / "samples.tsv", sep="\t", dtype=str)
    ex["structure"] = [str(EXAMPLE / s) for s in ex["structure"]]
    ex[column] = values
    ex.to_csv(tmp_path / "samples.tsv", sep="\t", index=False)
    _config(tmp_path, "samples.tsv", labels)
    res = _smk(tmp_path, "-n", check=False)
    assert res.returncode != 0
    assert expected in res.output, res.output[-3000:]
    assert "Traceback" not in res.output
    assert not (tmp_path / "results").exists()
