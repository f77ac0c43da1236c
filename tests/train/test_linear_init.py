"""The ridge start of model.linear's linear term (esm_schnet.train.linear_init)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from esm_schnet.train.checkpoint import TrainedModel
from esm_schnet.encoders.graph import build_graph
from esm_schnet.encoders.model import ModelConfig
from esm_schnet.core.settings import TrainingSettings
from esm_schnet.train import train_model
from esm_schnet.train.linear_init import fit_ridge

from traindata import AA, make_records, radius_of_gyration

SMALL = {"schnet": {"hidden_channels": 16, "num_filters": 16, "num_interactions": 1,
                    "num_gaussians": 25},
         "centroid": False}


def test_fit_ridge_recovers_a_linear_law_in_raw_units_and_drops_a_useless_group():
    """Weighted, offset and badly scaled columns: the law comes back in x's own units, and the
    group that carries nothing gets weight 0 (the inner CV prefers fewer noisy columns)."""
    rng = np.random.default_rng(0)
    useful = rng.normal(size=(60, 4)) * [1.0, 10.0, 0.5, 3.0] + 5.0
    noise = rng.normal(size=(60, 20))
    x = np.hstack([noise, useful])
    y = useful @ [2.0, -0.3, 7.0, 0.5] - 1.0 + 0.01 * rng.normal(size=60)
    w = rng.uniform(1.0, 4.0, size=60)
    coef, b, choice = fit_ridge(x, y, w, groups=[20, 4])
    assert choice["scales"][0] == 0.0 and choice["scales"][1] > 0
    np.testing.assert_allclose(coef[20:], [2.0, -0.3, 7.0, 0.5], rtol=0.03)
    assert np.all(coef[:20] == 0.0)
    assert np.sqrt(np.mean((x @ coef + b - y) ** 2)) < 0.05 * y.std()


def test_a_column_that_barely_varies_in_training_does_not_blow_up_a_prediction():
    """A column constant up to 1e-9 on the training rows (a neighbour-profile Gaussian below the
    C-alpha spacing) and 1 on a new row: scaled column by column it would get unit variance and
    a coefficient that turns the new row into ~1e9; scaled with its group it stays harmless."""
    rng = np.random.default_rng(1)
    informative = rng.normal(size=(30, 3))
    flat = 1e-9 * rng.normal(size=(30, 1))
    x = np.hstack([informative, flat])
    y = informative @ [1.0, 2.0, -1.0] + 1e-3 * rng.normal(size=30) + 1e3 * flat[:, 0]
    coef, b, _ = fit_ridge(x, y, np.ones(30), groups=[4])
    new = np.array([0.0, 0.0, 0.0, 1.0])
    assert abs(new @ coef + b) < 10.0, new @ coef + b
    np.testing.assert_allclose(coef[:3], [1.0, 2.0, -1.0], atol=0.05)


def _composition_graphs(n_proteins: int, seed: int):
    """Proteins labelled by a weighted residue count (an extensive composition label)."""
    weights = np.linspace(0.5, 3.0, 21)
    recs = make_records(n_proteins, seed=seed, sizes=(20, 60))
    return [build_graph(r.id, r.embedding, r.ca, 10.0,
                        y=float(weights[[AA.index(a) for a in r.sequence]].sum()) + 4.0)
            for r in recs]


def test_ridge_start_makes_the_untrained_network_the_composition_model():
    """readout add, model.linear, 0 epochs worth of learning (lr 1e-12): with the ridge start
    the network already predicts a held-out composition label almost exactly (intercept a in the
    scaler, per-type weights in the linear term); the zero start predicts the size-only line,
    far worse. The fold's convergence yardstick stays the size-only line either way."""
    graphs = _composition_graphs(50, seed=2)
    train, test = graphs[:40], graphs[40:]
    y = np.array([g.y for g in test])
    cfg = ModelConfig.from_config(21, {"cutoff": 10.0}, {**SMALL, "readout": "add",
                                                        "linear": True})
    rmse, info = {}, {}
    for start in ("ridge", "zero"):
        net, heads, _, info[start] = train_model(
            train, cfg, TrainingSettings.from_dict({"epochs": 1, "lr": 1e-12, "seed": 0,
                                                    "linear_init": start}))
        pred = TrainedModel(net, cfg, heads).predict(test)
        rmse[start] = float(np.sqrt(np.mean((np.array([pred[g.id] for g in test]) - y) ** 2)))
    assert rmse["ridge"] < 0.1, rmse
    assert rmse["zero"] > 20 * rmse["ridge"], rmse
    assert info["zero"]["linear_init"] == {}
    scales = info["ridge"]["linear_init"]["label"]["scales"]
    assert scales.keys() == {"embedding", "profile", "size"} and scales["embedding"] > 0
    # same size-only yardstick: the mean predictor's loss does not depend on the start
    ref = [info[s]["convergence"]["mean_predictor_loss"] for s in ("ridge", "zero")]
    assert ref[0] == pytest.approx(ref[1], rel=1e-9)
    assert info["ridge"]["convergence"]["ratio"] < 0.01 < info["zero"]["convergence"]["ratio"]


