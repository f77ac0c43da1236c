"""bench/jclinic_label.py: the record counts it compares the jclinic labels with, and (with
../shared/data/jclinic present) what it finds there."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
import jclinic_label  # noqa: E402

sys.path.remove(str(REPO / "bench"))
from test_jclinic_parse import JCLINIC  # noqa: E402


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


def test_rmse_split_by_hydrogens_with_paired_intervals(tmp_path):
    rows = ["id\tlabel\tprediction\tfold\tmodel"]
    ids = [f"p{i}" for i in range(12)]
    for k, pid in enumerate(ids):
        off = 3.0 if k < 4 else 1.0  # schnet: error 3 on the hydrogen files, 1 elsewhere
        rows += [f"{pid}\t10\t{10 + off * (-1) ** k}\t{k}\tschnet",
                 f"{pid}\t10\t{10 + 2.0 * (-1) ** k}\t{k}\tsize_linear"]
    (tmp_path / "predictions.tsv").write_text("\n".join(rows) + "\n")
    (tmp_path / "cv" / "group").mkdir(parents=True)
    (tmp_path / "cv" / "group" / "folds.tsv").write_text(
        "id\tfold\tcluster\n" + "".join(f"{p}\t{k}\tc{k // 2}\n" for k, p in enumerate(ids)))
    out = jclinic_label.rmse_by_hydrogens(tmp_path / "predictions.tsv", set(ids[:4]))
    h, rest = out["with_hydrogens"], out["without"]
    assert (h["proteins"], rest["proteins"]) == (4, 8)
    assert h["schnet"]["rmse"] == pytest.approx(3.0) and rest["schnet"]["rmse"] == pytest.approx(1.0)
    assert h["size_linear"]["schnet_minus"][0] == pytest.approx(1.0)
    # constant errors: every resample gives the same difference, so the interval is a point
    assert rest["size_linear"]["schnet_minus"][1:] == [-1.0, -1.0, "better"]
    assert h["size_linear"]["schnet_minus"][3] == "worse"
