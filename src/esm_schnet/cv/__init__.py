"""Cross-validation: folds of the proteins (`esm-schnet folds`) and the sequence clusters that
the grouped schemes keep whole.

- `schemes`: the registry of CV schemes (loocv, kfold, group, logo; plugins through the
  `esm_schnet.cv_schemes` entry points): how each deals the proteins into folds.
- `folds`: clusters, stratification, the plan check, folds.tsv and the folds job.
- `cluster`: chain clusters -> protein clusters (union-find); the exact aligner reference.
- `mmseqs`: MMseqs2 `easy-cluster` (the default clustering).
- `stratified`: stratified k-fold with or without groups.
"""

from esm_schnet.cv.cluster import METHODS, identical_set_clusters, sequence_clusters
from esm_schnet.cv.folds import (
    MAX_FOLDS,
    assign_folds,
    check_fold_plan,
    cli,
    fold_plan_problem,
    folds_job,
    plan_problem,
    read_folds,
    stratify_rows,
    usable_proteins,
    write_folds,
)
from esm_schnet.cv.schemes import (
    GROUPED_SCHEMES,
    SCHEMES,
    get_scheme,
    is_grouped,
    register_scheme,
    scheme_names,
)
from esm_schnet.cv.stratified import stratified_folds

__all__ = [
    "GROUPED_SCHEMES", "MAX_FOLDS", "METHODS", "SCHEMES", "assign_folds", "check_fold_plan",
    "cli", "fold_plan_problem", "folds_job", "get_scheme", "identical_set_clusters",
    "is_grouped", "plan_problem", "read_folds", "register_scheme", "scheme_names",
    "sequence_clusters", "stratified_folds", "stratify_rows", "usable_proteins", "write_folds",
]  # fmt: skip
