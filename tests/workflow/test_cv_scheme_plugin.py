"""Workflow: a CV scheme from a plugin (tests/plugins/toy_cv_scheme.py, `alternate`) installed
under the entry point group `esm_schnet.cv_schemes`: the plan accepts `cv.scheme: alternate`,
the folds checkpoint writes its folds and the training jobs follow from them; an unknown name
stops the plan before any job, naming the registered schemes."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))
from plugin_helpers import install_plugin  # noqa: E402

pytestmark = pytest.mark.slow


def test_plugin_cv_scheme_plans_and_writes_folds(tmp_path, monkeypatch, run_snakemake,
                                                 sample_table, tiny_config):
    site = install_plugin(tmp_path / "site", "toy_cv_scheme", "esm_schnet.cv_schemes",
                          "alternate")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (str(site), os.environ.get("PYTHONPATH")) if p))
    wd = tmp_path / "wd"
    sample_table(wd, ids=["ex20", "ex12", "ex11", "ex10"])
    cfg = tiny_config(embedding={"model": "onehot", "shards": 1, "device": "cpu"},
                      cv={"scheme": "alternate", "k": 2})
    run_snakemake(wd, "results/cv/alternate/folds.tsv", config=cfg, check=True, timeout=600)
    folds = pd.read_csv(wd / "results/cv/alternate/folds.tsv", sep="\t")
    assert list(folds["id"]) == ["ex20", "ex12", "ex11", "ex10"]
    assert list(folds["fold"]) == [0, 1, 0, 1]
    dry = run_snakemake(wd, "-n", config=cfg, check=True)
    assert "train_fold" in dry.output and "scheme=alternate, fold=1" in dry.output

    bad = run_snakemake(wd, "-n", config={**cfg, "cv": {"scheme": "alternat", "k": 2}})
    assert bad.returncode != 0
    assert "setting cv.scheme: 'alternat' is not one of the CV schemes" in bad.output
    assert "alternate" in bad.output.split("not one of the CV schemes")[1]
