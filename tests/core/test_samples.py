"""Sample table: every refusal is asserted by its message (with line and column)."""

from __future__ import annotations

import math
import re

import pytest
import yaml

from esm_schnet.core.errors import SampleTableError
from esm_schnet.core.samples import ID_PATTERN, ids_by_shard, read_sample_table, shard_of


@pytest.fixture
def structures(tmp_path):
    d = tmp_path / "pdb"
    d.mkdir()
    for name in ("a.pdb", "b.cif.gz", "c.pdb"):
        (d / name).write_text("ATOM\n")
    return d


def table(tmp_path, text: str, name="samples.tsv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def problems(path, **kw) -> list[str]:
    with pytest.raises(SampleTableError) as ei:
        read_sample_table(path, **kw)
    assert str(path) in str(ei.value)
    return ei.value.problems


def test_valid_table_relative_absolute_comments(tmp_path, structures):
    p = table(
        tmp_path,
        "# my proteins\n"
        "id\tstructure\tlabel\tgroup\n"
        "\n"
        f"a\tpdb/a.pdb\t1.5\tg1\n"
        f"b.2\t{structures / 'b.cif.gz'}\t-3e2\t\n"
        "c_3-x\tpdb/c.pdb\t 7 \tg1\n",
    )
    df = read_sample_table(p)
    assert list(df.index) == ["a", "b.2", "c_3-x"]
    assert df.loc["a", "structure"] == str(structures / "a.pdb")
    assert df.loc["b.2", "structure"] == str(structures / "b.cif.gz")
    assert df["label"].tolist() == [1.5, -300.0, 7.0]
    assert df.loc["a", "group"] == "g1" and df.loc["b.2", "group"] is None


def test_unlabelled_table_only_when_labels_not_required(tmp_path, structures):
    p = table(tmp_path, "id\tstructure\na\tpdb/a.pdb\n")
    df = read_sample_table(p, require_labels=False)
    assert math.isnan(df.loc["a", "label"])
    assert problems(p) == ["line 1: missing column(s) 'label'"]
    p2 = table(tmp_path, "id\tstructure\tlabel\na\tpdb/a.pdb\t\n", "s2.tsv")
    assert problems(p2) == ["line 2, column 'label': missing label"]
    assert math.isnan(read_sample_table(p2, require_labels=False).loc["a", "label"])


def test_duplicate_ids(tmp_path, structures):
    p = table(tmp_path, "id\tstructure\tlabel\na\tpdb/a.pdb\t1\na\tpdb/c.pdb\t2\n")
    assert problems(p) == ["line 3, column 'id': duplicate id 'a' (first on line 2)"]


def test_ids_differing_only_by_case(tmp_path, structures):
    p = table(tmp_path, "id\tstructure\tlabel\nProt\tpdb/a.pdb\t1\nprot\tpdb/c.pdb\t2\n")
    (msg,) = problems(p)
    assert msg.startswith(
        "line 3, column 'id': id 'prot' differs from 'Prot' (line 2) only by case"
    )


def test_missing_structure_file(tmp_path, structures):
    p = table(tmp_path, "id\tstructure\tlabel\na\tpdb/nope.pdb\t1\nb\t\t2\n")
    assert problems(p) == [
        "line 2, column 'structure': file not found: pdb/nope.pdb",
        "line 3, column 'structure': empty path",
    ]


@pytest.mark.parametrize(
    "label, why",
    [
        ("abc", "'abc' is not a number"),
        ("1,5", "'1,5' is not a number"),
        ("nan", "'nan' is not a finite number"),
        ("NaN", "'NaN' is not a finite number"),
        ("inf", "'inf' is not a finite number"),
        ("-Infinity", "'-Infinity' is not a finite number"),
        ("1e999", "'1e999' is not a finite number"),
    ],
)
def test_bad_labels(tmp_path, structures, label, why):
    p = table(tmp_path, f"id\tstructure\tlabel\na\tpdb/a.pdb\t{label}\n")
    assert problems(p) == [f"line 2, column 'label': {why}"]


@pytest.mark.parametrize("bad_id", ["../x", "a/b", "a b", "..", ".", "x;rm", "α", "$(x)"])
def test_unsafe_ids(tmp_path, structures, bad_id):
    p = table(tmp_path, f"id\tstructure\tlabel\n{bad_id}\tpdb/a.pdb\t1\n")
    (msg,) = problems(p)
    assert msg.startswith(f"line 2, column 'id': id {bad_id!r} is not file-name safe")


def test_empty_id(tmp_path, structures):
    p = table(tmp_path, "id\tstructure\tlabel\n\tpdb/a.pdb\t1\n")
    assert problems(p) == ["line 2, column 'id': empty id"]


def test_missing_and_unknown_and_duplicate_columns(tmp_path, structures):
    p = table(tmp_path, "id\tlabel\na\t1\n")
    assert problems(p) == ["line 1: missing column(s) 'structure'"]
    p = table(tmp_path, "id\tstructure\tlabel\tweight\na\tpdb/a.pdb\t1\t2\n", "u.tsv")
    assert problems(p) == [
        "line 1: unknown column(s) 'weight' (allowed: id, structure, label, group; more label "
        "columns: the labels setting)"
    ]
    p = table(tmp_path, "id\tstructure\tlabel\tlabel\na\tpdb/a.pdb\t1\t2\n", "d.tsv")
    assert problems(p) == ["line 1: duplicate column(s) label"]


def test_empty_and_header_only_and_missing_table(tmp_path):
    assert problems(table(tmp_path, "")) == ["the table is empty (no header, no samples)"]
    assert problems(table(tmp_path, "# only a comment\n\n", "c.tsv")) == [
        "the table is empty (no header, no samples)"
    ]
    p = table(tmp_path, "id\tstructure\tlabel\n", "h.tsv")
    assert problems(p) == ["the table has a header but no samples"]
    missing = tmp_path / "nope.tsv"
    assert problems(missing) == [f"file not found: {missing}"]


def test_wrong_field_count(tmp_path, structures):
    p = table(tmp_path, "id\tstructure\tlabel\na\tpdb/a.pdb\nb pdb/c.pdb 2\n")
    assert problems(p) == [
        "line 2: 2 fields, expected 3 (tab-separated)",
        "line 3: 1 fields, expected 3 (tab-separated)",
    ]


def test_every_problem_reported_at_once(tmp_path, structures):
    p = table(
        tmp_path,
        "id\tstructure\tlabel\n../x\tpdb/a.pdb\tnan\nb\tpdb/zz.pdb\t1\nb\tpdb/c.pdb\tx\n",
    )
    got = problems(p)
    assert len(got) == 5
    assert [g.split(",")[0] for g in got] == ["line 2"] * 2 + ["line 3"] + ["line 4"] * 2


def test_byte_order_mark_and_crlf_are_accepted(tmp_path, structures):
    p = tmp_path / "bom.tsv"
    p.write_bytes(b"\xef\xbb\xbfid\tstructure\tlabel\r\na\tpdb/a.pdb\t1\r\n")
    df = read_sample_table(p)
    assert list(df.index) == ["a"] and df.loc["a", "label"] == 1.0


def test_non_utf8_table_is_a_clear_error(tmp_path, structures):
    p = tmp_path / "latin.tsv"
    p.write_bytes(b"id\tstructure\tlabel\na\tpdb/a.pdb\t1\xff\n")
    (msg,) = problems(p)
    assert msg.startswith("not UTF-8 text")


def test_shard_of_is_stable_and_in_range():
    ids = [f"p{i}" for i in range(200)]
    shards = [shard_of(i, 4) for i in ids]
    assert set(shards) == {0, 1, 2, 3}
    assert shards == [shard_of(i, 4) for i in ids]
    assert shard_of("1a05_1_protein", 4) == shard_of("1a05_1_protein", 4)
    # adding a protein never moves the others
    assert [shard_of(i, 4) for i in ids + ["new"]][:200] == shards


def test_ids_by_shard_groups_like_shard_of_and_keeps_order():
    ids = [f"p{i}" for i in range(300)][::-1]
    groups = ids_by_shard(ids, 7)
    assert sorted(groups) == list(range(7))  # every shard, empty or not
    for s, members in groups.items():
        assert members == [i for i in ids if shard_of(i, 7) == s]
    assert ids_by_shard(["only"], 5)[shard_of("only", 5)] == ["only"]
    assert sum(map(len, ids_by_shard(["only"], 5).values())) == 1


def test_samples_schema_agrees_with_reader():
    from pathlib import Path

    schema = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "workflow/schemas/samples.schema.yaml").read_text()
    )
    assert schema["properties"]["id"]["pattern"] == ID_PATTERN.pattern
    # other columns are the configured labels' (numbers or class names)
    assert schema["additionalProperties"] == {"type": ["number", "string"]}
    assert set(schema["required"]) == {"id", "structure"}
    assert set(schema["properties"]) == {"id", "structure", "label", "group"}
    assert re.match(ID_PATTERN, "1a05_1_protein") and not re.match(ID_PATTERN, "../x")
