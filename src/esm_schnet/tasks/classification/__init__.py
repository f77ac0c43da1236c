"""The `classification` task: a categorical label (its classes are the values found in the
training sample table, sorted numerically when every value is a number, else as text).

- head: logits = log training-class frequencies + output (divided by the training fold's mean
  residue count under readout `add`, so a sum over residues stays O(1)); an untrained network
  (output 0) predicts the class prior. Loss = cross-entropy, weighted by `class_weights:
  balanced` (n / (classes x count) on the training fold) when asked.
- metrics (tasks.classification.metrics): AUROC, AUPRC, accuracy, balanced accuracy, MCC, log
  loss with 95% bootstrap intervals and paired comparisons; the headline metric AUROC.
- evaluate tables and summary: tasks.classification.tables; plots: roc_pr and confusion
  (tasks.classification.plots); baselines: those registered with `task = "classification"`.
- folds stratify on the first classification label; train.linear_init leaves it alone; test-set
  scoring covers regression labels only.
"""

from __future__ import annotations

import math
from dataclasses import replace

from esm_schnet.core.errors import ConfigError
from esm_schnet.tasks.base import SCHNET_DESCRIPTION, Task
from esm_schnet.tasks.classification.metrics import CLS_METRICS, HIGHER_IS_BETTER
from esm_schnet.tasks.common import fmt_rst as _f
from esm_schnet.tasks.names import CLASSIFICATION

# A classification column with more distinct values than this (or than half its labelled rows)
# is refused: it is almost certainly a number column declared as classes by mistake.
MAX_CLASSES = 20


def sort_classes(values) -> tuple[str, ...]:
    """Distinct class values, numerically sorted when all are numbers, else as text."""
    distinct = set(values)
    try:
        return tuple(sorted(distinct, key=lambda v: (float(v), v)))
    except ValueError:
        return tuple(sorted(distinct))


