"""Output path conventions shared by the rules and the package (see DESIGN.md, Contracts)."""

from __future__ import annotations

import os
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


def job_input_path(path: str) -> str:
    """A user's input file as a job input: relative to the working directory when it lies
    inside it, else absolute.

    Snakemake records each job's input paths, and an absolute one would rerun every job that
    reads it (and all downstream) after the project folder is moved or copied. Absolute when the
    relative path would start with "-" (it would read as an option on a command line).
    """
    rel = os.path.relpath(path)
    outside = rel == ".." or rel.startswith(".." + os.sep)
    return path if outside or rel.startswith("-") else rel
