"""MD / tool-written structures and bad input through the workflow's parse stage.

A CHARMM-style PDB (blank chain ids and elements, segids, HSD/CYX) and an mmCIF with
``label_asym_id .`` parse; a ligand-only file is "no protein residue" (skipped with
parse.on_error=skip, a one-line failure with fail): the error names sample, file and reason
once on the console and once in the job log, with no Python stack-frame lines.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

import structure_variants as sv

EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "example" / "structures"
FRAME = re.compile(r'File ".*", line \d+')
TARGET = "results/qc/structures.tsv"


def _table(workdir: Path) -> Path:
    sdir = workdir / "structures"
    sdir.mkdir(parents=True, exist_ok=True)
    sv.charmm_pdb(EXAMPLE / "ex07.pdb", sdir / "charmm.pdb")
    sv.mmcif_dot_label(EXAMPLE / "ex12.pdb", sdir / "dot.cif")
    sv.ligand_only_pdb(sdir / "lig.pdb")
    (sdir / "junk.pdb").write_text("this is not a structure file\n")
    rows = ["id\tstructure\tlabel", "charmm\tstructures/charmm.pdb\t1.0",
            "dot\tstructures/dot.cif\t2.0", "lig\tstructures/lig.pdb\t3.0",
            "junk\tstructures/junk.pdb\t4.0"]  # fmt: skip
    (workdir / "samples.tsv").write_text("\n".join(rows) + "\n")
    return workdir / "samples.tsv"


def _rows(path):
    with open(path, newline="") as fh:
        return {r["id"]: r for r in csv.DictReader(fh, delimiter="\t")}


@pytest.mark.slow
def test_md_tool_and_ligand_files_through_the_workflow(tmp_path, run_snakemake, tiny_config):
    _table(tmp_path)
    res = run_snakemake(tmp_path, TARGET, config=tiny_config(parse={"on_error": "skip"}))
    assert res.returncode == 0, res.output[-4000:]
    rows = _rows(tmp_path / TARGET)
    assert rows["charmm"]["status"] == "ok" and rows["charmm"]["residues"] == "183"
    assert rows["charmm"]["chain_ids"] == "3"  # PROA, PROB, PROC from the segids
    assert rows["dot"]["status"] == "ok" and rows["dot"]["residues"] == "42"
    assert rows["lig"]["status"] == "skipped"
    assert rows["lig"]["reason"].startswith("no protein residue: 4 ligand residues (LIG)")
    assert not FRAME.search(res.output)


@pytest.mark.slow
def test_expected_parse_errors_are_one_line_without_stack_frames(
    tmp_path, run_snakemake, tiny_config
):
    _table(tmp_path)
    res = run_snakemake(tmp_path, TARGET, "-k", config=tiny_config(parse={"on_error": "fail"}))
    assert res.returncode != 0
    assert not FRAME.search(res.output), res.output[-4000:]
    assert "Traceback" not in res.output
    for sid, reason in (
        ("lig", "no protein residue: 4 ligand residues (LIG) (file structures/lig.pdb)"),
        ("junk", "not a PDB or mmCIF file"),
    ):
        line = f"sample '{sid}': {reason}"
        assert res.output.count(line) == 1, (line, res.output[-4000:])
        log = (tmp_path / "logs" / "parse" / f"{sid}.log").read_text()
        assert log.count(line) == 1, log
        assert not FRAME.search(log), log
    assert "junk.pdb" in res.output  # the file is named