def test_ridge_start_under_mean_readout_fits_an_intensive_shape_label():
    """readout mean, model.linear + model.centroid, lr 1e-12: the radius of gyration over
    N^(1/3) of random walks of varied compactness is nearly linear in the mean-pooled centroid
    features, so the ridge start alone already beats the size-only line on held-out proteins."""
    recs = make_records(60, seed=4, sizes=(30, 70))
    graphs = [build_graph(r.id, r.embedding, r.ca, 10.0,
                          y=radius_of_gyration(r.ca) / r.n_residues ** (1 / 3)) for r in recs]
    train, test = graphs[:48], graphs[48:]
    y = np.array([g.y for g in test])
    cfg = ModelConfig.from_config(21, {"cutoff": 10.0}, {**SMALL, "readout": "mean",
                                                        "linear": True, "centroid": True})
    rmse = {}
    for start in ("ridge", "zero"):
        net, heads, _, _ = train_model(train, cfg, TrainingSettings.from_dict({
            "epochs": 1, "lr": 1e-12, "seed": 0, "linear_init": start}))
        pred = TrainedModel(net, cfg, heads).predict(test)
        rmse[start] = float(np.sqrt(np.mean((np.array([pred[g.id] for g in test]) - y) ** 2)))
    assert rmse["ridge"] < 0.5 * rmse["zero"], rmse


def test_ridge_start_is_deterministic_and_leaves_a_model_without_linear_term_alone():
    graphs = _composition_graphs(12, seed=6)
    cfg = ModelConfig.from_config(21, {"cutoff": 10.0}, {**SMALL, "readout": "add",
                                                        "linear": True})
    a = train_model(graphs, cfg, TrainingSettings.from_dict({"epochs": 2, "seed": 0}))
    b = train_model(graphs, cfg, TrainingSettings.from_dict({"epochs": 2, "seed": 0}))
    for pa, pb in zip(a[0].state_dict().values(), b[0].state_dict().values()):
        assert torch.equal(pa, pb)
    plain = ModelConfig.from_config(21, {"cutoff": 10.0}, {**SMALL, "readout": "add",
                                                          "linear": False})
    runs = [train_model(graphs, plain,
                        TrainingSettings.from_dict({"epochs": 2, "seed": 0, "linear_init": s}))
            for s in ("ridge", "zero")]
    assert runs[0][3]["linear_init"] == {}
    for pa, pb in zip(runs[0][0].state_dict().values(), runs[1][0].state_dict().values()):
        assert torch.equal(pa, pb)
    assert runs[0][1].as_dict() == runs[1][1].as_dict()


def test_inner_cv_units_keep_a_family_out_of_its_own_validation():
    """Families of near-copies, each with its own offset, and a group of columns that is a
    random code per family: with rows as inner-CV units the code looks predictive (siblings sit
    in the inner training part) and is kept at full weight; with the families as units
    (cv.scheme: group) it predicts noise for an unseen family and is weighted down."""
    rng = np.random.default_rng(3)
    fam = np.repeat(np.arange(12), 5)
    ident = rng.normal(size=(12, 8))[fam] + 0.01 * rng.normal(size=(60, 8))
    signal = rng.normal(size=(60, 1))
    y = 2.0 * signal[:, 0] + rng.normal(scale=3.0, size=12)[fam]
    x = np.hstack([ident, signal])
    _, _, rows = fit_ridge(x, y, np.ones(60), groups=[8, 1])
    _, _, families = fit_ridge(x, y, np.ones(60), groups=[8, 1], units=fam)
    assert rows["scales"][0] == 1.0 and families["scales"][0] < 1.0, (rows, families)


