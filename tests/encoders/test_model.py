import dataclasses
import math

import numpy as np

import pytest
import torch
from torch_geometric.nn.models import SchNet

from esm_schnet.train.checkpoint import TrainedModel, load_model, save_model
from esm_schnet.encoders.schnet import FeatureProjection, PrecomputedRadiusGraph, SchNetEncoder
from esm_schnet.encoders.tabulated import TabulatedCFConv, shared_filter_tables
from esm_schnet.encoders.graph import build_graph, collate, radius_graph
from esm_schnet.encoders.model import ModelConfig, TargetScaler, build_model

from traindata import make_records


SCHNET_KEYS = ("hidden_channels", "num_filters", "num_interactions", "num_gaussians", "filter",
               "filter_spacing", "head")


def model_config(cutoff=10.0, in_channels=21, **model):
    """A ModelConfig from config sections (the schema fills the rest, as in the workflow); the
    SchNet keys among `model` go to its section model.schnet."""
    schnet = {k: model.pop(k) for k in SCHNET_KEYS if k in model}
    return ModelConfig.from_config(in_channels, {"cutoff": cutoff}, {**model, "schnet": schnet})


def tiny_graphs(cutoff=20.0, seed=0):
    recs = make_records(2, seed=seed, sizes=(15, 30))
    return [build_graph(r.id, r.embedding, r.ca, cutoff) for r in recs]


def random_rotation(seed=0):
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(3, 3, generator=g, dtype=torch.float64))
    if torch.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q.float()


@pytest.fixture
def model():
    """Plain SchNet (no centroid features, no linear term: those have their own tests)."""
    torch.manual_seed(0)
    return build_model(model_config(hidden_channels=32, num_filters=32, num_interactions=2,
                                    cutoff=20.0, centroid=False, linear=False)).eval()


def test_is_pyg_schnet_with_swapped_modules(model):
    assert type(model) is SchNetEncoder and isinstance(model, SchNet)
    assert isinstance(model.embedding, FeatureProjection)
    assert isinstance(model.interaction_graph, PrecomputedRadiusGraph)
    assert model.atomref is None and model.dipole is False and model.mean is None
    for block in model.interactions:
        assert isinstance(block.conv, TabulatedCFConv)
        assert block.conv.nn is block.mlp  # the filter network is PyG's own, shared


def test_forward_two_graphs_shape_and_batching(model):
    g1, g2 = tiny_graphs()
    b = collate([g1, g2])
    out = model(b)
    assert out.shape == (2,)
    assert torch.isfinite(out).all()
    # each graph alone gives the same value as inside the batch
    alone = torch.cat([model(collate([g])) for g in (g1, g2)])
    torch.testing.assert_close(out, alone, rtol=1e-5, atol=1e-5)


def test_node_permutation_invariance(model):
    g1, g2 = tiny_graphs()
    b = collate([g1, g2])
    ref = model.forward_pyg(b.x, b.pos, b.batch)
    # permute nodes within each graph (batch stays sorted); graphs are rebuilt from pos
    perm = torch.cat([torch.randperm(g1.num_nodes), g1.num_nodes + torch.randperm(g2.num_nodes)])
    out = model.forward_pyg(b.x[perm], b.pos[perm], b.batch[perm])
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-4)


def test_rigid_motion_invariance(model):
    g1, g2 = tiny_graphs()
    b = collate([g1, g2])
    ref = model.forward_pyg(b.x, b.pos, b.batch)
    moved = b.pos @ random_rotation(3).T + torch.tensor([12.0, -7.0, 30.0])
    out = model.forward_pyg(b.x, moved, b.batch)
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-3)


