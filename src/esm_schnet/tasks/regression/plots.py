"""Plots of a regression label (matplotlib Agg, object API, esm_schnet.report.figures).

- `parity`: held-out prediction vs label, identity line, SchNet's metrics in the corner; every
  baseline of the task in its registered style (any other model in grey under its name).
- `residuals`: SchNet residual vs protein size (residues).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from esm_schnet.report.figures import (
    BASE_FONT, SCHNET_STYLE, fmt, model_styles, new_figure, style_axis, style_of,
)
from esm_schnet.tasks.names import REGRESSION

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _label_text(label_name: str, unit: str | None) -> str:
    return f"{label_name} ({unit})" if unit else label_name


def _legend(name: str, rmse, sub: pd.DataFrame, lo: float, hi: float) -> str:
    text = f"{name} (RMSE {fmt(rmse)})" if rmse is not None else name
    outside = int(((sub["prediction"] < lo) | (sub["prediction"] > hi)).sum())
    return text + (f", {outside} off-scale" if outside else "")


def parity(
    predictions: pd.DataFrame,
    metrics: Mapping[str, Mapping] | None = None,
    *,
    baselines: bool = True,
    title: str = "",
    label_name: str = "label",
    unit: str | None = None,
    baseline_task: str = REGRESSION,
) -> Figure:
    """Prediction vs label of the held-out proteins; SchNet on top, baselines faded. Every
    baseline in the predictions is drawn: registered ones in their style (esm_schnet.baselines,
    those of `baseline_task`), any other in grey under its name."""
    fig, ax = new_figure(10.0, 6.0)  # the square axes plus the legend beside them
    metrics = metrics or {}
    styles = model_styles(baseline_task)
    known = list(styles) + [m for m in predictions["model"].unique() if m not in styles]
    models = ["schnet"] + ([m for m in known if m != "schnet"] if baselines else [])
    present = [m for m in models if (predictions["model"] == m).any()]
    # Axis range from the labels and SchNet's predictions; a wild baseline does not squash the
    # plot (its points outside are counted in the legend instead).
    schnet_rows = predictions[predictions["model"] == "schnet"]
    ref = schnet_rows if len(schnet_rows) else predictions
    lo = float(min(ref["label"].min(), ref["prediction"].min()))
    hi = float(max(ref["label"].max(), ref["prediction"].max()))
    pad = 0.05 * (hi - lo or 1.0)
    lo, hi = lo - pad, hi + pad
    ax.plot([lo, hi], [lo, hi], ls="--", color="#444444", lw=1.0, label="identity", zorder=1)
    for m in reversed(present):  # SchNet drawn last (on top)
        sub = predictions[predictions["model"] == m]
        st = style_of(m, styles)
        own = m == "schnet"
        rmse = metrics.get(m, {}).get("rmse")
        ax.scatter(
            sub["label"], sub["prediction"],
            s=38 if own else 18,
            color=st.color,
            marker=st.marker,
            alpha=0.9 if own else 0.35,
            edgecolors="white" if own else "none",
            linewidths=0.6,
            zorder=3 if own else 2,
            label=_legend(st.label, rmse, sub, lo, hi),
            gid=f"points-{m}",
        )
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    ax.set_xlabel(f"true {_label_text(label_name, unit)}", fontsize=BASE_FONT + 1)
    ax.set_ylabel(f"predicted {_label_text(label_name, unit)}", fontsize=BASE_FONT + 1)
    style_axis(ax)
    m = metrics.get("schnet")
    if m:
        def ci(k):
            return f"  [{fmt(m.get(k + '_lo'))}, {fmt(m.get(k + '_hi'))}]"

        text = "\n".join(
            [f"SchNet, n = {m.get('n', len(schnet_rows))}   (95% CI)"]
            + [
                f"{name:<12}{fmt(m.get(k)):<6}{ci(k)}"
                for name, k in (
                    ("RMSE", "rmse"), ("MAE", "mae"), ("R²", "r2"),
                    ("Pearson r", "pearson"), ("Spearman ρ", "spearman"),
                )
            ]
        )
        ax.text(
            0.03, 0.97, text, transform=ax.transAxes, va="top", ha="left",
            fontsize=BASE_FONT - 1, family="monospace",
            bbox=dict(boxstyle="round,pad=0.4", facecolor="white", edgecolor="#bbbbbb", alpha=0.9),
        )
    handles, labels = ax.get_legend_handles_labels()
    order = [0] + list(range(len(handles) - 1, 0, -1))  # identity, then SchNet first
    ax.legend(
        [handles[i] for i in order], [labels[i] for i in order],
        # beside the axes, not on them: with six baselines the entries covered the points
        loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
        fontsize=BASE_FONT - 1.5, frameon=True, framealpha=0.9,
    )
    ax.set_title(title or "Held-out predictions vs truth", fontsize=BASE_FONT + 2)
    return fig


def _merge_close(points: pd.DataFrame, everything: pd.DataFrame) -> dict:
    """Group points whose labels would overlap (x within 3% of its range, y within about one text
    line of the symmetric y axis): one label per group."""
    xr = float(np.ptp(everything["size"])) or 1.0
    yr = 2.3 * float(np.nanmax(np.abs(everything["residual"]))) or 1.0
    groups: dict[tuple[float, float], list[str]] = {}
    for _, r in points.iterrows():
        for (x, y), names in groups.items():
            if abs(r["size"] - x) < 0.03 * xr and abs(r["residual"] - y) < 0.06 * yr:
                names.append(str(r["id"]))
                break
        else:
            groups[(float(r["size"]), float(r["residual"]))] = [str(r["id"])]
    return groups


def residuals(
    predictions: pd.DataFrame,
    sizes: pd.Series,
    *,
    title: str = "",
    label_name: str = "label",
    unit: str | None = None,
    annotate: int = 3,
) -> Figure:
    """SchNet residual (prediction - label) against residues per protein."""
    fig, ax = new_figure(7.0, 4.6)
    sub = predictions[predictions["model"] == "schnet"].copy()
    sub["size"] = sub["id"].map(sizes)
    sub["residual"] = sub["prediction"] - sub["label"]
    ax.axhline(0.0, color="#444444", lw=1.0, ls="--", zorder=1)
    ax.scatter(
        sub["size"], sub["residual"], s=36, color=SCHNET_STYLE.color, alpha=0.9,
        edgecolors="white", linewidths=0.6, zorder=3, gid="points-schnet",
    )
    if annotate > 0 and len(sub):
        worst = sub.reindex(sub["residual"].abs().sort_values(ascending=False).index[:annotate])
        for (x, y), names in _merge_close(worst, sub).items():
            ax.annotate(
                "\n".join(names), (x, y), xytext=(6, 0), textcoords="offset points",
                va="center", fontsize=BASE_FONT - 2, color="#333333",
            )
    lim = float(np.nanmax(np.abs(sub["residual"]))) if len(sub) else 1.0
    lim = (lim or 1.0) * 1.15
    ax.set_ylim(-lim, lim)
    ax.set_xlabel("protein size (residues with a Cα, all chains)", fontsize=BASE_FONT + 1)
    ax.set_ylabel(
        f"residual: predicted − true {_label_text(label_name, unit)}", fontsize=BASE_FONT + 1
    )
    style_axis(ax)
    ax.set_title(title or "SchNet residuals vs protein size", fontsize=BASE_FONT + 2)
    return fig