class ClassificationTask(Task):
    name = CLASSIFICATION
    metrics = CLS_METRICS
    headline = "auroc"
    higher_is_better = frozenset(m for m, up in HIGHER_IS_BETTER.items() if up)
    plots = ("roc_pr", "confusion")
    table_columns = (("auroc", "AUROC", 3), ("auprc", "AUPRC", 3), ("accuracy", None, 0),
                     ("balanced_accuracy", "balanced acc.", 3), ("mcc", "MCC", 3),
                     ("log_loss", "log loss", 3))
    has_classes = True
    class_weights = True
    stratify = True
    schnet_description = SCHNET_DESCRIPTION + " (class probabilities)"

    # -- labels -----------------------------------------------------------------------------

    def read_value(self, spec, text):
        return (None, None) if text == "" else (text, None)

    def column_problem(self, spec, values, n_labelled):
        classes = list(values)
        if len(classes) < 2:
            found = f"every labelled row is {classes[0]!r}" if classes else "no values"
            return f"classification label with one class only ({found}); it needs at least two"
        limit = min(MAX_CLASSES, max(2, n_labelled // 2))
        if len(classes) > limit:
            return (f"classification label with {len(classes)} classes in {n_labelled} rows (at "
                    f"most {limit}); is it a number column? declare it task: regression")
        return None

    def with_classes(self, spec, values):
        present = [v for v in values if v is not None and v == v]
        return replace(spec, classes=sort_classes(map(str, present)))

    def column_dtype(self):
        return object

    def encode(self, spec, value) -> float:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return math.nan
        try:
            return float(spec.classes.index(str(value)))
        except ValueError:
            raise ConfigError(
                f"label {spec.name!r}: class {value!r} is not one of {list(spec.classes)}"
            ) from None

    def width(self, spec) -> int:
        return len(spec.classes)

    # -- head and loss ----------------------------------------------------------------------

    def fit_head(self, spec, readout, y, n) -> dict:
        import numpy as np

        k = self.width(spec)
        counts = np.bincount(np.asarray(y).astype(int), minlength=k).astype(float)
        prior = (counts + 0.5) / (counts.sum() + 0.5 * k)  # never log(0)
        if spec.class_weights == "balanced":
            weights = [float(counts.sum() / (k * c)) if c > 0 else 0.0 for c in counts]
        else:
            weights = [1.0] * k
        scale = float(np.asarray(n).mean()) if readout == "add" else 1.0
        return {"log_prior": tuple(np.log(prior).tolist()), "weights": tuple(weights),
                "logit_scale": scale}

    @staticmethod
    def logits(head, out):
        import torch

        prior = torch.tensor(head.log_prior, dtype=out.dtype, device=out.device)
        return prior + out[:, head.start : head.stop] / head.logit_scale

    def outputs(self, head, out, n):
        import torch

        return torch.softmax(self.logits(head, out), dim=1)

    def loss(self, head, out, y, n):
        import torch

        target = y.long()
        ce = torch.nn.functional.cross_entropy(self.logits(head, out), target, reduction="none")
        w = torch.tensor(head.weights, dtype=ce.dtype, device=ce.device)[target]
        return torch.mean(w * ce)

    def as_value(self, spec, v):
        return v.copy()

    def first_value(self, spec, v) -> float:
        return float(v[-1])  # the probability of the last class

    # -- predictions tables -----------------------------------------------------------------

    def fold_columns(self, spec):
        return [f"p_{c}" for c in spec.classes]

    def fold_cells(self, spec, y, value) -> dict:
        import numpy as np

        return {"y_true": spec.classes[int(y)], "y_pred": spec.classes[int(np.argmax(value))],
                **{f"p_{c}": float(p) for c, p in zip(spec.classes, value)}}

    def fold_log(self, spec, rows, named):
        right = sum(r["y_pred"] == r["y_true"] for r in rows)
        return f"{spec.name} test accuracy {right}/{len(rows)}"

    def read_fold_predictions(self, fp, spec):
        from esm_schnet.core.errors import InputError

        missing = [f"p_{c}" for c in spec.classes if f"p_{c}" not in fp.columns]
        if missing:
            raise InputError(None, f"fold predictions of {spec.name!r} lack {', '.join(missing)}")
        out = fp[["id", "y_true", "y_pred", "fold"] + [f"p_{c}" for c in spec.classes]].copy()
        out["y_true"] = out["y_true"].astype(str)
        out["y_pred"] = out["y_pred"].astype(str)
        return out.reset_index(drop=True)

    def ensemble_shape(self, spec):
        return (self.width(spec),)

    def ensemble_first(self, values):
        return values[..., -1]

    def predict_columns(self, spec):
        return [f"p_{spec.name}_{c}" for c in spec.classes]

    def predict_cells(self, spec, mean, std):
        import numpy as np

        return {f"prediction_{spec.name}": spec.classes[int(np.argmax(mean))],
                **{f"p_{spec.name}_{c}": float(p) for c, p in zip(spec.classes, mean)}}

    # -- evaluate -----------------------------------------------------------------------------

    def evaluate(self, spec, fold_predictions, folds, values, records, *, n_boot=1000, seed=0,
                 scheme="", structure=None):
        from esm_schnet.tasks.classification.tables import classification_tables

        return classification_tables(spec, fold_predictions, folds, values, records,
                                     n_boot=n_boot, seed=seed, scheme=scheme,
                                     structure=structure, baseline_task=self.baselines_of,
                                     added_metrics=self.extra_metrics)

    def compare(self, spec, preds, folds, scheme="", *, n_boot=1000, seed=0):
        from esm_schnet.tasks.classification.tables import compare_classification

        return compare_classification(spec, preds, folds, scheme, n_boot=n_boot, seed=seed,
                                      baseline_task=self.baselines_of)

    def summary_table(self, metrics, model_id="", scheme="", comparisons=None,
                      convergence=None) -> str:
        from esm_schnet.tasks.classification.tables import summary_table_cls

        return summary_table_cls(metrics, model_id, scheme, comparisons, convergence,
                                 headline=self.headline)

    # -- report -------------------------------------------------------------------------------

    def draw(self, spec, preds, models, *, where, named, sizes, baselines=True):
        from esm_schnet.tasks.classification.plots import label_plots

        return label_plots(preds, models, spec, where=where, baselines=baselines,
                           baseline_task=self.baselines_of)

    def rst_table(self, models, of):
        lines = [f".. list-table:: Held-out metrics{of} (95% bootstrap intervals; "
                 "results/metrics.tsv)", "   :header-rows: 1", "",
                 "   * - model", "     - n", "     - AUROC [95% CI]", "     - AUPRC",
                 "     - balanced accuracy", "     - MCC", "     - log loss"]
        for m in models:
            lines += [f"   * - ``{m['model']}``", f"     - {m['n']}",
                      f"     - {_f(m['auroc'], 3)} [{_f(m['auroc_lo'], 3)}, "
                      f"{_f(m['auroc_hi'], 3)}]",
                      f"     - {_f(m['auprc'], 3)}", f"     - {_f(m['balanced_accuracy'], 3)}",
                      f"     - {_f(m['mcc'], 3)}", f"     - {_f(m['log_loss'], 3)}"]
        return lines

    def metric_line(self, m):
        return (f"- ``{m['model']}``: n {m['n']}, AUROC {_f(m['auroc'], 3)} "
                f"[{_f(m['auroc_lo'], 3)}, {_f(m['auroc_hi'], 3)}], AUPRC {_f(m['auprc'], 3)}, "
                f"accuracy {_f(m['accuracy'], 3)}, MCC {_f(m['mcc'], 3)}, log loss "
                f"{_f(m['log_loss'], 3)}")
