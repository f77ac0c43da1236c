"""A second encoder from a plugin, the documented way (docs/extending.md, "Add an encoder"):
tests/plugins/toy_encoder.py (`residue_mlp`, its own section model.residue_mlp) installed under
the entry point group `esm_schnet.encoders`, trained by `esm-schnet train-fold` (the real
training job), saved and loaded back. No module of esm_schnet is touched, and model.schnet stays
as it is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from esm_schnet.cv import write_folds
from traindata import config_file, make_records, radius_of_gyration, write_dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))
from plugin_helpers import install_plugin  # noqa: E402

BIN = Path(sys.executable).parent
MODEL = {"encoder": "residue_mlp", "readout": "mean", "centroid": False, "linear": False,
         "residue_mlp": {"hidden": 8, "layers": 2}}


def _train_fold(tmp: Path, site: Path, model: dict):
    recs = make_records(6, seed=0, sizes=(15, 30))
    labels = {r.id: 0.3 * r.n_residues + radius_of_gyration(r.ca) for r in recs}
    shards, samples = write_dataset(tmp, recs, labels)
    write_folds([{"id": r.id, "fold": k % 2, "cluster": f"c{k}"} for k, r in enumerate(recs)],
                tmp / "folds.tsv")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(site), os.environ.get("PYTHONPATH")) if p))
    argv = [str(BIN / "esm-schnet"), "train-fold", "--shards", *shards, "--samples", samples,
            "--folds", str(tmp / "folds.tsv"), "--fold", "0", "--config-file",
            config_file(tmp / "fold.yaml", model=model,
                        training={"epochs": 3, "batch_size": 2, "device": "cpu"}),
            "--outdir", str(tmp / "fold-0"), "--log", str(tmp / "fold.log")]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300), shards


@pytest.fixture
def site(tmp_path, monkeypatch):
    """The toy installed as a package declaring the entry point, and found in this process."""
    from esm_schnet import encoders

    site = install_plugin(tmp_path / "site", "toy_encoder", "esm_schnet.encoders", "residue_mlp")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(encoders, "_ENCODERS", dict(encoders._ENCODERS))
    monkeypatch.setattr(encoders, "_plugins_loaded", False)
    return site


def test_plugin_encoder_trains_saves_and_loads(tmp_path, site):
    from esm_schnet.encoders import encoder_names
    from esm_schnet.train.checkpoint import load_model
    from esm_schnet.core.store import load_records

    res, shards = _train_fold(tmp_path, site, MODEL)
    assert res.returncode == 0, res.stderr[-3000:]
    pred = pd.read_csv(tmp_path / "fold-0" / "predictions.tsv", sep="\t")
    assert len(pred) == 3 and pred["y_pred"].notna().all()
    prov = json.loads((tmp_path / "fold-0" / "provenance.json").read_text())
    assert prov["model_config"]["encoder"] == "residue_mlp"
    assert prov["model_config"]["settings"] == {"hidden": 8, "layers": 2}
    assert prov["config"]["model"]["schnet"]["num_filters"] == 64  # SchNet's section untouched
    history = pd.read_csv(tmp_path / "fold-0" / "history.tsv", sep="\t")
    assert len(history) == 3 and history["train_loss"].iloc[-1] < history["train_loss"].iloc[0]

    assert "residue_mlp" in encoder_names()  # found through the entry point, in this process
    trained = load_model(tmp_path / "fold-0" / "model.pt")
    assert type(trained.model).__name__ == "ResidueMLP" and len(trained.model.body) == 4
    again = trained.predict_records(load_records(shards, list(pred["id"])))
    assert [again[i] for i in pred["id"]] == pytest.approx(list(pred["y_pred"]), rel=1e-5)


def test_plugin_encoder_section_is_checked_in_one_line(tmp_path, site):
    res, _ = _train_fold(tmp_path, site, {**MODEL, "residue_mlp": {"hiden": 8}})
    assert res.returncode != 0
    assert res.stderr.strip().splitlines() == [
        "esm-schnet train-fold: error: unknown setting model.residue_mlp.hiden (did you mean "
        "model.residue_mlp.hidden?)"]
    assert "Traceback" not in res.stderr
