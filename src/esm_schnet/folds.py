"""Cross-validation folds (`esm-schnet folds` -> results/cv/<scheme>/folds.tsv: id, fold, cluster).

Schemes (config `cv.scheme`):
- `loocv`: one fold per protein, fold k = the k-th usable protein in sample-table order.
- `kfold`: `cv.k` folds; proteins shuffled with the seed (training.seed) and dealt round-robin,
  so fold sizes differ by at most one.
- `group`: leave-one-cluster-out; one fold per cluster, clusters numbered by first appearance.

With a classification label (the first one of `labels:`), `kfold` is stratified on it and
`group` deals whole clusters into `cv.k` stratified folds when there are more clusters than k
(`stratify_rows`).

Clusters (single linkage) join two proteins when
  (a) their sets of chain sequences are identical, or
  (b) their sequence identity is >= `cv.identity`, where the identity of two chains is the number
      of identical aligned residue pairs divided by the length of the SHORTER chain, from a global
      Biopython PairwiseAligner alignment (BLOSUM62, gap open -10, extend -0.5, end gaps free, so
      a chain contained in a longer one is not penalised), and the identity of two proteins is
      that of their best-matching chain pair (max over chain pairs: sharing one near-identical
      chain is enough to be held out together).
A `group` column in the sample table overrides: proteins with a group value are clustered by it
alone; proteins without one are clustered by sequence as above.

For `loocv` and `kfold` the alignments are not needed; their `cluster` column holds rule (a)
only (identical chain-sequence sets, exact matching), which still shows near-copies.

Only proteins that parsed (structure file without error, at least one residue) get a fold.

`stratified_folds` is the building block for classification labels: stratified k-fold, and
stratified group folds (whole groups kept together, classes as balanced as the groups allow).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Mapping, Sequence

log = logging.getLogger("esm_schnet.folds")

SCHEMES = ("loocv", "kfold", "group")


class _UnionFind:
    """Disjoint sets; the root of a set is its earliest member (in the order given)."""

    def __init__(self, items):
        self.parent = {i: i for i in items}
        self._order = {k: n for n, k in enumerate(items)}

    def find(self, i):
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            keep, drop = sorted((ra, rb), key=self._order.__getitem__)
            self.parent[drop] = keep


def make_aligner():
    from Bio import Align
    from Bio.Align import substitution_matrices

    aligner = Align.PairwiseAligner(mode="global")
    aligner.substitution_matrix = substitution_matrices.load("BLOSUM62")
    aligner.open_gap_score = -10.0
    aligner.extend_gap_score = -0.5
    aligner.end_gap_score = 0.0
    return aligner


def chain_identity(a: str, b: str, aligner=None) -> float:
    """Identical aligned pairs / length of the shorter chain (global alignment, free end gaps)."""
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    aligner = aligner or make_aligner()
    # Residues outside the 20 standard letters (X) are in BLOSUM62 as 'X'; anything else -> X.
    alphabet = set(aligner.substitution_matrix.alphabet)
    a = "".join(c if c in alphabet else "X" for c in a)
    b = "".join(c if c in alphabet else "X" for c in b)
    aln = aligner.align(a, b)[0]
    return aln.counts().identities / min(len(a), len(b))


def _composition_bound(a: str, b: str) -> float:
    """Upper bound of chain_identity: shared residue counts / shorter length (cheap filter)."""
    from collections import Counter

    ca, cb = Counter(a), Counter(b)
    return sum(min(n, cb[k]) for k, n in ca.items()) / min(len(a), len(b))


def protein_identity(chains_a: Sequence[str], chains_b: Sequence[str], aligner=None,
                     threshold: float | None = None, cache: dict | None = None) -> float:
    """Best identity over chain pairs. With `threshold`, returns early once it is reached and
    skips pairs whose composition bound is below it (exact for the comparison with threshold)."""
    best = 0.0
    for a in chains_a:
        for b in chains_b:
            key = (a, b) if a <= b else (b, a)
            if cache is not None and key in cache:
                ident = cache[key]
            else:
                if threshold is not None and a != b and _composition_bound(a, b) < threshold:
                    continue
                ident = chain_identity(a, b, aligner)
                if cache is not None:
                    cache[key] = ident
            best = max(best, ident)
            if threshold is not None and best >= threshold:
                return best
    return best


def identical_set_clusters(sequences: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Rule (a) only: proteins with the same set of chain sequences share a cluster."""
    ids = list(sequences)
    first: dict[frozenset, str] = {}
    out = {}
    for pid in ids:
        key = frozenset(sequences[pid])
        first.setdefault(key, pid)
        out[pid] = first[key]
    return _name_clusters(out, ids)


