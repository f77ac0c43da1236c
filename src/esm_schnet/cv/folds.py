"""Cross-validation folds (`esm-schnet folds` -> results/cv/<scheme>/folds.tsv: id, fold, cluster).

Schemes (config `cv.scheme`), registered in esm_schnet.cv.schemes (a plugin adds its own there);
the built-ins:
- `loocv`: one fold per protein, fold k = the k-th usable protein in sample-table order.
- `kfold`: `cv.k` folds; proteins shuffled with the seed (training.seed) and dealt round-robin,
  so fold sizes differ by at most one.
- `group`: grouped k-fold: whole sequence clusters (`cluster.py`) dealt into `cv.k` folds,
  largest first, each into the fold with the fewest proteins so far (balanced by size). With
  no more clusters than cv.k, one fold per cluster.
- `logo`: leave-one-cluster-out (scikit-learn's LeaveOneGroupOut): one fold per cluster,
  clusters numbered by first appearance.

With a classification label (the first one of `labels:`), `kfold` is stratified on it and
`group` deals whole clusters into `cv.k` stratified folds when there are more clusters than k
(`stratify_rows`); `logo` stays one fold per cluster.

A `group` column in the sample table overrides: proteins with a group value are clustered by it
alone; proteins without one are clustered by sequence. For `loocv` and `kfold` no alignment is
needed; their `cluster` column holds identical chain-sequence sets only, which still shows
near-copies.

Plans that do not fit the data: `loocv` and `logo` train one model per protein / cluster. More
than MAX_FOLDS folds is refused (`check_fold_plan`) unless `cv.allow_many_folds` is set.

Only proteins that parsed (structure file without error, at least one residue) get a fold.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Mapping, Sequence

from esm_schnet.cv.cluster import METHODS, identical_set_clusters, sequence_clusters
from esm_schnet.cv.schemes import get_scheme
from esm_schnet.cv.stratified import stratified_folds

log = logging.getLogger("esm_schnet.cv")

# Most folds (= training jobs) a loocv or logo plan may have without cv.allow_many_folds. Beyond
# a few hundred proteins leaving one out estimates the error no better than 10 folds while it
# trains N/10 times as many models; and the evaluate job, which names every fold's files on
# its command line, stays far below the kernel's 128 KiB limit for one argument.
MAX_FOLDS = 200


def fold_plan_problem(scheme: str, n_folds: int, allow_many: bool = False,
                      limit: int = MAX_FOLDS) -> str | None:
    """The one-line reason a plan of `n_folds` training jobs is refused, or None: a scheme
    with one fold per protein or cluster (its `per`) is limited to `limit` folds."""
    how = get_scheme(scheme)
    if allow_many or how.per is None or n_folds <= limit:
        return None
    instead = f"{how.instead}, or " if how.instead else ""
    return (f"cv.scheme {scheme} plans {n_folds} training jobs (one per {how.per}), more than "
            f"{limit}: {instead}set cv.allow_many_folds: true to train them all")


def plan_problem(scheme: str, n_proteins: int, allow_many: bool = False) -> str | None:
    """What the Snakefile checks before any job: an unknown scheme is a ConfigError; a scheme
    with one fold per protein and more proteins than the limit, `fold_plan_problem`'s line
    (one fold per cluster is only known once the folds job has clustered)."""
    if get_scheme(scheme).per != "protein":
        return None
    return fold_plan_problem(scheme, n_proteins, allow_many)


def check_fold_plan(scheme: str, n_folds: int, allow_many: bool = False) -> None:
    """ConfigError with `fold_plan_problem`'s line when the plan is refused."""
    from esm_schnet.core.errors import ConfigError

    if problem := fold_plan_problem(scheme, n_folds, allow_many):
        raise ConfigError(problem)