def test_every_edge_within_cutoff_and_precomputed_equals_rebuilt(model):
    g1, g2 = tiny_graphs(cutoff=20.0)
    for g in (g1, g2):
        assert float(g.dist.max()) <= 20.0
    b = collate([g1, g2])
    graph = model.interaction_graph
    before = graph.rebuilds
    pre = model(b)
    assert graph.rebuilds == before  # the precomputed graph was used
    rebuilt = model.forward_pyg(b.x, b.pos, b.batch)
    assert graph.rebuilds == before + 1
    torch.testing.assert_close(pre, rebuilt.view(-1), rtol=0, atol=0)


def test_provided_graph_longer_than_cutoff_is_refused(model):
    (g1, _) = tiny_graphs()
    b = collate([g1])
    ei, d = radius_graph(b.pos, 40.0)
    assert float(d.max()) > 20.0
    with pytest.raises(AssertionError, match="exceeds the cutoff"):
        model(dataclasses.replace(b, edge_index=ei, dist=d))


@pytest.mark.parametrize("cutoff,spacing", [(20.0, 0.01), (10.0, 0.005)])
def test_tabulated_filter_agrees_with_pygs_per_edge_filter(cutoff, spacing):
    torch.manual_seed(1)
    fast = build_model(model_config(cutoff=cutoff, filter="table", filter_spacing=spacing))
    exact = build_model(model_config(cutoff=cutoff, filter="mlp"))
    state = fast.state_dict()
    exact.load_state_dict({k: state.get(k, v) for k, v in exact.state_dict().items()})
    g1, g2 = tiny_graphs(cutoff=cutoff, seed=4)
    b = collate([g1, g2])
    # the filter itself, per edge: W(d) = mlp(gaussians(d)) * envelope(d)
    conv_f, conv_e = fast.interactions[0].conv, exact.interactions[0].conv
    d = b.dist
    w_exact = conv_e.nn(exact.distance_expansion(d)) * (
        0.5 * (torch.cos(d * math.pi / cutoff) + 1.0)
    ).view(-1, 1)
    t = d / spacing
    g0 = t.floor().long()
    tab = conv_f.table()
    w_fast = torch.lerp(tab[g0], tab[g0 + 1], (t - g0).unsqueeze(1))
    assert float((w_fast - w_exact).abs().max().detach()) < 1e-4 * float(w_exact.abs().max()) + 1e-6
    # the whole model, output and gradients
    out_f, out_e = fast(b), exact(b)
    torch.testing.assert_close(out_f, out_e, rtol=1e-4, atol=1e-4)
    out_f.sum().backward()
    out_e.sum().backward()
    grads_e = dict(exact.named_parameters())
    for name, p in fast.named_parameters():
        ge = grads_e[name].grad
        assert float((p.grad - ge).abs().max()) <= 1e-3 * float(ge.abs().max()) + 1e-6, name


def test_shared_filter_tables_give_the_same_gradients(model):
    g1, g2 = tiny_graphs()
    bs = [collate([g]) for g in (g1, g2)]
    for b in bs:
        model(b).sum().backward()
    ref = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    with shared_filter_tables(model):
        for b in bs:
            model(b).sum().backward()
    for n, p in model.named_parameters():
        # same sums in another order: equal up to float32 rounding
        torch.testing.assert_close(p.grad, ref[n], rtol=1e-4, atol=1e-6 * float(ref[n].abs().max()))


def test_reset_parameters_reaches_the_projection(model):
    w = model.embedding.lin.weight.detach().clone()
    model.reset_parameters()
    assert not torch.equal(w, model.embedding.lin.weight)


