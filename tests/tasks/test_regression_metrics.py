"""Metrics against values computed by hand on a tiny example."""

import math

import numpy as np
import pytest

from esm_schnet.tasks.regression.metrics import METRICS, bootstrap_metrics, compute_metrics, point_metrics

Y = [1.0, 2.0, 3.0, 4.0]
P = [1.0, 3.0, 2.0, 5.0]


def test_point_metrics_by_hand():
    m, notes = point_metrics(Y, P)
    # errors: 0, 1, -1, 1 -> squared 0,1,1,1 -> MSE 3/4; |err| 0,1,1,1 -> MAE 3/4
    assert m["mse"] == pytest.approx(0.75)
    assert m["rmse"] == pytest.approx(math.sqrt(0.75))
    assert m["mae"] == pytest.approx(0.75)
    # SS_tot of y around 2.5: 2.25+0.25+0.25+2.25 = 5; SS_res = 3 -> R2 = 1 - 3/5
    assert m["r2"] == pytest.approx(0.4)
    # Pearson: dy = [-1.5,-.5,.5,1.5], dp = [-1.75,.25,-.75,2.25] (mean 2.75)
    # sum dy*dp = 2.625-0.125-0.375+3.375 = 5.5; sum dy^2 = 5; sum dp^2 = 3.0625+.0625+.5625+5.0625 = 8.75
    assert m["pearson"] == pytest.approx(5.5 / math.sqrt(5 * 8.75))
    # Spearman: ranks of p = [1,3,2,4]; d = 0,1,-1,0 -> 1 - 6*2/(4*15) = 0.8
    assert m["spearman"] == pytest.approx(0.8)
    assert notes == []


def test_compute_metrics_interval_contains_point_and_is_reproducible():
    rng = np.random.default_rng(1)
    y = rng.normal(size=40)
    p = y + rng.normal(scale=0.5, size=40)
    a = compute_metrics(y, p, n_boot=500, seed=3)
    b = compute_metrics(y, p, n_boot=500, seed=3)
    assert a == b
    assert a["n"] == 40
    for m in METRICS:
        assert a[f"{m}_lo"] <= a[m] <= a[f"{m}_hi"], m
        assert a[f"{m}_lo"] < a[f"{m}_hi"], m
    c = compute_metrics(y, p, n_boot=500, seed=4)
    assert c["rmse_lo"] != a["rmse_lo"]


def test_bootstrap_matches_point_formula_on_identity_resample():
    # With a single protein value repeated the vectorised formulas must agree with sklearn/scipy.
    y = np.array(Y)
    p = np.array(P)
    boot = bootstrap_metrics(y, p, n_boot=2000, seed=0)
    # Find resamples that happen to be permutations of all four proteins: metrics equal the point.
    point, _ = point_metrics(y, p)
    assert np.nanmin(np.abs(boot["r2"] - point["r2"])) < 1e-12
    assert np.nanmin(np.abs(boot["spearman"] - point["spearman"])) < 1e-12
    assert np.nanmin(np.abs(boot["pearson"] - point["pearson"])) < 1e-12


def test_constant_predictions_give_nan_with_reason():
    row = compute_metrics(Y, [2.0, 2.0, 2.0, 2.0], n_boot=100)
    assert math.isnan(row["pearson"]) and math.isnan(row["spearman"])
    assert math.isnan(row["pearson_lo"])
    assert row["mse"] == pytest.approx((1 + 0 + 1 + 4) / 4)
    assert not math.isnan(row["r2"])
    assert "constant predictions" in row["notes"]


def test_too_few_proteins_and_empty():
    row = compute_metrics([1.0, 2.0], [1.5, 2.5], n_boot=50)
    assert row["n"] == 2
    assert row["mae"] == pytest.approx(0.5)
    assert math.isnan(row["r2"]) and math.isnan(row["spearman"])
    assert "n=2" in row["notes"]
    empty = compute_metrics([], [], n_boot=50)
    assert empty["n"] == 0 and math.isnan(empty["rmse"])
    assert "no predictions" in empty["notes"]


def test_constant_labels_and_no_bootstrap():
    row = compute_metrics([3.0, 3.0, 3.0], [1.0, 2.0, 3.0], n_boot=0)
    assert math.isnan(row["r2"])
    assert "constant labels" in row["notes"]
    assert "no bootstrap" in row["notes"]
    assert math.isnan(row["mse_lo"])


def test_mismatched_lengths_raise():
    with pytest.raises(ValueError):
        compute_metrics([1, 2, 3], [1, 2])


# ----------------------------------------------------------------------- paired comparisons
from esm_schnet.tasks.regression.metrics import paired_difference, unit_weights, verdict  # noqa: E402


def test_paired_difference_finds_a_known_difference():
    rng = np.random.default_rng(0)
    y = rng.normal(size=80)
    good = y + rng.normal(scale=0.1, size=80)
    bad = y + rng.normal(scale=1.0, size=80)
    res = paired_difference(y, good, bad, n_boot=500, seed=1)
    for m in ("rmse", "mae"):
        r = res[m]
        assert r["difference"] < 0 and r["hi"] < 0, r
        assert r["lo"] <= r["difference"] <= r["hi"]
        assert r["verdict"] == "better"
    assert paired_difference(y, bad, good, n_boot=500, seed=1)["rmse"]["verdict"] == "worse"


def test_identical_predictions_are_not_distinguishable():
    rng = np.random.default_rng(0)
    y = rng.normal(size=30)
    p = y + rng.normal(scale=0.5, size=30)
    res = paired_difference(y, p, p.copy(), n_boot=300)
    for r in res.values():
        assert r["difference"] == 0.0
        assert r["lo"] <= 0.0 <= r["hi"]
        assert r["verdict"] == "not distinguishable"
    assert verdict(float("nan"), float("nan")) == "not distinguishable"


def test_unit_weights_keep_clusters_whole():
    units = np.repeat(["c0", "c1", "c2", "c3"], [1, 2, 3, 4])
    w = unit_weights(units, 200, seed=0)
    assert w.shape == (200, 10)
    for u in set(units):
        cols = w[:, units == u]
        assert np.all(cols == cols[:, :1])  # every member of a cluster has the same weight
    # as many clusters drawn as there are: sum over clusters of counts == 4
    per_cluster = np.stack([w[:, units == u][:, 0] for u in ["c0", "c1", "c2", "c3"]], axis=1)
    assert np.all(per_cluster.sum(axis=1) == 4)


def test_group_resampling_by_construction():
    # In every cluster model a wins by d on one protein and loses by d on the other: resampled
    # by clusters the MAE difference is exactly 0 in every resample; by proteins it is not.
    n_clusters = 20
    y = np.zeros(2 * n_clusters)
    a = np.tile([0.0, 2.0], n_clusters)
    b = np.tile([1.0, 1.0], n_clusters)
    units = np.repeat(np.arange(n_clusters), 2)
    by_cluster = paired_difference(y, a, b, units=units, n_boot=300)["mae"]
    assert by_cluster["lo"] == pytest.approx(0.0) and by_cluster["hi"] == pytest.approx(0.0)
    by_protein = paired_difference(y, a, b, n_boot=300)["mae"]
    assert by_protein["hi"] - by_protein["lo"] > 0.1
