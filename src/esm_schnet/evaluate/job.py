"""`esm-schnet evaluate`: its typed inputs and outputs, the job itself and the command line."""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from esm_schnet.core.files import write_json, write_text
from esm_schnet.core.pathlist import add_path_arguments, paths_from_args
from esm_schnet.evaluate.read import (
    _read_tsv,
    chain_lengths,
    gather_fold_predictions,
    gather_histories,
    read_convergence,
)
from esm_schnet.evaluate.report import metrics_document, summary_table, tables_html, write_tsv
from esm_schnet.evaluate.schema import embedding_kind
from esm_schnet.evaluate.summary import convergence_lines

log = logging.getLogger("esm_schnet.evaluate")


@dataclass(frozen=True)
class EvaluateInputs:
    """What `esm-schnet evaluate` reads, and its settings."""

    fold_predictions: Sequence[Path]
    folds: Path
    samples: Path
    shards: Sequence[Path]
    embedding_model: str
    scheme: str
    histories: Sequence[Path] = ()
    provenances: Sequence[Path] = ()  # every fold's provenance.json (convergence)
    n_boot: int = 1000
    seed: int = 0
    labels: Sequence | None = None  # LabelSpecs (None: the one column `label`)
    structures: Sequence[Path] = ()  # parsed structure files: the structure-aware baselines


@dataclass(frozen=True)
class EvaluateOutputs:
    """What `esm-schnet evaluate` writes (defaults: the workflow's paths)."""

    predictions: Path = Path("results/predictions.tsv")
    metrics: Path = Path("results/metrics.tsv")
    json: Path = Path("results/metrics.json")
    comparisons: Path = Path("results/comparisons.tsv")
    lengths: Path = Path("results/evaluate/lengths.tsv")
    history: Path = Path("results/evaluate/history.tsv")
    convergence: Path = Path("results/evaluate/convergence.tsv")
    html: Path = Path("results/evaluate/metrics.html")

    @classmethod
    def under(cls, root) -> "EvaluateOutputs":
        """The same layout below `root` instead of the working directory."""
        root = Path(root)
        return cls(**{
            k: root / getattr(cls, k) for k in
            ("predictions", "metrics", "json", "comparisons", "lengths", "history",
             "convergence", "html")
        })


@dataclass
class LabelResult:
    """One label's evaluation: predictions (long), metrics, comparisons and info."""

    spec: object
    preds: pd.DataFrame
    metrics: pd.DataFrame
    comparisons: pd.DataFrame
    info: dict


def evaluate_label(spec, specs, fold_preds, folds, samples, records, *, n_boot, seed, scheme,
                   structure=None) -> LabelResult:
    """SchNet and the baselines on one label, on the proteins that have it (same folds), as
    the label's task scores them (esm_schnet.tasks)."""
    from esm_schnet.evaluate.read import label_predictions
    from esm_schnet.tasks import task_of

    values = samples[spec.name]
    have = {i for i, v in values.items() if v is not None and v == v}
    sub = folds[folds["id"].isin(have)].reset_index(drop=True)
    fp = label_predictions(fold_preds, spec, specs)
    fp = fp[fp["id"].isin(set(sub["id"]))]
    log.info("label %s (%s): %d of %d proteins labelled", spec.name, spec.task, len(sub),
             len(folds))
    task = task_of(spec)
    preds, metrics, info = task.evaluate(spec, fp, sub, values, records, n_boot=n_boot, seed=seed,
                                         scheme=scheme, structure=structure)
    comparisons = task.compare(spec, preds, sub, scheme, n_boot=n_boot, seed=seed)
    return LabelResult(spec, preds, metrics, comparisons, info)


def _with_target(df: pd.DataFrame, r: LabelResult, task: bool = False) -> pd.DataFrame:
    df = df.copy()
    if task:
        df.insert(0, "task", r.spec.task)
    df.insert(0, "target", r.spec.name)
    return df


