"""The files `esm-schnet evaluate` writes besides the tables: metrics.json, the HTML page of the
metrics, comparisons and convergence tables, and TSV writing."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from esm_schnet import __version__
from esm_schnet.core.files import write_text
from esm_schnet.evaluate.schema import embedding_kind, model_descriptions, model_sees
from esm_schnet.evaluate.summary import _fmt, convergence_document
from esm_schnet.tasks import get_task
from esm_schnet.tasks.names import REGRESSION


def best_baseline(metrics: pd.DataFrame, task: str = REGRESSION) -> str | None:
    """The baseline with the best headline metric of the task (point estimates), or None."""
    return get_task(task).best_baseline(metrics)


def summary_table(metrics: pd.DataFrame, model_id: str = "", scheme: str = "",
                  comparisons: pd.DataFrame | None = None,
                  convergence: pd.DataFrame | None = None, task: str = REGRESSION) -> str:
    """The plain-text table the evaluate log ends with, as the label's task writes it."""
    return get_task(task).summary_table(metrics, model_id, scheme, comparisons, convergence)


def _json_safe(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        return _json_safe(obj.item())
    return obj


def tsv_text(df: pd.DataFrame) -> str:
    """A DataFrame as TSV text: floats to 6 significant digits, NaN as `nan`."""
    return df.to_csv(sep="\t", index=False, float_format="%.6g", na_rep="nan")


def write_tsv(df: pd.DataFrame, path) -> None:
    """A DataFrame as TSV (tsv_text), written atomically (esm_schnet.core.files.write_text)."""
    write_text(path, tsv_text(df))


_HTML_STYLE = """<style>
body { font-family: sans-serif; font-size: 13px; margin: 1em; }
table.dataframe { border-collapse: collapse; margin-bottom: 1.5em; }
table.dataframe th, table.dataframe td { border: 1px solid #ccc; padding: 3px 8px; }
table.dataframe th { background: #f0f0f0; }
table.dataframe td { text-align: right; }
h2 { font-size: 15px; }
</style>"""


def _table(df: pd.DataFrame) -> str:
    return df.to_html(index=False, na_rep="", float_format=lambda v: f"{v:.4g}", border=0)


def _with_ci(m: pd.DataFrame, metric: str, head: str, digits: int) -> None:
    m[head] = [
        f"{_fmt(r[metric], digits)} [{_fmt(r[metric + '_lo'])}, {_fmt(r[metric + '_hi'])}]"
        for _, r in m.iterrows()
    ]


def short_metrics(metrics: pd.DataFrame, task: str = REGRESSION) -> pd.DataFrame:
    """The metrics table's readable columns (Task.table_columns: point estimates with their
    95% intervals), each model's description and what it sees (from the baseline registry)."""
    t = get_task(task)
    m = metrics.copy()
    m["description"] = m["model"].map(
        model_descriptions(t.baselines_of, t.schnet_description)).fillna("")
    m["sees"] = m["model"].map(model_sees(t.baselines_of)).fillna("")
    columns = ["model", "n"]
    for metric, head, digits in t.table_columns:
        if head is None:
            columns.append(metric)
        else:
            _with_ci(m, metric, f"{head} [95% CI]", digits)
            columns.append(f"{head} [95% CI]")
    return m[[*columns, "description", "sees", "notes"]]


def tables_html(
    metrics: pd.DataFrame, comparisons: pd.DataFrame, convergence: pd.DataFrame, title: str = "",
    sections=None,
) -> str:
    """The metrics, comparisons and convergence tables as one HTML page (pandas to_html).
    `sections`: with several labels, (LabelSpec, metrics, comparisons) of each label, shown
    one after the other."""
    table = _table
    if sections is None:
        body = [
            "<h2>Metrics (held-out predictions, 95% bootstrap intervals)</h2>",
            table(short_metrics(metrics)),
            "<h2>SchNet minus each baseline (95% paired bootstrap intervals)</h2>",
            table(comparisons),
        ]
    else:
        body = []
        for spec, m, c in sections:
            body += [
                f"<h2>Label {spec.name} ({spec.task}): metrics (held-out predictions, 95% "
                "bootstrap intervals)</h2>", table(short_metrics(m, spec.task)),
                f"<h2>Label {spec.name}: SchNet minus each baseline (95% paired bootstrap "
                "intervals)</h2>", table(c),
            ]
    parts = [
        "<!DOCTYPE html>", '<html><head><meta charset="utf-8"><title>esm-schnet metrics</title>',
        _HTML_STYLE, "</head><body>",
        f"<p>{title}</p>" if title else "",
        *body,
        "<h2>Convergence of each fold</h2>",
        table(convergence) if len(convergence) else "<p>no fold provenance given</p>",
        "<h2>All metric columns</h2>", table(metrics),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def metrics_document(
    metrics: pd.DataFrame,
    info: dict,
    model_id: str,
    scheme: str,
    n_boot: int,
    seed: int,
    comparisons: pd.DataFrame | None = None,
    convergence: pd.DataFrame | None = None,
    task: str = REGRESSION,
) -> dict:
    """metrics.json (of one label): settings, every model's metrics, the best baseline and the
    paired comparisons, the folds' convergence."""
    extra = {}
    t = get_task(task)
    descriptions = model_descriptions(t.baselines_of, t.schnet_description)
    if comparisons is not None:
        extra["best_baseline"] = t.best_baseline(metrics)
        extra["comparisons"] = comparisons.to_dict(orient="records")
    if convergence is not None:
        extra["convergence"] = convergence_document(convergence)
    return _json_safe(
        {
            "embedding_model": model_id,
            "embedding_kind": embedding_kind(model_id),
            "cv_scheme": scheme,
            "bootstrap": {"resamples": n_boot, "seed": seed, "confidence": 0.95},
            "task": task,
            "metrics": list(t.all_metrics),
            "models": {
                r["model"]: {"description": descriptions.get(r["model"], ""), **r}
                for r in metrics.to_dict(orient="records")
            },
            "esm_schnet_version": __version__,
            **extra,
            **info,
        }
    )