def test_target_scaler_add_and_mean():
    # y = 2 + 0.5 N + composition residual: the offset is the least-squares size line
    n = torch.tensor([10.0, 20.0, 30.0, 40.0], dtype=torch.float64)
    y = 2.0 + 0.5 * n + torch.tensor([0.3, -0.4, 0.5, -0.4], dtype=torch.float64)
    s = TargetScaler.fit("add", y, n)
    slope, intercept = np.polyfit(n.numpy(), y.numpy(), 1)
    assert s.slope == pytest.approx(slope) and s.intercept == pytest.approx(intercept)
    # zero output = the size line; the output that reproduces y exactly has zero loss
    torch.testing.assert_close(s.to_label(torch.zeros(4, dtype=torch.float64), n),
                               intercept + slope * n)
    out = s.standardise(y, n)
    assert float(s.loss(out, y, n)) == pytest.approx(0.0, abs=1e-12)
    torch.testing.assert_close(s.to_label(out, n), y)
    assert s.scale == pytest.approx(25.0)  # mean N
    m = TargetScaler.fit("mean", y, n)
    assert m.slope == pytest.approx(slope) and m.scale == 1.0
    # one protein: the mean (per residue for add)
    one = TargetScaler.fit("add", y[:1], n[:1])
    assert one.intercept == 0.0 and one.slope == pytest.approx(float(y[0] / n[0]))


def test_target_scaler_reads_format_1_and_2_payloads():
    old = {"readout": "add", "mu": 0.5, "sigma": 0.1, "scale": 20.0}
    s = TargetScaler.from_dict(old)
    assert (s.intercept, s.slope) == (0.0, 0.5)
    m = TargetScaler.from_dict({**old, "readout": "mean"})
    assert (m.intercept, m.slope) == (0.5, 0.0)


def test_save_and_load_round_trip(tmp_path):
    """The default model (centroid features and linear term on), its linear term nonzero."""
    g1, g2 = tiny_graphs()
    cfg = model_config(hidden_channels=32, num_filters=32, num_interactions=2, cutoff=20.0)
    assert cfg.centroid and cfg.linear
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    torch.nn.init.normal_(model.skip.weight, std=0.01)
    scaler = TargetScaler(readout="add", intercept=1.0, slope=0.5, sigma=0.1, scale=20.0)
    before = TrainedModel(model, cfg, scaler).predict([g1, g2])
    save_model(tmp_path / "model.pt", model, cfg, scaler, {"embedding_model": "onehot"})
    loaded = load_model(tmp_path / "model.pt")
    assert loaded.meta["embedding_model"] == "onehot"
    assert loaded.config == cfg
    assert loaded.predict([g1, g2]) == before
    # the same prediction from records, graphs built by the loader with the stored cutoff
    recs = make_records(2, seed=0, sizes=(15, 30))
    assert loaded.predict_records(recs) == pytest.approx(before, rel=1e-6)


def test_load_model_refuses_garbage(tmp_path):
    from esm_schnet.core.errors import CorruptFileError

    bad = tmp_path / "model.pt"
    bad.write_bytes(b"not a zip")
    with pytest.raises(CorruptFileError):
        load_model(bad)


def test_precomputed_operators_give_the_same_gradients(model):
    """Training uses sparse operators precomputed per graph; they must match index_add."""
    g1, g2 = tiny_graphs()
    b = collate([g1, g2])
    model.train()
    model(b).sum().backward()  # with EdgeOperators (cached in b.cache)
    assert b.cache, "operators were not built"
    ref = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    model.forward_pyg(b.x, b.pos, b.batch).sum().backward()  # graph rebuilt, no operators
    for n, p in model.named_parameters():
        torch.testing.assert_close(p.grad, ref[n], rtol=1e-4, atol=1e-6 * float(ref[n].abs().max()))


def test_encoder_registry_builds_by_name_and_refuses_unknown(monkeypatch):
    from esm_schnet import encoders
    from esm_schnet.encoders import build_encoder, encoder_names, register_encoder
    from esm_schnet.core.errors import ConfigError

    monkeypatch.setattr(encoders, "_ENCODERS", dict(encoders._ENCODERS))  # registry restored after

    assert "schnet" in encoder_names()
    cfg = model_config(hidden_channels=8, num_filters=8, num_interactions=1)
    assert cfg.encoder == "schnet" and isinstance(build_encoder(cfg), SchNetEncoder)
    with pytest.raises(ConfigError, match="unknown model.encoder 'nope'"):
        build_encoder(dataclasses.replace(cfg, encoder="nope"))

    class Sizes(torch.nn.Module):  # any module with the contract: Batch in, [B] out
        def forward(self, batch):
            return batch.num_nodes

    register_encoder("test-sizes", lambda **kwargs: Sizes())
    g1, g2 = tiny_graphs()
    out = build_encoder(dataclasses.replace(cfg, encoder="test-sizes"))(collate([g1, g2]))
    assert out.tolist() == [g1.num_nodes, g2.num_nodes]


