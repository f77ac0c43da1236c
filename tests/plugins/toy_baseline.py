"""A toy baseline, as a user's own package would ship it (used by the tests only): the median
label of the training fold, a regression baseline that sees nothing about the protein.

Registering it is the only step (esm_schnet.baselines.register); the evaluate tables, the
comparisons, metrics.json, the report and the parity plot pick it up from the registry. The
workflow test installs it by writing a `*.dist-info/entry_points.txt` beside it (see
`plugin_helpers.install_plugin`), the same entry point a pyproject.toml declares:

    [project.entry-points."esm_schnet.baselines"]
    median = "toy_baseline"
"""

from __future__ import annotations

import numpy as np

from esm_schnet.baselines import Baseline, Style, register


@register
class MedianLabel(Baseline):
    name = "median"
    task = "regression"
    description = "median label of the training fold (sees nothing)"
    sees = "nothing (the training labels only)"
    style = Style(color="#e377c2", label="training median", marker="s")

    def fit(self, train):
        self.value_ = float(np.median(train.labels))
        return self

    def predict(self, test):
        return np.full(len(test), self.value_)
