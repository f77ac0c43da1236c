"""Sequence clusters of proteins for the grouped schemes (`group`, `logo`).

Chains are clustered first; a protein then joins the cluster of every one of its chains
(union-find), so two multi-chain complexes that share one homologous chain are held out
together. Two chains are linked when a local alignment of them has

- sequence identity >= `cv.identity` (identical columns / alignment columns), and
- coverage >= `cv.coverage` of BOTH chains (aligned span / chain length),

and clusters are the connected components of those links (single linkage: no linked pair is
split). Two methods compute the links (`cv.cluster_method`):

- `mmseqs` (default): MMseqs2 `easy-cluster` (`mmseqs.py`), prefiltered, fast on 10,000s of
  chains.
- `align`: every pair of distinct chains aligned with Biopython's PairwiseAligner (local,
  BLOSUM62, gap open 11, extend 1: MMseqs2's scoring). Exact, quadratic: the reference for small
  sets (the tests check that both give the same clusters on the bundled example and jclinic).

Rule (a), always: proteins with identical sets of chain sequences share a cluster. It is all
`identical_set_clusters` computes, which fills the `cluster` column of `loocv` and `kfold`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

log = logging.getLogger("esm_schnet.cv")

METHODS = ("mmseqs", "align")


class UnionFind:
    """Disjoint sets; the root of a set is its earliest member (in the order given)."""

    def __init__(self, items):
        self.parent = {i: i for i in items}
        self._order = {k: n for n, k in enumerate(self.parent)}

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


def name_clusters(root_of: Mapping[str, str], ids: Sequence[str]) -> dict[str, str]:
    """Cluster names c000, c001, ... numbered by first appearance in `ids`."""
    names: dict[str, str] = {}
    out = {}
    for pid in ids:
        root = root_of[pid]
        if root not in names:
            names[root] = f"c{len(names):03d}"
        out[pid] = names[root]
    return out


def identical_set_clusters(sequences: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Rule (a) only: proteins with the same set of chain sequences share a cluster."""
    ids = list(sequences)
    first: dict[frozenset, str] = {}
    out = {}
    for pid in ids:
        key = frozenset(sequences[pid])
        first.setdefault(key, pid)
        out[pid] = first[key]
    return name_clusters(out, ids)


def make_aligner():
    """Local alignment with MMseqs2's scoring (BLOSUM62, gap open 11, extend 1)."""
    from Bio import Align
    from Bio.Align import substitution_matrices

    aligner = Align.PairwiseAligner(mode="local")
    aligner.substitution_matrix = substitution_matrices.load("BLOSUM62")
    aligner.open_gap_score = -11.0
    aligner.extend_gap_score = -1.0
    return aligner


def alignment_stats(a: str, b: str, aligner=None) -> tuple[float, float, float]:
    """(identity, coverage of a, coverage of b) of the best local alignment of two chains:
    identity = identical columns / alignment columns (gaps included); coverage = aligned span /
    chain length. Residues outside BLOSUM62's alphabet count as X."""
    if not a or not b:
        return 0.0, 0.0, 0.0
    if a == b:
        return 1.0, 1.0, 1.0
    aligner = aligner or make_aligner()
    alphabet = set(aligner.substitution_matrix.alphabet)
    a = "".join(c if c in alphabet else "X" for c in a)
    b = "".join(c if c in alphabet else "X" for c in b)
    if aligner.score(a, b) <= 0:
        return 0.0, 0.0, 0.0
    aln = aligner.align(a, b)[0]
    counts = aln.counts()
    columns = counts.identities + counts.mismatches + counts.gaps
    coords = aln.coordinates
    span_a, span_b = coords[0][-1] - coords[0][0], coords[1][-1] - coords[1][0]
    return counts.identities / columns, span_a / len(a), span_b / len(b)


def linked(a: str, b: str, identity: float, coverage: float, aligner=None) -> bool:
    """Whether two chains pass both thresholds (the exact criterion of `cluster_chains_align`)."""
    ident, cov_a, cov_b = alignment_stats(a, b, aligner)
    return ident >= identity and cov_a >= coverage and cov_b >= coverage


def cluster_chains_align(sequences, identity: float, coverage: float) -> dict[str, str]:
    """Exact reference: every pair of distinct chains aligned (quadratic; small sets only).
    Returns sequence -> the first sequence of its connected component."""
    uniq = list(dict.fromkeys(sequences))
    uf = UnionFind(uniq)
    aligner = make_aligner()
    n_pairs = 0
    for i, a in enumerate(uniq):
        for b in uniq[i + 1:]:
            if uf.find(a) == uf.find(b):
                continue
            n_pairs += 1
            if linked(a, b, identity, coverage, aligner):
                uf.union(a, b)
    log.info("align: %d distinct chains, %d pairs aligned", len(uniq), n_pairs)
    return {s: uf.find(s) for s in uniq}


def sequence_clusters(sequences: Mapping[str, Sequence[str]], identity: float,
                      coverage: float = 0.8, *, method: str = "mmseqs", threads: int = 1
                      ) -> dict[str, str]:
    """Protein clusters: id -> cluster name (c000, ... by first appearance in `sequences`)."""
    from esm_schnet.core.errors import ConfigError

    ids = list(sequences)
    chains = [c for pid in ids for c in sequences[pid]]
    if method == "mmseqs":
        from esm_schnet.cv.mmseqs import cluster_chains

        rep = cluster_chains(chains, identity, coverage, threads=threads)
    elif method == "align":
        rep = cluster_chains_align(chains, identity, coverage)
    else:
        raise ConfigError(f"cv.cluster_method must be one of {', '.join(METHODS)}, got {method!r}")
    uf = UnionFind(ids)
    first: dict[str, str] = {}  # chain cluster -> first protein in it
    for pid in ids:
        # rule (a) through the chains: identical chain sets share every chain cluster; a protein
        # without chains gets a cluster of its own
        for c in sequences[pid]:
            r = rep.get(c, c)
            if r in first:
                uf.union(first[r], pid)
            else:
                first[r] = pid
    out = name_clusters({pid: uf.find(pid) for pid in ids}, ids)
    sizes: dict[str, int] = {}
    for c in out.values():
        sizes[c] = sizes.get(c, 0) + 1
    log.info("clusters (%s, identity %s, coverage %s): %d proteins, %d chains, %d clusters, "
             "largest %d", method, identity, coverage, len(ids), len(set(chains)), len(sizes),
             max(sizes.values(), default=0))
    return out
