"""Workflow: evaluate, plots, report and predict on a tiny config (onehot, 2 epochs, 2 folds).

Runs Snakemake end to end in a temporary directory, then checks
- results/predictions.tsv (one row per protein per model) and results/metrics.tsv (7 models);
- results/comparisons.tsv (SchNet minus each baseline, paired intervals) and the convergence of
  every fold read from its provenance.json (status `unknown` when the key is absent);
- every plot (PNG + SVG) and `snakemake --report results/report.html`;
- predict: the example proteins are scored by the final model, a broken structure is reported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
from evaldata import write_helix_pdb  # noqa: E402

pytestmark = pytest.mark.slow

N = 6


def _smk(workdir: Path, *args: str, check: bool = True, configfile: str = "config.yaml"):
    cmd = [
        str(BIN / "snakemake"), "--snakefile", str(REPO / "Snakefile"),
        "--directory", str(workdir), "--configfile", str(workdir / configfile), *args,
    ]
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(workdir), "MPLBACKEND": "Agg"}
    if os.environ.get("PYTHONPATH"):  # a worktree's sources ahead of the venv's install
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=workdir)
    if check and res.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{res.stdout[-4000:]}\n{res.stderr[-6000:]}")
    return res


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    wd = tmp_path_factory.mktemp("evalwf")
    data = wd / "data"
    data.mkdir()
    rows, prows = ["id\tstructure\tlabel"], ["id\tstructure\tlabel"]
    for i in range(N):
        n = 20 + 9 * i
        write_helix_pdb(data / f"p{i}.pdb", n, seed=i)
        rows.append(f"p{i}\tdata/p{i}.pdb\t{0.5 * n + (i % 3):.3f}")
    # prediction table: a training id again (own namespace), a new protein, a broken file
    write_helix_pdb(data / "new.pdb", 33, seed=11)
    (data / "broken.pdb").write_text("HEADER nothing here\n")
    prows += ["p0\tdata/p0.pdb\t10.0", "new\tdata/new.pdb\t", "broken\tdata/broken.pdb\t"]
    (wd / "samples.tsv").write_text("\n".join(rows) + "\n")
    (wd / "predict.tsv").write_text("\n".join(prows) + "\n")
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    cfg["samples"] = "samples.tsv"
    cfg["embedding"].update(model="onehot", shards=1, cache="cache", device="cpu")
    cfg["model"]["schnet"] = dict(hidden_channels=8, num_filters=8, num_interactions=1,
                                 num_gaussians=10)
    cfg["training"].update(epochs=2, batch_size=4, device="cpu")
    cfg["cv"].update(scheme="kfold", k=2)
    cfg["evaluate"]["bootstrap"] = 50
    cfg["plots"]["dpi"] = 60
    cfg["predict"]["samples"] = "predict.tsv"
    (wd / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    _smk(wd, "--cores", "2")  # the default target: all_targets() includes evaluate, plots, predict
    return wd


def test_evaluate_outputs(workdir):
    preds = pd.read_csv(workdir / "results/predictions.tsv", sep="\t")
    assert list(preds.columns) == ["id", "label", "prediction", "fold", "model"]
    models = ["schnet", "hgb_struct", "ridge_surface", "ridge_seq", "ridge_pooled", "size_linear",
              "mean"]  # the structure-aware baselines read the parsed structures
    assert len(preds) == len(models) * N
    assert preds.groupby("model")["id"].nunique().to_dict() == {m: N for m in models}
    metrics = pd.read_csv(workdir / "results/metrics.tsv", sep="\t")
    assert list(metrics["model"]) == models
    assert (metrics["embedding_kind"] == "onehot").all()
    assert (metrics["cv_scheme"] == "kfold").all()
    log = (workdir / "logs/evaluate/evaluate.log").read_text()
    assert "RMSE [95% CI]" in log
    assert "SchNet vs the best baseline" in log.strip().splitlines()[-1]
    comp = pd.read_csv(workdir / "results/comparisons.tsv", sep="\t")
    assert list(comp.columns[:8]) == [
        "baseline", "metric", "difference", "lo", "hi", "verdict", "resampling_unit", "n_units"
    ]
    assert len(comp) == 2 * (len(models) - 1) and (comp["n_units"] == N).all()
    assert set(comp["verdict"]) <= {"better", "worse", "not distinguishable"}
    conv = pd.read_csv(workdir / "results/evaluate/convergence.tsv", sep="\t")
    assert sorted(conv["fold"]) == [0, 1]
    assert set(conv["status"]) <= {"converged", "unconverged", "unknown"}
    doc = json.loads((workdir / "results/metrics.json").read_text())
    assert doc["convergence"]["n_folds"] == 2
    assert len(doc["comparisons"]) == 2 * (len(models) - 1)


def test_plots_and_report(workdir):
    for name in ("parity", "residuals", "lengths", "learning_curves"):
        for ext in ("png", "svg"):
            f = workdir / f"results/plots/{name}.{ext}"
            assert f.is_file() and f.stat().st_size > 1000
    _smk(workdir, "--report", "results/report.html")
    html = workdir / "results/report.html"
    assert html.is_file() and html.stat().st_size > 10_000
    text = html.read_text(errors="replace")
    for name in ("parity.png", "residuals.png", "lengths.png", "learning_curves.png", "metrics.tsv",
                 "comparisons.tsv", "metrics.html"):
        assert name in text, name


def test_predict_scores_and_reports_broken(workdir):
    t = pd.read_csv(workdir / "results/predict/predictions.tsv", sep="\t")
    st = t.set_index("id")
    assert list(t["id"]) == ["p0", "new", "broken"]
    assert st.loc["p0", "status"] == "ok" and st.loc["new", "status"] == "ok"
    assert st.loc["broken", "status"] == "skipped"
    assert pd.notna(st.loc["new", "prediction"])
    assert (workdir / "results/predict/structures/p0.h5").is_file()
    assert "broken" in (workdir / "logs/predict/predict.log").read_text()
