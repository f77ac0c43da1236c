"""What the workflow prints at the end of a run (workflow/rules/console.smk calls these).

On success: where the results are, the headline metrics table (model, RMSE with its 95%
interval) from results/metrics.tsv, the comparison verdict from results/comparisons.tsv, and
the command that builds the HTML report. Only what exists is listed (a run may have built a
single target).
"""

from __future__ import annotations

import math
from pathlib import Path

from esm_schnet.tasks.names import REGRESSION

RULE = "=" * 72


def _fmt(v, digits: int = 3) -> str:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return "nan"
    return f"{v:.{digits}g}" if math.isfinite(v) else "nan"


def metrics_lines(metrics_tsv: Path, comparisons_tsv: Path | None = None) -> list[str]:
    """The headline table (model, n, the task's headline metric [95% CI]: RMSE, AUROC) and the
    SchNet-vs-best-baseline line, per label when there are several (a `target` column)."""
    import pandas as pd

    metrics = pd.read_csv(metrics_tsv, sep="\t")
    comparisons = None
    if comparisons_tsv is not None and Path(comparisons_tsv).exists():
        comparisons = pd.read_csv(comparisons_tsv, sep="\t")
    if "target" not in metrics.columns:
        return _label_lines(metrics, comparisons, REGRESSION)
    lines = []
    for name, sub in metrics.groupby("target", sort=False):
        task = str(sub["task"].iloc[0])
        comp = None if comparisons is None else comparisons[comparisons["target"] == name]
        lines += [f"  label {name} ({task})"] + _label_lines(sub, comp, task)
    return lines


def _label_lines(metrics, comparisons, task: str) -> list[str]:
    from esm_schnet.evaluate import comparison_line
    from esm_schnet.tasks import get_task

    t = get_task(task)
    metric = t.headline
    lines = [f"  {'model':<14}{'n':>4}  {metric.upper()} [95% CI]", f"  {'-' * 44}"]
    for _, r in metrics.iterrows():
        n = int(r["n"]) if math.isfinite(float(r["n"])) else 0
        lines.append(
            f"  {r['model']:<14}{n:>4}  {_fmt(r[metric], 4)} "
            f"[{_fmt(r[metric + '_lo'])}, {_fmt(r[metric + '_hi'])}]"
        )
    lines.append("  " + comparison_line(metrics, comparisons, metric, t.is_higher_better(metric)))
    return lines


def results_block(results: str | Path = "results") -> str:
    """The block printed when a run succeeds (paths relative to the working directory)."""
    r = Path(results)
    where = [
        ("metrics", r / "metrics.tsv", " (+ metrics.json)"),
        ("comparisons", r / "comparisons.tsv", " (SchNet minus each baseline, paired CI)"),
        ("predictions", r / "predictions.tsv", " (held-out proteins, every model)"),
        ("tables (HTML)", r / "evaluate" / "metrics.html", ""),
        ("QC", r / "qc" / "structures.tsv", " (+ skipped.tsv)"),
        ("final model", r / "final" / "model.pt", ""),
        ("new proteins", r / "predict" / "predictions.tsv", ""),
    ]
    lines = [RULE, "esm-schnet: results", RULE]
    for label, path, note in where:
        if path.exists():
            lines.append(f"  {label:<14}{path}{note}")
    plots = sorted(p.stem for p in (r / "plots").glob("*.png"))
    if plots:
        lines.append(f"  {'plots':<14}{r / 'plots'}/{{{','.join(plots)}}}.png (+ .svg)")
    if (r / "metrics.tsv").exists():
        lines.append("")
        lines += metrics_lines(r / "metrics.tsv", r / "comparisons.tsv")
    lines += ["", f"  Report: snakemake --report {r / 'report.html'}", RULE]
    return "\n".join(lines)


def error_hint() -> str:
    """The line printed when a run fails, after Snakemake's own summary."""
    return (
        "esm-schnet: the run failed. Snakemake's summary above names each failed job and its "
        "log file (profiles/default sets show-failed-logs, so the log is printed too). Fix the "
        "cause and rerun the same command: finished jobs are kept."
    )
