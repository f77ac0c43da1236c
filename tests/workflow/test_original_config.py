"""configs/original.yaml (the original assignment's setup) plans the expected jobs.

A dry run with `--configfile configs/original.yaml` on top of a minimal config, samples pointed at
the bundled example (and at jclinic from ../shared when it is there): one parse job per protein,
the 650M weights fetched by download_model, one embed job per shard, the folds checkpoint, the
final model and evaluate; the printed commands carry ESM2 650M, the 20 A graph and LOOCV.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ORIGINAL = REPO / "configs" / "original.yaml"
JCLINIC = Path(os.environ.get("ESM_SCHNET_JCLINIC", REPO.parent / "shared" / "data" / "jclinic"))


def job_stats(output: str) -> dict[str, int]:
    """The `Job stats:` table of a dry run as {rule: count} (checked against its total)."""
    lines = output.split("Job stats:", 1)[1].splitlines()
    counts = {}
    for line in lines[3:]:
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if not m:
            break
        counts[m.group(1)] = int(m.group(2))
    total = counts.pop("total")
    assert sum(counts.values()) == total, counts
    return counts


def _jclinic_table(workdir: Path) -> Path:
    rows = ["id\tstructure\tlabel"]
    for line in (JCLINIC / "labels.tsv").read_text().splitlines()[1:]:
        pid, label = line.split("\t")[:2]
        rows.append(f"{pid}\t{JCLINIC / 'pdb' / (pid + '.pdb')}\t{label}")
    path = workdir / "jclinic.tsv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_original_config_sets_what_the_docs_say():
    cfg = yaml.safe_load(ORIGINAL.read_text())
    assert cfg["embedding"]["model"] == "facebook/esm2_t33_650M_UR50D"
    assert cfg["graph"]["cutoff"] == 20.0 and cfg["cv"]["scheme"] == "loocv"
    # the original's SchNet saw the embeddings only: no centroid features, no linear term
    assert cfg["model"]["centroid"] is False and cfg["model"]["linear"] is False
    from esm_schnet.core.settings import validate

    validate({**cfg, "samples": "x.tsv"})  # every key known to the schema, every value valid
    assert "configs/original.yaml" in (REPO / "docs/original.md").read_text()


@pytest.mark.parametrize("dataset", ["example", "jclinic"])
def test_original_config_dry_run_plans_the_expected_jobs(dataset, tmp_path, run_snakemake):
    if dataset == "example":
        samples = REPO / "resources" / "example" / "samples.tsv"
    else:
        if not (JCLINIC / "labels.tsv").is_file():
            pytest.skip(f"jclinic data not found at {JCLINIC}")
        samples = _jclinic_table(tmp_path)
    n = len(samples.read_text().strip().splitlines()) - 1
    res = run_snakemake(
        tmp_path, "-n", "-p", "--configfile", str(ORIGINAL),
        config={"samples": str(samples)}, check=True,
    )  # fmt: skip
    jobs = job_stats(res.output)
    shards = yaml.safe_load((REPO / "config.yaml").read_text())["embedding"]["shards"]
    assert jobs["parse"] == n and jobs["embed"] == shards
    for rule in ("download_model", "manifest", "folds", "train_final", "evaluate", "qc"):
        assert jobs[rule] == 1, rule
    # the fold jobs come after the folds checkpoint; none is planned before it
    assert "train_fold" not in jobs
    out = res.output
    assert "esm-schnet download-model --model facebook/esm2_t33_650M_UR50D" in out
    assert "results/embeddings/facebook--esm2_t33_650M_UR50D/shard-000.h5" in out
    # train-final reads the train stage's resolved settings: the original's radius and network
    m = re.search(r"esm-schnet train-final .*--config-file (\S+\.json)", out)
    assert m, out[-3000:]
    train = json.loads((tmp_path / m.group(1)).read_text())["config"]
    assert train["graph"]["cutoff"] == 20.0
    assert train["model"]["centroid"] is False and train["model"]["linear"] is False
    assert "--scheme loocv" in out