def sequence_clusters(sequences: Mapping[str, Sequence[str]], identity: float) -> dict[str, str]:
    """Single-linkage clusters by rules (a) and (b); returns id -> cluster name."""
    ids = list(sequences)
    uf = _UnionFind(ids)
    first: dict[frozenset, str] = {}
    for pid in ids:
        key = frozenset(sequences[pid])
        if key in first:
            uf.union(first[key], pid)
        else:
            first[key] = pid
    reps = list(first.values())  # one protein per distinct chain set
    aligner = make_aligner()
    cache: dict = {}
    n_pairs = 0
    for i, a in enumerate(reps):
        for b in reps[i + 1:]:
            if uf.find(a) == uf.find(b):
                continue
            n_pairs += 1
            if protein_identity(sequences[a], sequences[b], aligner, identity, cache) >= identity:
                uf.union(a, b)
    log.info("clustering: %d proteins, %d distinct chain sets, %d protein pairs compared, "
             "%d chain alignments", len(ids), len(reps), n_pairs, len(cache))
    return _name_clusters({pid: uf.find(pid) for pid in ids}, ids)


def _name_clusters(root_of: Mapping[str, str], ids: Sequence[str]) -> dict[str, str]:
    """Cluster names c000, c001, ... numbered by first appearance in `ids`."""
    names: dict[str, str] = {}
    out = {}
    for pid in ids:
        root = root_of[pid]
        if root not in names:
            names[root] = f"c{len(names):03d}"
        out[pid] = names[root]
    return out


def assign_folds(
    ids: Sequence[str],
    scheme: str,
    *,
    sequences: Mapping[str, Sequence[str]] | None = None,
    groups: Mapping[str, str | None] | None = None,
    k: int = 5,
    identity: float = 0.9,
    seed: int = 0,
) -> list[dict]:
    """Rows {id, fold, cluster} in `ids` order."""
    from .errors import ConfigError

    ids = list(ids)
    if scheme not in SCHEMES:
        raise ConfigError(f"cv.scheme must be one of {', '.join(SCHEMES)}, got {scheme!r}")
    if len(ids) < 2:
        raise ConfigError(f"cross-validation needs at least 2 proteins, got {len(ids)}")
    sequences = dict(sequences or {i: [] for i in ids})
    groups = dict(groups or {})
    user = {i: str(groups[i]) for i in ids if groups.get(i) not in (None, "")}
    rest = [i for i in ids if i not in user]
    if scheme == "group":
        computed = sequence_clusters({i: sequences.get(i, []) for i in rest}, identity) if rest else {}
    else:
        computed = identical_set_clusters({i: sequences.get(i, []) for i in rest}) if rest else {}
    cluster = {i: (f"group:{user[i]}" if i in user else computed[i]) for i in ids}

    if scheme == "loocv":
        fold = {pid: n for n, pid in enumerate(ids)}
    elif scheme == "kfold":
        if k > len(ids):
            raise ConfigError(f"cv.k = {k} is larger than the number of proteins ({len(ids)})")
        import numpy as np

        order = np.random.default_rng(seed).permutation(len(ids))
        fold = {ids[j]: n % k for n, j in enumerate(order)}
    else:
        order = list(dict.fromkeys(cluster[i] for i in ids))
        if len(order) < 2:
            raise ConfigError(
                f"cv.scheme group: all {len(ids)} proteins fall into one cluster "
                f"(cv.identity = {identity}); lower cv.identity or give a group column"
            )
        index = {c: n for n, c in enumerate(order)}
        fold = {pid: index[cluster[pid]] for pid in ids}
    return [{"id": i, "fold": fold[i], "cluster": cluster[i]} for i in ids]


