"""mkdocs hook: the configuration reference, rendered from the config schema at build time.

`docs/configuration.md` holds the prose and the marker `<!-- config-reference -->`; this hook
replaces the marker with one section per top-level key of
`src/esm_schnet/core/schemas/config.schema.yaml` (the single source of every setting, its default and
its description), each a table of dotted key, type, default and description. Nothing generated
is committed, so the page cannot fall behind the schema. `workflow/schemas/config.md` is the same
information as one flat table (`python -m esm_schnet.core.settings`; a test keeps it equal).
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

MARKER = "<!-- config-reference -->"
SCHEMA = Path("src") / "esm_schnet" / "core" / "schemas" / "config.schema.yaml"
PAGE = "configuration.md"


def _default(sub: dict) -> str:
    if "default" not in sub:
        return "" if sub.get("type") == "object" else "(required)"
    value = sub["default"]
    if value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = value if value else '""'
    else:
        text = json.dumps(value)
    return f"`{text}`"


def _type(sub: dict) -> str:
    types = sub.get("type")
    if types is None and "items" not in sub:
        return ""
    kind = " or ".join(types) if isinstance(types, list) else str(types)
    if "enum" in sub:
        kind += ": " + ", ".join(f"`{json.dumps(v) if v is None else v}`" for v in sub["enum"])
    return kind


def _cell(text) -> str:
    return " ".join(str(text or "").split()).replace("|", "\\|")


def _rows(props: dict, prefix: str):
    """(dotted key, schema) for every key under `props`, depth first, in schema order."""
    for key, sub in props.items():
        name = f"{prefix}{key}"
        yield name, sub
        yield from _rows(sub.get("properties", {}), name + ".")
        other = sub.get("additionalProperties")
        if isinstance(other, dict):  # open to sections of other names (model.<encoder>)
            yield f"{name}.<name>", other
        for option in sub.get("items", {}).get("anyOf", []):  # a list of mappings
            yield from _rows(option.get("properties", {}), name + "[].")


def keys(schema: dict) -> list[str]:
    """Every dotted key of the schema (what the page must list)."""
    return [name for name, _ in _rows(schema["properties"], "")]


def _table(rows) -> list[str]:
    out = ["| key | type | default | description |", "|---|---|---|---|"]
    for name, sub in rows:
        out.append(f"| `{name}` | {_cell(_type(sub))} | {_default(sub)} | {_cell(sub.get('description'))} |")
    return out


def render(schema: dict) -> str:
    props = schema["properties"]
    top = [(k, v) for k, v in props.items() if "properties" not in v]
    lines = ["## Top-level keys", ""]
    lines += _table(row for k, v in top for row in _rows({k: v}, ""))
    for key, sub in props.items():
        if "properties" not in sub:
            continue
        lines += ["", f"## `{key}`", ""]
        if sub.get("description"):
            lines += [" ".join(str(sub["description"]).split()), ""]
        rows = list(_rows(sub["properties"], key + "."))
        if isinstance(sub.get("additionalProperties"), dict):  # model.<name>: another encoder's
            rows.append((f"{key}.<name>", sub["additionalProperties"]))
        lines += _table(rows)
    return "\n".join(lines) + "\n"


def load(root: Path) -> dict:
    return yaml.safe_load((root / SCHEMA).read_text())


def on_page_markdown(markdown: str, page, config, files) -> str:
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        raise ValueError(f"{PAGE}: the marker {MARKER} is missing")
    root = Path(config["config_file_path"]).resolve().parent
    return markdown.replace(MARKER, render(load(root)))