def assign_folds(
    ids: Sequence[str],
    scheme: str,
    *,
    sequences: Mapping[str, Sequence[str]] | None = None,
    groups: Mapping[str, str | None] | None = None,
    k: int = 5,
    identity: float = 0.3,
    coverage: float = 0.8,
    method: str = "mmseqs",
    threads: int = 1,
    seed: int = 0,
) -> list[dict]:
    """Rows {id, fold, cluster} in `ids` order: the clusters, then the folds of the registered
    scheme `scheme` (esm_schnet.cv.schemes)."""
    from esm_schnet.core.errors import ConfigError

    ids = list(ids)
    how = get_scheme(scheme)
    if len(ids) < 2:
        raise ConfigError(f"cross-validation needs at least 2 proteins, got {len(ids)}")
    sequences = dict(sequences or {i: [] for i in ids})
    groups = dict(groups or {})
    user = {i: str(groups[i]) for i in ids if groups.get(i) not in (None, "")}
    rest = {i: sequences.get(i, []) for i in ids if i not in user}
    if how.grouped:
        computed = (sequence_clusters(rest, identity, coverage, method=method, threads=threads)
                    if rest else {})
    else:
        computed = identical_set_clusters(rest) if rest else {}
    cluster = {i: (f"group:{user[i]}" if i in user else computed[i]) for i in ids}
    if how.grouped and len(set(cluster.values())) < 2:
        raise ConfigError(
            f"cv.scheme {scheme}: all {len(ids)} proteins fall into one cluster "
            f"(cv.identity = {identity}, cv.coverage = {coverage}); raise cv.identity or "
            "give a group column"
        )
    fold = how.assign(ids, cluster, k=k, seed=seed)
    return [{"id": i, "fold": int(fold[i]), "cluster": cluster[i]} for i in ids]


def stratify_rows(rows: list[dict], table, specs, scheme: str, *, k: int, seed: int
                  ) -> list[dict]:
    """Folds stratified on the FIRST label of `specs` (LabelSpecs) whose task stratifies
    (esm_schnet.tasks: classification), if any, as the scheme's `stratify` says
    (esm_schnet.cv.schemes; a scheme without it keeps its folds):

    - `kfold` (stratify "proteins"): stratified k-fold (`stratified_folds`) over the proteins that have that label;
      proteins without it are dealt round-robin over the folds (seeded order).
    - `group` (stratify "clusters"): when there are more clusters than cv.k, stratified group folds: whole clusters
      dealt into cv.k folds, classes as balanced as the clusters allow (proteins without the
      label count as a class of their own); otherwise one fold per cluster as without labels.
    - `loocv`, `logo`: one protein / cluster per fold, nothing to stratify.
    `rows` ({id, fold, cluster}, from assign_folds) is returned with the new folds."""
    from esm_schnet.tasks import task_of

    cls = next((s for s in specs if task_of(s).stratify), None)
    how = get_scheme(scheme).stratify
    if cls is None or how is None:
        return rows
    import numpy as np

    ids = [r["id"] for r in rows]
    value = {i: table.at[i, cls.name] for i in ids}
    has = [i for i in ids if value[i] is not None and value[i] == value[i]]
    if how == "proteins":
        fold = dict(zip(has, stratified_folds(has, [str(value[i]) for i in has], k, seed)))
        rest = [i for i in ids if i not in fold]
        for n, j in enumerate(np.random.default_rng(seed).permutation(len(rest))):
            fold[rest[j]] = n % k
        log.info("kfold stratified on label %r (%d proteins with it)", cls.name, len(has))
    else:
        clusters = [r["cluster"] for r in rows]
        if len(set(clusters)) <= k:
            return rows
        classes = [str(value[i]) if i in set(has) else "" for i in ids]
        fold = dict(zip(ids, stratified_folds(ids, classes, k, seed, groups=clusters)))
        log.info("group folds: %d clusters into cv.k = %d folds stratified on label %r",
                 len(set(clusters)), k, cls.name)
    return [{**r, "fold": int(fold[r["id"]])} for r in rows]


def write_folds(rows: list[dict], path) -> None:
    """folds.tsv (id, fold, cluster), written atomically."""
    from esm_schnet.core.files import write_tsv

    write_tsv(path, ["id", "fold", "cluster"], rows)


def read_folds(path) -> "dict[str, tuple[int, str]]":
    """folds.tsv -> {id: (fold, cluster)} in file order."""
    import pandas as pd

    from esm_schnet.core.errors import CorruptFileError

    try:
        df = pd.read_csv(path, sep="\t", dtype={"id": str, "cluster": str}, keep_default_na=False)
    except Exception as exc:  # noqa: BLE001 - any parse failure is a corrupt file
        raise CorruptFileError(path, type(exc).__name__) from exc
    if not {"id", "fold"} <= set(df.columns):
        raise CorruptFileError(path, "missing id/fold columns")
    cluster = df["cluster"] if "cluster" in df.columns else [""] * len(df)
    return {i: (int(f), str(c)) for i, f, c in zip(df["id"], df["fold"], cluster)}


