"""What a task is: one kind of label (`labels[].task`) and everything that depends on it.

A `Task` (one instance per kind, in the registry of esm_schnet.tasks) answers every question
the stages ask about a label of its kind, so nothing outside esm_schnet.tasks branches on the
kind:

- labels: how a sample-table cell is read and checked (`read_value`), whether a column can be
  learned (`column_problem`), the classes found in the table (`with_classes`), the float the
  network trains on (`encode`), whether folds stratify on it (`stratify`), whether
  train.linear_init fits it (`linear_init`), whether `class_weights` applies.
- head and loss: the outputs per label (`width`), the head fitted on a training fold
  (`fit_head`: the fields of esm_schnet.tasks.heads.Head), outputs -> predictions (`outputs`),
  the loss (`loss`), the mean predictor's output (`reference`).
- predictions: a fold's predictions.tsv cells (`fold_columns`, `fold_cells`), reading them back
  (`read_fold_predictions`), the ensemble and predict TSVs (`ensemble_shape`, `predict_columns`,
  `predict_cells`).
- evaluate: the metrics (`metrics`; the headline metric `headline`, defined once here), the
  evaluate tables of SchNet and the task's baselines (`evaluate`), the paired comparisons
  (`compare`), the best baseline, the columns of the readable metrics table (`table_columns`),
  the plain-text summary (`summary_table`).
- report: the plots of one label (`plots`, `draw`), the report's metrics table and lines.

The baselines that serve a task are those registered with `Baseline.task == task.baselines_of`
(its own name unless a subclass says otherwise). Subclass `RegressionTask` or
`ClassificationTask` to change one part (docs/extending.md, "Add a task").
"""

from __future__ import annotations

from typing import ClassVar

SCHNET_DESCRIPTION = "SchNet on the C-alpha graph with per-residue embeddings"


