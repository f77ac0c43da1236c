"""Classification baselines: out-of-fold probabilities [n, K], fitted on the training fold only."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from esm_schnet.baselines import (
    LOGISTIC_CS, majority_class, run_cls_baselines, seq_logistic, sequence_features, size_logistic,
)


def _rows_are_probabilities(p, n, k):
    assert p.shape == (n, k)
    assert np.all(np.isfinite(p)) and np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)


def test_majority_class_is_training_fold_frequencies():
    y = np.array([0, 0, 1, 1, 1, 2, 0, 1])
    fold = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    p = majority_class(y, fold)
    _rows_are_probabilities(p, 8, 3)
    # fold 0 is predicted from fold 1's labels (1, 2, 0, 1) and vice versa (0, 0, 1, 1)
    np.testing.assert_allclose(p[:4], [[0.25, 0.5, 0.25]] * 4)
    np.testing.assert_allclose(p[4:], [[0.5, 0.5, 0.0]] * 4)
    # LOOCV: the held-out protein's own label is not counted
    q = majority_class(np.array([0, 1, 1]), np.arange(3), n_classes=2)
    np.testing.assert_allclose(q, [[0, 1], [0.5, 0.5], [0.5, 0.5]])


def test_size_logistic_learns_a_size_threshold_and_is_deterministic():
    rng = np.random.default_rng(0)
    n_res = rng.integers(40, 400, size=60)
    y = (n_res > 180).astype(int)
    fold = np.arange(60) % 5
    p = size_logistic(n_res, y, fold)
    _rows_are_probabilities(p, 60, 2)
    assert roc_auc_score(y, p[:, 1]) > 0.95
    np.testing.assert_array_equal(p, size_logistic(n_res, y, fold))
    assert size_logistic(n_res, y, fold, log_size=False).shape == (60, 2)
    with pytest.raises(ValueError, match="> 0"):
        size_logistic(np.r_[0, n_res[1:]], y, fold)


def test_size_logistic_single_class_training_fold():
    # fold 0 trains on fold 1 only, where every label is 1: nothing to learn but that class
    y = np.array([0, 1, 1, 1])
    fold = np.array([0, 1, 1, 1])
    p = size_logistic([10, 20, 30, 40], y, fold)
    np.testing.assert_allclose(p[0], [0.0, 1.0])


def _composition_case(n=60, seed=0):
    """One-hot-like composition: the label is 1 when the fraction of residue type 0 exceeds a
    threshold; sizes vary independently, so size alone cannot tell."""
    rng = np.random.default_rng(seed)
    n_res = rng.integers(50, 300, size=n)
    frac = rng.dirichlet(np.ones(6), size=n)
    y = (frac[:, 0] > np.median(frac[:, 0])).astype(int)
    counts = frac * n_res[:, None]
    return sequence_features(frac, counts, n_res), y, n_res, frac, counts


def test_seq_logistic_recovers_a_composition_threshold():
    x, y, n_res, frac, counts = _composition_case()
    fold = np.arange(len(y)) % 5
    p, chosen = seq_logistic(x, y, fold)
    _rows_are_probabilities(p, len(y), 2)
    assert roc_auc_score(y, p[:, 1]) > 0.9
    assert set(chosen) == set(range(5))
    assert all(c["C"] in LOGISTIC_CS and np.isfinite(c["inner_log_loss"]) for c in chosen.values())
    # size alone does not see it
    assert roc_auc_score(y, size_logistic(n_res, y, fold)[:, 1]) < 0.75
    # deterministic
    p2, chosen2 = seq_logistic(x, y, fold)
    np.testing.assert_array_equal(p, p2)
    assert chosen == chosen2


def test_seq_logistic_multiclass_and_groups():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 4))
    y = np.argmax(x[:, :3], axis=1)  # three classes, a linear rule
    fold = np.arange(60) % 4
    groups = np.repeat(np.arange(20), 3)
    p, _ = seq_logistic(x, y, fold, groups=groups)
    _rows_are_probabilities(p, 60, 3)
    assert np.mean(p.argmax(axis=1) == y) > 0.8
    with pytest.raises(ValueError, match="groups"):
        seq_logistic(x, y, fold, groups=groups[:10])


def test_seq_logistic_never_sees_its_test_protein():
    # Held-out proteins' labels are flipped relative to the rule; a fit that saw them would
    # move towards them. Changing a held-out label must not change its own prediction.
    x, y, *_ = _composition_case(40, seed=2)
    fold = np.arange(40) % 4
    p, _ = seq_logistic(x, y, fold)
    y2 = y.copy()
    y2[fold == 0] = 1 - y2[fold == 0]
    p2, _ = seq_logistic(x, y2, fold)
    np.testing.assert_array_equal(p[fold == 0], p2[fold == 0])
    assert not np.array_equal(p[fold != 0], p2[fold != 0])


def test_run_cls_baselines():
    x, y, n_res, frac, counts = _composition_case(30, seed=3)
    fold = np.arange(30) % 3
    probs, info = run_cls_baselines(y, fold, n_res, frac, counts)
    assert list(probs) == ["majority_class", "size_logistic", "seq_logistic"]
    for p in probs.values():
        _rows_are_probabilities(p, 30, 2)
    assert set(info["seq_logistic_per_fold"]) == {0, 1, 2}


def test_bad_class_labels_raise():
    with pytest.raises(ValueError, match="0..K-1"):
        majority_class([0, 1.5, 1], [0, 1, 2])
    with pytest.raises(ValueError, match="0..K-1"):
        majority_class([0, 3, 1], [0, 1, 2], n_classes=2)
