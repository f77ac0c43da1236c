"""Cross-validation: folds of the proteins (`esm-schnet folds`) and the sequence clusters that
the grouped schemes keep whole.

- `folds`: schemes (loocv, kfold, group, logo), the plan check, folds.tsv and the folds job.
- `cluster`: chain clusters -> protein clusters (union-find); the exact aligner reference.
- `mmseqs`: MMseqs2 `easy-cluster` (the default clustering).
- `stratified`: stratified k-fold with or without groups.
"""

from esm_schnet.cv.cluster import METHODS, identical_set_clusters, sequence_clusters
from esm_schnet.cv.folds import (
    GROUPED_SCHEMES,
    MAX_FOLDS,
    SCHEMES,
    assign_folds,
    check_fold_plan,
    cli,
    fold_plan_problem,
    folds_job,
    read_folds,
    stratify_rows,
    usable_proteins,
    write_folds,
)
from esm_schnet.cv.stratified import stratified_folds

__all__ = [
    "GROUPED_SCHEMES", "MAX_FOLDS", "METHODS", "SCHEMES", "assign_folds", "check_fold_plan",
    "cli", "fold_plan_problem", "folds_job", "identical_set_clusters", "read_folds",
    "sequence_clusters", "stratified_folds", "stratify_rows", "usable_proteins", "write_folds",
]  # fmt: skip