class Task:
    """One kind of label. Class attributes describe it; methods answer the stages."""

    name: ClassVar[str] = ""
    # the metrics in metrics.tsv order; the headline metric (best baseline, headline comparison,
    # console table, report headline) and which metrics are better when higher
    metrics: ClassVar[tuple[str, ...]] = ()
    headline: ClassVar[str] = ""
    higher_is_better: ClassVar[frozenset[str]] = frozenset()
    # the plots of one label (file names: <plot><suffix>), in order
    plots: ClassVar[tuple[str, ...]] = ()
    # readable metrics table (evaluate's metrics.html): (metric, heading or None = the plain
    # column, significant digits of the point value)
    table_columns: ClassVar[tuple[tuple[str, str | None, int], ...]] = ()
    has_classes: ClassVar[bool] = False  # the label's values are classes (LabelSpec.classes)
    class_weights: ClassVar[bool] = False  # `class_weights` applies
    stratify: ClassVar[bool] = False  # folds stratify on the first such label
    linear_init: ClassVar[bool] = False  # train.linear_init fits this label's output
    test_set: ClassVar[bool] = False  # `esm-schnet score-test-set` scores it
    baseline_task: ClassVar[str | None] = None  # whose baselines serve it (None: its own)
    schnet_description: ClassVar[str] = SCHNET_DESCRIPTION

    def __init__(self) -> None:
        # metrics added to this task (add_metric): {name: (function, higher_is_better)}
        self.extra_metrics: dict = {}

    @property
    def all_metrics(self) -> tuple[str, ...]:
        """The built-in metrics, then those added with `add_metric` (metrics.tsv order)."""
        return (*self.metrics, *self.extra_metrics)

    def add_metric(self, name: str, function, *, higher_is_better: bool = False) -> None:
        """Score one more metric for every label of this task: `function(y_true, prediction)`
        -> float on the task's evaluate arrays (regression: labels and predictions;
        classification: class indices and [n, K] probabilities). It lands in metrics.tsv and
        metrics.json (m, m_lo, m_hi: a 95% bootstrap interval over proteins) after the
        built-in metrics. See docs/extending.md, "Add a metric"."""
        if name in self.metrics:
            raise ValueError(f"task {self.name}: metric {name!r} is built in")
        self.extra_metrics[name] = (function, bool(higher_is_better))

    def remove_metric(self, name: str) -> None:
        self.extra_metrics.pop(name, None)

    def is_higher_better(self, metric: str) -> bool:
        if metric in self.extra_metrics:
            return self.extra_metrics[metric][1]
        return metric in self.higher_is_better

    @property
    def baselines_of(self) -> str:
        """The task name the baselines serving this task are registered under."""
        return self.baseline_task or self.name

    def __repr__(self) -> str:
        return f"<task {self.name}>"

    # -- labels -----------------------------------------------------------------------------

    def read_value(self, spec, text: str) -> tuple[object, str | None]:
        """(value, problem) of one sample-table cell; '' is missing (None value, no problem)."""
        raise NotImplementedError

    def column_problem(self, spec, values: list, n_labelled: int) -> str | None:
        """Why a column with these distinct values cannot be learned (None when it can)."""
        return None

    def with_classes(self, spec, values):
        """The spec with what the training table fixes (classification: its classes)."""
        return spec

    def column_dtype(self):
        """The pandas dtype of the label's column in the sample table (float: NaN when empty;
        object: None when empty)."""
        return float

    def encode(self, spec, value) -> float:
        """A label value as the float the network trains on (NaN when missing)."""
        raise NotImplementedError

    def width(self, spec) -> int:
        """Outputs of the network for this label."""
        return 1

    # -- head and loss ----------------------------------------------------------------------

    def fit_head(self, spec, readout: str, y, n) -> dict:
        """The head's fields (esm_schnet.tasks.heads.Head: scaler, log_prior, weights,
        logit_scale) fitted on the training proteins that have the label: y [m], n [m]."""
        raise NotImplementedError

    def outputs(self, head, out, n):
        """The predictions of a batch from the network's output rows out [B, K]."""
        raise NotImplementedError

    def loss(self, head, out, y, n):
        """The mean loss over the proteins of a batch that have the label (rows given)."""
        raise NotImplementedError

    def reference(self, head, batches, j: int) -> float | None:
        """The constant output of the mean predictor for this label (None: 0)."""
        return None

    def as_value(self, spec, v):
        """One protein's prediction as TrainedModel.predict_labels returns it."""
        return float(v)

    def first_value(self, spec, v) -> float:
        """The number TrainedModel.predict returns for this label's prediction."""
        return float(v)

    # -- predictions tables -----------------------------------------------------------------

    def fold_columns(self, spec) -> list[str]:
        """Columns a fold's predictions.tsv adds for this label (after fold)."""
        return []

    def fold_cells(self, spec, y: float, value) -> dict:
        """A predictions.tsv row's cells of one protein: y_true, y_pred (and what
        fold_columns adds), from its encoded label `y` and its prediction."""
        raise NotImplementedError

    def fold_log(self, spec, rows: list[dict], named: bool) -> str | None:
        """The training job's one log line of the fold's test predictions (None: nothing)."""
        return None

    def read_fold_predictions(self, fp, spec):
        """One label's rows of the gathered fold predictions, typed (id, y_true, y_pred,
        fold, ...)."""
        raise NotImplementedError

    def ensemble_shape(self, spec) -> tuple[int, ...]:
        """Trailing shape of one protein's prediction in the ensemble arrays."""
        return ()

    def ensemble_first(self, values):
        """The array TrainedModel.predict's ensemble form returns for this label."""
        return values

    def predict_columns(self, spec) -> list[str]:
        """Columns of the predict TSV of this label after prediction_<name>."""
        raise NotImplementedError

    def predict_cells(self, spec, mean, std) -> dict:
        """The predict TSV cells of one protein from the models' mean and spread."""
        raise NotImplementedError

    def label_error(self, table, spec) -> None:
        """Add columns comparing predictions with given labels to a predict TSV (in place)."""

    # -- evaluate -----------------------------------------------------------------------------

    def evaluate(self, spec, fold_predictions, folds, values, records, *, n_boot=1000, seed=0,
                 scheme="", structure=None):
        """(predictions long table, metrics one row per model, info) of one label: SchNet's
        held-out predictions next to the task's baselines on the same folds."""
        raise NotImplementedError

    def compare(self, spec, preds, folds, scheme="", *, n_boot=1000, seed=0):
        """comparisons.tsv rows of one label: SchNet minus each baseline, paired intervals."""
        raise NotImplementedError

    def best_baseline(self, metrics) -> str | None:
        """The baseline with the best headline metric (point estimates), or None."""
        from esm_schnet.tasks.common import best_model

        return best_model(metrics, self.headline, self.is_higher_better(self.headline))

    def summary_table(self, metrics, model_id="", scheme="", comparisons=None,
                      convergence=None) -> str:
        """The plain-text table the evaluate log ends with."""
        raise NotImplementedError

    # -- report -------------------------------------------------------------------------------

    def draw(self, spec, preds, models, *, where: str, named: str, sizes, baselines=True):
        """{plot: Figure} of one label from its rows of results/predictions.tsv (typed by
        `plot_rows`) and its models' metrics from metrics.json."""
        raise NotImplementedError

    def plot_rows(self, sub):
        """One label's rows of results/predictions.tsv (read as text) with typed values."""
        return sub

    def rst_table(self, models: list[dict], of: str) -> list[str]:
        """The report's RST list-table lines of every model's metrics."""
        raise NotImplementedError

    def metric_line(self, m: dict) -> str:
        """One model's metrics in one line (the report's values behind a plot)."""
        raise NotImplementedError
