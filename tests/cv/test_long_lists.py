"""Jobs that take every protein's file read the list from a file (esm_schnet.core.pathlist): a list
longer than the kernel's 128 KiB limit for one argument reaches `esm-schnet folds` and
`esm-schnet embed` through `--structures-from`, and the plan checks of the folds job."""

from __future__ import annotations

import dataclasses
import errno
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from esm_schnet.core.errors import EsmSchnetError
from esm_schnet.core.pathlist import read_path_list, write_path_list
from traindata import config_file

REPO = Path(__file__).resolve().parents[2]
CONSOLE = Path(sys.executable).parent / "esm-schnet"
KERNEL_LIMIT = 128 * 1024  # MAX_ARG_STRLEN: the longest single argument Linux accepts
N = 600


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    """N parsed structures under a long directory name (paths > KERNEL_LIMIT in all), their
    list file and a sample table (own group per protein, labels 0..N-1)."""
    from esm_schnet.parse import parse_structure, write_structure_h5

    root = tmp_path_factory.mktemp("long")
    sdir = root / ("d" * 200)
    sdir.mkdir()
    pdb = REPO / "resources" / "example" / "structures" / "ex20.pdb"
    template = parse_structure(pdb, "ex20")
    ids = [f"p{n:04d}" for n in range(N)]
    paths = []
    for pid in ids:
        path = sdir / f"{pid}.h5"
        write_structure_h5(dataclasses.replace(template, id=pid), path)
        paths.append(str(path))
    listed = root / "structures.txt"
    assert write_path_list(paths, listed) == N
    table = root / "samples.tsv"
    table.write_text("id\tstructure\tlabel\tgroup\n" + "".join(
        f"{pid}\t{pdb}\t{n}.0\tg{n}\n" for n, pid in enumerate(ids)))
    return root, paths, listed, table


def _console(*args, cwd):
    return subprocess.run([str(CONSOLE), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


def test_path_list_round_trip_and_bad_paths(tmp_path):
    paths = ["a/b c.h5", "x.h5"]
    write_path_list(paths, tmp_path / "l.txt")
    assert read_path_list(tmp_path / "l.txt") == paths
    with pytest.raises(EsmSchnetError, match="line break"):
        write_path_list(["a\nb.h5"], tmp_path / "bad.txt")
    with pytest.raises(EsmSchnetError, match="cannot read it"):
        read_path_list(tmp_path / "missing.txt")


def test_the_list_does_not_fit_one_argument(many):
    _, paths, listed, _ = many
    joined = " ".join(paths)
    assert len(joined) > KERNEL_LIMIT and listed.stat().st_size > KERNEL_LIMIT
    # what a rule with `--structures {input.structures:q}` would run: the kernel refuses it
    with pytest.raises(OSError) as err:
        subprocess.run(["bash", "-c", f"true --structures {joined}"], check=False)
    assert err.value.errno == errno.E2BIG


def test_folds_job_reads_the_long_list_from_a_file(many):
    root, paths, listed, table = many
    out = root / "kfold.tsv"
    res = _console("folds", "--samples", table, "--structures-from", listed, "--scheme", "kfold",
                   "--config-file", config_file(root / "k5.yaml", cv={"k": 5}), "--out", out,
                   cwd=root)
    assert res.returncode == 0, res.stderr
    folds = pd.read_csv(out, sep="\t")
    assert len(folds) == N and sorted(folds["fold"].unique()) == [0, 1, 2, 3, 4]
    # the same folds as with the paths on the command line (a short list cannot tell them
    # apart: the first 100 proteins, a table of their own)
    small = root / "small.tsv"
    small.write_text("".join(table.read_text().splitlines(keepends=True)[:101]))
    short_list = root / "short.txt"
    write_path_list(paths[:100], short_list)
    a, b = root / "a.tsv", root / "b.tsv"
    assert _console("folds", "--samples", small, "--structures-from", short_list, "--scheme",
                    "kfold", "--out", a, cwd=root).returncode == 0
    assert _console("folds", "--samples", small, "--structures", *paths[:100], "--scheme",
                    "kfold", "--out", b, cwd=root).returncode == 0
    assert a.read_bytes() == b.read_bytes()


@pytest.mark.parametrize("scheme, unit, instead", [
    ("loocv", "protein", "cv.scheme: kfold"), ("logo", "cluster", "cv.scheme: group"),
])
def test_folds_job_refuses_too_many_folds_with_one_line(many, scheme, unit, instead):
    root, _, listed, table = many
    out = root / f"{scheme}.tsv"
    res = _console("folds", "--samples", table, "--structures-from", listed, "--scheme", scheme,
                   "--out", out, "--log", root / f"{scheme}.log", cwd=root)
    assert res.returncode == 1 and not out.exists()
    lines = res.stderr.strip().splitlines()  # the console's line (the log has the details)
    assert len(lines) == 1, res.stderr
    assert f"cv.scheme {scheme} plans {N} training jobs (one per {unit}), more than 200" in lines[0]
    assert instead in lines[0] and "cv.allow_many_folds: true" in lines[0]
    res = _console("folds", "--samples", table, "--structures-from", listed, "--scheme", scheme,
                   "--config-file", config_file(root / "many.yaml", cv={"allow_many_folds": True}),
                   "--out", out, cwd=root)
    assert res.returncode == 0, res.stderr
    assert pd.read_csv(out, sep="\t")["fold"].nunique() == N


def test_group_scheme_deals_the_clusters_into_k_folds(many):
    root, _, listed, table = many
    out = root / "group.tsv"
    res = _console("folds", "--samples", table, "--structures-from", listed, "--scheme", "group",
                   "--config-file", config_file(root / "k4.yaml", cv={"k": 4}), "--out", out,
                   cwd=root)
    assert res.returncode == 0, res.stderr
    folds = pd.read_csv(out, sep="\t")
    assert folds["fold"].value_counts().to_dict() == {0: 150, 1: 150, 2: 150, 3: 150}
    assert (folds.groupby("cluster")["fold"].nunique() == 1).all()


def test_embed_job_reads_the_long_list_from_a_file(many):
    import h5py

    root, _, listed, _ = many
    out = root / "shard-000.h5"
    res = _console("embed", "--structures-from", listed, "--out", out, "--model", "onehot",
                   "--cache", "", "--log", root / "embed.log", cwd=root)
    assert res.returncode == 0, res.stderr + (root / "embed.log").read_text()
    with h5py.File(out, "r") as h5:
        assert len([k for k in h5 if k.startswith("p")]) == N
