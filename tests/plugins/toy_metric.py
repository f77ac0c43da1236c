"""A toy metric, as a user's own package would ship it (used by the tests only): `max_error`, the
largest absolute error of a regression label's held-out predictions.

Adding it is one call at import time of this module (Task.add_metric on the registered task);
the entry point that makes every job import it is in the `esm_schnet.tasks` group:

    [project.entry-points."esm_schnet.tasks"]
    max_error = "toy_metric"

It then lands in metrics.tsv, metrics.json and evaluate's metrics page, with a 95% bootstrap
interval, for every regression label (docs/extending.md, "Add a metric").
"""

from __future__ import annotations

import numpy as np

from esm_schnet.tasks import get_task


def max_error(y_true, y_pred) -> float:
    return float(np.max(np.abs(np.asarray(y_pred, float) - np.asarray(y_true, float))))


get_task("regression").add_metric("max_error", max_error, higher_is_better=False)
