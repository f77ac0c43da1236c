"""stratified_folds: class proportions per fold, groups kept whole, determinism, clear errors."""

from collections import Counter, defaultdict

import numpy as np
import pytest

from esm_schnet.core.errors import ConfigError
from esm_schnet.cv import stratified_folds


def _counts(fold, classes, k):
    """{class: [count in fold 0, ..., fold k-1]}"""
    out = defaultdict(lambda: [0] * k)
    for f, c in zip(fold, classes):
        out[c][f] += 1
    return dict(out)


def test_plain_stratified_keeps_class_proportions():
    rng = np.random.default_rng(0)
    classes = list(rng.choice(["a", "b", "c"], size=47, p=[0.6, 0.3, 0.1]))
    ids = [f"p{i:02d}" for i in range(47)]
    k = 4
    fold = stratified_folds(ids, classes, k, seed=1)
    assert sorted(set(fold)) == list(range(k))
    for c, per_fold in _counts(fold, classes, k).items():
        assert max(per_fold) - min(per_fold) <= 1, (c, per_fold)
    sizes = Counter(fold).values()
    assert max(sizes) - min(sizes) <= 1


def test_plain_deterministic_seeded_and_order_independent():
    classes = [0, 1] * 20
    ids = [f"p{i}" for i in range(40)]
    a = stratified_folds(ids, classes, 5, seed=3)
    assert a == stratified_folds(ids, classes, 5, seed=3)
    assert a != stratified_folds(ids, classes, 5, seed=4)
    rev = stratified_folds(ids[::-1], classes[::-1], 5, seed=3)
    assert dict(zip(ids, a)) == dict(zip(ids[::-1], rev))


def test_plain_too_few_in_a_class_is_a_clear_error_or_degrades():
    ids = [f"p{i}" for i in range(12)]
    classes = ["common"] * 10 + ["rare"] * 2
    with pytest.raises(ConfigError, match=r"class 'rare' has 2.*lower cv.k"):
        stratified_folds(ids, classes, 3)
    fold = stratified_folds(ids, classes, 3, strict=False)
    rare = {f for f, c in zip(fold, classes) if c == "rare"}
    assert len(rare) == 2  # spread over as many folds as it has members
    assert sorted(set(fold)) == [0, 1, 2]
    with pytest.raises(ConfigError, match="larger than the number of proteins"):
        stratified_folds(ids[:3], ["a", "b", "a"], 4)
    with pytest.raises(ConfigError, match="at least 2"):
        stratified_folds(ids, classes, 1)


def _grouped_case(seed=0):
    rng = np.random.default_rng(seed)
    ids, classes, groups = [], [], []
    for g in range(30):
        size = int(rng.integers(1, 5))
        label = int(rng.random() < 0.35)
        for j in range(size):
            ids.append(f"g{g}_{j}")
            # mostly one class per group, sometimes mixed
            classes.append(label if rng.random() < 0.85 else 1 - label)
            groups.append(f"G{g}")
    return ids, classes, groups


def test_grouped_keeps_groups_whole_and_balances_classes():
    ids, classes, groups = _grouped_case()
    k = 5
    fold = stratified_folds(ids, classes, k, seed=0, groups=groups)
    folds_of = defaultdict(set)
    for f, g in zip(fold, groups):
        folds_of[g].add(f)
    assert all(len(f) == 1 for f in folds_of.values())
    assert sorted(set(fold)) == list(range(k))
    total = Counter(classes)
    for c, per_fold in _counts(fold, classes, k).items():
        target = total[c] / k
        largest = max(Counter(g for g, y in zip(groups, classes) if y == c).values())
        # every fold within one group's worth of the even share
        assert all(abs(n - target) <= largest for n in per_fold), (c, per_fold, target)
    # better balanced than whole groups dealt to folds at random
    rng = np.random.default_rng(0)
    names = sorted(set(groups))

    def spread(f):
        return sum(np.var(v) for v in _counts(f, classes, k).values())

    rand = []
    for _ in range(20):
        gf = dict(zip(names, rng.integers(0, k, len(names))))
        rand.append(spread([gf[g] for g in groups]))
    assert spread(fold) < np.median(rand)


def test_grouped_deterministic_order_independent_and_singletons():
    ids, classes, groups = _grouped_case(1)
    a = stratified_folds(ids, classes, 4, seed=2, groups=groups)
    assert a == stratified_folds(ids, classes, 4, seed=2, groups=groups)
    perm = np.random.default_rng(9).permutation(len(ids))
    b = stratified_folds([ids[i] for i in perm], [classes[i] for i in perm], 4, seed=2,
                         groups=[groups[i] for i in perm])
    assert dict(zip(ids, a)) == dict(zip([ids[i] for i in perm], b))
    # proteins without a group value are groups of their own
    none_groups = [None if g == "G0" else g for g in groups]
    c = stratified_folds(ids, classes, 4, groups=none_groups)
    assert len(c) == len(ids)
    for g in set(groups) - {"G0"}:
        assert len({f for f, h in zip(c, none_groups) if h == g}) == 1
    with pytest.raises(ConfigError, match="number of groups"):
        stratified_folds(["a", "b", "c"], [0, 1, 0], 3, groups=["x", "x", "y"])