def test_forward_context_is_empty_outside_a_call(model):
    """The precomputed graph, operators and shared tables reach the submodules only for the
    duration of one encoder call / one shared_filter_tables block."""
    g1, _ = tiny_graphs()
    b = collate([g1])
    model.train()
    with shared_filter_tables(model):
        assert len(model.context.tables) == len(model.interactions)
        model(b).sum().backward()
    ctx = model.context
    assert ctx.edges is None and ctx.operators is None and ctx.tables == {}
    for block in model.interactions:
        assert block.conv.context is ctx and model.interaction_graph.context is ctx


def test_version_1_model_file_still_loads(tmp_path, model):
    """model.pt written before the encoder registry (format_version 1, no model_config.encoder)."""
    from dataclasses import asdict

    g1, g2 = tiny_graphs()
    cfg = model_config(hidden_channels=32, num_filters=32, num_interactions=2, cutoff=20.0,
                       centroid=False, linear=False)  # what a version 1 file means
    scaler = TargetScaler(readout="add", intercept=1.0, slope=0.5, sigma=0.1, scale=20.0)
    flat = {**{k: v for k, v in asdict(cfg).items() if k != "settings"}, **cfg.settings}
    config_v1 = {k: v for k, v in flat.items()
                 if k not in ("encoder", "centroid", "linear", "head")}
    torch.save({"format": "esm-schnet-model", "format_version": 1, "model_config": config_v1,
                "target_scaler": asdict(scaler), "meta": {},
                "state_dict": model.state_dict()}, tmp_path / "v1.pt")
    loaded = load_model(tmp_path / "v1.pt")
    assert loaded.config == cfg
    assert loaded.predict([g1, g2]) == TrainedModel(model, cfg, scaler).predict([g1, g2])


def test_version_5_flat_model_config_loads_with_schnet_settings_moved(tmp_path):
    """model.pt written before per-encoder settings (format_version 5: SchNet's settings were
    flat fields of model_config) loads, its SchNet fields read as model.schnet, and predicts
    what it predicted."""
    from dataclasses import asdict

    g1, g2 = tiny_graphs()
    cfg = model_config(hidden_channels=16, num_filters=8, num_interactions=1, num_gaussians=12,
                       cutoff=20.0)
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    torch.nn.init.normal_(model.skip.weight, std=0.01)
    scaler = TargetScaler(readout="add", intercept=1.0, slope=0.5, sigma=0.1, scale=20.0)
    # a version-5 file had SchNet's settings of its time as flat fields (no head: PyG's)
    flat = {**{k: v for k, v in asdict(cfg).items() if k != "settings"},
            **{k: v for k, v in cfg.settings.items() if k != "head"}}
    assert sorted(cfg.settings) == sorted(SCHNET_KEYS) and cfg.settings["head"] == "residue"
    save_model(tmp_path / "now.pt", model, cfg, scaler, {})
    payload = torch.load(tmp_path / "now.pt", weights_only=True)
    payload.update(format_version=5, model_config=flat)
    torch.save(payload, tmp_path / "v5.pt")
    loaded = load_model(tmp_path / "v5.pt")
    assert loaded.config == cfg and loaded.config.settings["num_gaussians"] == 12
    assert loaded.predict([g1, g2]) == TrainedModel(model, cfg, scaler).predict([g1, g2])