def stratify_rows(rows: list[dict], table, specs, scheme: str, *, k: int, seed: int
                  ) -> list[dict]:
    """Folds stratified on the FIRST classification label of `specs` (LabelSpecs), if any:

    - `kfold`: stratified k-fold (`stratified_folds`) over the proteins that have that label;
      proteins without it are dealt round-robin over the folds (seeded order).
    - `group`: when there are more clusters than cv.k, stratified group folds: whole clusters
      dealt into cv.k folds, classes as balanced as the clusters allow (proteins without the
      label count as a class of their own); otherwise one fold per cluster as without labels.
    - `loocv`: one protein per fold, nothing to stratify.
    `rows` ({id, fold, cluster}, from assign_folds) is returned with the new folds."""
    cls = next((s for s in specs if s.is_classification), None)
    if cls is None or scheme == "loocv":
        return rows
    import numpy as np

    ids = [r["id"] for r in rows]
    value = {i: table.at[i, cls.name] for i in ids}
    has = [i for i in ids if value[i] is not None and value[i] == value[i]]
    if scheme == "kfold":
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

    from .errors import ConfigError

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


def write_folds(rows: list[dict], path) -> None:
    """folds.tsv (id, fold, cluster), written atomically."""
    from .files import write_tsv

    write_tsv(path, ["id", "fold", "cluster"], rows)


def read_folds(path) -> "dict[str, tuple[int, str]]":
    """folds.tsv -> {id: (fold, cluster)} in file order."""
    import pandas as pd

    from .errors import CorruptFileError

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
    `labels`: the labels setting or its LabelSpecs (None: the column `label`); a protein with
    at least one of them counts as labelled."""
    import math

    from .errors import InputError
    from .samples import read_sample_table
    from .parse import read_structure_h5

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


def folds_job(samples, structures: Sequence, out, *, scheme="loocv", k=5, identity=0.9,
              seed=0, labels=None) -> list[dict]:
    """Read the sample table and parsed structures, assign folds, write folds.tsv.
    `labels`: the labels setting (None: the column `label`)."""
    table, ids, proteins = usable_proteins(samples, structures, labels=labels)
    groups = table["group"].to_dict() if "group" in table.columns else {}
    rows = assign_folds(
        ids, scheme, sequences={i: proteins[i].sequences for i in ids}, groups=groups, k=k,
        identity=identity, seed=seed,
    )
    rows = stratify_rows(rows, table, table.attrs["labels"], scheme, k=k, seed=seed)
    write_folds(rows, out)
    n_folds = len({r["fold"] for r in rows})
    n_clusters = len({r["cluster"] for r in rows})
    log.info("%s: %d proteins, %d folds, %d clusters -> %s", scheme, len(rows), n_folds,
             n_clusters, out)
    return rows


def cli(argv: list[str]) -> int:
    from .log import job_log

    ap = argparse.ArgumentParser(prog="esm-schnet folds",
                                 description="Write the cross-validation folds table.")
    ap.add_argument("--samples", required=True)
    ap.add_argument("--structures", nargs="+", required=True, help="results/structures/<id>.h5")
    ap.add_argument("--scheme", choices=SCHEMES, default="loocv")
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--identity", type=float, default=0.9)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--labels", default="null",
                    help="the labels setting (JSON list; null = the single column `label`)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--log", default=None)
    a = ap.parse_args(argv)
    with job_log(a.log):
        from .labels import parse_labels

        folds_job(a.samples, a.structures, a.out, scheme=a.scheme, k=a.k, identity=a.identity,
                  seed=a.seed, labels=parse_labels(a.labels))
    return 0
