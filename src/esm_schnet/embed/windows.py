"""Chains longer than the model window: overlapping windows, stitched by centrality.

ESM2 was trained on crops of at most 1022 residues (+ BOS/EOS). A chain of n > `window` residues
is cut into k = ceil((n - window) / (window - overlap)) + 1 windows of exactly `window` residues,
the first starting at residue 0 and the last ending at residue n, the starts spread evenly in
between (so consecutive windows overlap by at least `overlap` residues). Each window is embedded
as a sequence of its own (with its own BOS/EOS), and each residue takes its vector from the window
in which it is most central, i.e. the window that maximises min(i - start, end - 1 - i) (ties go
to the earlier window). Every residue therefore sees at least ~overlap/2 residues of context on
both sides (except at the chain ends), and the vectors are copied, never averaged, so each one
equals a direct pass over its window. The protein's record says it was windowed.
"""

from __future__ import annotations

import math

import numpy as np


def window_spans(n: int, window: int, overlap: int) -> list[tuple[int, int]]:
    """[(start, end)) of the windows of a chain of n residues; one span when n <= window."""
    if window < 1:
        raise ValueError("window must be positive")
    if not 0 <= overlap < window:
        raise ValueError(f"overlap must be in [0, window): got overlap={overlap}, window={window}")
    if n <= window:
        return [(0, n)]
    step = window - overlap
    k = math.ceil((n - window) / step) + 1
    starts = [round(i * (n - window) / (k - 1)) for i in range(k)]
    return [(s, s + window) for s in starts]


def owners(n: int, spans: list[tuple[int, int]]) -> np.ndarray:
    """Index of the owning window of every residue (where it is most central)."""
    pos = np.arange(n)
    score = np.full((len(spans), n), -1, dtype=np.int64)
    for j, (s, e) in enumerate(spans):
        inside = (pos >= s) & (pos < e)
        score[j, inside] = np.minimum(pos[inside] - s, e - 1 - pos[inside])
    return np.argmax(score, axis=0)  # first maximum: ties go to the earlier window


def stitch(n: int, spans: list[tuple[int, int]], arrays: list[np.ndarray]) -> np.ndarray:
    """[n, D] array: residue i copied from its owning window."""
    if len(spans) == 1:
        return arrays[0]
    own = owners(n, spans)
    out = np.empty((n, arrays[0].shape[1]), dtype=arrays[0].dtype)
    for j, (s, _e) in enumerate(spans):
        idx = np.nonzero(own == j)[0]
        out[idx] = arrays[j][idx - s]
    return out
