"""A toy third featurizer, as a user's own package would ship it (used by the tests only).

Three residue scales per residue: Kyte-Doolittle hydrophobicity, charge at pH 7, side-chain size
(heavy atoms). Registered under the exact name `toy-scales`, and as a predicate for ids starting
with `toy:` (to show that a plugin can claim ids the ESM2 catch-all would otherwise take).
The tests install it by writing a `*.dist-info/entry_points.txt` beside it (see
`install_toy_plugin`), the same entry point a pyproject.toml declares:

    [project.entry-points."esm_schnet.featurizers"]
    toy = "toy_featurizer"
"""

from __future__ import annotations

import numpy as np

from esm_schnet.embed.featurizers import register
from esm_schnet.embed.featurizers.base import Featurizer

NAME = "toy-scales"
# residue: (hydrophobicity, charge, size)
SCALES = {
    "A": (1.8, 0, 1), "R": (-4.5, 1, 7), "N": (-3.5, 0, 4), "D": (-3.5, -1, 4), "C": (2.5, 0, 2),
    "Q": (-3.5, 0, 5), "E": (-3.5, -1, 5), "G": (-0.4, 0, 0), "H": (-3.2, 0.1, 6), "I": (4.5, 0, 4),
    "L": (3.8, 0, 4), "K": (-3.9, 1, 5), "M": (1.9, 0, 4), "F": (2.8, 0, 7), "P": (-1.6, 0, 3),
    "S": (-0.8, 0, 2), "T": (-0.7, 0, 3), "W": (-0.9, 0, 10), "Y": (-1.3, 0, 8), "V": (4.2, 0, 3),
}  # fmt: skip


class ToyScales(Featurizer):
    kind = "residue scales"

    def __init__(self, cfg):
        self.id = cfg.model
        self.revision = "toy-1"
        self.dim = 3
        self.window = None
        self.cacheable = False

    def forward(self, sequences):
        return [np.array([SCALES.get(a, (0, 0, 0)) for a in s], dtype=np.float32).reshape(-1, 3)
                for s in sequences]


register(NAME, ToyScales)
register(lambda model: model.startswith("toy:"), ToyScales, name="toy-prefixed")