def combine(results: list[LabelResult], default: bool):
    """(predictions, metrics, comparisons) of every label: the first label's own tables when
    `default` (the one label `label`: today's format), else with target (and task) columns."""
    if default:
        (r,) = results
        return r.preds, r.metrics, r.comparisons
    preds = pd.concat([_with_target(r.preds, r) for r in results], ignore_index=True)
    metrics = pd.concat([_with_target(r.metrics, r, task=True) for r in results],
                        ignore_index=True)
    comparisons = pd.concat([_with_target(r.comparisons, r) for r in results], ignore_index=True)
    return preds, metrics, comparisons


def run(inputs: EvaluateInputs, outputs: EvaluateOutputs = EvaluateOutputs()) -> pd.DataFrame:
    """Everything `esm-schnet evaluate` does; returns the metrics table."""
    from esm_schnet.core.labels import is_default
    from esm_schnet.core.samples import read_sample_table
    from esm_schnet.evaluate.read import pooled_records

    t_start = time.perf_counter()
    model_id, scheme = inputs.embedding_model, inputs.scheme
    n_boot, seed = inputs.n_boot, inputs.seed
    fold_preds = gather_fold_predictions(inputs.fold_predictions)
    histories = gather_histories(inputs.histories)
    convergence = read_convergence(inputs.provenances)
    folds = _read_tsv(inputs.folds, ["id", "fold"])
    folds["id"] = folds["id"].astype(str)
    samples = read_sample_table(inputs.samples, require_labels=True, labels=inputs.labels)
    specs = samples.attrs["labels"]
    log.info(
        "%d proteins in %d folds (scheme %s), %d label(s); loading %d shard(s)",
        len(folds), folds["fold"].nunique(), scheme, len(specs), len(inputs.shards),
    )
    # per protein only what the baselines and the chain-length table read (pooled features,
    # residue and chain counts), read shard by shard: memory does not hold every embedding
    records = pooled_records(list(inputs.shards))
    structure = None
    if inputs.structures:
        from esm_schnet.baselines import read_structure_summaries

        structure = read_structure_summaries(inputs.structures)
    t_read = time.perf_counter()
    results = [
        evaluate_label(spec, specs, fold_preds, folds, samples, records, n_boot=n_boot,
                       seed=seed, scheme=scheme, structure=structure)
        for spec in specs
    ]
    default = is_default(specs)
    preds, metrics, comparisons = combine(results, default)
    for line in convergence_lines(convergence):
        log.warning("%s", line.removeprefix("WARNING: "))
    lengths = chain_lengths({i: records[i] for i in folds["id"].astype(str)})
    t_tables = time.perf_counter()
    mt = metrics.copy()
    mt["embedding_model"] = model_id
    mt["embedding_kind"] = embedding_kind(model_id)
    mt["cv_scheme"] = scheme
    write_tsv(preds, outputs.predictions)
    write_tsv(mt, outputs.metrics)
    write_tsv(comparisons, outputs.comparisons)
    write_tsv(lengths, outputs.lengths)
    write_tsv(histories, outputs.history)
    write_tsv(convergence, outputs.convergence)
    first = results[0]
    doc = metrics_document(
        first.metrics, first.info, model_id, scheme, n_boot, seed,
        comparisons=first.comparisons, convergence=convergence, task=first.spec.task,
    )
    doc["labels"] = [r.spec.as_dict() for r in results]
    doc["targets"] = {
        r.spec.name: metrics_document(
            r.metrics, r.info, model_id, scheme, n_boot, seed, comparisons=r.comparisons,
            task=r.spec.task,
        )
        for r in results
    }
    write_json(outputs.json, doc, sort_keys=False)
    title = f"embedding {model_id}; CV scheme {scheme}; {len(folds)} proteins"
    sections = [(r.spec, r.metrics, r.comparisons) for r in results]
    write_text(outputs.html, tables_html(mt, comparisons, convergence, title,
                                         sections=None if default else sections))
    log.info("wrote %s, %s, %s, %s", outputs.predictions, outputs.metrics, outputs.json,
             outputs.comparisons)
    # phases of the job (bench/jobcost.py reads this line); tables = baselines, metrics with
    # bootstrap intervals and the paired comparisons (scikit-learn and scipy load there)
    log.info("timings: read %.3f s, tables %.3f s, write %.3f s", t_read - t_start,
             t_tables - t_read, time.perf_counter() - t_tables)
    for r in results:
        log.info(
            "summary%s (held-out predictions, 95%% bootstrap intervals over %d resamples):\n%s",
            "" if default else f" of label {r.spec.name} ({r.spec.task})", n_boot,
            summary_table(r.metrics, model_id, scheme, r.comparisons, convergence,
                          task=r.spec.task),
        )
    return metrics


