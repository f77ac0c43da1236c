"""The `regression` task: a numeric label (a finite float per protein).

- head: the label's own TargetScaler (esm_schnet.encoders.model; the size-line offset fitted on
  the training fold's proteins that have this label); loss = that scaler's standardised MSE; the
  mean predictor outputs the mean standardised target.
- metrics (tasks.regression.metrics): MSE, RMSE, MAE, R2, Pearson, Spearman with 95% bootstrap
  intervals; paired comparisons of RMSE and MAE; the headline metric RMSE (lower is better).
- evaluate tables and summary: tasks.regression.tables; plots: parity and residuals
  (tasks.regression.plots); baselines: those registered with `task = "regression"`.
"""

from __future__ import annotations

import math

from esm_schnet.tasks.base import Task
from esm_schnet.tasks.common import fmt_rst as _f
from esm_schnet.tasks.names import REGRESSION
from esm_schnet.tasks.regression.metrics import METRICS


class RegressionTask(Task):
    name = REGRESSION
    metrics = METRICS
    headline = "rmse"
    higher_is_better = frozenset({"r2", "pearson", "spearman"})
    plots = ("parity", "residuals")
    table_columns = (("rmse", "RMSE", 4), ("mae", None, 0), ("r2", "R2", 3),
                     ("pearson", None, 0), ("spearman", None, 0))
    linear_init = True
    test_set = True

    # -- labels -----------------------------------------------------------------------------

    def read_value(self, spec, text):
        if text == "":
            return None, None
        try:
            value = float(text)
        except ValueError:
            return None, f"{text!r} is not a number"
        if not math.isfinite(value):
            return None, f"{text!r} is not a finite number"
        return value, None

    def encode(self, spec, value) -> float:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return math.nan
        return float(value)

    # -- head and loss ----------------------------------------------------------------------

    def fit_head(self, spec, readout, y, n) -> dict:
        from esm_schnet.encoders.model import TargetScaler

        return {"scaler": TargetScaler.fit(readout, y, n)}

    def outputs(self, head, out, n):
        return head.scaler.to_label(out[:, head.start], n)

    def loss(self, head, out, y, n):
        return head.scaler.loss(out[:, head.start], y, n)

    def reference(self, head, batches, j):
        import torch

        ts = []
        for b in batches:
            y = b.y.reshape(b.y.shape[0], -1)[:, j]
            have = torch.isfinite(y)
            if bool(have.any()):
                ts.append(head.scaler.standardise(y[have], b.num_nodes[have]))
        return float(torch.cat(ts).mean()) if ts else None

    # -- predictions tables -----------------------------------------------------------------

    def fold_cells(self, spec, y, value) -> dict:
        return {"y_true": float(y), "y_pred": float(value)}

    def fold_log(self, spec, rows, named):
        if not rows:
            return None
        import numpy as np

        err = np.array([r["y_pred"] - r["y_true"] for r in rows])
        return (f"{spec.name + ' ' if named else ''}test RMSE {float(np.sqrt((err**2).mean())):.4g}"
                f" on {len(rows)} protein(s)")

    def read_fold_predictions(self, fp, spec):
        out = fp[["id", "y_true", "y_pred", "fold"]].copy()
        out["y_true"] = out["y_true"].astype(float)
        out["y_pred"] = out["y_pred"].astype(float)
        return out.reset_index(drop=True)

    def predict_columns(self, spec):
        return [f"prediction_std_{spec.name}"]

    def predict_cells(self, spec, mean, std):
        return {f"prediction_{spec.name}": float(mean), f"prediction_std_{spec.name}": float(std)}

    def label_error(self, table, spec):
        table[f"error_{spec.name}"] = (table[f"prediction_{spec.name}"].astype(float)
                                       - table[f"label_{spec.name}"].astype(float))

    # -- evaluate -----------------------------------------------------------------------------

    def evaluate(self, spec, fold_predictions, folds, values, records, *, n_boot=1000, seed=0,
                 scheme="", structure=None):
        from esm_schnet.tasks.regression.tables import evaluate_tables

        return evaluate_tables(fold_predictions, folds, values.astype(float), records,
                               n_boot=n_boot, seed=seed, scheme=scheme, structure=structure,
                               baseline_task=self.baselines_of, added_metrics=self.extra_metrics)

    def compare(self, spec, preds, folds, scheme="", *, n_boot=1000, seed=0):
        from esm_schnet.tasks.regression.tables import compare_to_baselines

        return compare_to_baselines(preds, folds, scheme, n_boot=n_boot, seed=seed,
                                    baseline_task=self.baselines_of)

    def summary_table(self, metrics, model_id="", scheme="", comparisons=None,
                      convergence=None) -> str:
        from esm_schnet.tasks.regression.tables import summary_table

        return summary_table(metrics, model_id, scheme, comparisons, convergence,
                             headline=self.headline)

    # -- report -------------------------------------------------------------------------------

    def plot_rows(self, sub):
        sub = sub.copy()
        sub["label"] = sub["label"].astype(float)
        sub["prediction"] = sub["prediction"].astype(float)
        return sub

    def draw(self, spec, preds, models, *, where, named, sizes, baselines=True):
        from esm_schnet.tasks.regression.plots import parity, residuals

        return {
            "parity": parity(preds, models, baselines=baselines,
                             title=f"Held-out predictions{named} ({where})", label_name=spec.name,
                             baseline_task=self.baselines_of),
            "residuals": residuals(preds, sizes,
                                   title=f"SchNet residuals{named} vs protein size ({where})",
                                   label_name=spec.name),
        }

    def rst_table(self, models, of):
        lines = [f".. list-table:: Held-out metrics{of} (95% bootstrap intervals; "
                 "results/metrics.tsv)",
                 "   :header-rows: 1", "",
                 "   * - model", "     - n", "     - RMSE [95% CI]", "     - MAE", "     - R2",
                 "     - Pearson"]
        for m in models:
            lines += [f"   * - ``{m['model']}``", f"     - {m['n']}",
                      f"     - {_f(m['rmse'])} [{_f(m['rmse_lo'], 3)}, {_f(m['rmse_hi'], 3)}]",
                      f"     - {_f(m['mae'])}", f"     - {_f(m['r2'], 3)}",
                      f"     - {_f(m['pearson'], 3)}"]
        return lines

    def metric_line(self, m):
        return (f"- ``{m['model']}``: n {m['n']}, RMSE {_f(m['rmse'])} [{_f(m['rmse_lo'], 3)}, "
                f"{_f(m['rmse_hi'], 3)}], R2 {_f(m['r2'], 3)}, Pearson {_f(m['pearson'], 3)}")
