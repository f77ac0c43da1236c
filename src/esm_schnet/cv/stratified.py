"""Stratified k-fold, with or without groups: the building block of `kfold` with a classification
label and of `group` (whole clusters dealt into cv.k folds: balanced by size for regression,
by class for classification)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

log = logging.getLogger("esm_schnet.cv")


def _class_order(values) -> list:
    """Distinct values in a deterministic order (sorted by their text)."""
    return sorted(set(values), key=str)


def stratified_folds(
    ids: Sequence[str], classes: Sequence, k: int, seed: int = 0, groups: Sequence | None = None,
    *, strict: bool = True,
) -> list[int]:
    """Stratified k-fold: the fold (0..k-1) of each id, in `ids` order.

    Without groups: the members of each class (sorted by id, then shuffled with `seed`) are
    dealt round-robin, one class after the other, continuing the count, so every class's count
    per fold and every fold's size differ by at most one. A class with fewer than k members
    cannot be in every fold: a ConfigError naming it (or, with `strict=False`, a warning and
    the class spread over as many folds as it has members).

    With `groups` (one value per id; None or "" is a group of its own), whole groups stay in one
    fold, and class balance is as even as the groups allow, by a greedy assignment: groups
    ordered by size (largest first; ties in a seeded shuffle of the sorted group names) each go
    to the fold where they add least to sum over classes c and folds f of
    (n_fc - n_c / k)^2 / n_c (n_fc: proteins of class c in fold f), ties to the smaller fold,
    then the lower index. An empty fold always wins over a filled one, so with at least k groups
    no fold is empty. Deterministic, and independent of the order of `ids`.
    """
    import numpy as np

    from esm_schnet.core.errors import ConfigError

    ids = [str(i) for i in ids]
    classes = list(classes)
    if len(classes) != len(ids):
        raise ValueError(f"{len(ids)} ids but {len(classes)} classes")
    if len(set(ids)) != len(ids):
        raise ValueError("ids must be unique")
    if k < 2:
        raise ConfigError(f"cv.k must be at least 2, got {k}")
    if k > len(ids):
        raise ConfigError(f"cv.k = {k} is larger than the number of proteins ({len(ids)})")
    rng = np.random.default_rng(seed)
    labels = _class_order(classes)
    position = {i: n for n, i in enumerate(ids)}
    fold = [0] * len(ids)
    if groups is None:
        members = {c: sorted(i for i, y in zip(ids, classes) if y == c) for c in labels}
        small = {c: len(m) for c, m in members.items() if len(m) < k}
        if small:
            what = ", ".join(f"class {c!r} has {n}" for c, n in small.items())
            if strict:
                raise ConfigError(
                    f"stratified cv.k = {k} needs at least {k} proteins per class, but {what}: "
                    "lower cv.k"
                )
            log.warning("stratified k = %d: %s, so not every fold holds that class", k, what)
        dealt = 0
        for c in labels:
            for j in rng.permutation(len(members[c])):
                fold[position[members[c][j]]] = dealt % k
                dealt += 1
        return fold

    groups = list(groups)
    if len(groups) != len(ids):
        raise ValueError(f"{len(ids)} ids but {len(groups)} groups")
    unit = {i: (f"group:{g}" if g not in (None, "") else f"id:{i}") for i, g in zip(ids, groups)}
    names = sorted(set(unit.values()))
    if k > len(names):
        raise ConfigError(f"cv.k = {k} is larger than the number of groups ({len(names)})")
    cidx = {c: n for n, c in enumerate(labels)}
    counts = np.zeros((len(names), len(labels)))
    gidx = {g: n for n, g in enumerate(names)}
    for i, y in zip(ids, classes):
        counts[gidx[unit[i]], cidx[y]] += 1
    total = counts.sum(axis=0)
    target = total / k
    shuffled = rng.permutation(len(names))
    order = sorted(shuffled, key=lambda g: -counts[g].sum())  # stable: ties stay shuffled
    in_fold = np.zeros((k, len(labels)))
    group_fold = np.zeros(len(names), dtype=int)
    for g in order:
        c = counts[g]
        gain = (((in_fold + c - target) ** 2 - (in_fold - target) ** 2) / total).sum(axis=1)
        best = min(range(k), key=lambda f: (round(gain[f], 12), in_fold[f].sum(), f))
        group_fold[g] = best
        in_fold[best] += c
    log.info(
        "stratified group folds: %d groups into %d folds; proteins per class per fold: %s",
        len(names), k, "; ".join(
            f"{c!r} " + "/".join(str(int(x)) for x in in_fold[:, j]) for c, j in cidx.items()
        ),
    )
    return [int(group_fold[gidx[unit[i]]]) for i in ids]
