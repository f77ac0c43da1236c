"""One-step prediction (`esm-schnet predict --model M FILE...`, `esm_schnet.predict`) without
Snakemake: the featurizer settings come from the model file, the embedding cache is reused, the
numbers equal the workflow's scoring step; ensembles; the errors a user can meet.

A tiny randomly initialised ESM2 checkpoint (written by the test, loaded from disk) at a
non-default layer shows the settings really come from the model file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

REPO = Path(__file__).resolve().parents[2]
from embed_helpers import write_tiny_esm  # noqa: E402
from evaldata import write_helix_pdb  # noqa: E402


def _save(path, in_channels, meta, seed=0):
    import torch

    from esm_schnet.train.checkpoint import save_model
    from esm_schnet.encoders.model import ModelConfig, TargetScaler, build_model

    torch.manual_seed(seed)
    cfg = ModelConfig.from_config(in_channels, {"cutoff": 10.0}, {"schnet": {
        "hidden_channels": 8, "num_filters": 8, "num_interactions": 1, "num_gaussians": 10}})
    model = build_model(cfg)
    # a random readout (the trained one starts at zero), so that models differ
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.3)
    save_model(path, model, cfg, TargetScaler.fit("add", [30.0, 50.0], [30, 50]), meta)
    return path


@pytest.fixture(scope="module")
def esm_setup(tmp_path_factory):
    """Two structures embedded as the workflow does (parse job, shard job with a tiny ESM2 at
    layer 1 of 2, revision v1, a cache), and two model files recording that embedding."""
    from esm_schnet.train.checkpoint import embedding_meta
    from esm_schnet.embed.shard import embed_shard
    from esm_schnet.parse import parse_job
    from esm_schnet.core.store import shard_attrs

    tmp = tmp_path_factory.mktemp("onestep")
    esm = write_tiny_esm(tmp / "tiny_esm")
    files, h5 = [], []
    for k, n in enumerate((30, 44)):
        pdb = tmp / f"p{k}.pdb"
        write_helix_pdb(pdb, n, seed=k)
        files.append(pdb)
        h5.append(tmp / f"structures/p{k}.h5")
        parse_job(pdb, f"p{k}", h5[-1], tmp / f"qc-{k}.tsv", "skip")
    shard = tmp / "shard-000.h5"
    cache = tmp / "cache"
    # a revision other than the default: recorded as configured (a local directory ignores it)
    embed_shard(h5, shard, {"model": esm, "layer": 1, "revision": "v1", "cache": str(cache),
                            "device": "cpu"})
    attrs = shard_attrs(shard)
    meta = {"embedding_model": esm, "embedding": embedding_meta(attrs)}
    models = [_save(tmp / f"m{s}.pt", attrs["embedding_dim"], meta, seed=s) for s in (0, 1)]
    table = tmp / "predict.tsv"
    table.write_text("id\tstructure\n" + "".join(f"p{k}\t{f}\n" for k, f in enumerate(files)))
    return dict(tmp=tmp, esm=esm, files=files, h5=h5, shard=shard, cache=cache, models=models,
                table=table, attrs=attrs)


def test_model_records_the_featurizer_settings(esm_setup):
    import esm_schnet

    emb = esm_schnet.load_model(esm_setup["models"][0]).embedding
    assert emb["recorded"] and emb["featurizer"] == "esm2" and emb["model"] == esm_setup["esm"]
    assert emb["layer"] == 1 and emb["dtype"] == "float32" and emb["revision"] == "v1"
    assert emb["weights"].startswith("sha256:") and emb["dim"] == 32


def test_one_step_reuses_the_cache_and_matches_the_workflow(esm_setup, monkeypatch):
    import esm_schnet
    from esm_schnet.prediction import score as prediction
    from esm_schnet.embed import shard as shard_mod

    d = esm_setup
    wf = prediction.run(d["table"], d["h5"], [d["shard"]], d["models"], d["tmp"] / "wf.tsv")
    runs = []
    real_load = shard_mod.load

    def counting_load(cfg):
        f = real_load(cfg)
        runs.append(f)
        return f

    monkeypatch.setattr(shard_mod, "load", counting_load)
    t = esm_schnet.predict(d["models"], d["files"], device="cpu", cache=str(d["cache"]))
    assert runs and runs[0].layer == 1  # the layer recorded in the model, not the default (-1 = 2)
    assert runs[0].n_sequences_run == 0  # every chain came from the cache
    np.testing.assert_array_equal(t["prediction"], wf["prediction"])
    np.testing.assert_array_equal(t["prediction_std"], wf["prediction_std"])
    assert (t["n_models"] == 2).all() and (t["prediction_std"] > 0).all()
    # without the cache the featurizer runs, and gives the same numbers
    fresh = esm_schnet.predict(d["models"], d["files"], device="cpu", cache="")
    assert runs[-1].n_sequences_run == 2
    np.testing.assert_allclose(fresh["prediction"], wf["prediction"], rtol=1e-5)


def test_missing_featurizer_weights_is_one_line(esm_setup, tmp_path, capsys):
    from esm_schnet.train.checkpoint import embedding_meta
    from esm_schnet.cli import main

    attrs = dict(esm_setup["attrs"], model_id="facebook/esm2_t6_8M_UR50D", featurizer="esm2")
    model = _save(tmp_path / "hub.pt", attrs["embedding_dim"], {"embedding": embedding_meta(attrs)})
    rc = main(["predict", "--model", str(model), str(esm_setup["files"][0]),
               "--models-dir", str(tmp_path / "models"), "--device", "cpu", "--log", str(tmp_path / "log")])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and len(err.splitlines()) == 1
    assert "facebook/esm2_t6_8M_UR50D" in err and "esm-schnet download-model" in err


def test_old_model_file_without_recorded_settings_still_predicts(tmp_path, caplog):
    import esm_schnet

    pdb = tmp_path / "a.pdb.gz"
    import gzip

    write_helix_pdb(tmp_path / "a.pdb", 25, seed=3)
    pdb.write_bytes(gzip.compress((tmp_path / "a.pdb").read_bytes()))
    model = _save(tmp_path / "old.pt", 21, {"embedding_model": "onehot"})  # before meta.embedding
    t = esm_schnet.predict(model, [pdb], device="cpu")
    assert list(t["id"]) == ["a"] and t.loc[0, "status"] == "ok"
    assert np.isfinite(t.loc[0, "prediction"]) and t.loc[0, "n_models"] == 1
    assert "predates recorded featurizer settings" in caplog.text


def test_ensemble_refuses_models_of_other_features(esm_setup, tmp_path):
    import esm_schnet
    from esm_schnet.core.errors import ConfigError

    onehot = _save(tmp_path / "onehot.pt", 21, {"embedding_model": "onehot"})
    with pytest.raises(ConfigError, match="must share their features"):
        esm_schnet.predict([esm_setup["models"][0], onehot], esm_setup["files"])


def test_cli_modes_are_told_apart(esm_setup, capsys):
    from esm_schnet.prediction.cli import cli

    with pytest.raises(SystemExit):
        cli(["--model", str(esm_setup["models"][0])])  # no FILE and no --samples
    assert "give one or more structure files" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli(["--model", str(esm_setup["models"][0]), "--shards", str(esm_setup["shard"]),
             str(esm_setup["files"][0])])
    assert "workflow mode" in capsys.readouterr().err


def test_summarise_over_models_axis():
    from esm_schnet.prediction.ensemble import summarise

    p = np.array([[1.0, 2.0, np.nan], [3.0, 2.0, np.nan], [5.0, 2.0, np.nan]])
    mean, std, n = summarise(p)
    np.testing.assert_allclose(mean[:2], [3.0, 2.0])
    np.testing.assert_allclose(std[:2], [2.0, 0.0])  # ddof=1
    assert list(n) == [3, 3, 0] and np.isnan(mean[2]) and np.isnan(std[2])
    m1, s1, n1 = summarise(p[:1])
    assert np.isnan(s1[0]) and n1[0] == 1 and m1[0] == 1.0
    # a trailing outputs axis passes through: [n_models, n_proteins, n_outputs]
    mean3, std3, n3 = summarise(np.stack([p, 2 * p], axis=-1))
    assert mean3.shape == (3, 2) and np.allclose(mean3[:2, 1], 2 * mean3[:2, 0])


def test_import_esm_schnet_stays_light():
    code = "import sys, esm_schnet; print(sorted(m for m in ('torch', 'pandas', 'h5py') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
