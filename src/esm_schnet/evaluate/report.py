"""The files `esm-schnet evaluate` writes besides the tables: metrics.json, the HTML page of the
metrics, comparisons and convergence tables, and TSV writing."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .. import __version__
from ..files import write_text
from ..metrics import METRICS
from .schema import MODEL_DESCRIPTIONS, embedding_kind
from .summary import _fmt, convergence_document
from .tables import best_baseline


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
    """A DataFrame as TSV (tsv_text), written atomically (esm_schnet.files.write_text)."""
    write_text(path, tsv_text(df))


_HTML_STYLE = """<style>
body { font-family: sans-serif; font-size: 13px; margin: 1em; }
table.dataframe { border-collapse: collapse; margin-bottom: 1.5em; }
table.dataframe th, table.dataframe td { border: 1px solid #ccc; padding: 3px 8px; }
table.dataframe th { background: #f0f0f0; }
table.dataframe td { text-align: right; }
h2 { font-size: 15px; }
</style>"""


def tables_html(
    metrics: pd.DataFrame, comparisons: pd.DataFrame, convergence: pd.DataFrame, title: str = ""
) -> str:
    """The metrics, comparisons and convergence tables as one HTML page (pandas to_html)."""
    def table(df: pd.DataFrame) -> str:
        return df.to_html(index=False, na_rep="", float_format=lambda v: f"{v:.4g}", border=0)

    m = metrics.copy()
    m["RMSE [95% CI]"] = [
        f"{_fmt(r['rmse'], 4)} [{_fmt(r['rmse_lo'])}, {_fmt(r['rmse_hi'])}]"
        for _, r in m.iterrows()
    ]
    m["R2 [95% CI]"] = [
        f"{_fmt(r['r2'], 3)} [{_fmt(r['r2_lo'])}, {_fmt(r['r2_hi'])}]" for _, r in m.iterrows()
    ]
    m["description"] = m["model"].map(MODEL_DESCRIPTIONS).fillna("")
    short = m[["model", "n", "RMSE [95% CI]", "mae", "R2 [95% CI]", "pearson", "spearman",
               "description", "notes"]]
    parts = [
        "<!DOCTYPE html>", '<html><head><meta charset="utf-8"><title>esm-schnet metrics</title>',
        _HTML_STYLE, "</head><body>",
        f"<p>{title}</p>" if title else "",
        "<h2>Metrics (held-out predictions, 95% bootstrap intervals)</h2>", table(short),
        "<h2>SchNet minus each baseline (95% paired bootstrap intervals)</h2>",
        table(comparisons),
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
) -> dict:
    extra = {}
    if comparisons is not None:
        extra["best_baseline"] = best_baseline(metrics)
        extra["comparisons"] = comparisons.to_dict(orient="records")
    if convergence is not None:
        extra["convergence"] = convergence_document(convergence)
    return _json_safe(
        {
            "embedding_model": model_id,
            "embedding_kind": embedding_kind(model_id),
            "cv_scheme": scheme,
            "bootstrap": {"resamples": n_boot, "seed": seed, "confidence": 0.95},
            "metrics": list(METRICS),
            "models": {
                r["model"]: {"description": MODEL_DESCRIPTIONS.get(r["model"], ""), **r}
                for r in metrics.to_dict(orient="records")
            },
            "esm_schnet_version": __version__,
            **extra,
            **info,
        }
    )
