"""`model.node_features`: structural descriptors appended to each residue's embedding.

The parse stage stores per-residue descriptors in every structure file (the `descriptors`
dataset, columns `esm_schnet.parse.descriptors.COLUMNS`, documented there). This module is the
one place that says which columns a group name means and how they enter the model; training
(esm_schnet.train.job, esm_schnet.train.dataset) and prediction (esm_schnet.prediction) both
build a residue's features with `node_inputs`, so they cannot differ.

Groups (`GROUPS`), always appended in this order whatever the order of the setting, each with
its mask column where the descriptor can be missing (a missing value is 0 and its mask 0, so
the model can tell "missing" from "0"):

- ``rsa``: relative solvent accessibility, ``rsa_ok``                        (2 columns)
- ``dihedrals``: sin/cos of phi and psi, ``phi_ok``, ``psi_ok``              (6)
- ``ss``: 3-state secondary structure one-hot H/E/C, ``ss_ok``                (4)
- ``neighbours``: C-alpha counts within 8 and 12 A (defined everywhere)       (2)
- ``hse``: half-sphere exposure up/down, ``hse_ok``                           (3)

Counts (``cn8``, ``cn12``, ``hse_up``, ``hse_down``; typically 5-40) are divided by
`COUNT_SCALE` so every column is of order 1 like the embeddings; the rest enter as stored.
The columns follow the embedding: x = [embedding | node features], `in_channels` = embedding
width + `width(groups)`; the model file records the groups (ModelConfig.node_features).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from esm_schnet.core.errors import ConfigError, EsmSchnetError

GROUPS: dict[str, tuple[str, ...]] = {
    "rsa": ("rsa", "rsa_ok"),
    "dihedrals": ("phi_sin", "phi_cos", "psi_sin", "psi_cos", "phi_ok", "psi_ok"),
    "ss": ("ss_H", "ss_E", "ss_C", "ss_ok"),
    "neighbours": ("cn8", "cn12"),
    "hse": ("hse_up", "hse_down", "hse_ok"),
}
COUNT_SCALE = 20.0
COUNTS = ("cn8", "cn12", "hse_up", "hse_down")


def normalise(groups) -> list[str]:
    """The group names in `GROUPS` order (the setting's order does not matter); an unknown or
    repeated name is a ConfigError."""
    groups = list(groups or ())
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        raise ConfigError(f"model.node_features: unknown group(s) {unknown}; known: "
                          f"{list(GROUPS)}")
    if len(set(groups)) != len(groups):
        raise ConfigError(f"model.node_features: a group is named twice in {groups}")
    return [g for g in GROUPS if g in groups]


def columns(groups) -> tuple[str, ...]:
    """The descriptor columns of `groups`, in the order they are appended."""
    return tuple(c for g in normalise(groups) for c in GROUPS[g])


def width(groups) -> int:
    """How many columns `groups` append to the embedding."""
    return len(columns(groups))


def select(descriptors: np.ndarray, groups) -> np.ndarray:
    """[L, width] float32: the columns of `groups` from a full descriptor array [L, C] (columns
    esm_schnet.parse.descriptors.COLUMNS), counts divided by COUNT_SCALE."""
    from esm_schnet.parse.descriptors import COLUMNS

    names = columns(groups)
    d = np.asarray(descriptors, dtype=np.float32).reshape(-1, len(COLUMNS))
    out = d[:, [COLUMNS.index(c) for c in names]].copy()
    for j, c in enumerate(names):
        if c in COUNTS:
            out[:, j] /= np.float32(COUNT_SCALE)
    return out


def stale_file(where, groups) -> str:
    """The one line for a structure file written before descriptors (schema 1)."""
    return (f"{where}: written before structural descriptors (schema 1), but model.node_features "
            f"{normalise(groups)} needs them: parse it again (e.g. snakemake --forcerun parse)")


def node_features(pid: str, descriptors, groups, n_residues: int, where=None) -> np.ndarray:
    """[L, width] float32 features of one protein from its full descriptor array (None: a file
    without descriptors, EsmSchnetError saying to parse again), checked against its residue
    count and for finite values."""
    if descriptors is None:
        raise EsmSchnetError(stale_file(where or f"protein {pid!r}", groups))
    feats = select(descriptors, groups)
    if len(feats) != n_residues:
        raise EsmSchnetError(
            f"protein {pid!r}: its structure file has {len(feats)} residues, its embedding "
            f"{n_residues} (parsed again after embedding? rerun parse and embed)")
    if not np.isfinite(feats).all():
        raise EsmSchnetError(f"protein {pid!r}: its structural descriptors contain NaN or Inf")
    return feats


def node_inputs(embedding, feats: np.ndarray | None) -> np.ndarray:
    """[L, D + width] float32: the embedding (converted to float32) and the node features after
    it; the embedding alone (as float32) when `feats` is None or has no column."""
    emb = np.asarray(embedding, dtype=np.float32)
    if feats is None or feats.shape[1] == 0:
        return emb
    return np.concatenate([emb, np.asarray(feats, np.float32)], axis=1)


class StructureDescriptors:
    """A job's source of node features: id -> [L, width], read from its structure file
    (results/structures/<id>.h5, found among `paths` by name) when asked, nothing kept."""

    def __init__(self, paths, groups):
        self.groups = normalise(groups)
        self.width = width(self.groups)
        self.paths = {Path(p).name[: -len(".h5")]: Path(p) for p in paths
                      if Path(p).name.endswith(".h5")}

    def __call__(self, pid: str, n_residues: int) -> np.ndarray:
        from esm_schnet.parse.h5 import read_structure_h5

        path = self.paths.get(pid)
        if path is None:
            raise EsmSchnetError(f"protein {pid!r}: model.node_features {self.groups} needs its "
                                 "parsed structure file, which was not given")
        return node_features(pid, read_structure_h5(path).descriptors, self.groups, n_residues,
                             where=path)


def descriptor_source(paths, groups) -> StructureDescriptors | None:
    """A StructureDescriptors, or None when `groups` is empty (the embedding alone); a
    ConfigError when groups are set but no structure file is given."""
    if not normalise(groups):
        return None
    if not paths:
        raise ConfigError(f"model.node_features {normalise(groups)} needs the parsed structures "
                          "(--structures or --structures-from results/structures/<id>.h5)")
    return StructureDescriptors(paths, groups)
