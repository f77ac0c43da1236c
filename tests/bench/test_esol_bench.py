"""bench/esol.sh: its arguments and its clean skip where the esol data is absent (the run itself
is the benchmark, see docs/performance.md)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "esol.sh"


def _run(tmp_path, *args, data=None):
    env = dict(os.environ, ESM_SCHNET_ESOL=str(data or tmp_path / "absent"))
    return subprocess.run(
        ["bash", str(SCRIPT), str(tmp_path / "run"), *args],
        capture_output=True, text=True, env=env, timeout=60,
    )


def test_skips_cleanly_without_the_data(tmp_path):
    res = _run(tmp_path, "kfold")
    assert res.returncode == 0, res.stderr
    assert "no esol data" in res.stdout and "skipped" in res.stdout
    assert not (tmp_path / "run").exists()  # nothing written, nothing run


def test_refuses_an_unknown_scheme_before_anything_runs(tmp_path):
    res = _run(tmp_path, "loocv")
    assert res.returncode == 2 and "kfold or group" in res.stderr
    assert not (tmp_path / "run").exists()
