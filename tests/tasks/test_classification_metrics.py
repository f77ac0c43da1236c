"""Classification metrics: against sklearn and hand-computed values, bootstrap, paired comparisons."""

import math
import warnings

import numpy as np
import pytest
from sklearn import metrics as skm

from esm_schnet.tasks.classification import metrics as mc

# Binary by hand: scores of class 1, labels.
Y = np.array([0, 0, 1, 1, 0, 1])
S = np.array([0.1, 0.4, 0.35, 0.8, 0.4, 0.9])


def test_binary_point_metrics_by_hand():
    m, notes = mc.point_metrics(Y, S)  # 1-D prob: P(class 1)
    assert notes == []
    # Mann-Whitney: positives 0.35, 0.8, 0.9 vs negatives 0.1, 0.4, 0.4.
    # 0.35 beats 0.1 only (1); 0.8 and 0.9 beat all three (3 + 3): U = 7 of 9 pairs.
    assert m["auroc"] == pytest.approx(7 / 9)
    # Descending: 0.9(+) 0.8(+) 0.4,0.4(-,-) 0.35(+) 0.1(-): precision at each positive's threshold
    # 1/1, 2/2, 3/5 -> AP = (1 + 1 + 0.6) / 3
    assert m["auprc"] == pytest.approx(2.6 / 3)
    # predicted class (p > 0.5): 0 0 0 1 0 1 -> 5 of 6 right; recall class 0: 3/3, class 1: 2/3
    assert m["accuracy"] == pytest.approx(5 / 6)
    assert m["balanced_accuracy"] == pytest.approx((1 + 2 / 3) / 2)
    # confusion tn=3 fp=0 fn=1 tp=2: MCC = (tp tn - fp fn) / sqrt((tp+fp)(tp+fn)(tn+fp)(tn+fn))
    assert m["mcc"] == pytest.approx(6 / math.sqrt(2 * 3 * 3 * 4))
    p_true = np.where(Y == 1, S, 1 - S)
    assert m["log_loss"] == pytest.approx(-np.log(p_true).mean())


def _random_case(rng, n, k, ties=True):
    y = rng.integers(0, k, n)
    y[:k] = np.arange(k)  # every class present
    p = rng.dirichlet(np.ones(k), n)
    if ties:
        p = np.round(p, 1) + 1e-3
        p /= p.sum(axis=1, keepdims=True)
    return y, p


def _sklearn(y, p):
    k = p.shape[1]
    pred = p.argmax(axis=1)
    if k == 2:
        auroc = skm.roc_auc_score(y, p[:, 1])
        auprc = skm.average_precision_score(y, p[:, 1])
    else:
        auroc = skm.roc_auc_score(y, p, multi_class="ovr", average="macro")
        auprc = skm.average_precision_score(np.eye(k)[y], p, average="macro")
    return {
        "auroc": auroc, "auprc": auprc, "accuracy": skm.accuracy_score(y, pred),
        "balanced_accuracy": skm.balanced_accuracy_score(y, pred),
        "mcc": skm.matthews_corrcoef(y, pred), "log_loss": skm.log_loss(y, p, labels=range(k)),
    }


@pytest.mark.parametrize("k", [2, 3, 5])
def test_point_and_weighted_formulas_agree_with_sklearn(k):
    rng = np.random.default_rng(k)
    y, p = _random_case(rng, 40, k)
    ref = _sklearn(y, p)
    point, _ = mc.point_metrics(y, p)
    whole = mc.weighted_metrics(y, p, np.ones((1, y.size)))
    for m in mc.CLS_METRICS:
        assert point[m] == pytest.approx(ref[m], abs=1e-12), m
        assert whole[m][0] == pytest.approx(ref[m], abs=1e-12), m
    # A resample as weights equals sklearn on the explicitly resampled set.
    for _ in range(5):
        idx = rng.integers(0, y.size, y.size)
        w = np.bincount(idx, minlength=y.size)[None, :].astype(float)
        if len(set(y[idx])) < k:
            continue
        got = mc.weighted_metrics(y, p, w)
        ref = _sklearn(y[idx], p[idx])
        for m in mc.CLS_METRICS:
            assert got[m][0] == pytest.approx(ref[m], abs=1e-12), m


def test_perfect_classifier_auroc_one_with_interval_at_one():
    y = np.array([0, 1] * 15)
    p = np.where(y == 1, 0.7, 0.2)
    row = mc.compute_metrics(y, p, n_boot=300, seed=1)
    for m in ("auroc", "auprc", "accuracy", "balanced_accuracy", "mcc"):
        assert row[m] == 1.0 and row[f"{m}_lo"] == 1.0 and row[f"{m}_hi"] == 1.0, m
    assert row["log_loss"] > 0 and row["log_loss_lo"] < row["log_loss_hi"]
    assert row["n"] == 30 and row["n_classes"] == 2


def test_intervals_contain_point_and_are_reproducible():
    rng = np.random.default_rng(4)
    y, p = _random_case(rng, 60, 3, ties=False)
    a = mc.compute_metrics(y, p, n_boot=400, seed=2)
    assert a == mc.compute_metrics(y, p, n_boot=400, seed=2)
    for m in mc.CLS_METRICS:
        assert a[f"{m}_lo"] <= a[m] <= a[f"{m}_hi"], m
        assert a[f"{m}_lo"] < a[f"{m}_hi"], m
    assert mc.compute_metrics(y, p, n_boot=400, seed=3)["auroc_lo"] != a["auroc_lo"]
    assert list(a)[2:-1] == mc.metric_columns()


