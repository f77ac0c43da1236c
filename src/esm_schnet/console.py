"""What the workflow prints at the end of a run (workflow/rules/console.smk calls these).

On success: where the results are, the headline metrics table (model, RMSE with its 95%
interval) from results/metrics.tsv, the comparison verdict from results/comparisons.tsv, and
the command that builds the HTML report. Only what exists is listed (a run may have built a
single target).
"""

from __future__ import annotations

import math
from pathlib import Path

RULE = "=" * 72
PLOTS = ("parity", "residuals", "lengths", "learning_curves")


def _fmt(v, digits: int = 3) -> str:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return "nan"
    return f"{v:.{digits}g}" if math.isfinite(v) else "nan"


def metrics_lines(metrics_tsv: Path, comparisons_tsv: Path | None = None) -> list[str]:
    """The headline table (model, n, RMSE [95% CI]) and the SchNet-vs-best-baseline line."""
    import pandas as pd

    from .evaluate import comparison_line

    metrics = pd.read_csv(metrics_tsv, sep="\t")
    lines = [f"  {'model':<14}{'n':>4}  RMSE [95% CI]", f"  {'-' * 44}"]
    for _, r in metrics.iterrows():
        n = int(r["n"]) if math.isfinite(float(r["n"])) else 0
        lines.append(
            f"  {r['model']:<14}{n:>4}  {_fmt(r['rmse'], 4)} "
            f"[{_fmt(r['rmse_lo'])}, {_fmt(r['rmse_hi'])}]"
        )
    comparisons = None
    if comparisons_tsv is not None and Path(comparisons_tsv).exists():
        comparisons = pd.read_csv(comparisons_tsv, sep="\t")
    lines.append("  " + comparison_line(metrics, comparisons))
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
    plots = [p for p in PLOTS if (r / "plots" / f"{p}.png").exists()]
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
