"""The task registry (esm_schnet.tasks): lookup, registration, the one-line error of an unknown
task, and the rule that nothing outside the task package branches on the kind of a label."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from esm_schnet import tasks
from esm_schnet.core.errors import ConfigError
from esm_schnet.core.labels import LabelSpec, parse_labels
from esm_schnet.tasks import Task, get_task, register_task, task_names, unregister_task
from esm_schnet.tasks.regression import RegressionTask

SRC = Path(__file__).resolve().parents[2] / "src" / "esm_schnet"


def test_built_in_tasks_and_their_headline_metrics():
    assert task_names()[:2] == ["regression", "classification"]
    assert get_task("regression").headline == "rmse"
    assert get_task("classification").headline == "auroc"
    assert get_task("classification").is_higher_better("auroc")
    assert not get_task("regression").is_higher_better("rmse")
    assert get_task("regression").plots == ("parity", "residuals")


def test_unknown_task_is_one_line_naming_the_known_ones():
    with pytest.raises(ConfigError) as exc:
        parse_labels([{"column": "a", "task": "ordinal"}])
    msg = str(exc.value)
    assert "\n" not in msg and "'ordinal'" in msg
    assert "known tasks: classification, regression" in msg


def test_registered_task_is_usable_in_labels_and_replaced_by_name():
    class Shifted(RegressionTask):
        name = "shifted"

    register_task(Shifted)
    try:
        (spec,) = parse_labels([{"column": "y", "task": "shifted"}])
        assert isinstance(tasks.task_of(spec), Shifted) and spec.width == 1
        again = Shifted()
        register_task(again)
        assert get_task("shifted") is again
    finally:
        unregister_task("shifted")
    assert "shifted" not in task_names()


def test_register_refuses_what_is_not_a_named_task():
    with pytest.raises(TypeError):
        register_task(object())

    class Nameless(Task):
        pass

    with pytest.raises(TypeError, match="no name"):
        register_task(Nameless)


def test_classes_come_from_the_task():
    spec = LabelSpec("c", "classification", "none")
    task = tasks.task_of(spec)
    spec = task.with_classes(spec, ["b", None, "a", "10", "b"])
    assert spec.classes == ("10", "a", "b") and spec.width == 3
    assert task.encode(spec, "a") == 1.0


def test_nothing_outside_the_task_package_branches_on_the_kind():
    pattern = re.compile(r'is_classification|"classification"')
    found = [
        f"{p.relative_to(SRC)}:{n}"
        for p in sorted(SRC.rglob("*.py")) if "tasks" not in p.relative_to(SRC).parts
        for n, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)
    ]
    assert found == []