@pytest.fixture
def seen_units(monkeypatch):
    """Records the inner-CV units that reach init_linear_term (and runs it)."""
    import esm_schnet.train.linear_init as li

    seen = {}
    real = li.init_linear_term

    def spy(model, batches, heads, readout, seed=0, units=None, **kw):
        seen["units"] = units
        return real(model, batches, heads, readout, seed, units, **kw)

    monkeypatch.setattr(li, "init_linear_term", spy)
    return seen


def test_train_model_passes_the_clusters_to_the_ridge_start(seen_units):
    seen = seen_units
    graphs = _composition_graphs(6, seed=7)
    cfg = ModelConfig.from_config(21, {"cutoff": 10.0}, {**SMALL, "readout": "add",
                                                        "linear": True})
    groups = {g.id: f"c{k // 2}" for k, g in enumerate(graphs)}
    train_model(graphs, cfg, TrainingSettings.from_dict({"epochs": 1, "seed": 0}), groups=groups)
    assert seen["units"] == [groups[g.id] for g in graphs]
    train_model(graphs, cfg, TrainingSettings.from_dict({"epochs": 1, "seed": 0}))
    assert seen["units"] is None


@pytest.mark.parametrize("scheme,grouped", [("group", True), ("loocv", False), (None, False)])
def test_train_fold_groups_the_ridge_start_by_cluster_only_under_the_group_scheme(
        tmp_path, seen_units, scheme, grouped):
    """`esm-schnet train-fold --scheme group` hands the folds table's clusters to the ridge
    start's inner CV (as ridge_seq's inner CV uses them under that scheme); other schemes do
    not."""
    import json

    from esm_schnet.cv import write_folds
    from esm_schnet.train import cli_fold

    from traindata import config_file, write_dataset

    seen = seen_units
    recs = make_records(6, seed=0, sizes=(15, 30))
    shards, samples = write_dataset(tmp_path, recs, {r.id: 0.3 * r.n_residues for r in recs})
    folds = tmp_path / "folds.tsv"
    write_folds([{"id": r.id, "fold": k % 3, "cluster": f"c{k % 3}"} for k, r in enumerate(recs)],
                folds)
    argv = ["--shards", *shards, "--samples", samples, "--folds", str(folds), "--fold", "0",
            "--config-file", config_file(tmp_path / "fold.yaml", model={**SMALL, "linear": True},
                                         training={"epochs": 1, "device": "cpu"}),
            "--outdir", str(tmp_path / "out"), "--log", str(tmp_path / "fold.log")]
    assert cli_fold(argv + ([] if scheme is None else ["--scheme", scheme])) == 0
    clusters = [f"c{k % 3}" for k in range(len(recs)) if k % 3 != 0]  # the training proteins'
    assert seen["units"] == (clusters if grouped else None), seen


def test_weighted_ridge_solves_the_weighted_normal_equations():
    """Noisy rows, uneven weights: the path equals the direct solve of the weighted ridge with
    an unpenalised intercept (a version that ignored or squared the weights would not)."""
    from esm_schnet.train.linear_init import _weighted_ridge

    rng = np.random.default_rng(8)
    x, r = rng.normal(size=(25, 6)), rng.normal(size=25)
    w = rng.uniform(0.1, 10.0, size=25)
    xte = rng.normal(size=(4, 6))
    pred, _ = _weighted_ridge(x, r, w, xte, [0.5])
    design = np.hstack([np.ones((25, 1)), x])
    penalty = np.diag([0.0] + [0.5] * 6)  # min sum w e^2 + 0.5 |coef|^2, intercept free
    beta = np.linalg.solve(design.T @ (w[:, None] * design) + penalty, design.T @ (w * r))
    np.testing.assert_allclose(pred[:, 0], np.hstack([np.ones((4, 1)), xte]) @ beta, rtol=1e-9)


