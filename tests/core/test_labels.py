"""labels: the `labels:` setting, and the sample table's label columns checked per task."""

import math

import pytest

from esm_schnet.core.errors import ConfigError, SampleTableError
from esm_schnet.core.labels import LabelSpec, encode, file_suffix, is_default, parse_labels
from esm_schnet.core.samples import read_sample_table


def test_default_is_the_single_label_column():
    (spec,) = parse_labels(None)
    assert spec == LabelSpec("label", "regression", "none")
    assert is_default([spec]) and file_suffix(spec, [spec]) == ""


def test_names_and_mappings_get_the_schema_defaults():
    specs = parse_labels(["label", "dg", {"column": "fold_class", "task": "classification",
                                          "class_weights": "balanced"}])
    assert [(s.name, s.task, s.class_weights) for s in specs] == [
        ("label", "regression", "none"), ("dg", "regression", "none"),
        ("fold_class", "classification", "balanced")]
    assert not is_default(specs)
    assert [file_suffix(s, specs) for s in specs] == ["-label", "-dg", "-fold_class"]
    assert parse_labels(["a", {"column": "b"}])[1] == LabelSpec("b", "regression", "none")


@pytest.mark.parametrize("labels,message", [
    (["id"], "'id' is a reserved column"),
    (["a", "a"], "column 'a' is named twice"),
    ([{"column": "a", "class_weights": "balanced"}], "needs task: classification"),
    ([{"column": "a", "task": "ordinal"}], "setting labels"),
    ([], "setting labels"),
    (["bad name"], "setting labels"),
])
def test_bad_labels_setting_is_one_line(labels, message):
    with pytest.raises(ConfigError, match=message) as exc:
        parse_labels(labels)
    assert "\n" not in str(exc.value)


def _table(tmp_path, text, name="s.tsv"):
    (tmp_path / "a.pdb").write_text("")
    p = tmp_path / name
    p.write_text(text)
    return p


def test_several_labels_with_missing_values(tmp_path):
    p = _table(tmp_path, "id\tstructure\tdg\tkind\n"
               "a\ta.pdb\t1.5\t1\nb\ta.pdb\t\t0\nc\ta.pdb\t2.5\t\nd\ta.pdb\t3\t10\n"
               "e\ta.pdb\t3\t1\nf\ta.pdb\t3\t0\ng\ta.pdb\t3\t10\n")
    labels = ["dg", {"column": "kind", "task": "classification"}]
    df = read_sample_table(p, labels=parse_labels(labels))
    assert math.isnan(df.at["b", "dg"]) and df.at["a", "dg"] == 1.5
    assert df.at["c", "kind"] is None and df.at["a", "kind"] == "1"
    specs = df.attrs["labels"]
    assert specs[1].classes == ("0", "1", "10")  # numeric order, kept as text
    assert encode(specs[1], "10") == 2.0 and math.isnan(encode(specs[1], None))
    assert "label" not in df.columns or df["label"].isna().all()


def test_row_without_any_label_and_bad_values_are_listed(tmp_path):
    p = _table(tmp_path, "id\tstructure\tdg\tkind\n"
               "a\ta.pdb\tx\tp\nb\ta.pdb\t\t\nc\ta.pdb\t2\tq\n")
    with pytest.raises(SampleTableError) as exc:
        read_sample_table(p, labels=parse_labels(["dg", {"column": "kind",
                                                          "task": "classification"}]))
    assert exc.value.problems == [
        "line 2, column 'dg': 'x' is not a number",
        "line 3, columns 'dg', 'kind': missing label",
    ]


def test_classification_column_with_one_class_or_too_many(tmp_path):
    one = _table(tmp_path, "id\tstructure\tk\na\ta.pdb\tx\nb\ta.pdb\tx\n")
    with pytest.raises(SampleTableError, match="line 1, column 'k': classification label with "
                                               "one class only"):
        read_sample_table(one, labels=parse_labels([{"column": "k", "task": "classification"}]))
    rows = "".join(f"p{i}\ta.pdb\t{i * 0.37:.2f}\n" for i in range(12))
    many = _table(tmp_path, "id\tstructure\tk\n" + rows, "many.tsv")
    with pytest.raises(SampleTableError, match="12 classes in 12 rows .*declare it task: "
                                               "regression"):
        read_sample_table(many, labels=parse_labels([{"column": "k", "task": "classification"}]))
    # without require_labels (prediction tables) the columns are optional and unchecked
    df = read_sample_table(one, require_labels=False,
                           labels=parse_labels([{"column": "k", "task": "classification"}]))
    assert list(df["k"]) == ["x", "x"]


def test_columns_not_named_in_labels_are_refused(tmp_path):
    p = _table(tmp_path, "id\tstructure\tlabel\tdg\na\ta.pdb\t1\t2\n")
    with pytest.raises(SampleTableError, match="unknown column.*'dg'"):
        read_sample_table(p)
    assert read_sample_table(p, labels=parse_labels(["dg"])).at["a", "dg"] == 2.0
