"""bench/curves.py: the loss-spike summary of a run's learning curves."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))
import curves  # noqa: E402

sys.path.remove(str(REPO / "bench"))


def _history(path: Path, losses):
    path.mkdir(parents=True)
    rows = ["epoch\ttrain_loss\tval_loss\tlr\tseconds"]
    rows += [f"{k + 1}\t{v}\tnan\t0.001\t0.1" for k, v in enumerate(losses)]
    (path / "history.tsv").write_text("\n".join(rows) + "\n")


def test_largest_rise_between_epochs_and_folds_that_ended_below_their_start(tmp_path):
    cv = tmp_path / "results" / "cv" / "loocv"
    _history(cv / "fold-0", [1.0, 0.5, 2.0, 0.1])  # a spike: x4 at epoch 3
    _history(cv / "fold-1", [1.0, 0.9, 0.8, 0.7])  # smooth: never rises
    _history(cv / "fold-2", [1.0, 1.5, 1.2, 1.1])  # x1.5 at epoch 2, ends above its start
    out = curves.curve_summary(tmp_path)
    f = out["folds"]
    assert (f["fold-0"]["max_rise"], f["fold-0"]["max_rise_epoch"]) == (4.0, 3)
    assert f["fold-1"]["max_rise"] == pytest.approx(0.9)
    assert f["fold-2"]["max_rise_epoch"] == 2
    assert out["summary"] == {"folds": 3, "max_rise_median": 1.5, "max_rise_max": 4.0,
                              "last_below_first": 2}


def test_a_folder_without_curves_is_one_line(tmp_path):
    with pytest.raises(SystemExit, match="no results/cv"):
        curves.curve_summary(tmp_path)


def test_parameter_families():
    assert [curves.family(n) for n in ("skip.weight", "lin2.bias", "lin1.weight",
                                       "interactions.0.lin.bias")] == ["skip", "lin2", "rest",
                                                                       "rest"]
