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


PREFIX = "2026-12-07 06:46:17,939 INFO esm_schnet.evaluate: "


def test_the_summary_of_a_named_and_of_the_default_label_without_log_prefixes(tmp_path):
    """bench/evaluate_summary.sh, which esol.sh and jclinic.sh print with: from the summary line
    (a named label's form, 'summary of label NAME (...) (held-out', and the default label's,
    'summary (held-out') to the end, each line without its time, level and logger."""
    script = REPO / "bench" / "evaluate_summary.sh"
    for head in ("summary of label solubility (regression) (held-out predictions, ...):",
                 "summary (held-out predictions, ...):"):
        log = tmp_path / "evaluate.log"
        log.write_text("\n".join([PREFIX + "loading 4 shard(s)", PREFIX + head,
                                  PREFIX + "model           n  RMSE [95% CI]",
                                  PREFIX + "schnet        406  28.14 [26.3, 29.9]", ""]))
        out = subprocess.run(["bash", str(script), str(log)], capture_output=True, text=True,
                             check=True).stdout.splitlines()
        assert out == [head, "model           n  RMSE [95% CI]",
                       "schnet        406  28.14 [26.3, 29.9]"]
