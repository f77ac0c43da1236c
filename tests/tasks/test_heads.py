"""The multi-task head: masked losses per label, class priors and weights, checkpoints that
record the labels (format 4) and older checkpoints that still load."""

import math

import numpy as np
import pytest
import torch

from esm_schnet.core.settings import TrainingSettings
from esm_schnet.train.checkpoint import MODEL_FORMAT_VERSION, TrainedModel, load_model, save_model
from esm_schnet.encoders.graph import build_graph
from esm_schnet.tasks.heads import LabelHeads
from esm_schnet.core.labels import LabelSpec
from esm_schnet.encoders.model import ModelConfig, TargetScaler, build_model
from esm_schnet.train import train_model

from traindata import make_records

REG = LabelSpec("dg", "regression", "none")
REG2 = LabelSpec("tm", "regression", "none")
CLS = LabelSpec("kind", "classification", "balanced", ("a", "b", "c"))
SMALL = {"schnet": {"hidden_channels": 16, "num_filters": 16, "num_interactions": 1,
                    "num_gaussians": 10}}


def test_single_regression_label_loss_is_the_target_scalers():
    y = np.array([[1.0], [2.5], [4.0]])
    n = np.array([10.0, 20.0, 30.0])
    heads = LabelHeads.fit([LabelSpec("label", "regression", "none")], "add", y, n)
    scaler = TargetScaler.fit("add", y[:, 0], n)
    out = torch.tensor([0.3, -0.2, 0.1])
    yt, nt = torch.tensor(y[:, 0], dtype=torch.float32), torch.tensor(n, dtype=torch.float32)
    assert float(heads.loss(out, yt, nt)) == float(scaler.loss(out, yt, nt))


def test_missing_labels_are_masked_in_loss_and_gradient():
    nan = math.nan
    y = np.array([[1.0, nan, 0], [2.0, 5.0, nan], [nan, 6.0, 2], [4.0, 7.0, 1]])
    n = np.array([10.0, 20.0, 30.0, 15.0])
    heads = LabelHeads.fit([REG, REG2, CLS], "mean", y, n)
    assert heads.width == 5 and [h.start for h in heads.heads] == [0, 1, 2]
    yt, nt = torch.tensor(y, dtype=torch.float32), torch.tensor(n, dtype=torch.float32)
    out = torch.randn(4, 5, requires_grad=True)
    heads.loss(out, yt, nt).backward()
    g = out.grad
    assert g[2, 0] == 0 and g[0, 1] == 0 and (g[1, 2:] == 0).all()  # missing: no gradient
    assert g[0, 0] != 0 and g[1, 1] != 0 and (g[0, 2:] != 0).any()
    # no protein with a label: that label adds nothing
    only = heads.loss(out[:1], yt[:1].clone().fill_(nan), nt[:1])
    assert float(only.detach()) == 0.0


def test_class_prior_and_balanced_weights():
    y = np.array([[0], [0], [0], [1]], dtype=float)
    spec = LabelSpec("k", "classification", "balanced", ("x", "y"))
    heads = LabelHeads.fit([spec], "add", y, np.array([10.0, 10, 10, 10]))
    assert all(type(v) is float for d in heads.as_dict() for v in d["weights"] + d["log_prior"])
    h = heads.heads[0]
    assert h.weights == pytest.approx((4 / 6, 2.0))  # n / (classes x count)
    probs = heads.to_outputs(torch.zeros(2, 2), torch.tensor([10.0, 50.0]))[0]
    assert probs[0].tolist() == pytest.approx([3.5 / 5, 1.5 / 5])  # smoothed prior at output 0
    none = LabelHeads.fit([LabelSpec("k", "classification", "none", ("x", "y"))], "add", y,
                          np.ones(4))
    assert none.heads[0].weights == (1.0, 1.0)


def test_train_predict_save_load_several_labels(tmp_path):
    nan = math.nan
    recs = make_records(8, seed=2, sizes=(12, 40))
    ys = [(0.2 * r.n_residues, nan if k % 3 == 0 else -0.1 * r.n_residues,
           float(r.n_residues > 25)) for k, r in enumerate(recs)]
    graphs = [build_graph(r.id, r.embedding, r.ca, 10.0, y=y) for r, y in zip(recs, ys)]
    specs = [REG, REG2, LabelSpec("big", "classification", "none", ("no", "yes"))]
    cfg = ModelConfig.from_config(21, {"cutoff": 10.0}, SMALL, out_channels=4)
    model, heads, hist, info = train_model(
        graphs, cfg, TrainingSettings.from_dict({"epochs": 3, "seed": 0}), labels=specs)
    assert info["convergence"]["mean_predictor_loss"] > 0
    trained = TrainedModel(model, cfg, heads)
    pred = trained.predict_labels(graphs[:3])
    assert set(pred) == {"dg", "tm", "big"}
    assert all(np.isfinite(v) for v in pred["tm"].values())
    assert all(p.shape == (2,) and abs(p.sum() - 1) < 1e-6 for p in pred["big"].values())
    save_model(tmp_path / "m.pt", model, cfg, heads, {"x": 1})
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    assert payload["format_version"] == MODEL_FORMAT_VERSION == 8
    assert [h["spec"]["name"] for h in payload["labels"]] == ["dg", "tm", "big"]
    loaded = load_model(tmp_path / "m.pt")
    assert loaded.labels == specs and loaded.config.out_channels == 4
    again = loaded.predict_labels(graphs[:3])
    assert again["dg"] == pytest.approx(pred["dg"])
    for i in pred["big"]:
        np.testing.assert_allclose(again["big"][i], pred["big"][i], rtol=1e-6)
    with pytest.raises(ValueError, match="labels need 4 outputs"):
        train_model(graphs, ModelConfig.from_config(21, {"cutoff": 10.0}, SMALL),
                    TrainingSettings.from_dict({"epochs": 1}), labels=specs)


def test_format_3_checkpoint_still_loads(tmp_path):
    """A model.pt as format 3 wrote it: no `labels`, no out_channels, one `target_scaler`."""
    from dataclasses import asdict

    cfg = ModelConfig.from_config(21, {"cutoff": 10.0}, SMALL)
    torch.manual_seed(0)
    model = build_model(cfg)
    torch.nn.init.normal_(model.lin2.weight)
    scaler = TargetScaler(readout="add", intercept=1.0, slope=0.5, sigma=0.1, scale=20.0)
    config = {**asdict(cfg), **cfg.settings}  # SchNet's settings were flat fields then
    del config["out_channels"], config["settings"], config["head"]  # (head: since format 8)
    torch.save({"format": "esm-schnet-model", "format_version": 3, "model_config": config,
                "target_scaler": asdict(scaler), "meta": {},
                "state_dict": model.state_dict()}, tmp_path / "old.pt")
    old = load_model(tmp_path / "old.pt")
    assert [s.name for s in old.labels] == ["label"] and old.scaler == scaler
    recs = make_records(2, seed=0, sizes=(15, 30))
    graphs = [build_graph(r.id, r.embedding, r.ca, 10.0) for r in recs]
    assert old.predict(graphs) == pytest.approx(TrainedModel(model.eval(), cfg, scaler)
                                                .predict(graphs))
