"""Configuration helpers used by the Snakefile before it validates the config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def _types(schema: dict) -> list[str]:
    t = schema.get("type", [])
    return [t] if isinstance(t, str) else list(t)


def coerce_overrides(config: dict, schema: dict | str | Path) -> dict:
    """Give typed values to strings that came from the command line.

    `snakemake --config 'training={epochs: 3, lr: 0.002}'` hands nested values over as strings
    ('3', '0.002'). Where the schema says a key is a number, integer, boolean or null, a string
    value is read as YAML (so '3' -> 3, 'true' -> True, 'null' -> None); anything that does not
    parse to a non-string stays as it is and the schema validation then names the key.
    Mutates and returns `config`.
    """
    if not isinstance(schema, dict):
        with open(schema, encoding="utf-8") as fh:
            schema = yaml.safe_load(fh)
    for key, sub in schema.get("properties", {}).items():
        if key not in config:
            continue
        value = config[key]
        types = _types(sub)
        if isinstance(value, dict) and "object" in types:
            coerce_overrides(value, sub)
        elif isinstance(value, str) and "string" not in types and types:
            try:
                parsed: Any = yaml.safe_load(value)
            except yaml.YAMLError:
                continue
            if not isinstance(parsed, str):
                config[key] = parsed
    return config
