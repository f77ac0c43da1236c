"""The sample table through Snakemake: refusals before any job, and the parse stage for real.

A bad table must stop `snakemake -n` with one block that lists every problem with its line and
column (no traceback), exit non-zero, and leave no results/ directory. The parse stage is run
for real on three small example structures, with `parse.on_error` skip and fail.
"""

from __future__ import annotations

import csv
import re

import pytest

GOOD = "structures/ex20.pdb"


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            [f"a\t{GOOD}\t1.0\tg", f"a\t{GOOD}\t2.0\tg"],
            ["line 3, column 'id': duplicate id 'a' (first on line 2)"],
        ),
        (
            [f"a\t{GOOD}\t1.0\tg", "b\tstructures/missing.pdb\t2.0\tg"],
            ["line 3, column 'structure': file not found: structures/missing.pdb"],
        ),
        ([f"a\t{GOOD}\tNaN\tg"], ["line 2, column 'label': 'NaN' is not a finite number"]),
        ([f"../x\t{GOOD}\t1.0\tg"], ["line 2, column 'id': id '../x' is not file-name safe"]),
        # several problems: every one is listed, in one block
        (
            [f"a\t{GOOD}\tinf\tg", f"a b\t{GOOD}\tx\tg", "c\tnope.pdb\t3\tg"],
            [
                "line 2, column 'label'",
                "line 3, column 'id'",
                "line 3, column 'label': 'x' is not a number",
                "line 4, column 'structure': file not found: nope.pdb",
            ],
        ),
    ],
    ids=["duplicate-id", "missing-file", "nan-label", "unsafe-id", "many-problems"],
)
def test_bad_sample_table_stops_before_any_job(
    tmp_path, run_snakemake, sample_table, tiny_config, rows, expected
):
    sample_table(tmp_path, rows=rows)
    res = run_snakemake(tmp_path, "-n", config=tiny_config())
    assert res.returncode != 0
    assert "esm-schnet: invalid sample table samples.tsv:" in res.output
    for text in expected:
        assert text in res.output, f"{text!r} missing from:\n{res.output[-3000:]}"
    assert "Traceback" not in res.output
    # one block: the header line, then one "  - " line per problem
    block = res.output[res.output.index("esm-schnet: invalid sample table") :].splitlines()
    problems = [ln for ln in block[1:] if ln.startswith("  - ")]
    assert len(problems) == len(expected)
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (f"id\tstructure\ta\t{GOOD}\n", "line 1: missing column(s) 'label'"),
        ("id\tstructure\tlabel\n", "the table has a header but no samples"),
        ("", "the table is empty"),
    ],
    ids=["missing-column", "header-only", "empty"],
)
def test_malformed_table_stops_before_any_job(
    tmp_path, run_snakemake, sample_table, tiny_config, content, expected
):
    sample_table(tmp_path)
    (tmp_path / "samples.tsv").write_text(content)
    res = run_snakemake(tmp_path, "-n", config=tiny_config())
    assert res.returncode != 0
    assert expected in res.output, res.output[-3000:]
    assert "Traceback" not in res.output
    assert not (tmp_path / "results").exists()


def _read_tsv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def test_parse_stage_runs_for_real(tmp_path, run_snakemake, sample_table, tiny_config):
    # two example PDBs and a gzipped synthetic one whose two segments share chain letter A
    seg = {"sizes": (20, 15), "names": "AA", "reuse": True, "seed": 4, "file": "seg.pdb.gz"}
    sample_table(tmp_path, ids=["ex20", "ex12"], synthetic={"seg": seg})
    res = run_snakemake(tmp_path, "results/qc/structures.tsv", config=tiny_config())
    assert res.returncode == 0, res.output[-6000:]
    rows = {r["id"]: r for r in _read_tsv(tmp_path / "results/qc/structures.tsv")}
    assert {k: int(r["residues"]) for k, r in rows.items()} == {"ex20": 40, "ex12": 42, "seg": 35}
    assert int(rows["seg"]["chains"]) == 2
    assert all(r["status"] == "ok" for r in rows.values())
    assert _read_tsv(tmp_path / "results/qc/skipped.tsv") == []
    for sid in rows:
        assert (tmp_path / f"results/structures/{sid}.h5").stat().st_size > 0
        assert (tmp_path / f"logs/parse/{sid}.log").exists()
        assert (tmp_path / f"benchmarks/parse/{sid}.tsv").exists()
    # nothing left to do: a second run is a no-op
    again = run_snakemake(tmp_path, "-n", "results/qc/structures.tsv")
    assert again.returncode == 0 and "Nothing to be done" in again.output


def test_on_error_skip_records_the_broken_structure(
    tmp_path, run_snakemake, sample_table, tiny_config
):
    sample_table(tmp_path, ids=["ex20", "ex12"], broken=("junk",))
    config = tiny_config(parse={"on_error": "skip"})
    res = run_snakemake(tmp_path, "results/qc/structures.tsv", config=config)
    assert res.returncode == 0, res.output[-6000:]
    good = {r["id"]: r for r in _read_tsv(tmp_path / "results/qc/structures.tsv")}
    assert {k for k, r in good.items() if r["status"] == "ok"} == {"ex20", "ex12"}
    skipped = _read_tsv(tmp_path / "results/qc/skipped.tsv")
    assert [r["id"] for r in skipped] == ["junk"]
    assert skipped[0]["reason"].strip()


def test_on_error_fail_stops_and_names_the_sample(
    tmp_path, run_snakemake, sample_table, tiny_config
):
    sample_table(tmp_path, ids=["ex20"], broken=("junk",))
    res = run_snakemake(tmp_path, "results/qc/structures.tsv", config=tiny_config())
    assert res.returncode != 0
    # parse is an in-process run: job: the error names the rule, the sample and the reason
    # one line, no stack frames (esm_schnet.core.log.rule_job): the job log, shown on failure
    assert re.search(r"ERROR esm_schnet: sample 'junk': \S", res.output), res.output[-6000:]
    assert "JobFailed" in res.output and not re.search(r'File ".*", line \d+', res.output)
    assert "Error in rule parse" in res.output, res.output[-6000:]
    assert not (tmp_path / "results/qc/structures.tsv").exists()
