from collections import defaultdict
from pathlib import Path

import pytest

from esm_schnet.errors import ConfigError
from esm_schnet.folds import assign_folds, chain_identity, protein_identity, sequence_clusters

BASE = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQFEVVHSLAKWKRQTLGQHDFSAGEGLYTHMKALRPDEDRLSPLHSVYVDQWDWERVMGDGERQFSTLKSTVEAIWAGIKATEAAVSEEFGLAPFLPDQIHFVHSQELLSRYPDLDAKGRERAIAKDLGAVFLVGIGGKLSDGHRHDVRAPDYDDWUAIPS"  # noqa: E501


def mutate(seq: str, every: int) -> str:
    """Replace every `every`-th residue (identity 1 - 1/every)."""
    return "".join(("W" if c != "W" else "A") if i % every == 0 else c for i, c in enumerate(seq))


def no_cluster_split(rows):
    folds_of = defaultdict(set)
    for r in rows:
        folds_of[r["cluster"]].add(r["fold"])
    return all(len(f) == 1 for f in folds_of.values())


def test_chain_identity_is_over_the_shorter_chain():
    s = BASE[:120]
    assert chain_identity(s, s) == 1.0
    assert chain_identity(s, mutate(s, 10)) == pytest.approx(1 - 12 / 120)
    # a chain contained in a longer one: identical over the shorter chain (end gaps are free)
    assert chain_identity(s[20:80], s) == 1.0
    unrelated = "".join(reversed(s))
    assert chain_identity(s, unrelated) < 0.5


def test_protein_identity_is_the_best_chain_pair():
    a, b = BASE[:100], BASE[100:200]
    assert protein_identity([a, b], [mutate(b, 20)]) == pytest.approx(0.95)
    assert protein_identity([a], [b]) < 0.5


def test_clusters_identity_and_identical_sets():
    a, b = BASE[:100], BASE[100:200]
    seqs = {
        "p1": [a, b],
        "p2": [b, a],  # same chain set, other order
        "p3": [mutate(a, 20)],  # 95% to p1's chain a
        "p4": [mutate(a, 4)],  # 75%: its own cluster at 0.9
        "p5": [BASE[200:] + BASE[:30]],
    }
    c = sequence_clusters(seqs, identity=0.9)
    assert c["p1"] == c["p2"] == c["p3"]
    assert len({c["p1"], c["p4"], c["p5"]}) == 3
    c2 = sequence_clusters(seqs, identity=0.7)
    assert c2["p4"] == c2["p1"]


def test_loocv_and_kfold():
    ids = [f"p{i}" for i in range(7)]
    rows = assign_folds(ids, "loocv")
    assert [r["fold"] for r in rows] == list(range(7))
    rows = assign_folds(ids, "kfold", k=3, seed=1)
    sizes = sorted(list(r["fold"] for r in rows).count(k) for k in range(3))
    assert sizes == [2, 2, 3]
    assert rows == assign_folds(ids, "kfold", k=3, seed=1)  # seeded
    with pytest.raises(ConfigError):
        assign_folds(ids, "kfold", k=8)


def test_group_scheme_holds_out_whole_clusters():
    a, b = BASE[:100], BASE[100:200]
    seqs = {"p1": [a], "p2": [a], "p3": [mutate(a, 25)], "p4": [b], "p5": [b], "p6": [BASE[150:]]}
    rows = assign_folds(list(seqs), "group", sequences=seqs, identity=0.9)
    assert no_cluster_split(rows)
    fold = {r["id"]: r["fold"] for r in rows}
    assert fold["p1"] == fold["p2"] == fold["p3"]
    assert fold["p4"] == fold["p5"] != fold["p1"]
    assert len(set(fold.values())) == 3  # fewer, larger folds than loocv
    # folds of loocv ignore the clusters but still report identical chain sets
    loo = assign_folds(list(seqs), "loocv", sequences=seqs)
    assert len({r["fold"] for r in loo}) == 6
    cl = {r["id"]: r["cluster"] for r in loo}
    assert cl["p1"] == cl["p2"] and cl["p3"] != cl["p1"]


def test_user_groups_override():
    a = BASE[:100]
    seqs = {"p1": [a], "p2": [a], "p3": [a], "p4": [BASE[100:]]}
    groups = {"p1": "x", "p2": "y", "p3": "x", "p4": None}
    rows = assign_folds(list(seqs), "group", sequences=seqs, groups=groups)
    fold = {r["id"]: r["fold"] for r in rows}
    assert fold["p1"] == fold["p3"] != fold["p2"]
    assert no_cluster_split(rows)


def test_group_scheme_with_one_cluster_is_an_error():
    seqs = {"p1": [BASE], "p2": [BASE]}
    with pytest.raises(ConfigError, match="one cluster"):
        assign_folds(list(seqs), "group", sequences=seqs)


JCLINIC = Path(__file__).resolve().parents[3] / "shared" / "data" / "jclinic"


@pytest.mark.slow
@pytest.mark.skipif(not (JCLINIC / "labels.tsv").is_file(), reason="jclinic data absent")
def test_group_scheme_on_jclinic_holds_out_whole_clusters():
    from esm_schnet.parse import parse_structure

    ids = [ln.split("\t")[0] for ln in (JCLINIC / "labels.tsv").read_text().splitlines()[1:]]
    seqs = {i: parse_structure(JCLINIC / "pdb" / f"{i}.pdb", i).sequences for i in ids}
    rows = assign_folds(ids, "group", sequences=seqs, identity=0.9)
    assert len(rows) == 42  # none dropped
    n_folds = len({r["fold"] for r in rows})
    assert 2 <= n_folds < 42  # fewer, larger folds than loocv
    assert no_cluster_split(rows)
    fold = {r["id"]: r["fold"] for r in rows}
    # the README's example of repeated crystallisations: identical sequences share a fold
    by_seq = defaultdict(set)
    for i in ids:
        by_seq[tuple(sorted(seqs[i]))].add(fold[i])
    assert all(len(f) == 1 for f in by_seq.values())
