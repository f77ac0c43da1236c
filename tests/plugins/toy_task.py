"""A toy task, as a user's own package would ship it (used by the tests only): `log_regression`,
a regression on the natural log of a positive label.

It subclasses the built-in RegressionTask and changes what makes it a different kind of label:
its name, how a sample-table cell is read (a positive number, stored and learned as its log:
the head, loss, metrics, baselines, tables and plots all see the log scale), the headline
metric (MAE) and its plots (parity only). The regression baselines serve it
(`baseline_task`). Registering it is the only step (esm_schnet.tasks.register_task); a config
names it in `labels: [{column: label, task: log_regression}]`. The workflow test installs it by
writing a `*.dist-info/entry_points.txt` beside it (see `plugin_helpers.install_plugin`), the
same entry point a pyproject.toml declares:

    [project.entry-points."esm_schnet.tasks"]
    log_regression = "toy_task"
"""

from __future__ import annotations

import math

from esm_schnet.tasks import register_task
from esm_schnet.tasks.regression import RegressionTask


@register_task
class LogRegression(RegressionTask):
    name = "log_regression"
    baseline_task = "regression"  # the regression baselines, fitted on the log labels
    headline = "mae"
    plots = ("parity",)
    linear_init = False
    test_set = False
    schnet_description = "SchNet on the C-alpha graph with per-residue embeddings (log label)"

    def read_value(self, spec, text):
        value, problem = super().read_value(spec, text)
        if value is None:
            return value, problem
        if value <= 0:
            return None, f"{text!r} is not positive (task log_regression takes the log)"
        return math.log(value), None

    def draw(self, spec, preds, models, *, where, named, sizes, baselines=True):
        figs = super().draw(spec, preds, models, where=where, named=named, sizes=sizes,
                            baselines=baselines)
        return {k: figs[k] for k in self.plots}
