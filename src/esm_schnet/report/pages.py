"""Pages and caption values for `snakemake --report` (the `report_pages` rule calls write_pages).

- tables.html: per-protein predictions (one row per protein, a column per model) and the parse
  QC tables (structures.tsv, skipped.tsv) as HTML tables, sortable by a click on a header.
- headline.rst: the headline result (SchNet against the best baseline, paired interval, verdict,
  from metrics.json `best_baseline` / `comparisons`); workflow/report/workflow.rst includes it.
- values/<plot>.rst: the numbers behind each plot, included by the plot's caption.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

from esm_schnet.core.files import write_text
from esm_schnet.tasks import get_task, task_names
from esm_schnet.tasks.names import REGRESSION

SORT_JS = """<script>
document.querySelectorAll("table.sortable th").forEach(function (th) {
  th.style.cursor = "pointer"; th.title = "click to sort";
  th.addEventListener("click", function () {
    var table = th.closest("table"), body = table.tBodies[0], i = th.cellIndex;
    var asc = th.dataset.asc !== "1"; th.dataset.asc = asc ? "1" : "0";
    var rows = Array.from(body.rows), num = function (s) { var x = parseFloat(s); return isNaN(x) ? null : x; };
    rows.sort(function (a, b) {
      var x = a.cells[i].textContent, y = b.cells[i].textContent, p = num(x), q = num(y);
      var c = (p !== null && q !== null) ? p - q : x.localeCompare(y);
      return asc ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
</script>"""

STYLE = """<style>
body { font-family: sans-serif; font-size: 13px; margin: 1em; }
table { border-collapse: collapse; margin-bottom: 2em; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: right; }
th { background: #eee; } td:first-child, th:first-child { text-align: left; }
</style>"""


def _f(v, digits: int = 4) -> str:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return str(v)
    return f"{v:.{digits}g}" if math.isfinite(v) else "nan"


def _table(df, caption: str) -> str:
    body = df.to_html(index=False, na_rep="", float_format=lambda v: _f(v), classes="sortable",
                      border=0)
    return f"<h2>{html.escape(caption)}</h2>\n{body}"


def tables_html(predictions_tsv, structures_tsv, skipped_tsv) -> str:
    import pandas as pd

    preds = pd.read_csv(predictions_tsv, sep="\t")
    keys = ["target", "id", "label", "fold"] if "target" in preds.columns else ["id", "label", "fold"]
    wide = preds.pivot_table(index=keys, columns="model", values="prediction",
                             aggfunc="first").reset_index()
    wide.columns.name = None
    if "schnet" in wide:
        wide["schnet_error"] = (pd.to_numeric(wide["schnet"], errors="coerce")
                                - pd.to_numeric(wide["label"], errors="coerce"))
        cols = keys + ["schnet", "schnet_error"]
        wide = wide[cols + [c for c in wide.columns if c not in cols]]
    structures = pd.read_csv(structures_tsv, sep="\t", dtype=str, keep_default_na=False)
    skipped = pd.read_csv(skipped_tsv, sep="\t", dtype=str, keep_default_na=False)
    parts = [
        "<html><head><meta charset='utf-8'><title>esm-schnet tables</title>", STYLE, "</head><body>",
        _table(wide, f"Held-out predictions ({len(wide)} proteins; a column per model)"),
        _table(structures, f"Parse QC: {len(structures)} structures (results/qc/structures.tsv)"),
        _table(skipped, f"Skipped structures: {len(skipped)} (results/qc/skipped.tsv)")
        if len(skipped) else "<h2>Skipped structures: none</h2>",
        SORT_JS, "</body></html>",
    ]
    return "\n".join(parts)


def _targets(metrics: dict) -> list[tuple[str, dict]]:
    """(label name, that label's metrics.json part) of every label; before several labels
    the document itself, as the label `label`."""
    targets = metrics.get("targets")
    return list(targets.items()) if targets else [("label", metrics)]


def headline_rst(metrics: dict) -> str:
    """The headline of each label (one label: the headline as always)."""
    targets = _targets(metrics)
    if len(targets) == 1:
        return _headline(metrics, targets[0][1].get("task", REGRESSION))
    return "\n".join(
        _headline({**metrics, **part}, part.get("task", REGRESSION), name)
        for name, part in targets
    )


def _headline(metrics: dict, task: str = REGRESSION, name: str = "") -> str:
    metric = get_task(task).headline
    what = metric.upper()
    lead = f"**Headline ({name}):**" if name else "**Headline:**"
    best = metrics.get("best_baseline")
    rows = [c for c in metrics.get("comparisons", []) if c["baseline"] == best and c["metric"] == metric]
    if not best or not rows:
        return f"{lead} no baseline comparison (no baseline was scored).\n"
    c = rows[0]
    return (
        f"{lead} SchNet {what} {_f(c['schnet_value'])} against the best baseline, "
        f"``{best}``, {what} {_f(c['baseline_value'])}: difference {_f(c['difference'], 3)} "
        f"(95% paired bootstrap interval {_f(c['lo'], 3)} to {_f(c['hi'], 3)}, "
        f"{c['n_units']} {c['resampling_unit']}s resampled): **{c['verdict']}** "
        f"({metrics.get('n_proteins', '?')} proteins, {metrics.get('n_folds', '?')} folds, "
        f"CV scheme ``{metrics.get('cv_scheme', '?')}``, embedding "
        f"``{metrics.get('embedding_model', '?')}``).\n"
    )


def metrics_table_rst(metrics: dict) -> str:
    """Every model's held-out metrics as RST list-tables (one per label), for the report's
    landing page."""
    targets = _targets(metrics)
    if len(targets) == 1:
        return _metrics_table(targets[0][1])
    return "\n".join(_metrics_table(part, name) for name, part in targets)


def _metrics_table(metrics: dict, name: str = "") -> str:
    models = list((metrics.get("models") or {}).values())
    if not models:
        return ""
    of = f" of {name}" if name else ""
    return "\n".join(get_task(metrics.get("task", REGRESSION)).rst_table(models, of)) + "\n"


def _metric_lines(metrics: dict, plot: str) -> list[str]:
    """One line per model of each label whose task draws `plot` (several labels: headed by
    the label's name)."""
    targets = _targets(metrics)
    lines = []
    for name, part in targets:
        task = get_task(part.get("task", REGRESSION))
        if plot not in task.plots:
            continue
        if len(targets) > 1:
            lines.append(f"- label **{name}**:")
        lines += [task.metric_line(m) for m in (part.get("models") or {}).values()]
    if lines:
        return lines
    owner = next((n for n in task_names() if plot in get_task(n).plots), "such")
    return [f"- no {owner} label in this run"]


def values_rst(metrics: dict, lengths_tsv, convergence_tsv, history_tsv) -> dict[str, str]:
    import pandas as pd

    head = "**Values behind this plot:**\n\n"
    lengths = pd.read_csv(lengths_tsv, sep="\t")
    per_protein = lengths.groupby("id")["length"].sum()
    lengths_txt = (
        f"- {len(per_protein)} proteins, {len(lengths)} chains\n"
        f"- chain length: min {lengths['length'].min()}, median {_f(lengths['length'].median())}, "
        f"max {lengths['length'].max()} residues\n"
        f"- residues per protein: min {per_protein.min()}, median {_f(per_protein.median())}, "
        f"max {per_protein.max()}\n"
    )
    conv = pd.read_csv(convergence_tsv, sep="\t")
    hist = pd.read_csv(history_tsv, sep="\t")
    loss_col = next((c for c in ("train_loss", "loss") if c in hist), None)
    curve = f"- {len(conv)} folds; {int((~conv['converged'].astype(str).str.lower().eq('true')).sum())} did not fit\n"
    if loss_col and "epoch" in hist:
        last = hist[hist["epoch"] == hist["epoch"].max()][loss_col]
        curve += f"- {int(hist['epoch'].max())} epochs; final training loss: median {_f(last.median(), 3)}, max {_f(last.max(), 3)}\n"
    if len(conv):
        curve += f"- loss ratio to the mean predictor per fold: {', '.join(_f(r, 2) for r in conv['ratio'])}\n"
    values = {plot: head + "\n".join(_metric_lines(metrics, plot)) + "\n" for plot in PLOT_NAMES}
    values["lengths"] = head + lengths_txt
    values["learning_curves"] = head + curve
    return values


def write_pages(predictions_tsv, metrics_json, structures_tsv, skipped_tsv, lengths_tsv,
                convergence_tsv, history_tsv, tables_out, headline_out, values_out: dict,
                log_path=None) -> None:
    from esm_schnet.core.log import job_log

    with job_log(log_path):
        _write_pages(predictions_tsv, metrics_json, structures_tsv, skipped_tsv, lengths_tsv,
                     convergence_tsv, history_tsv, tables_out, headline_out, values_out)


def _write_pages(predictions_tsv, metrics_json, structures_tsv, skipped_tsv, lengths_tsv,
                 convergence_tsv, history_tsv, tables_out, headline_out, values_out) -> None:
    metrics = json.loads(Path(metrics_json).read_text())
    write_text(tables_out, tables_html(predictions_tsv, structures_tsv, skipped_tsv))
    write_text(headline_out, headline_rst(metrics) + "\n" + metrics_table_rst(metrics))
    for name, text in values_rst(metrics, lengths_tsv, convergence_tsv, history_tsv).items():
        write_text(values_out[name], text)


# values/<name>.rst of each kind of plot (the captions include them by position)
PLOT_NAMES = ("parity", "residuals", "lengths", "learning_curves", "roc_pr", "confusion")


def report_pages_job(input, output, log_path=None) -> None:
    """The `report_pages` rule: its named input and output (Snakemake namedlists) to write_pages."""
    i = input
    write_pages(i.predictions, i.metrics, i.structures, i.skipped, i.lengths, i.convergence,
                i.history, output.tables, output.headline, dict(zip(PLOT_NAMES, output.values)),
                log_path)