def cli(argv: list[str]) -> int:
    from esm_schnet.core.log import job_log
    from esm_schnet.core.resolved import JobSettings

    ap = argparse.ArgumentParser(
        prog="esm-schnet evaluate",
        description="Gather fold predictions, score SchNet and the baselines on the same folds.",
    )
    d = EvaluateOutputs()
    ap.add_argument("--fold-predictions", nargs="+", required=True, metavar="TSV")
    ap.add_argument("--histories", nargs="*", default=[], metavar="TSV")
    ap.add_argument("--provenance", nargs="*", default=[], metavar="JSON",
                    help="every fold's provenance.json (convergence of each fold)")
    ap.add_argument("--folds", required=True, metavar="TSV")
    ap.add_argument("--samples", required=True, metavar="TSV")
    ap.add_argument("--shards", nargs="+", required=True, metavar="H5")
    add_path_arguments(ap, "--structures", required=False,
                       help="parsed structure files (results/structures/<id>.h5): the "
                       "structure-aware baselines (without them they are skipped)")
    ap.add_argument("--config-file", default=None,
                    help="the evaluate stage's resolved settings (what the workflow passes: "
                         "embedding.model, cv.scheme, evaluate, the label specs), or a config "
                         "YAML (the schema fills the rest; none: every default)")
    ap.add_argument("--out-predictions", type=Path, default=d.predictions)
    ap.add_argument("--out-metrics", type=Path, default=d.metrics)
    ap.add_argument("--out-json", type=Path, default=d.json)
    ap.add_argument("--out-comparisons", type=Path, default=d.comparisons)
    ap.add_argument("--out-lengths", type=Path, default=d.lengths)
    ap.add_argument("--out-history", type=Path, default=d.history)
    ap.add_argument("--out-convergence", type=Path, default=d.convergence)
    ap.add_argument("--out-html", type=Path, default=d.html)
    ap.add_argument("--log", default=None, help="append the log to this file")
    a = ap.parse_args(argv)
    with job_log(a.log, echo=a.log is None):
        run(*_inputs(a, JobSettings.from_file(a.config_file) if a.config_file
                     else JobSettings.from_config({})))
    return 0


def _inputs(a, settings) -> tuple[EvaluateInputs, EvaluateOutputs]:
    """The typed inputs of `run`, from the command line and the job's settings."""
    settings.need("evaluate", "cv", "embedding_model")
    inputs = EvaluateInputs(
        fold_predictions=[Path(p) for p in a.fold_predictions],
        histories=[Path(p) for p in a.histories],
        provenances=[Path(p) for p in a.provenance],
        folds=Path(a.folds),
        samples=Path(a.samples),
        shards=[Path(p) for p in a.shards],
        embedding_model=settings.embedding_model,
        scheme=settings.cv["scheme"],
        n_boot=int(settings.evaluate["bootstrap"]),
        seed=int(settings.evaluate["seed"]),
        labels=settings.labels,
        structures=[Path(p) for p in (paths_from_args(a, "structures") or [])],
    )
    outputs = EvaluateOutputs(
        predictions=a.out_predictions, metrics=a.out_metrics, json=a.out_json,
        comparisons=a.out_comparisons, lengths=a.out_lengths, history=a.out_history,
        convergence=a.out_convergence, html=a.out_html,
    )
    return inputs, outputs
