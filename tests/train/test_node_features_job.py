"""model.node_features through a training job and back out of prediction: real example structures
parsed (descriptors in their structure files) and embedded with onehot; a fold trained with
[rsa, ss] streams and loads the same features, records them in model.pt, and both prediction
modes (workflow: parsed files + shards; one step: parse in memory) rebuild them, so they give
the fold's own predictions; a structure file from before descriptors is one clear line."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from esm_schnet.core.errors import EsmSchnetError  # noqa: E402
from esm_schnet.core.resolved import JobSettings  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "resources" / "example" / "structures"
IDS = ["ex10", "ex11", "ex12", "ex20", "ex05", "ex06"]
GROUPS = ["ss", "rsa"]
SETTINGS = {
    "graph": {"cutoff": 10.0},
    "model": {"node_features": GROUPS, "schnet": {"hidden_channels": 8, "num_filters": 8,
                                                  "num_interactions": 1, "num_gaussians": 10}},
    "training": {"epochs": 2, "batch_size": 2, "seed": 1, "device": "cpu"},
}


def _pdb(pid: str) -> Path:
    return next(p for p in EXAMPLE.iterdir() if p.name.split(".")[0] == pid)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    from esm_schnet.embed.shard import embed_shard
    from esm_schnet.parse import parse_job

    tmp = tmp_path_factory.mktemp("node_features")
    h5 = []
    for pid in IDS:
        h5.append(tmp / "structures" / f"{pid}.h5")
        parse_job(_pdb(pid), pid, h5[-1], tmp / "qc" / f"{pid}.tsv", "fail")
    shard = tmp / "shard-000.h5"
    embed_shard(h5, shard, {"model": "onehot", "cache": "", "device": "cpu"})
    rows = "".join(f"{pid}\t{_pdb(pid)}\t{10.0 + 3 * k}\n" for k, pid in enumerate(IDS))
    (tmp / "samples.tsv").write_text("id\tstructure\tlabel\n" + rows)
    (tmp / "predict.tsv").write_text(
        "id\tstructure\n" + "".join(f"{pid}\t{_pdb(pid)}\n" for pid in IDS[4:]))
    return dict(tmp=tmp, h5=[str(p) for p in h5], shard=str(shard),
                samples=str(tmp / "samples.tsv"), predict=str(tmp / "predict.tsv"))


def _train(d, outdir, data, settings=SETTINGS, structures=None):
    from esm_schnet.train import run_training_job

    return run_training_job(
        shards=[d["shard"]], samples=d["samples"], train_ids=IDS[:4], test_ids=IDS[4:],
        outdir=outdir, settings=JobSettings.from_config(settings), fold=0, data=data,
        structures=d["h5"] if structures is None else structures)


@pytest.fixture(scope="module")
def trained(project):
    d = project
    out = {m: d["tmp"] / f"fold-{m}" for m in ("stream", "memory")}
    prov = {m: _train(d, out[m], m) for m in out}
    return dict(out=out, prov=prov)


def test_both_data_paths_feed_the_same_features(project, trained):
    from esm_schnet.encoders import node_features as nf
    from esm_schnet.train.dataset import JobProteins
    from esm_schnet.core.settings import GraphSettings

    out = trained["out"]
    assert ((out["stream"] / "predictions.tsv").read_bytes()
            == (out["memory"] / "predictions.tsv").read_bytes())
    cfg = trained["prov"]["stream"]["model_config"]
    assert cfg["in_channels"] == 21 + nf.width(GROUPS) and cfg["node_features"] == ["rsa", "ss"]
    # the streamed features: the embedding, then exactly the descriptor columns
    from esm_schnet.parse import read_descriptors
    from esm_schnet.core.store import load_records

    src = nf.descriptor_source(project["h5"], GROUPS)
    rec = load_records([project["shard"]])["ex12"]
    with JobProteins([project["shard"]], IDS, None, GraphSettings.from_dict({"cutoff": 10.0}),
                     features=src) as jp:
        assert jp.dims == {21 + 6}
        g = jp.dataset(["ex12"])[0]
    x = g.x.numpy()
    np.testing.assert_array_equal(x[:, :21], np.asarray(rec.embedding, np.float32))
    raw, names = read_descriptors(project["h5"][IDS.index("ex12")], nf.columns(GROUPS))
    np.testing.assert_array_equal(x[:, 21:], raw)
    assert names[1] == "rsa_ok" and x[:, 21 + 2:21 + 5].sum(1).max() == 1.0  # ss one-hot


def test_checkpoint_round_trip_records_the_groups(trained):
    from esm_schnet.encoders.model import ModelConfig
    from esm_schnet.train.checkpoint import MODEL_FORMAT_VERSION, _model_config, load_model

    m = load_model(trained["out"]["stream"] / "model.pt")
    assert m.config.node_features == ["rsa", "ss"] and m.config.embedding_width == 21
    assert m.meta["embedding_dim"] == 21 and MODEL_FORMAT_VERSION == 8
    # a version-6 file (before node features) reads as the embedding alone
    old = {"format_version": 6, "model_config": {
        k: v for k, v in m.config.__dict__.items() if k != "node_features"}}
    assert _model_config(old, "old.pt").node_features == []
    assert isinstance(_model_config(old, "old.pt"), ModelConfig)


def test_both_prediction_modes_rebuild_the_training_features(project, trained):
    import pandas as pd

    from esm_schnet.prediction.one_step import predict_structures
    from esm_schnet.prediction.score import run

    d = project
    model = trained["out"]["memory"] / "model.pt"
    fold = pd.read_csv(trained["out"]["memory"] / "predictions.tsv", sep="\t").set_index("id")
    wf = run(d["predict"], d["h5"], [d["shard"]], [model], d["tmp"] / "wf.tsv").set_index("id")
    one = predict_structures(model, [_pdb(p) for p in IDS[4:]], ids=IDS[4:], cache="",
                             device="cpu").set_index("id")
    for pid in IDS[4:]:
        assert wf.at[pid, "status"] == "ok" and one.at[pid, "status"] == "ok"
        assert wf.at[pid, "prediction"] == pytest.approx(fold.at[pid, "y_pred"], rel=1e-5)
        assert one.at[pid, "prediction"] == pytest.approx(fold.at[pid, "y_pred"], rel=1e-5)


def _schema1(src: str, dst: Path) -> str:
    import h5py

    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    with h5py.File(dst, "r+") as f:
        del f["descriptors"]
        f.attrs["schema_version"] = 1
    return str(dst)


def test_structure_file_from_before_descriptors_is_one_line(project, trained, tmp_path):
    from esm_schnet.prediction.score import run

    d = project
    old = [_schema1(p, tmp_path / "structures" / Path(p).name) for p in d["h5"]]
    for data in ("stream", "memory"):
        with pytest.raises(EsmSchnetError) as err:
            _train(d, tmp_path / data, data, structures=old)
        msg = str(err.value)
        assert "\n" not in msg and "schema 1" in msg and "parse it again" in msg
        assert "structures/ex" in msg and "['rsa', 'ss']" in msg
    with pytest.raises(EsmSchnetError, match=r"schema 1.*parse it again"):
        run(d["predict"], old, [d["shard"]], [trained["out"]["stream"] / "model.pt"],
            tmp_path / "p.tsv")
    # without node features the old files train as before
    plain = {**SETTINGS, "model": {**SETTINGS["model"], "node_features": []}}
    prov = _train(d, tmp_path / "plain", "stream", settings=plain, structures=old)
    assert prov["model_config"]["in_channels"] == 21