def test_resamples_with_one_class_are_nan_and_counted():
    # 2 positives of 12: many resamples miss both of them.
    y = np.array([1, 1] + [0] * 10)
    p = np.linspace(0.9, 0.1, 12)
    w = np.zeros((2, 12))
    w[0, 2:] = 1.2  # only negatives
    w[1, :] = 1.0
    got = mc.weighted_metrics(y, p, w)
    for m in mc.CLASS_METRICS:
        assert math.isnan(got[m][0]) and not math.isnan(got[m][1]), m
    assert not math.isnan(got["accuracy"][0]) and not math.isnan(got["log_loss"][0])
    row = mc.compute_metrics(y, p, n_boot=500, seed=0)
    assert "resamples lack a class" in row["notes"]
    n_dropped = int(row["notes"].split(": ")[1].split(" of ")[0])
    assert 0 < n_dropped < 500
    assert row["auroc"] == 1.0


def test_one_class_only_gives_nan_with_reason():
    row = mc.compute_metrics([0, 0, 0], [[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]], n_boot=50)
    for m in mc.CLASS_METRICS:
        assert math.isnan(row[m]) and math.isnan(row[f"{m}_lo"]), m
    assert row["accuracy"] == pytest.approx(2 / 3)
    assert "one class only" in row["notes"]
    empty = mc.compute_metrics([], np.zeros((0, 2)), n_boot=10)
    assert empty["n"] == 0 and math.isnan(empty["accuracy"]) and "no predictions" in empty["notes"]
    assert "no bootstrap" in mc.compute_metrics(Y, S, n_boot=0)["notes"]


def test_absent_class_macro_over_present_and_noted():
    # K = 3 columns, class 2 never occurs: macro over classes 0 and 1.
    y = np.array([0, 1, 0, 1, 1, 0])
    p = np.array([[.7, .2, .1], [.2, .6, .2], [.5, .3, .2], [.4, .5, .1], [.1, .1, .8], [.3, .3, .4]])
    m, notes = mc.point_metrics(y, p)
    expect = np.mean([skm.roc_auc_score(y == c, p[:, c]) for c in (0, 1)])
    assert m["auroc"] == pytest.approx(expect)
    assert any("[2]" in n for n in notes)


def test_group_units_resample_whole_groups():
    rng = np.random.default_rng(0)
    y, p = _random_case(rng, 40, 2, ties=False)
    groups = np.repeat(np.arange(10), 4)
    by_protein = mc.compute_metrics(y, p, n_boot=300, seed=0)
    by_group = mc.compute_metrics(y, p, units=groups, n_boot=300, seed=0)
    assert by_group["auroc"] == by_protein["auroc"]
    assert by_group["auroc_lo"] != by_protein["auroc_lo"]
    with pytest.raises(ValueError, match="units"):
        mc.compute_metrics(y, p, units=groups[:5], n_boot=10)


def test_float32_softmax_rows_are_accepted_without_warnings():
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(30, 3)).astype(np.float32)
    p32 = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.arange(30) % 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        row = mc.compute_metrics(y, p32, n_boot=20)
    p64 = p32.astype(np.float64)
    assert row["log_loss"] == pytest.approx(skm.log_loss(y, p64 / p64.sum(axis=1, keepdims=True)))


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="0..1"):
        mc.compute_metrics([0, 2], [[0.5, 0.5], [0.5, 0.5]])
    with pytest.raises(ValueError, match="sum to 1"):
        mc.compute_metrics([0, 1], [[0.5, 0.6], [0.5, 0.5]])
    with pytest.raises(ValueError, match="integers"):
        mc.compute_metrics([0.5, 1], [[0.5, 0.5], [0.5, 0.5]])


def test_paired_identical_predictions_interval_around_zero():
    rng = np.random.default_rng(2)
    y, p = _random_case(rng, 50, 3, ties=False)
    res = mc.paired_difference(y, p, p.copy(), n_boot=200, seed=0)
    assert set(res) == set(mc.CLS_METRICS)
    for m, r in res.items():
        assert r["difference"] == 0.0 and r["lo"] <= 0.0 <= r["hi"], m
        assert r["verdict"] == "not distinguishable"


def test_paired_known_difference_found_in_the_right_direction():
    rng = np.random.default_rng(3)
    n = 80
    y = np.array([0, 1] * (n // 2))
    good = np.clip(np.where(y == 1, 0.75, 0.25) + rng.normal(0, 0.12, n), 0.01, 0.99)
    noise = rng.uniform(0.3, 0.7, n)
    res = mc.paired_difference(y, good, noise, n_boot=500, seed=0)
    # auroc: higher is better, the informative model is better: difference > 0, lo > 0
    assert res["auroc"]["difference"] > 0 and res["auroc"]["lo"] > 0
    assert res["auroc"]["verdict"] == "better" and res["auroc"]["higher_is_better"]
    # log loss: lower is better, the informative model's is lower: hi < 0, still "better"
    assert res["log_loss"]["difference"] < 0 and res["log_loss"]["hi"] < 0
    assert res["log_loss"]["verdict"] == "better" and not res["log_loss"]["higher_is_better"]
    # the other way round: worse on both
    back = mc.paired_difference(y, noise, good, n_boot=500, seed=0)
    assert back["auroc"]["verdict"] == "worse" and back["log_loss"]["verdict"] == "worse"
    assert back["auroc"]["a"] == pytest.approx(res["auroc"]["b"])


def test_directed_verdict():
    assert mc.directed_verdict("auroc", 0.1, 0.2) == "better"
    assert mc.directed_verdict("auroc", -0.2, -0.1) == "worse"
    assert mc.directed_verdict("log_loss", -0.2, -0.1) == "better"
    assert mc.directed_verdict("log_loss", 0.1, 0.2) == "worse"
    assert mc.directed_verdict("mcc", -0.1, 0.1) == "not distinguishable"
    assert mc.directed_verdict("auroc", math.nan, math.nan) == "not distinguishable"
