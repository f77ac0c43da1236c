"""bench/jclinic_label.py: the record counts it compares the jclinic labels with, the RMSE split
by hydrogens, and (with ../shared/data/jclinic present) what it finds there."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))
import jclinic_label  # noqa: E402

sys.path.remove(str(REPO / "bench"))
from jclinic_data import jclinic_dir  # noqa: E402

JCLINIC = jclinic_dir()


def test_counts_records_of_a_file_written_by_biopython(tmp_path):
    from Bio.PDB import PDBIO, PDBParser
    from Bio.PDB.Atom import Atom

    s = PDBParser(QUIET=True).get_structure("x", REPO / "resources/example/structures/ex02.pdb")
    residue = next(s.get_residues())
    for k in range(3):  # hydrogens, named and typed as PDB files name them
        residue.add(Atom(f"H{k + 1}", residue["CA"].coord + k, 0.0, 1.0, " ", f" H{k + 1}",
                         None, element="H"))
    io = PDBIO()
    io.set_structure(s)
    path = tmp_path / "with_h.pdb"
    io.save(str(path))
    text = path.read_text().splitlines()
    rec = jclinic_label.count_records(path)
    assert rec["lines"] == len(text)
    assert rec["atoms"] == sum(1 for a in s.get_atoms())
    assert rec["hydrogens"] == 3
    assert rec["ter"] == len(list(s[0])) >= 1
    # the same file with the element columns blanked: hydrogens found from the atom names,
    # old-style ones with a leading digit too ('1HB '), and no carbon taken for one ('CA')
    old = [ln[:76].ljust(80) if ln.startswith("ATOM") else ln for ln in text]
    first = next(i for i, ln in enumerate(old) if ln.startswith("ATOM") and ln[12:16] == " CB ")
    old[first] = old[first][:12] + "1HB " + old[first][16:]
    (tmp_path / "old.pdb").write_text("\n".join(old) + "\n")
    assert jclinic_label.count_records(tmp_path / "old.pdb")["hydrogens"] == 4


def _run(tmp_path, scheme, errors, clusters):
    """A run folder: predictions.tsv with schnet's and size_linear's errors per protein."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    rows = ["id\tlabel\tprediction\tfold\tmodel"]
    for k, (pid, (es, eb)) in enumerate(errors.items()):
        rows += [f"{pid}\t10\t{10 + es}\t{k}\tschnet", f"{pid}\t10\t{10 + eb}\t{k}\tsize_linear"]
    (tmp_path / "predictions.tsv").write_text("\n".join(rows) + "\n")
    (tmp_path / "metrics.json").write_text(json.dumps({"cv_scheme": scheme}))
    (tmp_path / "cv" / "group").mkdir(parents=True, exist_ok=True)
    (tmp_path / "cv" / "group" / "folds.tsv").write_text(
        "id\tfold\tcluster\n" + "".join(f"{p}\t{k}\t{clusters[p]}\n"
                                        for k, p in enumerate(errors)))
    return jclinic_label.rmse_by_hydrogens(tmp_path / "predictions.tsv", {"h0", "h1", "h2"})


def test_rmse_split_by_hydrogens_with_paired_intervals(tmp_path):
    # schnet: error 3 on the hydrogen files, 1 elsewhere; size_linear: 2 everywhere
    errors = {f"h{k}": (3.0 * (-1) ** k, 2.0) for k in range(3)}
    errors.update({f"p{k}": (1.0 * (-1) ** k, -2.0) for k in range(12)})
    out = _run(tmp_path, "loocv", errors, {p: "c0" for p in errors})
    h, rest = out["with_hydrogens"], out["without"]
    assert out["resampled"] == "proteins"  # LOOCV: the run's own intervals resample proteins
    assert (h["proteins"], rest["proteins"], rest["units"]) == (3, 12, 12)
    assert h["schnet"]["rmse"] == pytest.approx(3.0) and rest["schnet"]["rmse"] == pytest.approx(1.0)
    # constant errors: every resample gives the same difference, so the interval is a point
    assert rest["size_linear"]["schnet_minus"] == [-1.0, -1.0, -1.0, "better"]
    # three units are too few for an interval
    assert h["size_linear"]["schnet_minus"][0] == pytest.approx(1.0)
    assert h["size_linear"]["schnet_minus"][1:3] == [None, None]


