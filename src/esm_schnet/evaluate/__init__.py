"""Gather the cross-validation folds: predictions, baselines on the same folds, metrics.

`esm-schnet evaluate` reads every fold's predictions.tsv, history.tsv and provenance.json, the
folds table, the sample table (labels) and the embedding shards (residue counts, per-chain lengths
and pooled embeddings for the baselines), and writes

- results/predictions.tsv  id, label, prediction, fold, model (one row per protein per model:
  `schnet`, then every baseline registered for the label's task, esm_schnet.baselines)
- results/metrics.tsv / .json  one row per model: n, mse, rmse, mae, r2, pearson, spearman, each
  with its 95% bootstrap interval (_lo, _hi), plus the embedding model, its kind (language model
  or the onehot ablation) and the CV scheme
- results/comparisons.tsv  SchNet minus each baseline, on the same held-out proteins: baseline,
  metric (rmse, mae), difference, lo, hi (95% paired bootstrap interval: proteins resampled, or
  whole clusters under `cv.scheme: group`), verdict (better: hi < 0; worse: lo > 0; else not
  distinguishable), resampling_unit, n_units, schnet_value, baseline_value
- results/evaluate/lengths.tsv  id, chain, length (residues with a C-alpha per chain), for plots
- results/evaluate/history.tsv  fold, epoch, train_loss, val_loss, seconds (all folds), for plots
- results/evaluate/convergence.tsv  fold, status (converged, unconverged, unknown: the fold's
  provenance.json has no `convergence` entry), converged, ratio, final_train_loss,
  mean_predictor_loss, threshold, hint
- results/evaluate/metrics.html  the metrics, comparisons and convergence tables as HTML (the
  Snakemake report shows it inline)

Everything that depends on a label's kind (its metrics, baselines, tables, comparisons and
summary) is asked of its task (esm_schnet.tasks); the regression tables are re-exported here
(`evaluate_tables`, `compare_to_baselines`).

The log ends with a summary table like the original analysis's, a WARNING line per fold that did
not fit, and SchNet against the best baseline with the paired interval and its verdict.
"""

from esm_schnet.evaluate.job import EvaluateInputs, EvaluateOutputs, cli, run
from esm_schnet.evaluate.read import (
    chain_lengths,
    fold_of_path,
    gather_fold_predictions,
    gather_histories,
    read_convergence,
)
from esm_schnet.evaluate.report import (
    best_baseline, metrics_document, summary_table, tables_html, tsv_text, write_tsv,
)
from esm_schnet.evaluate.schema import (
    COMPARISON_COLUMNS,
    CONVERGENCE_COLUMNS,
    MODEL_NAME,
    PRED_COLUMNS,
    embedding_kind,
    model_descriptions,
    model_order,
    model_sees,
)
from esm_schnet.evaluate.summary import comparison_line, convergence_document, convergence_lines
from esm_schnet.evaluate.tables import resampling_units
from esm_schnet.tasks.regression.tables import compare_to_baselines, evaluate_tables

__all__ = [
    "COMPARISON_COLUMNS", "CONVERGENCE_COLUMNS", "MODEL_NAME", "PRED_COLUMNS", "EvaluateInputs",
    "EvaluateOutputs", "best_baseline", "chain_lengths", "cli",
    "compare_to_baselines", "comparison_line", "convergence_document", "convergence_lines",
    "embedding_kind", "evaluate_tables", "fold_of_path", "gather_fold_predictions",
    "gather_histories", "metrics_document", "model_descriptions", "model_order", "model_sees",
    "read_convergence", "resampling_units", "run", "summary_table",
    "tables_html", "tsv_text", "write_tsv",
]
