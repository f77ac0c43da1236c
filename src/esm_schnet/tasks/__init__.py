"""The task registry: what kind of label a column is (`labels[].task` in the config) and
everything that depends on it, in one object per kind (esm_schnet.tasks.base.Task).

Built in: `regression` (esm_schnet.tasks.regression) and `classification`
(esm_schnet.tasks.classification). `register_task(task)` adds a Task instance (or a Task
subclass, instantiated) under its `name`; a name registered again replaces the earlier one.
`get_task(name)` is what every stage asks (labels, heads, folds, evaluate, plots, report,
predict); an unknown name is one ConfigError naming the known tasks.

Plugins: a package adds tasks through the entry-point group `esm_schnet.tasks`
(pyproject.toml: `[project.entry-points."esm_schnet.tasks"]`, `mine = "my_package.task"`),
loaded once at the first question to the registry, in Snakemake and in every job: a Task
subclass or instance is registered, a module is imported (its import calls `register_task`),
any other callable is called. See docs/extending.md, "Add a task".

The built-in task modules are imported on the first question, not with this module, and never
import it back (they are registered here), so the registry has no import circle.
"""

from __future__ import annotations

import inspect

from esm_schnet.core.errors import ConfigError
from esm_schnet.tasks.base import Task
from esm_schnet.tasks.names import CLASSIFICATION, REGRESSION

ENTRY_POINT_GROUP = "esm_schnet.tasks"
_REGISTRY: dict[str, Task] = {}
_loaded = False

__all__ = ["CLASSIFICATION", "ENTRY_POINT_GROUP", "REGRESSION", "Task", "get_task",
           "register_task", "task_names", "task_of", "unregister_task"]


def register_task(task: Task | type[Task]) -> Task | type[Task]:
    """Register a Task instance or subclass (a class decorator too); returns its argument."""
    obj = task() if inspect.isclass(task) and issubclass(task, Task) else task
    if not isinstance(obj, Task):
        raise TypeError(f"register_task() needs a Task subclass or instance, got {task!r}")
    if not obj.name:
        raise TypeError(f"task {type(obj).__name__} has no name")
    _REGISTRY[obj.name] = obj
    return task


def unregister_task(name: str) -> None:
    """Remove a registered task (tests, and plugins that replace one)."""
    _REGISTRY.pop(name, None)


def _load() -> None:
    """The built-in tasks, then the `esm_schnet.tasks` entry points (once per process)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    from esm_schnet.core.plugins import call_setup, load_entry_points
    from esm_schnet.tasks.classification import ClassificationTask
    from esm_schnet.tasks.regression import RegressionTask

    for cls in (RegressionTask, ClassificationTask):
        _REGISTRY.setdefault(cls.name, cls())

    def use(obj) -> None:
        if isinstance(obj, Task) or (inspect.isclass(obj) and issubclass(obj, Task)):
            register_task(obj)
        else:
            call_setup(obj)

    load_entry_points(ENTRY_POINT_GROUP, "task", use)


def task_names() -> list[str]:
    """Every registered task name in registration order (the built-ins first)."""
    _load()
    return list(_REGISTRY)


def get_task(name: str) -> Task:
    """The registered task `name`; an unknown name is a ConfigError naming the known ones."""
    _load()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"unknown task {name!r} (known tasks: {', '.join(sorted(_REGISTRY))})"
        ) from None


def task_of(spec) -> Task:
    """The task of a label (a LabelSpec or anything with a `task` name)."""
    return get_task(spec.task)
