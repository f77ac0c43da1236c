"""Workflow: parse -> embed -> manifest with the tiny ESM2 checkpoint as a local model directory.

Checks that every protein is embedded with as many rows as parsed residues, that a shard with no
protein is still a valid file, and that adding one protein reruns only its shard, where the model
runs only on that protein's chains (the others come from the content-addressed cache).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
from embed_helpers import write_tiny_esm  # noqa: E402

pytestmark = pytest.mark.slow

AA3 = ["ALA", "ARG", "ASN", "ASP", "CYS", "GLN", "GLU", "GLY", "HIS", "ILE",
       "LEU", "LYS", "MET", "PHE", "PRO", "SER", "THR", "TRP", "TYR", "VAL"]  # fmt: skip


def write_pdb(path: Path, chain_lengths: list[int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    lines, serial = [], 1
    for c, n in enumerate(chain_lengths):
        for i in range(n):
            x, y, z = 3.8 * i, 10.0 * c, float(rng.normal())
            res = AA3[rng.integers(20)]
            lines.append(
                f"ATOM  {serial:5d}  CA  {res} {'ABCD'[c]}{i + 1:4d}    "
                f"{x:8.3f}{y:8.3f}{z:8.3f}  1.00  0.00           C"
            )
            serial += 1
        lines.append("TER")
    lines.append("END")
    path.write_text("\n".join(lines) + "\n")


def _smk(wd: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [str(BIN / "snakemake"), "--snakefile", str(REPO / "Snakefile"), "--directory", str(wd),
           "--configfile", str(wd / "config.yaml"), "--cores", "2", *args]
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(wd), "HF_HUB_OFFLINE": "1"}
    if os.environ.get("PYTHONPATH"):  # a worktree's sources ahead of the venv's install
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=wd)
    if res.returncode != 0:
        raise AssertionError(f"snakemake failed:\n{res.stdout[-3000:]}\n{res.stderr[-5000:]}")
    return res


def _last_stats(log: Path) -> dict:
    line = [ln for ln in log.read_text().splitlines() if " wrote " in ln][-1]
    return json.loads(line.split(": ", 2)[-1])


def test_embed_workflow_and_incremental_rerun(tmp_path):
    from esm_schnet.core import paths
    from esm_schnet.core import store
    from esm_schnet.core.samples import shard_of

    wd = tmp_path
    model_dir = write_tiny_esm(wd / "tiny_esm")
    (wd / "data").mkdir()
    shards = 3
    # three proteins in shards 0 and 1 (one shard left empty), a 4th that joins shard 0 later
    ids = [f"p{i}" for i in range(200)]
    s0 = [i for i in ids if shard_of(i, shards) == 0][:3]
    s1 = [i for i in ids if shard_of(i, shards) == 1][:1]
    first, new = [s0[0], s0[1], s1[0]], s0[2]
    lengths = {first[0]: [30, 25], first[1]: [40], first[2]: [50, 12, 12], new: [18, 22]}
    for k, pid in enumerate(lengths):
        write_pdb(wd / "data" / f"{pid}.pdb", lengths[pid], seed=k)
    rows = ["id\tstructure\tlabel"] + [f"{p}\tdata/{p}.pdb\t{k}.0" for k, p in enumerate(first)]
    (wd / "samples.tsv").write_text("\n".join(rows) + "\n")
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    cfg["samples"] = "samples.tsv"
    cfg["embedding"].update(model=model_dir, shards=shards, window=32, overlap=8, cache="cache")
    (wd / "config.yaml").write_text(yaml.safe_dump(cfg))
    tag = paths.model_tag(model_dir)
    manifest = f"results/embeddings/{tag}/manifest.tsv"
    _smk(wd, manifest)

    emb = wd / "results" / "embeddings" / tag
    recs = store.load_records(sorted(emb.glob("shard-*.h5")))
    assert sorted(recs) == sorted(first)
    for pid in first:
        assert recs[pid].n_residues == sum(lengths[pid]) == recs[pid].embedding.shape[0]
        assert recs[pid].embedding.shape[1] == 32
    assert recs[first[2]].windowed  # a 50-residue chain with window 32
    assert store.read_shard(emb / "shard-002.h5") == {}  # empty shard, valid file
    assert set(store.read_manifest(wd / manifest)) == set(first)
    stats0 = _last_stats(wd / "logs" / "embed" / tag / "shard-000.log")
    assert stats0["sequences_run"] == 3 and stats0["cache_hits"] == 0

    # add one protein (it hashes to shard 0): only shard 0 reruns, only its two chains run
    with open(wd / "samples.tsv", "a") as fh:
        fh.write(f"{new}\tdata/{new}.pdb\t9.0\n")
    mtime1 = (emb / "shard-001.h5").stat().st_mtime_ns
    _smk(wd, manifest)
    assert (emb / "shard-001.h5").stat().st_mtime_ns == mtime1
    stats = _last_stats(wd / "logs" / "embed" / tag / "shard-000.log")
    assert stats["sequences_run"] == 2 and stats["cache_hits"] == 3
    recs2 = store.load_records(sorted(emb.glob("shard-*.h5")))
    assert recs2[new].n_residues == 40
    np.testing.assert_array_equal(recs2[first[0]].embedding, recs[first[0]].embedding)


def test_empty_cache_setting_embeds_without_a_cache(tmp_path):
    """`embedding.cache: ""` means no cache: the embed rule passes `--cache=` (an empty value
    the CLI accepts; `--cache ''` would lose the empty word in the shell) and nothing is cached."""
    from esm_schnet.core import paths
    from esm_schnet.core import store

    wd = tmp_path
    model_dir = write_tiny_esm(wd / "tiny_esm")
    (wd / "data").mkdir()
    write_pdb(wd / "data" / "p0.pdb", [20, 15], seed=0)
    (wd / "samples.tsv").write_text("id\tstructure\tlabel\np0\tdata/p0.pdb\t1.0\n")
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    cfg["samples"] = "samples.tsv"
    cfg["embedding"].update(model=model_dir, shards=1, cache="")
    (wd / "config.yaml").write_text(yaml.safe_dump(cfg))
    tag = paths.model_tag(model_dir)
    _smk(wd, f"results/embeddings/{tag}/manifest.tsv")
    recs = store.load_records(sorted((wd / "results" / "embeddings" / tag).glob("shard-*.h5")))
    assert recs["p0"].embedding.shape == (35, 32)
    assert not (wd / "resources" / "cache").exists() and not (wd / "cache").exists()
    stats = _last_stats(wd / "logs" / "embed" / tag / "shard-000.log")
    assert stats["sequences_run"] == 2 and stats["cache_hits"] == 0
