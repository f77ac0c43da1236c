"""CV schemes: a small registry from `cv.scheme` to how the proteins are dealt into folds.

A scheme is one function, `assign(ids, clusters, *, k, seed) -> {id: fold}`: `ids` the usable
proteins in sample-table order, `clusters` {id: cluster name} (sequence clusters at cv.identity
and cv.coverage for a `grouped` scheme, identical chain-sequence sets otherwise; a `group`
column of the sample table overrides either; a grouped scheme gets at least two clusters),
`k` = cv.k, `seed` = training.seed; folds are numbered from 0. A plan that does not fit the
data is a ConfigError (one line). It is registered with
`register_scheme(name, assign, ...)`, whose options say what the rest of the workflow does
with its folds:

- `grouped`: its folds keep whole clusters (the evaluation's paired bootstrap resamples
  clusters, the inner CVs of the training job keep them together);
- `stratify`: "proteins" or "clusters": with a classification label the folds job deals
  proteins (kfold) or whole clusters (group) into cv.k folds stratified on it
  (esm_schnet.cv.folds.stratify_rows); None: the scheme's folds as they are;
- `per`: "protein" or "cluster" for a scheme with one fold each, which joins the plan-time
  limit of esm_schnet.cv.folds.MAX_FOLDS folds, refused with `instead` (what to use instead).

Plugins: a module that calls `register_scheme` at import, found through the entry point group
`esm_schnet.cv_schemes` (loaded at the first lookup, in Snakemake and in every job). This module
imports nothing heavy (the evaluate tables ask it whether a scheme is grouped).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from esm_schnet.core.errors import ConfigError

log = logging.getLogger("esm_schnet.cv")

ENTRY_POINT_GROUP = "esm_schnet.cv_schemes"
Assign = Callable[..., Mapping[str, int]]


@dataclass(frozen=True)
class Scheme:
    name: str
    assign: Assign
    grouped: bool = False
    stratify: str | None = None  # "proteins", "clusters" or None
    per: str | None = None  # "protein", "cluster": one fold each (the plan-time fold limit)
    instead: str = ""  # what to use when a plan of too many folds is refused


_SCHEMES: dict[str, Scheme] = {}
_plugins_loaded = False


def register_scheme(name: str, assign: Assign, *, grouped: bool = False,
                    stratify: str | None = None, per: str | None = None,
                    instead: str = "") -> Scheme:
    """Make `assign(ids, clusters, *, k, seed) -> {id: fold}` available as `cv.scheme: name`."""
    if stratify not in (None, "proteins", "clusters"):
        raise ValueError(f"stratify must be None, 'proteins' or 'clusters', not {stratify!r}")
    scheme = Scheme(name, assign, grouped, stratify, per, instead)
    if name in _SCHEMES and _SCHEMES[name] != scheme:
        raise ValueError(f"CV scheme {name!r} is already registered")
    _SCHEMES[name] = scheme
    return scheme


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    from esm_schnet.core.plugins import load_entry_points

    load_entry_points(ENTRY_POINT_GROUP, "CV scheme")


def scheme_names() -> list[str]:
    _load_plugins()
    return list(_SCHEMES)


def get_scheme(name: str) -> Scheme:
    """The registered scheme `name`; an unknown name is a ConfigError naming the known ones."""
    _load_plugins()
    if name not in _SCHEMES:
        raise ConfigError(f"setting cv.scheme: {name!r} is not one of the CV schemes "
                          f"({', '.join(_SCHEMES)}; plugins add more through the "
                          f"{ENTRY_POINT_GROUP} entry points)")
    return _SCHEMES[name]


def is_grouped(name: str) -> bool:
    """Whether the folds of scheme `name` keep whole clusters (False for an unknown name)."""
    _load_plugins()
    return name in _SCHEMES and _SCHEMES[name].grouped


# ------------------------------------------------------------------ the built-in schemes


def leave_one_out(ids: Sequence[str], clusters: Mapping[str, str], *, k: int, seed: int):
    """loocv: fold n = the n-th protein."""
    return {pid: n for n, pid in enumerate(ids)}


def shuffled_kfold(ids: Sequence[str], clusters: Mapping[str, str], *, k: int, seed: int):
    """kfold: proteins shuffled with the seed and dealt round-robin (sizes differ by <= 1)."""
    import numpy as np

    if k > len(ids):
        raise ConfigError(f"cv.k = {k} is larger than the number of proteins ({len(ids)})")
    order = np.random.default_rng(seed).permutation(len(ids))
    return {ids[j]: n % k for n, j in enumerate(order)}


def one_fold_per_cluster(ids, clusters, order) -> dict[str, int]:
    index = {c: n for n, c in enumerate(order)}
    return {pid: index[clusters[pid]] for pid in ids}


def grouped_kfold(ids: Sequence[str], clusters: Mapping[str, str], *, k: int, seed: int):
    """group: whole clusters dealt into k folds by size (stratified_folds with groups); with
    no more clusters than k, one fold per cluster."""
    from esm_schnet.cv.stratified import stratified_folds

    order = list(dict.fromkeys(clusters[i] for i in ids))
    if len(order) > k:
        log.info("group folds: %d clusters dealt into cv.k = %d folds by size", len(order), k)
        return dict(zip(ids, stratified_folds(list(ids), [""] * len(ids), k, seed,
                                              groups=[clusters[i] for i in ids])))
    log.warning("cv.scheme group: only %d clusters for cv.k = %d, one fold each", len(order), k)
    return one_fold_per_cluster(ids, clusters, order)


def leave_one_cluster_out(ids: Sequence[str], clusters: Mapping[str, str], *, k: int,
                          seed: int):
    """logo: one fold per cluster, clusters numbered by first appearance."""
    return one_fold_per_cluster(ids, clusters, list(dict.fromkeys(clusters[i] for i in ids)))


register_scheme("loocv", leave_one_out, per="protein",
                instead="use cv.scheme: kfold (cv.k folds; group for homology-aware folds)")
register_scheme("kfold", shuffled_kfold, stratify="proteins")
register_scheme("group", grouped_kfold, grouped=True, stratify="clusters")
register_scheme("logo", leave_one_cluster_out, grouped=True, per="cluster",
                instead="use cv.scheme: group (whole clusters dealt into cv.k folds)")

# The built-in names (constants for callers that list them; a plugin's are in scheme_names()).
SCHEMES = ("loocv", "kfold", "group", "logo")
# Built-in schemes whose folds keep whole clusters together (any scheme: is_grouped(name)).
GROUPED_SCHEMES = ("group", "logo")