def usable_proteins(samples, structures: Sequence, labels=None):
    """(sample table, ids that parsed and have a label in table order, id -> Protein).
    `labels`: LabelSpecs (None: the column `label`); a protein with at least one of them counts
    as labelled."""
    import math

    from esm_schnet.core.errors import InputError
    from esm_schnet.parse import read_structure_h5
    from esm_schnet.core.samples import read_sample_table

    table = read_sample_table(samples, require_labels=False, labels=labels)
    specs = table.attrs["labels"]
    proteins = {}
    for p in structures:
        prot = read_structure_h5(p)
        proteins[prot.id] = prot
    ids, skipped = [], []
    for pid in table.index:
        prot = proteins.get(pid)
        if prot is None:
            raise InputError(pid, "no parsed structure file was given")
        if prot.error or prot.n_residues == 0:
            skipped.append((pid, prot.error or "no residues"))
            continue
        values = [table.at[pid, s.name] for s in specs]
        if not any(v is not None and not (isinstance(v, float) and math.isnan(v))
                   for v in values):
            skipped.append((pid, "no label"))
            continue
        ids.append(pid)
    for pid, why in skipped:
        log.warning("%s: left out (%s)", pid, why)
    return table, ids, proteins


def folds_job(samples, structures: Sequence, out, settings, *, scheme: str,
              threads: int = 1) -> list[dict]:
    """Read the sample table and parsed structures, assign folds, write folds.tsv.
    `settings`: the job's typed settings (esm_schnet.core.resolved.JobSettings: cv, the seed
    (training.seed) and the label specs). A plan with one fold per protein or cluster and more
    than MAX_FOLDS folds is refused before anything is written (`check_fold_plan`)."""
    cv, seed = settings.need("cv", "seed").cv, int(settings.seed)
    allow_many = bool(cv["allow_many_folds"])
    table, ids, proteins = usable_proteins(samples, structures, labels=settings.labels)
    if get_scheme(scheme).per == "protein":  # known before any clustering
        check_fold_plan(scheme, len(ids), allow_many)
    groups = table["group"].to_dict() if "group" in table.columns else {}
    rows = assign_folds(
        ids, scheme, sequences={i: proteins[i].sequences for i in ids}, groups=groups,
        k=cv["k"], identity=cv["identity"], coverage=cv["coverage"],
        method=cv["cluster_method"], threads=threads, seed=seed,
    )
    rows = stratify_rows(rows, table, table.attrs["labels"], scheme, k=cv["k"], seed=seed)
    n_folds = len({r["fold"] for r in rows})
    check_fold_plan(scheme, n_folds, allow_many)
    write_folds(rows, out)
    n_clusters = len({r["cluster"] for r in rows})
    log.info("%s: %d proteins, %d folds, %d clusters -> %s", scheme, len(rows), n_folds,
             n_clusters, out)
    return rows


def cli(argv: list[str]) -> int:
    from esm_schnet.core.log import job_log
    from esm_schnet.core.pathlist import add_path_arguments, paths_from_args
    from esm_schnet.core.settings import default

    ap = argparse.ArgumentParser(prog="esm-schnet folds",
                                 description="Write the cross-validation folds table.")
    ap.add_argument("--samples", required=True)
    add_path_arguments(ap, "--structures", help="results/structures/<id>.h5")
    ap.add_argument("--scheme", default=default("cv.scheme"),
                    help="a registered CV scheme (esm_schnet.cv.schemes)")
    ap.add_argument("--config-file", default=None,
                    help="the folds stage's resolved settings (what the workflow passes), or a "
                         "config YAML (cv, training.seed, labels; the schema fills the rest; "
                         "none: every default)")
    ap.add_argument("--threads", type=int, default=1, help="threads of the clustering")
    ap.add_argument("--out", required=True)
    ap.add_argument("--log", default=None)
    a = ap.parse_args(argv)
    with job_log(a.log):
        from esm_schnet.core.resolved import JobSettings

        settings = (JobSettings.from_file(a.config_file) if a.config_file
                    else JobSettings.from_config({}))
        folds_job(a.samples, paths_from_args(a, "structures"), a.out, settings,
                  scheme=a.scheme, threads=a.threads)
    return 0
