"""What every task's evaluate tables share: what the baselines see of the proteins
(`baseline_proteins`), the resampling units of the paired bootstrap (`resampling_units`) and the
rows of comparisons.tsv (`comparison_rows`). Each task's own tables live with it
(esm_schnet.tasks.regression.tables, esm_schnet.tasks.classification.tables)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from esm_schnet.baselines import Proteins, mean_pool
from esm_schnet.core.errors import InputError
from esm_schnet.cv.schemes import is_grouped

log = logging.getLogger("esm_schnet.evaluate")


def resampling_units(folds: pd.DataFrame, scheme: str) -> tuple[str, np.ndarray]:
    """(unit name, unit of each protein in folds order) for the paired bootstrap: whole clusters
    under the grouped schemes, `group`, `logo` or a plugin's (the folds table's `cluster`
    column), else proteins."""
    if is_grouped(scheme) and "cluster" in folds.columns:
        return "cluster", folds["cluster"].astype(str).to_numpy()
    return "protein", folds["id"].astype(str).to_numpy()


def _pools(rec) -> tuple[np.ndarray, np.ndarray]:
    """(mean, sum) over residues in float64: a PooledRecord's (evaluate.read), else computed
    from the record's embedding [L, D]."""
    if getattr(rec, "mean", None) is not None:
        return rec.mean, rec.sum
    e = np.asarray(rec.embedding, dtype=np.float64)
    return mean_pool(e), e.sum(0)


def baseline_proteins(ids, records: Mapping, folds: pd.DataFrame, scheme: str,
                      structure: Mapping | None = None) -> Proteins:
    """What the baselines see of `ids` (esm_schnet.baselines.Proteins, without labels): residue
    counts, mean- and sum-pooled embeddings, inner-CV groups (None: proteins), and the structure
    summaries {id: (pooled, surface)} where given."""
    n_res = np.array([int(records[i].n_residues) for i in ids])
    pools = [_pools(records[i]) for i in ids]
    pooled = np.stack([m for m, _ in pools])
    summed = np.stack([s for _, s in pools])
    groups = resampling_units(folds, scheme)[1] if is_grouped(scheme) else None
    proteins = Proteins.from_arrays(ids, n_res, pooled, summed, groups)
    if structure is None:
        return proteins
    missing = [i for i in ids if i not in structure]
    if missing:
        raise InputError(missing[0], f"has no parsed structure summary ({len(missing)} such)")
    return proteins.with_structure(np.stack([structure[i][0] for i in ids]),
                                   np.stack([structure[i][1] for i in ids]))


def comparison_rows(name: str, res: dict, metrics, unit: str, units) -> list[dict]:
    """comparisons.tsv rows of one baseline from a paired_difference result {metric: ...}."""
    return [
        {"baseline": name, "metric": m, "difference": res[m]["difference"], "lo": res[m]["lo"],
         "hi": res[m]["hi"], "verdict": res[m]["verdict"], "resampling_unit": unit,
         "n_units": int(len(set(units))), "schnet_value": res[m]["a"],
         "baseline_value": res[m]["b"]}
        for m in metrics
    ]