def test_old_flat_model_settings_say_where_they_moved():
    """A config written before per-encoder settings: one line naming each moved key."""
    from esm_schnet.core.errors import ConfigError
    from esm_schnet.core.settings import validate

    with pytest.raises(ConfigError) as info:
        ModelConfig.from_config(21, {}, {"num_filters": 8, "filter": "mlp", "readout": "mean"})
    assert str(info.value) == ("model.num_filters moved to model.schnet.num_filters; "
                               "model.filter moved to model.schnet.filter")
    with pytest.raises(ConfigError, match=r"^model.num_gaussians moved to "
                                          r"model.schnet.num_gaussians$"):
        validate({"model": {"num_gaussians": 10}})  # the whole config, as the Snakefile does


def test_encoder_builder_gets_its_own_section_as_keyword_arguments(monkeypatch):
    """A second encoder adds its own section model.<name>; its builder receives the common
    settings and that section as keyword arguments, its unknown keys refused in one line;
    model.schnet stays as it is."""
    from esm_schnet import encoders
    from esm_schnet.core.errors import ConfigError
    from esm_schnet.encoders import build_encoder, register_encoder

    monkeypatch.setattr(encoders, "_ENCODERS", dict(encoders._ENCODERS))
    seen = {}

    class Mean(torch.nn.Module):
        def __init__(self, *, in_channels, out_channels, cutoff, max_neighbors, readout,
                     layer_norm, centroid, linear, dropout, width, depth=1):
            super().__init__()
            seen.update(in_channels=in_channels, width=width, depth=depth, readout=readout)

    register_encoder("mean-test", Mean)
    cfg = ModelConfig.from_config(21, {}, {"encoder": "mean-test", "readout": "mean",
                                           "mean-test": {"width": 5}})
    assert cfg.settings == {"width": 5}
    build_encoder(cfg)
    assert seen == {"in_channels": 21, "width": 5, "depth": 1, "readout": "mean"}
    with pytest.raises(ConfigError, match=r"^unknown setting model.mean-test.widht \(did you "
                                          r"mean model.mean-test.width\?\)$"):
        build_encoder(dataclasses.replace(cfg, settings={"widht": 5}))
    with pytest.raises(ConfigError, match=r"^encoder 'mean-test' needs model.mean-test.width$"):
        build_encoder(dataclasses.replace(cfg, settings={}))


def test_model_config_refuses_unknown_keys():
    from esm_schnet.core.errors import ConfigError

    with pytest.raises(ConfigError, match=r"unknown setting model.schnet.hiden_channels \(did "
                                          r"you mean model.schnet.hidden_channels\?\)"):
        ModelConfig.from_config(21, {}, {"schnet": {"hiden_channels": 8}})
    with pytest.raises(ConfigError, match=r"unknown setting model.readuot \(did you mean "
                                          r"model.readout\?\)"):
        ModelConfig.from_config(21, {}, {"readuot": "add"})
    with pytest.raises(ConfigError, match="unknown setting graph.cutof"):
        ModelConfig.from_config(21, {"cutof": 8.0}, {})
    with pytest.raises(ConfigError, match="unknown"):
        ModelConfig.from_dict({**dataclasses.asdict(model_config()), "extra": 1})


def test_centroid_geometry_per_protein_of_a_batch():
    """d, d / Rg and N of every residue, each protein against its own centroid (numpy)."""
    from esm_schnet.encoders.geometry import CentroidFeatures, centroid_geometry

    g1, g2 = tiny_graphs()
    b = collate([g1, g2])
    d, rel, n = centroid_geometry(b.pos, b.batch, 2)
    for k, g in enumerate((g1, g2)):
        p = g.pos.double().numpy()
        want = np.linalg.norm(p - p.mean(0), axis=1)
        rg = math.sqrt(float(np.mean(want**2)))
        sel = (b.batch == k).numpy()
        np.testing.assert_allclose(d.numpy()[sel], want, rtol=1e-5)
        np.testing.assert_allclose(rel.numpy()[sel], want / rg, rtol=1e-5)
        assert set(n.numpy()[sel].tolist()) == {float(g.num_nodes)}
    feats = CentroidFeatures()(b.pos, b.batch, 2)
    assert feats.shape == (b.pos.size(0), CentroidFeatures.width) and torch.isfinite(feats).all()


