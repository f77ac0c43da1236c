"""The prediction path end to end: parse -> embed (onehot) -> final model -> predictions table.

A broken structure in the prediction table is reported (status/reason) and the others are
predicted. Uses the real parser, embedding shard job, store and model code.
"""

import math

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch")

from evaldata import write_helix_pdb as _pdb


def _final_model(path, in_channels):
    import torch

    from esm_schnet.train.checkpoint import save_model
    from esm_schnet.encoders.model import ModelConfig, TargetScaler, build_model

    torch.manual_seed(0)
    cfg = ModelConfig.from_config(in_channels, {"cutoff": 10.0}, {"schnet": {
        "hidden_channels": 8, "num_filters": 8, "num_interactions": 1, "num_gaussians": 10}})
    model = build_model(cfg)
    scaler = TargetScaler.fit("add", [30.0, 50.0, 40.0], [30, 50, 40])
    save_model(path, model, cfg, scaler, {"embedding_model": "onehot"})


@pytest.fixture
def predict_inputs(tmp_path):
    from esm_schnet.embed.shard import embed_shard
    from esm_schnet.parse import parse_job

    s = tmp_path / "structures"
    s.mkdir()
    _pdb(s / "a.pdb", 30, seed=1)
    _pdb(s / "b.pdb", 45, seed=2)
    (s / "broken.pdb").write_text("this is not a PDB file\n")
    table = tmp_path / "predict.tsv"
    table.write_text(
        "id\tstructure\tlabel\n"
        "a\tstructures/a.pdb\t31.5\n"
        "broken\tstructures/broken.pdb\t\n"
        "b\tstructures/b.pdb\t\n"
    )
    h5 = []
    for pid in ("a", "broken", "b"):
        out = tmp_path / "results/predict/structures" / f"{pid}.h5"
        parse_job(s / f"{pid}.pdb", pid, out, tmp_path / f"qc-{pid}.tsv", "skip")
        h5.append(out)
    shard = tmp_path / "results/predict/embeddings/onehot/shard-000.h5"
    embed_shard(h5, shard, {"model": "onehot", "cache": str(tmp_path / "cache"), "device": "cpu"})
    from esm_schnet.core.store import load_records

    dim = next(iter(load_records([shard]).values())).embedding.shape[1]
    model = tmp_path / "results/final/model.pt"
    _final_model(model, dim)
    return dict(table=table, h5=h5, shard=shard, model=model, tmp=tmp_path, dim=dim)


def test_predict_end_to_end_reports_broken_structure(predict_inputs, tmp_path):
    from esm_schnet.prediction import cli as predict

    d = predict_inputs
    out = tmp_path / "results/predict/predictions.tsv"
    log = tmp_path / "predict.log"
    rc = predict.cli([
        "--samples", str(d["table"]), "--structures", *map(str, d["h5"]),
        "--shards", str(d["shard"]), "--model", str(d["model"]), "--out", str(out),
        "--log", str(log),
    ])
    assert rc == 0
    t = pd.read_csv(out, sep="\t", keep_default_na=False, na_values=["nan", ""])
    assert list(t["id"]) == ["a", "broken", "b"]
    assert list(t.columns) == ["id", "prediction", "prediction_std", "n_models", "status",
                               "reason", "label", "error"]
    st = t.set_index("id")
    assert st.loc["a", "status"] == "ok" and st.loc["b", "status"] == "ok"
    assert np.isfinite(st.loc["a", "prediction"]) and np.isfinite(st.loc["b", "prediction"])
    assert st.loc["broken", "status"] == "skipped"
    assert "could not be parsed" in st.loc["broken", "reason"]
    assert math.isnan(st.loc["broken", "prediction"])
    assert st.loc["a", "error"] == pytest.approx(st.loc["a", "prediction"] - 31.5, abs=1e-4)
    text = log.read_text()
    assert "broken" in text and "predicted 2 of 3" in text
    # the same model scores the same protein the same way (deterministic)
    from esm_schnet.train.checkpoint import load_model
    from esm_schnet.core.store import load_records

    again = load_model(d["model"]).predict_records(load_records([d["shard"]], ["a"]))
    assert again["a"] == pytest.approx(st.loc["a", "prediction"], rel=1e-5)


def test_predict_refuses_embedding_of_another_width(predict_inputs, tmp_path):
    from esm_schnet.prediction import score as predict
    from esm_schnet.core.errors import ConfigError

    d = predict_inputs
    _final_model(d["model"], d["dim"] + 3)
    with pytest.raises(ConfigError, match="expects"):
        predict.run(d["table"], d["h5"], [d["shard"]], d["model"], tmp_path / "p.tsv")
