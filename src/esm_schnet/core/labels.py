"""The labels one model predicts (`labels:` in the config): their specs and the checks of the
sample table's label columns.

A `labels:` entry is a column name (a regression label) or a mapping
`{column, task, class_weights}`; the schema (`labels.items`) fills what a mapping leaves out, and
the task name must be registered (esm_schnet.tasks: `regression`, `classification` and any
plugin's). What depends on the kind of label (reading a cell, the classes found in the training
sample table, the float the network trains on) is asked of the label's task; checkpoints record
the specs with their classes (esm_schnet.train.checkpoint).

File names: with the single default label `label` (today's tables) every output keeps its old
name and format; otherwise per-label files carry the label's name (`parity-<name>.png`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

from esm_schnet.core.errors import ConfigError
from esm_schnet.tasks import get_task, task_of
from esm_schnet.tasks.names import REGRESSION

# Column names the sample table reserves for itself.
RESERVED = ("id", "structure", "group")


@dataclass(frozen=True)
class LabelSpec:
    """One label: its sample-table column, task, class weighting and classes (a task whose
    labels are classes, e.g. classification)."""

    name: str
    task: str
    class_weights: str
    classes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def width(self) -> int:
        """Outputs of the network for this label (its task's: 1, or one logit per class)."""
        return task_of(self).width(self)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["classes"] = list(self.classes)
        return d

    @classmethod
    def from_dict(cls, data: Mapping) -> "LabelSpec":
        """A stored spec (model.pt, provenance.json); every key required."""
        names = {"name", "task", "class_weights", "classes"}
        if set(data) != names:
            raise ConfigError(f"label spec: expected keys {sorted(names)}, got {sorted(data)}")
        return cls(name=str(data["name"]), task=str(data["task"]),
                   class_weights=str(data["class_weights"]),
                   classes=tuple(str(c) for c in data["classes"]))


def _entry_schema() -> dict:
    from esm_schnet.core.settings import load_schema

    for option in load_schema()["properties"]["labels"]["items"]["anyOf"]:
        if option.get("type") == "object":
            return option
    raise AssertionError("the config schema's labels.items has no mapping form")


def parse_labels(entries: Sequence | None) -> list[LabelSpec]:
    """The `labels:` setting (a list of names / mappings; None = the schema's default) as
    LabelSpecs without classes (see `with_classes`): what an entry point (the Snakefile, a
    job's config of your own) does once. Validated against the schema; a reserved or repeated
    column is a ConfigError."""
    from esm_schnet.core.settings import default, fill_defaults, validate

    entries = default("labels") if entries is None else copy.deepcopy(list(entries))
    validate(entries, ("labels",))
    schema = _entry_schema()
    specs, seen = [], set()
    for entry in entries:
        data = fill_defaults({"column": entry} if isinstance(entry, str) else dict(entry), schema)
        name = data["column"]
        if name in RESERVED:
            raise ConfigError(f"setting labels: {name!r} is a reserved column of the sample table")
        if name in seen:
            raise ConfigError(f"setting labels: column {name!r} is named twice")
        try:
            task = get_task(data["task"])
        except ConfigError as exc:
            raise ConfigError(f"setting labels: column {name!r}: {exc}") from None
        if data["class_weights"] != "none" and not task.class_weights:
            raise ConfigError(
                f"setting labels: class_weights of {name!r} needs task: classification"
            )
        seen.add(name)
        specs.append(LabelSpec(name=name, task=data["task"], class_weights=data["class_weights"]))
    return specs


def is_default(specs: Sequence[LabelSpec]) -> bool:
    """The single regression label `label`: every output keeps today's names and format."""
    return len(specs) == 1 and specs[0].name == "label" and specs[0].task == REGRESSION


def file_suffix(spec: LabelSpec, specs: Sequence[LabelSpec]) -> str:
    """'' when there is one label, else '-<name>' (per-label plot files)."""
    return "" if len(specs) == 1 else f"-{spec.name}"


def with_classes(specs: Sequence[LabelSpec], table) -> list[LabelSpec]:
    """Specs with what the training table fixes (the classes of a task whose labels are
    classes), asked of each label's task; `table`: a sample-table DataFrame, one column per
    label, None where empty."""
    return [task_of(s).with_classes(s, list(table[s.name])) for s in specs]


def encode(spec: LabelSpec, value) -> float:
    """A label value as the float the network trains on (its task's encoding: the number, the
    class index, ...); NaN when missing."""
    return task_of(spec).encode(spec, value)
