"""Baselines on tiny tables: each fitted on the training fold only."""

import numpy as np
import pytest

from esm_schnet.baselines import (
    mean_pool, mean_predictor, ridge_pooled, ridge_seq, run_baselines, sequence_features, size_linear,
)


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
    assert len(table) == 24
    assert set(table["model"]) == {"mean", "size_linear", "ridge_pooled", "ridge_seq"}
    assert table["prediction"].notna().all()
    assert set(info["ridge_alpha_per_fold"]) == {0, 1, 2}


def test_mean_pool_rejects_empty():
    with pytest.raises(ValueError):
        mean_pool(np.zeros((0, 4)))


def _onehot_proteins(n=60, letters=20, seed=0):
    """Synthetic one-hot embeddings; y = sum of per-letter weights + small noise."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=letters)
    embs, y = [], []
    for _ in range(n):
        length = int(rng.integers(30, 300))
        seq = rng.integers(0, letters, size=length)
        embs.append(np.eye(letters)[seq])
        y.append(w[seq].sum() + rng.normal(scale=0.5))
    return embs, np.array(y)


def test_ridge_seq_recovers_linear_composition_label():
    embs, y = _onehot_proteins()
    n_res = np.array([len(e) for e in embs])
    pooled = np.stack([mean_pool(e) for e in embs])
    summed = np.stack([e.sum(axis=0) for e in embs])
    fold = np.arange(len(y)) % 5
    p, chosen = ridge_seq(sequence_features(pooled, summed, n_res), y, fold)
    assert set(chosen) == set(range(5))
    assert all({"alpha", "standardise", "inner_mse"} <= set(c) for c in chosen.values())
    rmse_seq = np.sqrt(np.mean((p - y) ** 2))
    rmse_size = np.sqrt(np.mean((size_linear(n_res, y, fold) - y) ** 2))
    assert rmse_seq < 0.25 * rmse_size, (rmse_seq, rmse_size)
    # run_baselines derives the sum-pooled features from mean x count: same predictions
    table, info = run_baselines([f"p{i}" for i in range(len(y))], y, fold, n_res, pooled)
    t = table[table.model == "ridge_seq"]["prediction"].to_numpy()
    np.testing.assert_allclose(t, p, rtol=1e-6, atol=1e-6)
    assert set(info["ridge_seq_per_fold"]) == set(range(5))


def test_ridge_seq_never_sees_held_out_proteins():
    embs, y = _onehot_proteins(n=30, seed=1)
    n_res = np.array([len(e) for e in embs])
    x = sequence_features(np.stack([mean_pool(e) for e in embs]),
                          np.stack([e.sum(axis=0) for e in embs]), n_res)
    fold = np.arange(30) % 3
    p, chosen = ridge_seq(x, y, fold)
    y2 = y.copy()
    y2[fold == 0] += 1000.0  # changing held-out labels changes nothing for that fold
    p2, chosen2 = ridge_seq(x, y2, fold)
    np.testing.assert_allclose(p[fold == 0], p2[fold == 0])
    assert chosen[0] == chosen2[0]


def test_ridge_seq_inner_cv_keeps_groups_whole():
    from esm_schnet.baselines import _inner_splits

    groups = np.repeat(["a", "b", "c", "d", "e", "f", "g"], 3)
    masks = _inner_splits(len(groups), groups, 5, seed=0)
    assert np.all(np.sum(masks, axis=0) == 1)  # every protein in exactly one inner test fold
    for m in masks:
        for g in set(groups):
            assert len(set(m[groups == g])) == 1  # a group is all in or all out
    # one group only: falls back to proteins
    assert len(_inner_splits(6, ["x"] * 6, 5, seed=0)) == 5
