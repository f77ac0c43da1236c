"""Reading structure text: gzip by magic bytes, refusal of binary / other compression /
oversized / UTF-16 input, and format sniffing (PDB or mmCIF) from the content.

Format by content: gzip is recognised by its magic bytes (whatever the extension), mmCIF by a
leading ``data_`` block or ``_atom_site.`` items, PDB by ATOM/HETATM records. The extension only
breaks ties and names the expected format in error messages. Files are sniffed from their first
bytes before being read whole.
"""

from __future__ import annotations

import gzip
import io
import zlib
from pathlib import Path

from esm_schnet.core.errors import InputError

#: Largest (decompressed) structure file read, in bytes. Larger input is refused, not read.
MAX_BYTES = 1 << 30
SNIFF_BYTES = 1 << 16


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (its type name when empty)."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__



def _is_binary(head: bytes) -> bool:
    if not head:
        return False
    if b"\x00" in head:
        return True
    text_bytes = set(range(32, 127)) | {9, 10, 12, 13}
    nontext = sum(1 for b in head if b not in text_bytes)
    return nontext / len(head) > 0.10


_OTHER_COMPRESSION = {
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"PK\x03\x04": "zip",
    b"\x28\xb5\x2f\xfd": "zstd",
}


def read_structure_text(path: str | Path, sample_id: str) -> tuple[str, bool]:
    """Return (text, was_gzipped). Sniffs the first bytes; refuses binary and oversized input."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except FileNotFoundError:
        raise InputError(sample_id, f"structure file not found: {path}") from None
    except IsADirectoryError:
        raise InputError(sample_id, f"structure path is a directory: {path}") from None
    except OSError as exc:
        raise InputError(sample_id, f"cannot read {path}: {exc.strerror or exc}") from None
    if not head:
        raise InputError(sample_id, f"empty file: {path.name}")
    gz = head[:2] == b"\x1f\x8b"
    if gz:
        data = _gunzip(path, sample_id)
        if not data.strip():
            raise InputError(sample_id, f"empty file after decompression: {path.name}")
        head = data[:SNIFF_BYTES]
    else:
        for magic, name in _OTHER_COMPRESSION.items():
            if head.startswith(magic):
                raise InputError(
                    sample_id, f"{path.name} is {name}-compressed; only gzip (.gz) is supported"
                )
        if path.stat().st_size > MAX_BYTES:
            raise InputError(sample_id, f"{path.name} is larger than {MAX_BYTES >> 20} MiB")
        data = None
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(
            sample_id, f"{path.name} is UTF-16 text; save it as plain ASCII/UTF-8 text"
        )
    if _is_binary(head):
        raise InputError(sample_id, f"binary file, not PDB or mmCIF text: {path.name}")
    if data is None:
        with open(path, "rb") as fh:
            data = fh.read()
    if data.startswith(b"\xef\xbb\xbf"):  # UTF-8 byte-order mark: not part of the first record
        data = data[3:]
    if not data.strip():
        raise InputError(sample_id, f"empty file (only whitespace): {path.name}")
    # latin-1 maps every byte to one character, so PDB columns never shift.
    return data.decode("latin-1"), gz


def _gunzip(path: Path, sample_id: str) -> bytes:
    out = bytearray()
    sniffed = False
    try:
        with gzip.open(path, "rb") as fh:
            while True:
                chunk = fh.read(1 << 20)
                if not chunk:
                    break
                out += chunk
                if len(out) > MAX_BYTES:
                    raise InputError(
                        sample_id,
                        f"{path.name} decompresses to more than {MAX_BYTES >> 20} MiB",
                    )
                if not sniffed:
                    sniffed = True
                    if _is_binary(bytes(out[:SNIFF_BYTES])):
                        raise InputError(
                            sample_id, f"binary content inside gzip, not PDB or mmCIF: {path.name}"
                        )
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(sample_id, f"unreadable gzip file {path.name}: {exc}") from None
    return bytes(out)


def sniff_format(text: str, path: str | Path) -> str | None:
    """'pdb', 'mmcif' or None (neither) from the content; the extension breaks ties."""
    name = str(path).lower()
    if name.endswith(".gz"):
        name = name[:-3]
    hint = "mmcif" if name.endswith((".cif", ".mmcif")) else (
        "pdb" if name.endswith((".pdb", ".ent")) else None
    )
    first = ""
    for line in io.StringIO(text[:SNIFF_BYTES]):
        s = line.strip()
        if s and not s.startswith("#"):
            first = s
            break
    is_cif = first.startswith("data_") or "\n_atom_site." in text or text.startswith("_atom_site.")
    is_pdb = False
    for line in io.StringIO(text):
        if line.startswith(("ATOM  ", "HETATM")) or line.rstrip("\r\n") in ("ATOM", "HETATM"):
            is_pdb = True
            break
    if is_cif and is_pdb:
        return hint or "mmcif"
    if is_cif:
        return "mmcif"
    if is_pdb:
        return "pdb"
    return None

