"""Atomic file writes and the one way to open a workflow HDF5 file.

Every output of the workflow is written to a temporary name in the same directory and renamed
into place, so a killed job never leaves a half-written file under the final name (Snakemake
then sees it as missing and reruns the job). `atomic_path` is the primitive; the writers for
text, TSV, JSON, torch payloads and HDF5 files are built on it.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from esm_schnet.core.errors import CorruptFileError, EsmSchnetError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it to `path`, else remove it.

    The suffix of `path` is kept (writers such as matplotlib pick the format from it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes(path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_json(path, obj, *, sort_keys: bool = True) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=sort_keys, default=str) + "\n")


def format_cell(value) -> str:
    """A TSV cell: floats at full precision (repr), NaN as `nan`, None as empty, tabs removed."""
    if value is None:
        return ""
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)
    return " ".join(str(value).replace("\t", " ").splitlines())


def write_tsv(path, columns: Sequence[str], rows: Iterable[Mapping]) -> None:
    """A TSV with a header line and one line per row (missing keys are an error)."""
    lines = ["\t".join(columns)]
    lines += ["\t".join(format_cell(r[c]) for c in columns) for r in rows]
    write_text(path, "\n".join(lines) + "\n")


def write_torch(path, payload) -> None:
    import torch

    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


@contextlib.contextmanager
def write_h5(path) -> Iterator:
    """`with write_h5(path) as h5:` an h5py.File open for writing under a temporary name."""
    import h5py

    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as h5:
            yield h5


def attr_str(value) -> str:
    """An HDF5 attribute as str (h5py returns bytes or numpy strings for some writers)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def first_line(exc: BaseException, limit: int = 200) -> str:
    """An exception's message folded onto one line, at most `limit` characters (its type name
    when empty)."""
    text = " ".join(str(exc).split())
    return (text or type(exc).__name__)[:limit]


def open_h5(path, kind: str | None = None, *, what: str | None = None,
            missing: str | None = None, own_output: bool = False):
    """Open a workflow HDF5 file for reading and check its root attribute `kind`.

    Returns the open h5py.File (use it as a context manager). `what` names the file in messages
    (default "<kind> file"). A missing file raises EsmSchnetError (`missing`, if given, is the
    hint). A file HDF5 cannot read raises CorruptFileError; so does a file that is not HDF5 at
    all when `own_output` (a path only the workflow writes: garbage there means damage), while
    otherwise that says what the file looks like. A readable file of another kind raises
    EsmSchnetError naming the kind it has. With kind=None any kind is accepted (the caller
    dispatches on it).
    """
    import h5py

    path = Path(path)
    what = what or (f"{kind} file" if kind else "file")
    if not path.is_file():
        hint = f" ({missing})" if missing else ""
        raise EsmSchnetError(f"{path}: no such {what}{hint}")
    if own_output and not is_hdf5(path):
        raise CorruptFileError(path, f"not HDF5: {describe_file(path)}")
    try:
        h5 = h5py.File(path, "r")
    except OSError as exc:
        if not is_hdf5(path):
            raise EsmSchnetError(f"{path} is not an HDF5 file ({describe_file(path)})") from None
        raise CorruptFileError(path, first_line(exc)) from None
    found = attr_str(h5.attrs.get("kind", ""))
    if kind is not None and found != kind:
        h5.close()
        article = "an" if what[:1].lower() in "aeiou" else "a"
        raise EsmSchnetError(f"{path} is not {article} {what} (kind={found!r})")
    return h5


HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def is_hdf5(path) -> bool:
    """True when the file starts with the HDF5 signature (at offset 0, as h5py writes it)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(8) == HDF5_SIGNATURE
    except OSError:
        return False


def describe_file(path) -> str:
    """What a non-HDF5 file looks like, from its first bytes (for error messages)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except OSError as exc:
        return first_line(exc)
    if not head:
        return "empty file"
    if head.startswith(b"PK\x03\x04"):
        return "a zip archive, e.g. a torch model.pt"
    if head.startswith(b"\x1f\x8b"):
        return "a gzip file"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "binary data"
    if "\t" in text.splitlines()[0]:
        return "a tab-separated text table"
    if text.lstrip().startswith(("{", "[")):
        return "JSON text"
    return "a text file"