def test_group_runs_resample_whole_clusters(tmp_path):
    # 12 proteins in 6 clusters of 2; both models err alike except in cluster q0, where
    # schnet is 4 worse on both members: resampling clusters (6 units) -> "not distinguishable"
    errors = {f"h{k}": (1.0, 1.0) for k in range(3)}
    errors.update({f"p{k}": ((5.0 if k < 2 else 1.0), 1.0) for k in range(12)})
    clusters = {**{f"h{k}": "ch" for k in range(3)}, **{f"p{k}": f"q{k // 2}" for k in range(12)}}
    group = _run(tmp_path / "g", "group", errors, clusters)["without"]
    assert group["units"] == 6 and group["size_linear"]["schnet_minus"][1] is None
    clusters = {**clusters, **{f"p{k}": f"q{k}" for k in range(12)}}
    many = _run(tmp_path / "m", "group", errors, clusters)["without"]
    assert many["units"] == 12
    lo, hi = many["size_linear"]["schnet_minus"][1:3]
    assert lo >= 0 and hi > 0  # the difference is 0 or positive in every resample


def test_chemistry_oracle_fits_one_constant_per_training_fold(tmp_path):
    # labels = complete / 42 + an offset: 0 for p0-p2, 4 for h3 (a file with hydrogens); each
    # protein its own fold. Holding h3 out, the constant is 0 (error -4); holding out one of the
    # others, it is the mean of the other three offsets, 4/3 (error +4/3)
    complete = {"p0": 420.0, "p1": 840.0, "p2": 1260.0, "h3": 2100.0}
    offset = {"p0": 0.0, "p1": 0.0, "p2": 0.0, "h3": 4.0}
    label = {i: c / 42 + offset[i] for i, c in complete.items()}
    rows = ["id\tlabel\tprediction\tfold\tmodel"]
    for k, i in enumerate(complete):  # two models: the oracle reads each protein once
        rows += [f"{i}\t{label[i]}\t0\t{k}\tschnet", f"{i}\t{label[i]}\t0\t{k}\tmean"]
    (tmp_path / "predictions.tsv").write_text("\n".join(rows) + "\n")
    out = jclinic_label.chemistry_oracle(tmp_path / "predictions.tsv", complete, label, {"h3"})
    assert out["with_hydrogens"] == pytest.approx(4.0)
    assert out["without"] == pytest.approx(4 / 3, abs=1e-3)
    assert out["rmse"] == pytest.approx(((3 * (4 / 3) ** 2 + 16) / 4) ** 0.5, abs=1e-3)
    # one fold holding p0 and p1 together: the constant comes from p2 and h3 only (2)
    (tmp_path / "predictions.tsv").write_text(
        "\n".join(r.replace("\t1\t", "\t0\t") if r.startswith("p1") else r for r in rows)
        + "\n")
    out = jclinic_label.chemistry_oracle(tmp_path / "predictions.tsv", complete, label, {"h3"})
    # p0, p1: +2; p2: 4/3; h3: -4
    assert out["without"] == pytest.approx(((2 * 4 + 16 / 9) / 3) ** 0.5, abs=1e-3)


def test_several_labels_are_refused(tmp_path):
    (tmp_path / "predictions.tsv").write_text(
        "id\tlabel\tprediction\tfold\tmodel\ttarget\na\t1\t1\t0\tschnet\tx\n"
        "a\t1\t1\t0\tschnet\ty\n")
    with pytest.raises(SystemExit, match="several labels"):
        jclinic_label.rmse_by_hydrogens(tmp_path / "predictions.tsv", set())


@pytest.mark.skipif(JCLINIC is None, reason="../shared/data/jclinic is not available")
def test_the_jclinic_label_is_the_line_count_over_42():
    res = subprocess.run([sys.executable, str(REPO / "bench" / "jclinic_label.py"), "--data",
                          str(JCLINIC)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout)
    assert out["proteins"] == 42
    assert out["max_abs_label_x42_minus_lines"] <= 0.021  # labels have 3 decimals
    assert len(out["with_hydrogens"]) == 10
    assert out["unseen_by_residue_types"]["rms"] > 3.0
