"""Config once (esm_schnet.core.resolved): each stage's resolved settings written once, under
their digest, and read back into typed settings; the labels' classes found once and kept."""

from __future__ import annotations

import copy
import json

import pytest

from esm_schnet.core.errors import ConfigError
from esm_schnet.core.labels import LabelSpec, parse_labels
from esm_schnet.core.resolved import STAGES, JobSettings, write_stage_files
from esm_schnet.core.settings import GraphSettings, TrainingSettings, validate


def _config(**sections) -> dict:
    return validate({"samples": "s.tsv", **copy.deepcopy(sections)})


SPECS = [LabelSpec("label", "regression", "none"),
         LabelSpec("big", "classification", "balanced", ("big", "small"))]


def test_stage_files_are_written_once_and_change_with_their_settings_only(tmp_path):
    config = _config(training={"lr": 0.001}, model={"schnet": {"num_filters": 8}})
    first = write_stage_files(config, SPECS, tmp_path)
    assert set(first) == set(STAGES)
    mtimes = {s: (tmp_path / p).stat().st_mtime_ns for s, p in first.items()}
    assert write_stage_files(copy.deepcopy(config), SPECS, tmp_path) == first  # same content
    assert {s: (tmp_path / p).stat().st_mtime_ns for s, p in first.items()} == mtimes

    lr = write_stage_files(_config(training={"lr": 0.002}, model={"schnet": {"num_filters": 8}}),
                           SPECS, tmp_path)
    # training.lr is a train setting; the folds read only training.seed
    assert {s for s in STAGES if lr[s] != first[s]} == {"train"}
    dpi = write_stage_files({**config, "plots": {"dpi": 51}}, SPECS, tmp_path)
    assert {s for s in STAGES if dpi[s] != first[s]} == {"score_test_set"}
    classes = write_stage_files(config, [SPECS[0], LabelSpec("big", "classification",
                                                             "balanced", ("a", "b"))], tmp_path)
    assert all(classes[s] != first[s] for s in STAGES)  # every stage sees the labels


def test_job_settings_from_a_stage_file_are_typed_with_the_classes(tmp_path):
    config = _config(graph={"cutoff": 12.0}, training={"epochs": 3},
                     model={"schnet": {"num_filters": 8}})
    paths = write_stage_files(config, SPECS, tmp_path)
    train = JobSettings.from_file(paths["train"])
    assert train.graph == GraphSettings(cutoff=12.0, max_neighbors=None)
    assert isinstance(train.training, TrainingSettings) and train.training.epochs == 3
    assert train.model["schnet"]["num_filters"] == 8 and train.model["encoder"] == "schnet"
    assert list(train.labels) == SPECS  # classes and weights as found by the Snakefile
    folds = JobSettings.from_file(paths["folds"])
    assert folds.cv["k"] == 5 and folds.seed == 0 and folds.training is None
    with pytest.raises(ConfigError, match="the settings file has no 'graph'"):
        folds.need("graph")
    evaluate = JobSettings.from_file(paths["evaluate"])
    assert evaluate.embedding_model == config["embedding"]["model"]
    assert evaluate.cv == {"scheme": "loocv"} and evaluate.evaluate["bootstrap"] == 1000
    data = json.loads((tmp_path / paths["train"]).read_text())
    assert data["stage"] == "train" and set(data["config"]) == {"graph", "model", "training"}


def test_job_settings_from_a_config_of_your_own(tmp_path):
    path = tmp_path / "my.yaml"
    path.write_text("training: {epochs: 2}\nlabels: [label, {column: big, task: classification}]\n")
    s = JobSettings.from_file(path)
    assert s.training.epochs == 2 and s.graph.cutoff == 10.0 and s.cv["scheme"] == "loocv"
    assert [x.name for x in s.labels] == ["label", "big"] and s.labels[1].classes == ()
    path.write_text("model: {num_filters: 8}\n")
    with pytest.raises(ConfigError, match=r"^model.num_filters moved to model.schnet.num_filters$"):
        JobSettings.from_file(path)
    with pytest.raises(ConfigError, match="no such file"):
        JobSettings.from_file(tmp_path / "missing.yaml")


def test_sample_table_keeps_the_classes_it_is_given(tmp_path):
    """Classes are found once (the Snakefile); a job's table keeps the specs' classes even
    where it holds fewer of them (here: no `tiny` row)."""
    from esm_schnet.core.samples import read_sample_table

    (tmp_path / "a.pdb").write_text("x")
    rows = ["id\tstructure\tlabel\tbig"] + [
        f"p{k}\ta.pdb\t{k}.0\t{'big' if k % 2 else 'small'}" for k in range(4)]
    (tmp_path / "s.tsv").write_text("\n".join(rows) + "\n")
    found = parse_labels(["label", {"column": "big", "task": "classification"}])
    table = read_sample_table(tmp_path / "s.tsv", labels=found)
    assert table.attrs["labels"][1].classes == ("big", "small")  # found in the table
    given = [found[0], LabelSpec("big", "classification", "none", ("big", "small", "tiny"))]
    table = read_sample_table(tmp_path / "s.tsv", labels=given)
    assert table.attrs["labels"][1].classes == ("big", "small", "tiny")  # kept, not re-found
