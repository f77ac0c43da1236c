"""bench/learn.py end to end on a small folder in jclinic's layout (labels.tsv + pdb/), built from
the bundled example's PDB files: the JSON it prints, and what --seeds reports."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
IDS = [f"ex{k:02d}" for k in (2, 3, 5, 6, 7, 8, 9, 10)]


def _data(tmp_path: Path) -> Path:
    (tmp_path / "pdb").mkdir()
    for pid in IDS:
        shutil.copy(REPO / "resources/example/structures" / f"{pid}.pdb", tmp_path / "pdb")
    (tmp_path / "labels.tsv").write_text("id\tlabel\n" + "".join(f"{p}\t0\n" for p in IDS))
    return tmp_path


def _learn(data: Path, *extra: str) -> dict:
    res = subprocess.run(
        [sys.executable, str(REPO / "bench" / "learn.py"), "--data", str(data), "--folds", "2",
         "--jobs", "1", "--epochs", "2", "--labels", "rg_norm", *extra],
        capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout)


def test_learn_bench_seeds_report_each_seed_and_their_mean(tmp_path):
    data = _data(tmp_path)
    one = _learn(data)["labels"]["rg_norm"]
    assert set(one["r2"]) == {"schnet", "size_linear", "ridge_seq"}
    assert "schnet_r2_per_seed" not in one
    out = _learn(data, "--seeds", "0,1")
    lab = out["labels"]["rg_norm"]
    assert out["seeds"] == [0, 1]
    per_seed = lab["schnet_r2_per_seed"]
    assert set(per_seed) == {"0", "1"}
    # seed 0 is the schema's default seed: the run without --seeds, to the digit
    assert per_seed["0"] == one["r2"]["schnet"]
    assert per_seed["0"] != per_seed["1"]  # another seed trains another model
    # the baselines do not depend on the seed
    assert lab["r2"]["size_linear"] == one["r2"]["size_linear"]
    # the reported R2 is that of the seeds' mean prediction: its squared error is at most the
    # mean of the two models' (convexity), so its R2 is at least the worse seed's
    assert lab["r2"]["schnet"] >= min(per_seed.values()) - 1e-4
