"""A CV scheme from a plugin, the documented way (docs/extending.md, "Add a CV scheme"):
tests/plugins/toy_cv_scheme.py (`alternate`) installed under the entry point group
`esm_schnet.cv_schemes`; `esm-schnet folds` (the folds job the workflow runs) writes its folds,
and the workflow's plan accepts the name. No module of esm_schnet is touched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
from traindata import config_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))
from plugin_helpers import install_plugin  # noqa: E402

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "resources" / "example" / "structures"
IDS = ["ex20", "ex12", "ex11", "ex10", "ex05"]


def _project(tmp: Path) -> tuple[Path, list[str]]:
    from esm_schnet.parse.job import parse_job

    rows, h5 = ["id\tstructure\tlabel"], []
    for n, pid in enumerate(IDS):
        rows.append(f"{pid}\t{EXAMPLE / (pid + '.pdb')}\t{n + 0.5}")
        h5.append(str(tmp / f"{pid}.h5"))
        parse_job(EXAMPLE / f"{pid}.pdb", pid, h5[-1], tmp / f"qc-{pid}.tsv")
    (tmp / "samples.tsv").write_text("\n".join(rows) + "\n")
    return tmp / "samples.tsv", h5


def _folds(tmp: Path, site: Path, scheme: str) -> subprocess.CompletedProcess:
    samples, h5 = _project(tmp)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(site), os.environ.get("PYTHONPATH")) if p))
    argv = [str(BIN / "esm-schnet"), "folds", "--samples", str(samples), "--structures", *h5,
            "--scheme", scheme, "--config-file", config_file(tmp / "cv.yaml", cv={"k": 2}),
            "--out", str(tmp / "folds.tsv"),
            "--log", str(tmp / "folds.log")]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)


def test_plugin_scheme_writes_its_folds(tmp_path):
    site = install_plugin(tmp_path / "site", "toy_cv_scheme", "esm_schnet.cv_schemes",
                          "alternate")
    res = _folds(tmp_path, site, "alternate")
    assert res.returncode == 0, res.stderr[-3000:]
    folds = pd.read_csv(tmp_path / "folds.tsv", sep="\t", dtype={"cluster": str})
    assert list(folds["id"]) == IDS
    assert list(folds["fold"]) == [0, 1, 0, 1, 0]  # round-robin in table order, unshuffled
    assert folds["cluster"].str.len().gt(0).all()  # identical-set clusters (not grouped)


def test_unknown_scheme_names_the_registered_ones(tmp_path):
    site = install_plugin(tmp_path / "site", "toy_cv_scheme", "esm_schnet.cv_schemes",
                          "alternate")
    res = _folds(tmp_path, site, "alternat")
    assert res.returncode != 0 and "Traceback" not in res.stderr
    (line,) = res.stderr.strip().splitlines()
    assert "setting cv.scheme: 'alternat' is not one of the CV schemes" in line
    assert "loocv" in line and "alternate" in line  # the plugin's name is listed


def test_registry_lookup_and_grouped_flag():
    from esm_schnet.cv import get_scheme, is_grouped, scheme_names

    assert {"loocv", "kfold", "group", "logo"} <= set(scheme_names())
    assert is_grouped("group") and is_grouped("logo") and not is_grouped("kfold")
    assert get_scheme("loocv").per == "protein" and get_scheme("logo").per == "cluster"
    assert get_scheme("kfold").stratify == "proteins" and get_scheme("group").stratify == "clusters"
