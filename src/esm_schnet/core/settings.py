"""Settings: one source of truth, the config schema shipped inside the package.

`schemas/config.schema.yaml` holds every default. This module fills those defaults in, validates
with jsonschema and turns what fails into one short line (an unknown key names the closest valid
one: "unknown setting training.epoch (did you mean training.epochs?)"). The typed settings objects
(`GraphSettings`, `TrainingSettings`; `ModelConfig` in esm_schnet.encoders.model) have no defaults of their
own: they are built from a validated section. A setting that moved into a subsection (the encoder
settings, now under model.<encoder>) is named with its new place. The Snakefile, the CLI outside Snakemake and the
benchmarks all go through here, so they agree on every default.
"""

from __future__ import annotations

import copy
import difflib
import functools
from dataclasses import asdict, dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from esm_schnet.core.errors import ConfigError


def schema_path() -> Path:
    """Path of the config schema inside the installed package."""
    return Path(str(resources.files("esm_schnet.core") / "schemas" / "config.schema.yaml"))


@functools.lru_cache(maxsize=1)
def _schema() -> dict:
    with open(schema_path(), encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def load_schema() -> dict:
    """The config schema (a fresh copy: callers may mutate it)."""
    return copy.deepcopy(_schema())


def _subschema(path: tuple[str, ...]) -> dict:
    schema = _schema()
    for key in path:
        schema = schema["properties"][key]
    return schema


def fill_defaults(value: Any, schema: dict) -> Any:
    """Fill the schema's defaults into `value` (mutated and returned), recursively."""
    if not isinstance(value, dict):
        return value
    for key, sub in schema.get("properties", {}).items():
        if key not in value and "default" in sub:
            value[key] = copy.deepcopy(sub["default"])
        if key in value:
            fill_defaults(value[key], sub)
    return value


def _unknown_key_message(where: str, key: str, known: list[str]) -> str:
    full = f"{where}.{key}" if where else str(key)
    if isinstance(key, str) and ":" in key:
        name, _, rest = key.partition(":")
        if name.strip() in known:
            value = f"{name.strip()}: {rest.strip()}"
            text = f"{where}={{{value}}}" if where else value
            return (f"unknown setting {full}: write '{text}' with a space after the colon "
                    f"(YAML reads '{key}' as one key)")
    close = difflib.get_close_matches(str(key), known, n=1)
    hint = f" (did you mean {where + '.' if where else ''}{close[0]}?)" if close else ""
    return f"unknown setting {full}{hint}"


def _message(error, prefix: tuple[str, ...]) -> str:
    path = [*prefix, *(str(p) for p in error.absolute_path)]
    where = ".".join(path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = list(error.schema.get("properties", {}))
        unknown = [k for k in error.instance if k not in known]
        if unknown:
            return _unknown_key_message(where, unknown[0], known)
    if error.validator == "type" and isinstance(error.instance, str) and ":" in error.instance:
        name, _, rest = error.instance.partition(":")
        return (f"setting {where} is the string {error.instance!r}: write "
                f"'{where}={{{name.strip()}: {rest.strip()}}}' with a space after the colon")
    message = error.message if len(error.message) <= 160 else error.message[:157] + "..."
    return f"setting {where or '(config)'}: {message}"


def _check_keys(value: Any, schema: dict, path: tuple[str, ...]) -> None:
    """Before the schema: settings that moved into a subsection (model.num_filters ->
    model.schnet.num_filters) are named with their new place, all in one line; in a section
    open to subsections (model: an encoder's section per encoder) an unknown key that is not a
    mapping is an unknown setting."""
    props = schema.get("properties", {})
    if not isinstance(value, dict) or not props:
        return
    where = ".".join(path)
    unknown = [k for k in value if k not in props]
    moved = [(k, sub) for k in unknown for sub, s in props.items()
             if k in s.get("properties", {}) and s.get("type") == "object"]
    if moved:
        raise ConfigError("; ".join(f"{where}.{k} moved to {where}.{sub}.{k}" for k, sub in moved))
    if isinstance(schema.get("additionalProperties"), dict):
        for key in unknown:
            if not isinstance(value[key], dict):
                message = _unknown_key_message(where, key, list(props))
                inner = {k: f"{sub}.{k}" for sub, s in props.items()
                         for k in s.get("properties", {})}
                close = difflib.get_close_matches(str(key), list(inner), n=1)
                if "did you mean" not in message and close:  # a subsection's key, misspelt
                    message += f" (did you mean {where}.{inner[close[0]]}?)"
                raise ConfigError(message)
    for key, sub in props.items():
        if key in value:
            _check_keys(value[key], sub, (*path, key))


def validate(value: Any, path: tuple[str, ...] = ()) -> Any:
    """Fill defaults into `value` (the config, or the section at `path`) and validate it.

    Raises ConfigError with one short line for the first problem found."""
    import jsonschema

    schema = _subschema(path)
    if value is None and schema.get("type") == "object":
        value = {}
    _check_keys(value, schema, path)
    fill_defaults(value, schema)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(value), key=lambda e: (list(e.absolute_path), e.validator))
    if errors:
        raise ConfigError(_message(errors[0], path))
    return value


def section(name: str, values: dict | None = None) -> dict:
    """One top-level config section: a copy of `values` with the schema's defaults, validated."""
    return validate(copy.deepcopy(dict(values or {})) if values is not None else {}, (name,))


def check_workflow_config(config: dict) -> dict:
    """What the Snakefile calls: type the --config strings, fill defaults, validate (mutates)."""
    from esm_schnet.core.config import coerce_overrides

    coerce_overrides(config, _schema())
    return validate(config)


def _from_section(cls, name: str, values: dict | None):
    data = section(name, values)
    return cls(**{f.name: data[f.name] for f in fields(cls)})


@dataclass(frozen=True)
class GraphSettings:
    """The `graph:` section: radius of the C-alpha graph and optional neighbour cap."""

    cutoff: float
    max_neighbors: int | None

    @classmethod
    def from_dict(cls, values: dict | None) -> "GraphSettings":
        return _from_section(cls, "graph", values)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TrainingSettings:
    """The `training:` section (optimiser, schedule, early stopping, seed, device)."""

    epochs: int
    lr: float
    lr_schedule: str
    warmup_epochs: int
    grad_clip: float | None
    linear_init: str
    linear_lr_scale: float
    batch_size: int
    weight_decay: float
    val_fraction: float
    min_val_proteins: int
    patience: int
    seed: int
    device: str

    def __post_init__(self) -> None:
        if self.linear_init == "zero" and self.linear_lr_scale == 0:
            raise ConfigError("training.linear_lr_scale: 0 keeps model.linear's term at its start, "
                              "and with linear_init zero that is 0; set it above 0")

    @classmethod
    def from_dict(cls, values: dict | None) -> "TrainingSettings":
        return _from_section(cls, "training", values)

    def as_dict(self) -> dict:
        return asdict(self)


def default(dotted: str) -> Any:
    """The schema default of one setting, e.g. default("embedding.window")."""
    return copy.deepcopy(_subschema(tuple(dotted.split(".")))["default"])


def config_markdown() -> str:
    """workflow/schemas/config.md: every key of the schema with its type, default and
    description (`python -m esm_schnet.core.settings > workflow/schemas/config.md`; a test keeps the
    committed file equal to this)."""
    head = [
        "# Configuration keys",
        "",
        "Every key of `config.yaml`, from the config schema that ships inside the package",
        "(`src/esm_schnet/core/schemas/config.schema.yaml`, the one source of truth: defaults and descriptions",
        "come from there; an unknown key is an error). Override any key with `--config`, e.g.",
        "`snakemake --cores 2 --config samples=my.tsv 'training={epochs: 200}'`.",
        "",
        "| key | type | default | description |",
        "|---|---|---|---|",
    ]
    rows: list[str] = []

    def walk(props: dict, prefix: str) -> None:
        for key, sub in props.items():
            name = f"{prefix}{key}"
            types = sub.get("type", "")
            kind = "/".join(types) if isinstance(types, list) else str(types)
            if "enum" in sub:
                kind += f" ({', '.join(map(str, sub['enum']))})"
            default = ("" if kind == "object" else f"`{sub['default']}`" if "default" in sub
                       else "(required)")
            text = " ".join(str(sub.get("description", "")).split())
            rows.append(f"| `{name}` | {kind} | {default} | {text} |")
            if "properties" in sub:
                walk(sub["properties"], name + ".")
            other = sub.get("additionalProperties")
            if isinstance(other, dict):  # open to sections of other names (model.<encoder>)
                text = " ".join(str(other.get("description", "")).split())
                rows.append(f"| `{name}.<name>` | {other.get('type', '')} |  | {text} |")
            for option in sub.get("items", {}).get("anyOf", []):  # a list of mappings
                if "properties" in option:
                    walk(option["properties"], name + "[].")

    walk(load_schema()["properties"], "")
    return "\n".join(head + rows) + "\n"


if __name__ == "__main__":
    print(config_markdown(), end="")