@pytest.fixture
def centroid_model():
    torch.manual_seed(0)
    m = build_model(model_config(hidden_channels=32, num_filters=32, num_interactions=2,
                                 cutoff=20.0, centroid=True)).eval()
    torch.nn.init.normal_(m.lin2.weight)  # zero at initialisation: make the output depend on h
    return m


def test_centroid_model_is_invariant_and_batch_independent(centroid_model):
    m = centroid_model
    assert m.embedding.lin.in_features == 21 + m.centroid.width
    g1, g2 = tiny_graphs()
    b = collate([g1, g2])
    out = m(b)
    alone = torch.cat([m(collate([g])) for g in (g1, g2)])
    torch.testing.assert_close(out, alone, rtol=1e-5, atol=1e-5)
    assert float(out.std()) > 1e-3  # not the constant of the zero-initialised output layer

    def pyg(x, pos, batch):
        return m.forward_pyg(x, pos, batch).view(-1)

    torch.testing.assert_close(pyg(b.x, b.pos, b.batch), out, rtol=1e-5, atol=1e-5)
    moved = b.pos @ random_rotation(5).T + torch.tensor([40.0, 3.0, -25.0])
    torch.testing.assert_close(pyg(b.x, moved, b.batch), out, rtol=1e-4, atol=1e-3)
    perm = torch.cat([torch.randperm(g1.num_nodes), g1.num_nodes + torch.randperm(g2.num_nodes)])
    torch.testing.assert_close(pyg(b.x[perm], b.pos[perm], b.batch[perm]), out,
                               rtol=1e-5, atol=1e-4)


def test_centroid_features_change_the_output_and_round_trip(tmp_path, centroid_model):
    """The features reach the output (a protein stretched about its centre scores differently
    with the same edges) and survive save/load."""
    m = centroid_model
    g1, _ = tiny_graphs()
    b = collate([g1])
    far = dataclasses.replace(b, pos=b.pos * 1.5, cache={})  # same edges and distances
    assert not torch.allclose(m(b), m(far))
    cfg = model_config(hidden_channels=32, num_filters=32, num_interactions=2, cutoff=20.0,
                       centroid=True)
    scaler = TargetScaler(readout="add", intercept=1.0, slope=0.5, sigma=0.1, scale=20.0)
    save_model(tmp_path / "m.pt", m, cfg, scaler, {})
    loaded = load_model(tmp_path / "m.pt")
    assert loaded.config.centroid is True
    assert loaded.predict([g1]) == TrainedModel(m, cfg, scaler).predict([g1])


