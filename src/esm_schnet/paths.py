"""Output path conventions shared by the rules and the package (see DESIGN.md, Contracts)."""

from __future__ import annotations

import re


def model_tag(model: str) -> str:
    """File-name safe directory name for an embedding model id or local path.

    `facebook/esm2_t6_8M_UR50D` -> `facebook--esm2_t6_8M_UR50D`; a plain name such as a
    registered featurizer's (`onehot`) -> itself; a local directory `/x/y/ckpt` -> `local--ckpt`.
    """
    m = model.rstrip("/")
    if m.startswith(("/", ".", "~")):
        tail = m.rsplit("/", 1)[-1] or "model"
        return "local--" + re.sub(r"[^A-Za-z0-9._-]", "_", tail)
    return re.sub(r"[^A-Za-z0-9._-]", "_", m.replace("/", "--"))


def shard_name(shard: int) -> str:
    return f"shard-{shard:03d}.h5"
