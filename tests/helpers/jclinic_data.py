"""Where the tests find the jclinic data (../shared/data/jclinic), for the tests that use it and
skip cleanly without it."""

from __future__ import annotations

import functools
import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def jclinic_dir() -> Path | None:
    """`$ESM_SCHNET_JCLINIC` when set and holding pdb/, else `<repo>/../shared/data/jclinic`
    when it does; None without the data."""
    env = os.environ.get("ESM_SCHNET_JCLINIC")
    for c in ([Path(env)] if env else []) + [REPO.parent / "shared" / "data" / "jclinic"]:
        if (c / "pdb").is_dir():
            return c
    return None


@functools.lru_cache(maxsize=None)
def parsed_structure(path: Path, descriptors: bool = True):
    """`parse_structure(path, path.stem)` once per test session: test_jclinic_parse and
    test_writer_corpus read the same 42 jclinic files. Callers must not modify the result."""
    from esm_schnet.parse import parse_structure

    return parse_structure(path, Path(path).stem, descriptors=descriptors)