@pytest.mark.parametrize("readout", ["add", "mean"])
def test_linear_term_is_the_readout_of_a_linear_map_of_the_inputs(readout):
    """model.linear: with SchNet's own output layer at its zero initialisation the encoder's
    output is exactly the readout of [x, neighbour profile] @ w + b (sum or mean over each
    protein's residues; the profile: Gaussians of the edge distances summed per residue)."""
    torch.manual_seed(0)
    m = build_model(model_config(hidden_channels=16, num_filters=16, num_interactions=1,
                                 cutoff=20.0, readout=readout, linear=True,
                                 centroid=False)).eval()
    assert float(m(collate(tiny_graphs()[:1])).abs().max()) == 0.0  # zero at initialisation
    torch.nn.init.normal_(m.skip.weight)
    torch.nn.init.normal_(m.skip.bias)
    g1, g2 = tiny_graphs()
    out = m(collate([g1, g2]))
    for k, g in enumerate((g1, g2)):
        d = torch.cdist(g.pos.double(), g.pos.double())
        d.fill_diagonal_(float("inf"))
        centres = torch.linspace(0.0, 20.0, 50, dtype=torch.float64)
        coeff = -0.5 / float(centres[1] - centres[0]) ** 2
        rbf = torch.exp(coeff * (d[:, :, None] - centres) ** 2) * (d <= 20.0)[:, :, None]
        inputs = torch.cat([g.x.double(), rbf.sum(1)], dim=1).float()
        per_residue = inputs @ m.skip.weight[0] + m.skip.bias[0]
        want = per_residue.sum() if readout == "add" else per_residue.mean()
        torch.testing.assert_close(out[k], want, rtol=1e-4, atol=1e-3)
    b = collate([g1, g2])
    torch.testing.assert_close(m.forward_pyg(b.x, b.pos, b.batch).view(-1), out,
                               rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("readout", ["add", "mean"])
def test_pooled_head_is_a_network_on_the_pooled_residue_features(readout):
    """model.schnet.head pooled: zero at initialisation; then the output is post(readout of
    lin2's per-residue features), which is not the readout of per-residue outputs: nonlinear
    in the pooled features."""
    torch.manual_seed(0)
    m = build_model(model_config(hidden_channels=16, num_filters=16, num_interactions=1,
                                 cutoff=20.0, readout=readout, linear=False, centroid=False,
                                 head="pooled")).eval()
    assert m.post is not None and m.lin2.out_features == 8
    g1, g2 = tiny_graphs()
    b = collate([g1, g2])
    assert float(m(b).abs().max()) == 0.0  # zero at initialisation
    torch.nn.init.normal_(m.post[-1].weight)
    torch.nn.init.normal_(m.post[-1].bias)
    seen = {}
    m.lin2.register_forward_hook(lambda mod, i, o: seen.__setitem__("h", o.detach()))
    out = m(b)
    h = seen["h"]
    for k in range(2):
        rows = h[b.batch == k]
        pooled = rows.sum(0) if readout == "add" else rows.mean(0)
        torch.testing.assert_close(out[k], m.post(pooled)[0], rtol=1e-5, atol=1e-5)
        per_residue = m.post(rows)[:, 0]
        other = per_residue.sum() if readout == "add" else per_residue.mean()
        assert abs(float(other - out[k])) > 1e-3  # not a sum of per-residue terms
    torch.testing.assert_close(m.forward_pyg(b.x, b.pos, b.batch).view(-1), out,
                               rtol=1e-5, atol=1e-4)


def test_pooled_head_round_trips_and_version_7_files_read_as_residue(tmp_path):
    from dataclasses import asdict

    g1, g2 = tiny_graphs()
    cfg = model_config(hidden_channels=16, num_filters=8, num_interactions=1, cutoff=20.0,
                       readout="mean", head="pooled")
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    torch.nn.init.normal_(model.post[-1].weight)
    scaler = TargetScaler(readout="mean", intercept=1.0, slope=0.0, sigma=2.0, scale=1.0)
    save_model(tmp_path / "pooled.pt", model, cfg, scaler, {})
    loaded = load_model(tmp_path / "pooled.pt")
    assert loaded.config.settings["head"] == "pooled"
    assert loaded.predict([g1, g2]) == TrainedModel(model, cfg, scaler).predict([g1, g2])
    # a version-7 file (before model.schnet.head) is PyG's per-residue head
    plain = model_config(hidden_channels=16, num_filters=8, num_interactions=1, cutoff=20.0)
    torch.manual_seed(0)
    old_model = build_model(plain).eval()
    save_model(tmp_path / "now.pt", old_model, plain, scaler, {})
    payload = torch.load(tmp_path / "now.pt", weights_only=True)
    settings = {k: v for k, v in plain.settings.items() if k != "head"}
    payload.update(format_version=7, model_config={**asdict(plain), "settings": settings})
    torch.save(payload, tmp_path / "v7.pt")
    assert load_model(tmp_path / "v7.pt").config == plain
