"""The labels one model predicts (`labels:` in the config): their specs and the checks of the
sample table's label columns.

A `labels:` entry is a column name (a regression label) or a mapping
`{column, task, class_weights}`; the schema (`labels.items`) fills what a mapping leaves out.
A classification label's classes are the values found in the training sample table, sorted
(numerically when every value is a number, else as text), so every job that reads the same table
agrees on them; checkpoints record them (esm_schnet.train.checkpoint).

File names: with the single default label `label` (today's tables) every output keeps its old
name and format; otherwise per-label files carry the label's name (`parity-<name>.png`).
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

from esm_schnet.core.errors import ConfigError

REGRESSION = "regression"
CLASSIFICATION = "classification"
# Column names the sample table reserves for itself.
RESERVED = ("id", "structure", "group")
# A classification column with more distinct values than this (or than half its labelled rows)
# is refused: it is almost certainly a number column declared as classes by mistake.
MAX_CLASSES = 20


@dataclass(frozen=True)
class LabelSpec:
    """One label: its sample-table column, task, class weighting and (classification) classes."""

    name: str
    task: str
    class_weights: str
    classes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_classification(self) -> bool:
        return self.task == CLASSIFICATION

    @property
    def width(self) -> int:
        """Outputs of the network for this label: 1 (regression) or one logit per class."""
        return len(self.classes) if self.is_classification else 1

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


def parse_labels(entries: Sequence | str | None) -> list[LabelSpec]:
    """The `labels:` setting (list of names / mappings, or its JSON text; None = the schema's
    default) as LabelSpecs without classes (see `with_classes`). Validated against the schema;
    a reserved or repeated column is a ConfigError."""
    from esm_schnet.core.settings import default, fill_defaults, validate

    if isinstance(entries, str):
        try:
            entries = json.loads(entries)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--labels is not valid JSON: {exc}") from None
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
        if data["class_weights"] != "none" and data["task"] != CLASSIFICATION:
            raise ConfigError(
                f"setting labels: class_weights of {name!r} needs task: classification"
            )
        seen.add(name)
        specs.append(LabelSpec(name=name, task=data["task"], class_weights=data["class_weights"]))
    return specs


def is_default(specs: Sequence[LabelSpec]) -> bool:
    """The single regression label `label`: every output keeps today's names and format."""
    return len(specs) == 1 and specs[0].name == "label" and not specs[0].is_classification


def file_suffix(spec: LabelSpec, specs: Sequence[LabelSpec]) -> str:
    """'' when there is one label, else '-<name>' (per-label plot files)."""
    return "" if len(specs) == 1 else f"-{spec.name}"


def sort_classes(values) -> tuple[str, ...]:
    """Distinct class values, numerically sorted when all are numbers, else as text."""
    distinct = set(values)
    try:
        return tuple(sorted(distinct, key=lambda v: (float(v), v)))
    except ValueError:
        return tuple(sorted(distinct))


def check_value(spec: LabelSpec, text: str) -> tuple[object, str | None]:
    """(value, problem) of one cell: a finite float (regression) or the class text
    (classification); '' is missing (None value, no problem)."""
    if text == "":
        return None, None
    if spec.is_classification:
        return text, None
    try:
        value = float(text)
    except ValueError:
        return None, f"{text!r} is not a number"
    if not math.isfinite(value):
        return None, f"{text!r} is not a finite number"
    return value, None


def class_problem(spec: LabelSpec, classes: Sequence[str], n_labelled: int) -> str | None:
    """Why a classification column cannot be learned (None when it can)."""
    if len(classes) < 2:
        found = f"every labelled row is {classes[0]!r}" if classes else "no values"
        return f"classification label with one class only ({found}); it needs at least two"
    limit = min(MAX_CLASSES, max(2, n_labelled // 2))
    if len(classes) > limit:
        return (f"classification label with {len(classes)} classes in {n_labelled} rows (at most "
                f"{limit}); is it a number column? declare it task: regression")
    return None


def with_classes(specs: Sequence[LabelSpec], table) -> list[LabelSpec]:
    """Specs with the classes of each classification label found in `table` (a sample-table
    DataFrame, one column per label, None where empty)."""
    out = []
    for s in specs:
        if s.is_classification:
            values = [v for v in table[s.name] if v is not None and v == v]
            s = LabelSpec(s.name, s.task, s.class_weights, sort_classes(map(str, values)))
        out.append(s)
    return out


def encode(spec: LabelSpec, value) -> float:
    """A label value as the float the network trains on: the number (regression) or the class
    index (classification); NaN when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan
    if spec.is_classification:
        try:
            return float(spec.classes.index(str(value)))
        except ValueError:
            raise ConfigError(
                f"label {spec.name!r}: class {value!r} is not one of {list(spec.classes)}"
            ) from None
    return float(value)
