"""Ensemble prediction end to end on the bundled example, and the one-step paths against it.

One Snakemake run (onehot, tiny SchNet, 2 epochs, 3 folds, `predict.models: both`) builds
results/predict/predictions.tsv for resources/example/predict.tsv (three structures and a broken
file). Then:
- its columns, and that each protein's prediction / prediction_std are the mean / standard
  deviation (ddof=1) of the final and fold models' predictions, computed here by loading the
  model files ourselves and scoring the prediction shard;
- `esm-schnet predict --model ... FILE...` (TSV to --out and to stdout) and the Python API
  (`esm_schnet.load_model`, `esm_schnet.predict`) give the same numbers for the same structures,
  embedding with the settings recorded in the model files (meta.embedding).
"""

from __future__ import annotations

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
K = 3
COLUMNS = ["id", "prediction", "prediction_std", "n_models", "status", "reason"]

pytestmark = pytest.mark.slow


def _env(workdir: Path) -> dict:
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(workdir), "MPLBACKEND": "Agg",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    if os.environ.get("PYTHONPATH"):  # a worktree's sources ahead of the venv's install
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


def _read(path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", keep_default_na=False, na_values=["nan", ""])


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    wd = tmp_path_factory.mktemp("ensemble")
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    cfg["samples"] = str(EXAMPLE / "samples.tsv")
    cfg["embedding"].update(model="onehot", shards=1, cache="cache", device="cpu")
    cfg["model"]["schnet"] = dict(hidden_channels=8, num_filters=8, num_interactions=1,
                                 num_gaussians=10)
    cfg["training"].update(epochs=2, batch_size=4, device="cpu")
    cfg["cv"].update(scheme="kfold", k=K)
    cfg["predict"].update(samples=str(EXAMPLE / "predict.tsv"), models="both")
    (wd / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    cmd = [str(BIN / "snakemake"), "--snakefile", str(REPO / "Snakefile"), "--directory", str(wd),
           "--configfile", str(wd / "config.yaml"), "--cores", "2",
           "results/predict/predictions.tsv"]
    res = subprocess.run(cmd, capture_output=True, text=True, env=_env(wd), cwd=wd)
    if res.returncode != 0:
        raise AssertionError(f"snakemake failed:\n{res.stdout[-3000:]}\n{res.stderr[-6000:]}")
    return wd


def _model_paths(wd: Path) -> list[Path]:
    return [wd / "results/final/model.pt",
            *(wd / f"results/cv/kfold/fold-{k}/model.pt" for k in range(K))]


def _workflow_table(wd: Path) -> pd.DataFrame:
    return _read(wd / "results/predict/predictions.tsv").set_index("id")


def test_ensemble_table_is_the_mean_and_spread_of_the_models(workdir):
    from esm_schnet.train.checkpoint import load_model
    from esm_schnet.core.store import load_records

    t = _read(workdir / "results/predict/predictions.tsv")
    assert list(t.columns) == COLUMNS
    assert list(t["id"]) == ["ex02", "ex05", "ex20", "broken"]
    st = t.set_index("id")
    ok = ["ex02", "ex05", "ex20"]
    assert (st.loc[ok, "status"] == "ok").all()
    assert (st.loc[ok, "n_models"] == K + 1).all()
    assert st.loc["broken", "status"] == "skipped" and st.loc["broken", "n_models"] == 0
    assert np.isnan(st.loc["broken", "prediction"]) and np.isnan(st.loc["broken", "prediction_std"])

    records = load_records([workdir / "results/predict/embeddings/onehot/shard-000.h5"], ok)
    models = [load_model(p) for p in _model_paths(workdir)]
    per_model = np.array([[m.predict_records([records[i]])[i] for i in ok] for m in models])
    assert per_model.shape == (K + 1, len(ok))
    # the models differ (trained on different proteins), so the spread is not zero
    assert (per_model.std(axis=0) > 0).all()
    np.testing.assert_allclose(st.loc[ok, "prediction"], per_model.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(st.loc[ok, "prediction_std"], per_model.std(axis=0, ddof=1),
                               rtol=1e-4)
    # every model file records the featurizer settings its embeddings were made with
    for m in models:
        emb = m.embedding
        assert emb["recorded"] and emb["model"] == "onehot" and emb["featurizer"] == "onehot"
        assert emb["dim"] == m.config.in_channels and emb["storage_dtype"] == "float32"


def test_one_step_cli_gives_the_workflow_numbers(workdir, tmp_path):
    wf = _workflow_table(workdir)
    files = [EXAMPLE / "structures/ex02.pdb", EXAMPLE / "structures/ex05.pdb",
             EXAMPLE / "structures/ex20.pdb", EXAMPLE / "predict/broken.pdb"]
    models = [a for p in _model_paths(workdir) for a in ("--model", str(p))]
    out = tmp_path / "one-step.tsv"
    cmd = [str(BIN / "esm-schnet"), "predict", *models, *map(str, files), "--out", str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, env=_env(workdir), cwd=workdir)
    assert res.returncode == 0, res.stderr[-3000:]
    t = _read(out)
    assert list(t.columns) == ["id", "structure", *COLUMNS[1:]]
    assert list(t["structure"]) == list(map(str, files))
    st = t.set_index("id")
    assert st.loc["broken", "status"] == "skipped" and "could not be parsed" in st.loc["broken", "reason"]
    # the same numbers, as written (6 significant digits), broken row included
    cols = ["prediction", "prediction_std", "n_models", "status"]
    pd.testing.assert_frame_equal(st.loc[wf.index, cols], wf[cols])
    # no --out: the same table on stdout, the log on stderr
    res = subprocess.run(cmd[:-2], capture_output=True, text=True, env=_env(workdir), cwd=workdir)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout == out.read_text()
    assert "predicted 3 of 4 protein(s) with 4 model(s)" in res.stderr


def test_python_api_gives_the_workflow_numbers(workdir):
    import esm_schnet
    from esm_schnet.core.store import load_records

    wf = _workflow_table(workdir)
    ok = [i for i in wf.index if wf.loc[i, "status"] == "ok"]
    files = [EXAMPLE / f"structures/{i}.pdb" for i in ok]
    models = [esm_schnet.load_model(p) for p in _model_paths(workdir)]
    t = esm_schnet.predict(models, files, device="cpu", cache=str(workdir / "cache"))
    assert isinstance(t, pd.DataFrame) and list(t["id"]) == ok
    np.testing.assert_allclose(t["prediction"], wf.loc[ok, "prediction"], rtol=1e-5)
    np.testing.assert_allclose(t["prediction_std"], wf.loc[ok, "prediction_std"], rtol=1e-4)
    assert (t["n_models"] == K + 1).all()
    # one model: its own prediction, no spread; a path works as well as a loaded model
    single = esm_schnet.predict(_model_paths(workdir)[0], files[0], device="cpu")
    shard = workdir / "results/predict/embeddings/onehot/shard-000.h5"
    direct = models[0].predict_records(load_records([shard], [ok[0]]))[ok[0]]
    assert single.loc[0, "n_models"] == 1 and np.isnan(single.loc[0, "prediction_std"])
    assert single.loc[0, "prediction"] == pytest.approx(direct, rel=1e-6)
