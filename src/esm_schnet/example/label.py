"""The label: a documented function of sequence and C-alpha geometry (plus noise)."""

from __future__ import annotations

import math

import numpy as np

from esm_schnet.example.geometry import HYDROPHOBIC


def radius_of_gyration(ca: np.ndarray) -> float:
    ca = np.asarray(ca, dtype=float)
    return float(np.sqrt(((ca - ca.mean(0)) ** 2).sum(1).mean()))


def contact_count(ca: np.ndarray, chain_index: np.ndarray, cutoff: float = 8.0) -> int:
    """C-alpha pairs closer than `cutoff`, not near in sequence (|i-j| >= 3, or another chain)."""
    ca = np.asarray(ca, dtype=float)
    chain_index = np.asarray(chain_index)
    idx = np.arange(len(ca))
    d = np.linalg.norm(ca[:, None] - ca[None], axis=-1)
    same = chain_index[:, None] == chain_index[None]
    far = ~same | (np.abs(idx[:, None] - idx[None]) >= 3)
    upper = idx[:, None] < idx[None]
    return int(((d < cutoff) & far & upper).sum())


def packing_stats(ca: np.ndarray, chain_index: np.ndarray) -> dict[str, float]:
    """Compactness figures of one protein: Rg / (2.2 N^0.38), non-local C-alpha neighbours
    within 8 A per residue, and the closest non-local C-alpha pair (A)."""
    ca = np.asarray(ca, dtype=float)
    chain_index = np.asarray(chain_index)
    n = len(ca)
    idx = np.arange(n)
    d = np.linalg.norm(ca[:, None] - ca[None], axis=-1)
    far = (chain_index[:, None] != chain_index[None]) | (np.abs(idx[:, None] - idx[None]) >= 3)
    return {
        "rg_ratio": radius_of_gyration(ca) / (2.2 * n**0.38),
        "neighbours_8A": float(((d < 8.0) & far).sum() / n),
        "min_ca_ca": float(d[far].min()) if far.any() else math.inf,
    }


W_COMPOSITION, W_CONTACT, W_RG, NOISE_SD = 1.0, 0.1, 1.5, 1.0
CHARGED = frozenset("DEKR")
LABEL_FORMULA = (
    f"label = {W_COMPOSITION} * (H - Q) + {W_CONTACT} * C + {W_RG} * Rg + e,"
    f"  e ~ Normal(0, {NOISE_SD})"
)


def label_of(sequence: str, ca: np.ndarray, chain_index: np.ndarray, noise: float = 0.0) -> float:
    """The example's label: its noise-free part (noise=0) plus `noise`.

    H  = residues in AVILMFWY (selenomethionine counts as M), all chains ('/' and X ignored);
    Q  = charged residues D, E, K, R;
    C  = `contact_count` (C-alpha pairs within 8 A, not near in sequence);
    Rg = radius of gyration of all C-alpha atoms, in Angstrom.
    """
    h = sum(1 for aa in sequence if aa in HYDROPHOBIC)
    q = sum(1 for aa in sequence if aa in CHARGED)
    c = contact_count(ca, chain_index)
    return W_COMPOSITION * (h - q) + W_CONTACT * c + W_RG * radius_of_gyration(ca) + noise


