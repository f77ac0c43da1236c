"""`esm-schnet inspect FILE [--json]`: summarise an HDF5 file the workflow wrote.

Files carry a root attribute ``kind``: ``structure`` (results/structures/<id>.h5, written by
esm_schnet.parse) or ``embeddings`` (shards, esm_schnet.core.store). `SUMMARISERS` maps each kind
to a function ``(h5py.File, Path) -> dict`` returning a JSON-able summary and `FORMATTERS` to a
text formatter (default `format_text`); `register(kind, summariser, formatter)` adds a kind.
Summarisers import their modules lazily, so `inspect` never imports torch.

The generic text output prints scalar fields as ``key: value`` lines, then each list of dicts
(``chains``, ``proteins``, ...) as an aligned table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Callable

from esm_schnet.core.errors import EsmSchnetError

Summariser = Callable[["object", Path], dict]
SUMMARISERS: dict[str, Summariser] = {}
FORMATTERS: dict[str, Callable[[dict], str]] = {}


def register(kind: str, func: Summariser, formatter: Callable[[dict], str] | None = None):
    SUMMARISERS[kind] = func
    if formatter is not None:
        FORMATTERS[kind] = formatter
    return func


def _s(value):
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        return value.item()
    return value


def summarise_structure(h5, path: Path) -> dict:
    """Summary of a results/structures/<id>.h5 file (see esm_schnet.parse)."""
    from esm_schnet.parse import read_structure_h5

    protein = read_structure_h5(path)
    a = h5.attrs
    chains = []
    for c in protein.chains:
        first = f"{int(c.residue_number[0])}{c.insertion_code[0]}" if c.n_residues else ""
        last = f"{int(c.residue_number[-1])}{c.insertion_code[-1]}" if c.n_residues else ""
        chains.append(
            {
                "name": c.name,
                "segment": c.segment,
                "n_residues": c.n_residues,
                "first": first,
                "last": last,
                "sequence": c.sequence,
            }
        )
    return {
        "file": str(path),
        "kind": "structure",
        "schema_version": int(_s(a["schema_version"])),
        "esm_schnet_version": _s(a.get("esm_schnet_version", "")),
        "id": protein.id,
        "status": protein.status,
        "error": protein.error,
        "format": protein.format,
        "source": protein.source,
        "n_chains": len(protein.chains),
        "n_residues": protein.n_residues,
        "chains": chains,
        "qc": protein.qc,
    }


register("structure", summarise_structure)


def summarise_embeddings(h5, path: Path) -> dict:
    """Summary of an embedding shard (esm_schnet.core.store.summarize_shard)."""
    from esm_schnet.core.store import summarize_shard

    return summarize_shard(path)


def _format_embeddings(summary: dict) -> str:
    from esm_schnet.core.store import format_shard_summary

    return format_shard_summary(summary)


register("embeddings", summarise_embeddings, _format_embeddings)


def summarise(path: str | Path) -> dict:
    """Summary dict of any HDF5 file the workflow writes (dispatch on the root attr `kind`)."""
    from esm_schnet.core.files import open_h5

    path = Path(path)
    # a missing file, a file that is no HDF5 (a model.pt, a TSV: named for what it is) and a
    # damaged HDF5 file (CorruptFileError) are told apart by files.open_h5
    h5 = open_h5(path, None)
    with h5:
        kind = _s(h5.attrs.get("kind", ""))
        func = SUMMARISERS.get(kind)
        if func is None:
            known = ", ".join(sorted(SUMMARISERS))
            raise EsmSchnetError(
                f"{path}: unknown kind of HDF5 file (attr kind={kind!r}; known: {known})"
            )
        return func(h5, path)


def _table(rows: list[dict], max_width: int = 60) -> list[str]:
    cols = list(rows[0])
    cells = [[_cell(r.get(c), max_width) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    out = ["  " + "  ".join(c.ljust(w) for c, w in zip(cols, widths)).rstrip()]
    for row in cells:
        out.append("  " + "  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
    return out


def _cell(value, max_width: int) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= max_width else text[: max_width - 3] + "..."


def format_text(summary: dict) -> str:
    lines = []
    tables = []
    for key, value in summary.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            tables.append((key, value))
        elif isinstance(value, dict):
            inner = ", ".join(f"{k}={v}" for k, v in value.items() if v not in ("", None))
            lines.append(f"{key}: {inner}")
        elif isinstance(value, list):
            lines.append(f"{key}: {', '.join(map(str, value)) if value else '(none)'}")
        else:
            lines.append(f"{key}: {'' if value is None else value}")
    for key, rows in tables:
        lines.append(f"{key} ({len(rows)}):")
        lines.extend(_table(rows))
    return "\n".join(lines)


def cli(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(
        prog="esm-schnet inspect",
        description="Summarise an HDF5 file the workflow wrote (structure or embedding shard).",
    )
    ap.add_argument("file", help="results/structures/<id>.h5 or an embedding shard")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = ap.parse_args(argv)
    summary = summarise(args.file)
    if args.json:
        text = json.dumps(summary, indent=2, default=str)
    else:
        text = FORMATTERS.get(summary.get("kind", ""), format_text)(summary)
    try:
        print(text, flush=True)
    except BrokenPipeError:  # `esm-schnet inspect f.h5 | head`: the reader left; not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0
