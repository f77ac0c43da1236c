"""The Snakemake profiles and the per-rule job sizes from config `resources` (no cluster needed)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def _profile(name: str) -> dict:
    return yaml.safe_load((REPO / "profiles" / name / "config.yaml").read_text())


def test_default_profile_is_safe_for_every_run():
    prof = _profile("default")
    # Snakemake loads profiles/default on every run, also with --profile profiles/slurm, where
    # `cores` sizes the cluster jobs: it must not be set here.
    assert "cores" not in prof and "jobs" not in prof and "executor" not in prof
    assert prof["scheduler"] == "greedy"
    assert prof["force-use-threads"] is True  # run: jobs in-process
    assert int(prof["scheduler-subsample"]) >= 10
    assert prof["rerun-incomplete"] is True
    assert prof["quiet"] == ["reason"] and prof["show-failed-logs"] is True


def test_slurm_profile_groups_per_protein_jobs_and_has_no_test_settings():
    prof = _profile("slurm")
    assert prof["executor"] == "slurm"
    groups = dict(g.split("=") for g in prof["groups"])
    sizes = {k: int(v) for k, v in (g.split("=") for g in prof["group-components"])}
    assert groups["parse"] == "parse" and groups["predict_parse"] == "parse"
    assert sizes["parse"] >= 100
    assert isinstance(prof["cores"], int) and prof["cores"] >= 1
    # test-only settings live in tests/workflow/test_slurm.py, not in the production profile
    text = (REPO / "profiles" / "slurm" / "config.yaml").read_text()
    active = [ln for ln in text.splitlines() if ln and not ln.lstrip().startswith("#")]
    assert not any(re.match(r"slurm-status-command|slurm-init-seconds", ln) for ln in active)
    assert "debug" not in "\n".join(active)


def test_rules_take_their_job_sizes_from_config(tmp_path, run_snakemake, sample_table, tiny_config):
    sample_table(tmp_path, ids=["ex20", "ex12"])
    sizes = {
        "parse": {"mem_mb": 111, "runtime": 2, "threads": 1},
        "embed": {"mem_mb": 222, "runtime": 3, "threads": 2},
    }
    cfg = tiny_config(
        embedding={"model": "onehot", "shards": 1},
        resources={"gpu": True, "partition": "cpuq", "gpu_partition": "gpuq", **sizes},
    )
    res = run_snakemake(tmp_path, "-n", "results/embeddings/onehot/manifest.tsv", config=cfg)
    assert res.returncode == 0, res.output[-4000:]
    blocks = re.split(r"\n(?=(?:local)?rule \w+:)", res.output)
    seen = {}
    for block in blocks:
        m = re.match(r"(?:local)?rule (\w+):", block)
        r = re.search(r"resources: (.*)", block)
        if m and r:
            seen[m.group(1)] = r.group(1)
    assert "mem_mb=111" in seen["parse"] and "runtime=2" in seen["parse"], seen
    assert "slurm_partition=cpuq" in seen["parse"], seen
    # embed, an aggregate rule, prints a one-line message with its job size instead of its inputs
    embed = re.search(r"Job \d+: embed\[shard=000\]: .*", res.output).group(0)
    assert "mem_mb=222" in embed and "runtime=3" in embed, embed
    assert "slurm_partition=gpuq" in embed and "gpu=1" in embed, embed
    assert "threads: 2," in embed


def test_console_lines_stay_short_at_hundreds_of_proteins(tmp_path, run_snakemake, tiny_config):
    """With the default profile no line of a run's plan grows with the number of proteins: no
    per-job `reason:` line, and aggregate jobs print a one-line message, not their inputs."""
    n = 400
    sdir = tmp_path / "structures"
    sdir.mkdir()
    src = REPO / "resources" / "example" / "structures" / "ex02.pdb"
    rows = ["id\tstructure\tlabel"]
    for k in range(n):
        (sdir / f"p{k:04d}.pdb").symlink_to(src)
        rows.append(f"p{k:04d}\tstructures/p{k:04d}.pdb\t{k % 7}.5")
    (tmp_path / "samples.tsv").write_text("\n".join(rows) + "\n")
    cfg = tiny_config(embedding={"model": "onehot"}, cv={"scheme": "kfold", "k": 10})
    res = run_snakemake(tmp_path, "-n", config=cfg)
    assert res.returncode == 0, res.output[-4000:]
    lines = res.output.splitlines()
    assert sum(line.startswith("rule parse:") for line in lines) == n  # every job is listed
    for rule in ("qc", "embed", "folds", "manifest", "train_final", "evaluate", "all"):
        assert any(re.match(rf"Job \d+: {rule}(\[[^]]*\])?: ", line) for line in lines), rule
    assert not [line for line in lines if line.strip().lower().startswith("reason:")]
    longest = max(lines, key=len)
    assert len(longest) <= 500, longest[:200]
