"""The sample table: reading, validation (every problem with its line and column), sharding."""

from __future__ import annotations

import csv
import hashlib
import math
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from esm_schnet.core.errors import SampleTableError

# The first character is a letter or digit: an id becomes part of file names and command-line
# arguments, where a leading "-" reads as an option and a leading "." hides the file.
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
REQUIRED = ("id", "structure")
OPTIONAL = ("label", "group")
COLUMNS = REQUIRED + OPTIONAL  # besides the label columns that `labels:` names


@dataclass(frozen=True)
class Sample:
    id: str
    structure: Path
    label: float | None
    group: str | None


def shard_of(sample_id: str, n_shards: int) -> int:
    """Stable shard of an id: sha256 of the id modulo the number of shards."""
    digest = hashlib.sha256(sample_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % n_shards


def ids_by_shard(ids, n_shards: int) -> dict[int, list[str]]:
    """Every shard number (0 .. n_shards-1, empty ones too) -> its ids, in the order given.

    One hash per id: the workflow builds this once instead of scanning every id per shard job.
    """
    out: dict[int, list[str]] = {s: [] for s in range(n_shards)}
    for sid in ids:
        out[shard_of(sid, n_shards)].append(sid)
    return out


def _check_id(value: str) -> str | None:
    if value == "":
        return "empty id"
    if value in {".", ".."} or not ID_PATTERN.match(value):
        return (
            f"id {value!r} is not file-name safe (allowed: letters, digits, '.', '_', '-'; "
            "the first a letter or digit)"
        )
    return None


def read_sample_table(path: str | Path, require_labels: bool = True, labels=None) -> pd.DataFrame:
    """Read and validate a sample table.

    `labels`: LabelSpecs (esm_schnet.core.labels.parse_labels; None: the schema default, the
    single column `label`). Returns a DataFrame indexed by id with columns structure (absolute path as
    str), one column per label (regression: float, NaN where empty; classification: the class
    text, None where empty), group (str or None) and line, in file order; `df.attrs["labels"]`
    holds the LabelSpecs with the classes found (LabelSpecs given with classes keep theirs).
    With `require_labels` every label column must be present, every row needs at least one
    label, every label at least one labelled row, and a column must be learnable by its task
    (classification: two classes, not more than esm_schnet.tasks.classification.MAX_CLASSES).
    Raises SampleTableError listing every problem, each with its line and column.
    """
    from esm_schnet.core.labels import LabelSpec, parse_labels, with_classes
    from esm_schnet.tasks import task_of

    specs = parse_labels(None) if labels is None else list(labels)
    if not all(isinstance(s, LabelSpec) for s in specs):
        raise TypeError("read_sample_table: labels must be LabelSpecs (parse_labels)")
    label_names = [s.name for s in specs]
    columns = REQUIRED + tuple(dict.fromkeys(("label", *label_names))) + ("group",)
    path = Path(path)
    if not path.is_file():
        raise SampleTableError(path, [f"file not found: {path}"])
    base = path.resolve().parent
    try:
        # utf-8-sig: a byte-order mark (spreadsheet exports) is not part of the first column name
        with open(path, newline="", encoding="utf-8-sig") as fh:
            lines = fh.read().splitlines()
    except UnicodeDecodeError as exc:
        raise SampleTableError(
            path, [f"not UTF-8 text (byte {exc.start}: {exc.reason}); save the table as UTF-8"]
        ) from None
    # Keep line numbers: skip blank lines and '#' comments but remember where rows came from.
    rows: list[tuple[int, list[str]]] = []
    for lineno, raw in enumerate(lines, start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        rows.append((lineno, next(csv.reader([raw], delimiter="\t"))))
    if not rows:
        raise SampleTableError(path, ["the table is empty (no header, no samples)"])
    header_line, header = rows[0]
    header = [h.strip() for h in header]
    problems: list[str] = []
    unknown = [h for h in header if h not in columns]
    if unknown:
        problems.append(
            f"line {header_line}: unknown column(s) {', '.join(map(repr, unknown))} "
            f"(allowed: {', '.join(columns)}; more label columns: the labels setting)"
        )
    required = REQUIRED + (tuple(label_names) if require_labels else ())
    missing = [c for c in required if c not in header]
    if missing:
        problems.append(f"line {header_line}: missing column(s) {', '.join(map(repr, missing))}")
    dup_cols = sorted({h for h in header if header.count(h) > 1})
    if dup_cols:
        problems.append(f"line {header_line}: duplicate column(s) {', '.join(dup_cols)}")
    if problems:
        raise SampleTableError(path, problems)
    data = rows[1:]
    if not data:
        raise SampleTableError(path, ["the table has a header but no samples"])

    col = {name: header.index(name) for name in header}
    seen: dict[str, int] = {}
    seen_folded: dict[str, tuple[str, int]] = {}
    records = []
    for lineno, fields in data:
        if len(fields) != len(header):
            problems.append(
                f"line {lineno}: {len(fields)} fields, expected {len(header)} (tab-separated)"
            )
            continue

        def get(name: str) -> str | None:
            return fields[col[name]].strip() if name in col else None

        sid = get("id")
        reason = _check_id(sid)
        if reason:
            problems.append(f"line {lineno}, column 'id': {reason}")
        elif sid in seen:
            problems.append(
                f"line {lineno}, column 'id': duplicate id {sid!r} (first on line {seen[sid]})"
            )
        elif sid.lower() in seen_folded:
            other, other_line = seen_folded[sid.lower()]
            problems.append(
                f"line {lineno}, column 'id': id {sid!r} differs from {other!r} (line "
                f"{other_line}) only by case; their output files would collide on "
                "case-insensitive file systems (macOS, Windows)"
            )
        else:
            seen[sid] = lineno
            seen_folded[sid.lower()] = (sid, lineno)

        structure = get("structure")
        spath = None
        if not structure:
            problems.append(f"line {lineno}, column 'structure': empty path")
        else:
            spath = Path(structure)
            if not spath.is_absolute():
                spath = base / spath
            if not spath.is_file():
                problems.append(
                    f"line {lineno}, column 'structure': file not found: {structure}"
                )

        values, bad_value = {}, False
        for spec in specs:
            value, problem = task_of(spec).read_value(spec, get(spec.name) or "")
            if problem:
                problems.append(f"line {lineno}, column {spec.name!r}: {problem}")
                bad_value = True
            values[spec.name] = value
        if require_labels and not bad_value and all(v is None for v in values.values()):
            which = f"column {label_names[0]!r}" if len(specs) == 1 else (
                f"columns {', '.join(map(repr, label_names))}")
            problems.append(f"line {lineno}, {which}: missing label")
        group = get("group") or None
        records.append(
            {
                "id": sid,
                "structure": str(spath) if spath is not None else "",
                **values,
                "group": group,
                "line": lineno,
            }
        )
    if require_labels and records:
        for spec in specs:
            present = [r[spec.name] for r in records if r[spec.name] is not None]
            if not present and len(specs) > 1:  # (one label: every row said so already)
                problems.append(f"line {header_line}, column {spec.name!r}: no row has this label")
            else:
                why = task_of(spec).column_problem(spec, sorted(set(present)), len(present))
                if why:
                    problems.append(f"line {header_line}, column {spec.name!r}: {why}")
    if problems:
        raise SampleTableError(path, problems)
    df = pd.DataFrame.from_records(records).set_index("id", drop=False)
    # from_records turns None into NaN next to strings; keep the documented None
    df["group"] = pd.Series([r["group"] for r in records], index=df.index, dtype=object)
    for spec in specs:
        if task_of(spec).column_dtype() is float:  # NaN where empty
            df[spec.name] = pd.Series([math.nan if r[spec.name] is None else r[spec.name]
                                       for r in records], index=df.index, dtype=float)
        else:  # None where empty
            df[spec.name] = pd.Series([r[spec.name] for r in records], index=df.index,
                                      dtype=object)
    df.index.name = None
    # the classes are found once, where the run starts (the Snakefile); specs that come with
    # theirs (a job's resolved settings, esm_schnet.core.resolved) keep them
    df.attrs["labels"] = [s if s.classes else found
                          for s, found in zip(specs, with_classes(specs, df))]
    return df
