"""No command line grows with the number of proteins: a table whose parsed-structure paths add up
to more than the kernel's 128 KiB limit for one argument is planned and run through parse,
structure_list, embed, folds and train_final; every shell command Snakemake prints stays short.
And a loocv plan of that table is refused before any job, with one line."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pandas as pd
import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "example"

KERNEL_LIMIT = 128 * 1024
N = 700


def _table(workdir):
    sdir = workdir / "structures"
    sdir.mkdir(parents=True)
    shutil.copyfile(EXAMPLE / "structures" / "ex20.pdb", sdir / "ex20.pdb")
    # 180-character ids (no run of repeats: Snakemake refuses periodic wildcard values)
    ids = [f"p{n:04d}" + hashlib.sha512(str(n).encode()).hexdigest()
           + hashlib.sha256(str(n).encode()).hexdigest()[:47] for n in range(N)]
    (workdir / "samples.tsv").write_text("id\tstructure\tlabel\n" + "".join(
        f"{pid}\tstructures/ex20.pdb\t{n % 17}.0\n" for n, pid in enumerate(ids)))
    return ids


def _shell_commands(output: str) -> list[str]:
    """The shell commands Snakemake prints with -p ("Shell command: esm-schnet ...")."""
    marker = "Shell command: "
    return [ln.split(marker, 1)[1] for ln in output.splitlines() if marker in ln]


@pytest.mark.slow
def test_long_lists_go_through_files(tmp_path, run_snakemake, tiny_config):
    ids = _table(tmp_path)
    paths = [f"results/structures/{i}.h5" for i in ids]
    assert len(" ".join(paths)) > KERNEL_LIMIT
    config = tiny_config(embedding={"model": "onehot", "shards": 1},
                         cv={"scheme": "kfold", "k": 2}, training={"epochs": 1})
    targets = ["results/cv/kfold/folds.tsv", "results/final/model.pt",
               "results/embeddings/onehot/shard-000.h5"]
    plan = run_snakemake(tmp_path, "-n", "-p", *targets, config=config, check=True)
    commands = _shell_commands(plan.output)
    assert any(c.startswith("esm-schnet embed") for c in commands), plan.output[-3000:]
    assert any(c.startswith("esm-schnet train-final") for c in commands)
    assert max(map(len, commands)) < 2000
    run = run_snakemake(tmp_path, "-p", *targets, config=config, check=True, timeout=1500)
    commands = _shell_commands(run.output)
    assert any(c.startswith("esm-schnet folds") for c in commands), run.output[-3000:]
    assert max(map(len, commands)) < 2000
    listed = (tmp_path / "results/lists/structures-all.txt").read_text().splitlines()
    assert listed == paths
    assert (tmp_path / "results/lists/structures-shard-000.txt").stat().st_size > KERNEL_LIMIT
    folds = pd.read_csv(tmp_path / "results/cv/kfold/folds.tsv", sep="\t")
    assert len(folds) == N and folds["fold"].nunique() == 2
    assert (tmp_path / "results/final/model.pt").stat().st_size > 0

    # the same table under loocv: refused while Snakemake reads the workflow, one line
    refused = run_snakemake(tmp_path, "-n", config={**config, "cv": {"scheme": "loocv"}})
    assert refused.returncode != 0
    lines = [ln for ln in refused.output.splitlines() if "training jobs" in ln]
    assert lines == [
        f"esm-schnet: cv.scheme loocv plans {N} training jobs (one per protein), more than 200: "
        "use cv.scheme: kfold (cv.k folds; group for homology-aware folds), or set "
        "cv.allow_many_folds: true to train them all"
    ]
    allowed = run_snakemake(tmp_path, "-n", config={
        **config, "cv": {"scheme": "loocv", "allow_many_folds": True}})
    assert allowed.returncode == 0, allowed.output[-3000:]
