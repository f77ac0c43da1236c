"""Baselines on tiny tables: each fitted on the training fold only."""

import numpy as np
import pytest

from esm_schnet.baselines import mean_pool, mean_predictor, ridge_pooled, run_baselines, size_linear


def test_mean_predictor_is_training_fold_mean():
    y = np.array([1.0, 2.0, 3.0, 10.0, 20.0, 30.0])
    fold = np.array([0, 0, 0, 1, 1, 1])
    p = mean_predictor(y, fold)
    np.testing.assert_allclose(p[:3], 20.0)  # mean of fold-1 proteins
    np.testing.assert_allclose(p[3:], 2.0)


def test_mean_predictor_loocv():
    y = np.array([1.0, 2.0, 6.0])
    p = mean_predictor(y, np.arange(3))
    np.testing.assert_allclose(p, [4.0, 3.5, 1.5])


def test_size_linear_recovers_exact_relation():
    n = np.array([50, 80, 120, 200, 310, 400])
    y = 3.0 * n + 7.0
    p = size_linear(n, y, np.arange(6))
    np.testing.assert_allclose(p, y, rtol=1e-9)


def test_size_linear_never_sees_its_test_protein():
    n = np.array([1.0, 2.0, 3.0, 4.0])
    y = np.array([1.0, 2.0, 3.0, 100.0])  # the outlier is held out in its own fold
    p = size_linear(n, y, np.arange(4))
    assert p[3] == pytest.approx(4.0)


def test_ridge_pooled_learns_linear_signal_and_reports_alphas():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 8))
    w = rng.normal(size=8)
    y = x @ w + 5.0
    fold = np.arange(60) % 5
    p, alphas = ridge_pooled(x, y, fold)
    assert set(alphas) == {0, 1, 2, 3, 4}
    assert np.corrcoef(p, y)[0, 1] > 0.99
    # no signal: prediction near the training mean, heavily regularised
    y_noise = rng.normal(size=60)
    p2, alphas2 = ridge_pooled(x, y_noise, fold)
    assert np.abs(p2 - y_noise.mean()).max() < 1.5


def test_run_baselines_long_table():
    ids = [f"p{i}" for i in range(6)]
    y = np.array([1.0, 3.0, 2.0, 5.0, 4.0, 6.0])
    fold = np.array([0, 1, 2, 0, 1, 2])
    emb = [np.ones((k + 2, 3)) * k for k in range(6)]
    pooled = np.stack([mean_pool(e) for e in emb])
    table, info = run_baselines(ids, y, fold, [10, 30, 20, 50, 40, 60], pooled)
    assert list(table.columns) == ["id", "label", "prediction", "fold", "model"]
    assert len(table) == 18
    assert set(table["model"]) == {"mean", "size_linear", "ridge_pooled"}
    assert table["prediction"].notna().all()
    assert set(info["ridge_alpha_per_fold"]) == {0, 1, 2}


def test_mean_pool_rejects_empty():
    with pytest.raises(ValueError):
        mean_pool(np.zeros((0, 4)))