@pytest.mark.parametrize("readout", ["add", "mean"])
def test_untrained_network_is_exactly_the_ridge_model_for_every_label(readout):
    """Three heads, a classification label first (its logits keep the zero start), then two
    regression labels, one missing for some proteins: after the ridge start the untrained
    network's label-space prediction equals, per regression label, the ridge fit that
    fit_ridge returns on the pooled inputs and the size column."""
    from esm_schnet.encoders.geometry import CentroidFeatures
    from esm_schnet.encoders.graph import collate
    from esm_schnet.tasks.heads import LabelHeads
    from esm_schnet.core.labels import LabelSpec
    from esm_schnet.encoders.model import build_model
    from esm_schnet.train.linear_init import init_linear_term

    recs = make_records(14, seed=9, sizes=(20, 50))
    graphs = [build_graph(r.id, r.embedding, r.ca, 10.0) for r in recs]
    rng = np.random.default_rng(9)
    n = np.array([float(g.num_nodes) for g in graphs])
    cls = rng.integers(0, 3, size=len(graphs)).astype(float)
    y1 = 0.7 * n + rng.normal(size=len(graphs))
    y2 = np.where(np.arange(len(graphs)) % 4 == 0, np.nan, 3.0 + rng.normal(size=len(graphs)))
    specs = [LabelSpec("kind", "classification", "none", ("a", "b", "c")),
             LabelSpec("y1", "regression", "none"), LabelSpec("y2", "regression", "none")]
    cfg = ModelConfig.from_config(21, {"cutoff": 10.0}, {**SMALL, "readout": readout,
                                                        "linear": True, "centroid": True},
                                  out_channels=5)
    torch.manual_seed(0)
    net = build_model(cfg).eval()
    targets = np.stack([cls, y1, y2], axis=1)
    heads = LabelHeads.fit(specs, readout, targets, n)
    batches = []
    for g, t in zip(graphs, targets):
        g.y = [float(v) for v in t]  # as the fold job's graphs carry several labels
        batches.append(collate([g]))
    chosen = init_linear_term(net, batches, heads, readout, seed=0)
    assert set(chosen) == {"y1", "y2"}
    assert torch.all(net.skip.weight[:3] == 0) and torch.all(net.skip.bias[:3] == 0)
    with torch.no_grad():
        out = torch.cat([net(b).view(1, -1) for b in batches]).double()
        pooled = np.stack([net.linear_inputs(b).double().mean(0).numpy() for b in batches])
    size = (1.0 / n if readout == "add" else n)[:, None]
    design = np.hstack([pooled, size])
    widths = [21, CentroidFeatures.width, net.num_gaussians, 1]
    for j, y in ((1, y1), (2, y2)):
        have = np.isfinite(y)
        r, w = (y / n, n**2) if readout == "add" else (y, np.ones(len(y)))
        coef, b0, _ = fit_ridge(design[have], r[have], w[have], widths, seed=j)
        want = design @ coef + b0
        want = want * n if readout == "add" else want
        got = heads.heads[j].scaler.to_label(out[:, heads.heads[j].start], torch.tensor(n))
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-4, atol=1e-4)


def test_linear_lr_scale_0_leaves_the_linear_term_at_its_ridge_start():
    """training.linear_lr_scale 0: the linear term keeps its ridge fit, the rest of the network
    trains; 1 (the default) trains the term too, as does the zero start."""
    graphs = _composition_graphs(16, seed=8)
    cfg = ModelConfig.from_config(21, {"cutoff": 10.0}, {**SMALL, "readout": "add",
                                                        "linear": True})
    start = train_model(graphs, cfg, TrainingSettings.from_dict({
        "epochs": 1, "lr": 1e-30, "seed": 0, "linear_lr_scale": 0}))[0]  # the ridge start itself
    runs = {s: train_model(graphs, cfg, TrainingSettings.from_dict({
        "epochs": 3, "lr": 1e-3, "seed": 0, "linear_lr_scale": s}))[0] for s in (0.0, 1.0)}
    for name, p0 in start.named_parameters():
        moved = {s: not torch.equal(p0, dict(m.named_parameters())[name])
                 for s, m in runs.items()}
        if name.startswith("skip."):
            assert moved == {0.0: False, 1.0: True}, name
        elif name.startswith("lin2."):  # the nonlinear path's output layer trains either way
            assert moved == {0.0: True, 1.0: True}, name
    zero = train_model(graphs, cfg, TrainingSettings.from_dict({
        "epochs": 3, "lr": 1e-3, "seed": 0, "linear_init": "zero"}))[0]
    assert zero.skip.weight.abs().max() > 0


def test_a_frozen_zero_linear_term_is_refused_in_one_line():
    from esm_schnet.core.errors import ConfigError
    from esm_schnet.core.settings import TrainingSettings

    with pytest.raises(ConfigError, match="linear_lr_scale") as err:
        TrainingSettings.from_dict({"linear_init": "zero", "linear_lr_scale": 0})
    assert "\n" not in str(err.value)
    assert TrainingSettings.from_dict({"linear_init": "zero"}).linear_lr_scale == 1.0
    assert TrainingSettings.from_dict({"linear_lr_scale": 0}).linear_lr_scale == 0
