"""A fixed test set, scored the way most papers report: `esm-schnet score-test-set`.

When the table given as `predict.samples` carries a regression label's column, the workflow's
`predict` stage has scored those proteins with the trained model(s) (`predict.models`: the final
model, the fold ensemble, or both averaged; results/predict/predictions.tsv). This job puts them
beside every registered baseline of the label's task, each refitted on ALL the training proteins
(the sample table's labelled, parsed proteins; inner CVs run on those only) and predicting the
test proteins, and writes, per label:

- results/predict/metrics.tsv: one row per model with the regression metrics and their 95%
  bootstrap intervals over the test proteins;
- results/predict/comparisons.tsv: the trained model minus each baseline (RMSE, MAE) with 95%
  paired bootstrap intervals and verdicts, as results/comparisons.tsv does for the folds;
- results/predict/test_predictions.tsv: the long table (id, label, prediction, model);
- results/predict/parity.png (+ .svg): the parity plot of the test set (of the first scored
  label; parity-<label>.png of the others).

Only proteins with status `ok` and the label given are scored; the others are counted in the log.
With several labels the tables get a `target` column. Classification labels are not scored here
yet (one log line says so).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from esm_schnet.core.errors import InputError

log = logging.getLogger("esm_schnet.evaluate")
MODEL_NAME = "schnet"


@dataclass(frozen=True)
class TestSetOutputs:
    metrics: Path = Path("results/predict/metrics.tsv")
    comparisons: Path = Path("results/predict/comparisons.tsv")
    predictions: Path = Path("results/predict/test_predictions.tsv")
    parity: Path = Path("results/predict/parity.png")


def _columns(table: pd.DataFrame, name: str) -> tuple[str, str] | None:
    """(prediction column, label column) of regression label `name` in a predict table."""
    if f"prediction_{name}" in table.columns and f"label_{name}" in table.columns:
        return f"prediction_{name}", f"label_{name}"
    if "prediction" in table.columns and "label" in table.columns:
        return "prediction", "label"
    return None


def _proteins(ids, records: Mapping, structure: Mapping | None):
    """What the baselines see of `ids` (no inner-CV groups: a fixed split)."""
    from esm_schnet.evaluate.tables import baseline_proteins

    return baseline_proteins(ids, records, None, "", structure)


def test_set_tables(test_ids, y_test, schnet_pred, train, test, *, n_boot=1000, seed=0):
    """(long predictions, metrics, comparisons) of the trained model and every regression
    baseline refitted on `train` (Proteins with labels) and predicting `test` (Proteins)."""
    from esm_schnet import baselines
    from esm_schnet.tasks.regression.metrics import compute_metrics, metric_columns, paired_difference
    from esm_schnet.evaluate.schema import COMPARISON_COLUMNS, PRED_COLUMNS, model_order
    from esm_schnet.tasks.regression.metrics import PAIRED_METRICS
    from esm_schnet.evaluate.tables import comparison_rows

    y = np.asarray(y_test, np.float64)
    preds = {MODEL_NAME: np.asarray(schnet_pred, np.float64)}
    for cls in baselines.registered("regression"):
        missing = [n for n in cls.needs if getattr(train, n) is None or getattr(test, n) is None]
        if missing:
            log.info("%s: skipped on the test set (it needs %s)", cls.name, ", ".join(missing))
            continue
        est = cls().fit(train)
        preds[cls.name] = np.asarray(est.predict(test), np.float64)
    long = pd.concat([
        pd.DataFrame({"id": list(test_ids), "label": y, "prediction": p, "fold": -1,
                      "model": name})
        for name, p in preds.items()
    ], ignore_index=True)[PRED_COLUMNS]
    rows = []
    for name in (m for m in model_order("regression") if m in preds):
        row = {"model": name, **compute_metrics(y, preds[name], n_boot=n_boot, seed=seed)}
        rows.append(row)
    metrics = pd.DataFrame(rows, columns=["model", "n", *metric_columns(), "notes"])
    comp = []
    units = np.asarray(list(test_ids), dtype=str)
    for name in (m for m in model_order("regression") if m in preds and m != MODEL_NAME):
        res = paired_difference(y, preds[MODEL_NAME], preds[name], units=units, n_boot=n_boot,
                                seed=seed)
        comp += comparison_rows(name, res, PAIRED_METRICS, "protein", units)
    return long, metrics, pd.DataFrame(comp, columns=COMPARISON_COLUMNS)


def run(predictions, samples, train_shards, test_shards, *, train_structures=(),
        test_structures=(), labels=None, n_boot=1000, seed=0, outputs=TestSetOutputs(),
        dpi: int = 150) -> pd.DataFrame:
    """Everything `esm-schnet score-test-set` does; returns the metrics table (all labels)."""
    from esm_schnet.baselines import read_structure_summaries
    from esm_schnet.report.figures import save
    from esm_schnet.core.files import write_text
    from esm_schnet.core.labels import is_default
    from esm_schnet.tasks import task_of
    from esm_schnet.tasks.regression.plots import parity
    from esm_schnet.core.samples import read_sample_table
    from esm_schnet.evaluate.read import pooled_records
    from esm_schnet.evaluate.report import write_tsv

    table = pd.read_csv(predictions, sep="\t", dtype={"id": str})
    train_table = read_sample_table(samples, require_labels=True, labels=labels)
    specs = train_table.attrs["labels"]
    train_records = pooled_records(list(train_shards))  # pooled features only, shard by shard
    test_records = pooled_records(list(test_shards))
    train_struct = read_structure_summaries(train_structures) if train_structures else None
    test_struct = read_structure_summaries(test_structures) if test_structures else None
    default = is_default(specs) or len(specs) == 1
    out = {"predictions": [], "metrics": [], "comparisons": []}
    for spec in specs:
        if not task_of(spec).test_set:
            log.info("label %s (%s): test-set scoring covers regression labels only",
                     spec.name, spec.task)
            continue
        cols = _columns(table, spec.name)
        if cols is None:
            log.info("label %s: the prediction table has no label column: nothing to score",
                     spec.name)
            continue
        pcol, lcol = cols
        ok = table[(table["status"] == "ok") & pd.to_numeric(table[lcol], errors="coerce").notna()]
        if ok.empty:
            log.info("label %s: no scored protein has the label", spec.name)
            continue
        log.info("label %s: scoring %d of %d test proteins (status ok and labelled)", spec.name,
                 len(ok), len(table))
        values = train_table[spec.name]
        train_ids = [i for i in train_table.index if i in train_records and values[i] == values[i]]
        if not train_ids:
            raise InputError(None, f"label {spec.name}: no labelled training protein was embedded")
        train = _proteins(train_ids, train_records, train_struct).with_labels(
            values.loc[train_ids].astype(float).to_numpy())
        test_ids = list(ok["id"])
        test = _proteins(test_ids, test_records, test_struct)
        long, metrics, comp = test_set_tables(
            test_ids, ok[lcol].astype(float), ok[pcol].astype(float), train, test,
            n_boot=n_boot, seed=seed)
        suffix = "" if not out["metrics"] else f"-{spec.name}"  # the first: parity.png
        fig = parity(long, metrics.set_index("model").to_dict(orient="index"),
                     title=f"Test set ({len(test_ids)} proteins): {spec.name}",
                     label_name=spec.name)
        save(fig, outputs.parity.with_name(f"{outputs.parity.stem}{suffix}"), dpi=dpi)
        best = comp[comp["metric"] == "rmse"].sort_values("baseline_value").head(1)
        for r in best.itertuples():
            log.info("test set, %s: SchNet RMSE %.4g vs best baseline %s %.4g: difference %.3g "
                     "[95%% paired CI %.3g, %.3g] over %d proteins: %s", spec.name,
                     r.schnet_value, r.baseline, r.baseline_value, r.difference, r.lo, r.hi,
                     len(test_ids), r.verdict)
        for key, df in (("predictions", long), ("metrics", metrics), ("comparisons", comp)):
            if not default:
                df = df.copy()
                df.insert(0, "target", spec.name)
            out[key].append(df)
    if not out["metrics"]:
        write_text(outputs.metrics, "")
        write_text(outputs.comparisons, "")
        write_text(outputs.predictions, "")
        log.warning("no label of the prediction table could be scored (see above)")
        return pd.DataFrame()
    metrics = pd.concat(out["metrics"], ignore_index=True)
    write_tsv(pd.concat(out["predictions"], ignore_index=True), outputs.predictions)
    write_tsv(metrics, outputs.metrics)
    write_tsv(pd.concat(out["comparisons"], ignore_index=True), outputs.comparisons)
    return metrics


def cli(argv: list[str]) -> int:
    from esm_schnet.core.log import job_log
    from esm_schnet.core.resolved import JobSettings
    from esm_schnet.core.pathlist import add_path_arguments, paths_from_args

    ap = argparse.ArgumentParser(
        prog="esm-schnet score-test-set",
        description="Score a labelled prediction set: the trained model beside every baseline "
                    "refitted on all training proteins, metrics and paired comparisons.")
    d = TestSetOutputs()
    ap.add_argument("--predictions", required=True, help="results/predict/predictions.tsv")
    ap.add_argument("--samples", required=True, help="the training sample table")
    ap.add_argument("--train-shards", nargs="+", required=True, metavar="H5")
    ap.add_argument("--test-shards", nargs="+", required=True, metavar="H5")
    add_path_arguments(ap, "--train-structures", required=False,
                       help="parsed training structures (the structure-aware baselines)")
    add_path_arguments(ap, "--test-structures", required=False,
                       help="parsed test structures (the structure-aware baselines)")
    ap.add_argument("--config-file", default=None,
                    help="the score_test_set stage's resolved settings (evaluate, plots.dpi, "
                         "the label specs), or a config YAML (none: every default)")
    ap.add_argument("--out-metrics", type=Path, default=d.metrics)
    ap.add_argument("--out-comparisons", type=Path, default=d.comparisons)
    ap.add_argument("--out-predictions", type=Path, default=d.predictions)
    ap.add_argument("--out-parity", type=Path, default=d.parity)
    ap.add_argument("--log", default=None)
    a = ap.parse_args(argv)
    outputs = TestSetOutputs(a.out_metrics, a.out_comparisons, a.out_predictions, a.out_parity)
    with job_log(a.log, echo=a.log is None):
        settings = (JobSettings.from_file(a.config_file) if a.config_file
                    else JobSettings.from_config({})).need("evaluate", "plots")
        run(a.predictions, a.samples, a.train_shards, a.test_shards,
            train_structures=paths_from_args(a, "train_structures") or (),
            test_structures=paths_from_args(a, "test_structures") or (),
            labels=settings.labels, n_boot=int(settings.evaluate["bootstrap"]),
            seed=int(settings.evaluate["seed"]), outputs=outputs,
            dpi=int(settings.plots["dpi"]))
    return 0
