"""bench/scale_run.py's pure parts on small fake inputs: Snakemake benchmark files, the per-rule
summary against resources.*.mem_mb, the cost exponents and the JSON shape (no timings)."""

from __future__ import annotations

import importlib.util
import json
import math
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sr():
    spec = importlib.util.spec_from_file_location("scale_run", REPO / "bench" / "scale_run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def _bench(path: Path, s: float, rss, end: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{s}\t0:00:01\t{rss}\t900.0\t100.0\t110.0\t0.0\t1.0\t50.0\t{s}\n")
    os.utime(path, (end, end))


def test_benchmark_files_are_read_and_summarised_per_rule(sr, tmp_path):
    _bench(tmp_path / "benchmarks/parse/a.tsv", 1.0, 200.5, 1000.0)
    _bench(tmp_path / "benchmarks/parse/b.tsv", 2.0, 210.0, 1003.0)
    _bench(tmp_path / "benchmarks/train_fold/group/fold-0.tsv", 10.0, 9000.0, 1020.0)
    _bench(tmp_path / "benchmarks/plots/plots.tsv", 3.0, "NA", 1030.0)
    row = sr.read_benchmark(tmp_path / "benchmarks/parse/a.tsv")
    assert row["s"] == 1.0 and row["max_rss"] == 200.5 and row["end"] == 1000.0
    bench = sr.collect_benchmarks(tmp_path)
    assert sorted(bench) == ["parse", "plots", "train_fold"]
    rules = sr.summarize_rules(bench, {"parse": 1000.0, "train_fold": 8000.0, "plots": None})
    p = rules["parse"]
    assert p["jobs"] == 2 and p["sum_s"] == 3.0 and p["max_s"] == 2.0
    assert p["cpu_s"] is None  # parse runs inside Snakemake's process: its cpu_time is not its own
    assert rules["train_fold"]["cpu_s"] == 10.0
    assert p["span_s"] == 4.0  # first start 999, last end 1003
    assert p["max_rss_mb"] == 210.0 and p["rss_ok"] is True
    assert rules["train_fold"]["rss_ok"] is False
    assert rules["plots"]["max_rss_mb"] is None and rules["plots"]["rss_ok"] is None
    shares = sr.stage_shares(rules, 40.0)
    assert shares["train_fold"]["share_of_wall"] == 0.25
    assert sr.collect_benchmarks(tmp_path / "nothing") == {}


def test_exponents_pairwise_and_fitted(sr):
    assert sr.exponent(1000, 10.0, 2000, 20.0) == pytest.approx(1.0)
    assert sr.exponent(1000, 10.0, 2000, 40.0) == pytest.approx(2.0)
    assert sr.exponent(1000, 0.0, 2000, 40.0) is None
    ns = [500, 2000, 10000]
    assert sr.fit_exponent(ns, [3 * n**1.1 for n in ns]) == pytest.approx(1.1)
    assert sr.fit_exponent([500], [1.0]) is None
    runs = [{"n": n, "wall_s": 2.0 * n, "job_s": 0.5 * n**1.5, "cpu_s": n**1.2,
             "rules": {"parse": {"sum_s": 0.1 * n, "cpu_s": 0.05 * n}}} for n in ns]
    runs.append({"n": 20000, "wall_s": None, "job_s": 1.0, "rules": {}})  # unfinished: ignored
    ex = sr.exponents(runs)
    assert ex["wall_s"] == {"500-2000": 1.0, "2000-10000": 1.0, "fit": 1.0}
    assert ex["job_s"]["2000-10000"] == 1.5 and ex["parse.sum_s"]["fit"] == 1.0
    assert ex["cpu_s"]["fit"] == 1.2 and ex["parse.cpu_s"]["500-2000"] == 1.0
    two = sr.exponents(runs[:2])
    assert two["wall_s"] == {"500-2000": 1.0, "fit": None}


def test_folds_summary_and_json_shape(sr, tmp_path):
    f = tmp_path / "folds.tsv"
    f.write_text("id\tfold\tcluster\na\t0\tc1\nb\t1\tc1\nc\t1\tc2\nd\t0\tc3\n")
    assert sr.folds_summary(f) == {"proteins": 4, "clusters": 3, "largest_cluster": 2,
                                   "proteins_per_fold": [2, 2]}
    assert sr.folds_summary(tmp_path / "missing.tsv") is None
    _bench(tmp_path / "n500/benchmarks/folds/group.tsv", 5.0, 900.0, 100.0)
    run = sr.summarize_dir(tmp_path / "n500", 500, {"folds": 4000.0})
    assert set(run) == {"n", "rules", "job_s", "cpu_s", "clusters"} and run["job_s"] == 5.0
    run.update(wall_s=50.0, load_avg={"mean": 4.0, "max": 5.0, "samples": 3})
    result = {"runs": [run], "exponents": sr.exponents([run])}
    json.dumps(result)  # serialisable
    text = sr.table(result)
    assert "folds" in text and "5 (900/4000)" in text and text.splitlines()[1].startswith("500 |")
    assert not math.isnan(result["runs"][0]["job_s"])
