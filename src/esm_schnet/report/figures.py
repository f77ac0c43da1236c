"""What every plot module shares (matplotlib Agg, object API only: safe inside Snakemake `run:`
threads): a new figure, the axis style, number formatting, saving as PNG and SVG, and each
model's style (SchNet's here, every baseline's from the baseline registry, so a registered
baseline is drawn and named in the legends without touching a plot module).

matplotlib is imported inside the functions, not with the module: report.smk imports the plot
modules while Snakemake plans every run (~0.6 s), and most runs never draw a plot."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from esm_schnet import baselines
from esm_schnet.baselines import Style
from esm_schnet.core.files import atomic_path

if TYPE_CHECKING:
    from matplotlib.figure import Figure

BASE_FONT = 10
SCHNET = "schnet"
SCHNET_STYLE = Style(color="#1f4e9c", label="SchNet")


def model_styles(task: str = "regression") -> dict[str, Style]:
    """SchNet's style, then each baseline's of the task, in the order tables show them."""
    return {SCHNET: SCHNET_STYLE, **baselines.styles(task)}


def style_of(model: str, styles: dict[str, Style]) -> Style:
    """A model's style; one that is not registered is drawn in grey under its own name."""
    return styles.get(model) or Style(color="#555555", label=model)


def new_figure(width: float, height: float, ncols: int = 1):
    """(figure, axes) of a constrained-layout Agg figure with `ncols` panels in a row."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols)
    return fig, axes


def style_axis(ax) -> None:
    ax.grid(True, color="#e5e5e5", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=BASE_FONT - 1)


def fmt(v, digits=3) -> str:
    """A number to `digits` significant digits; None and NaN as `n/a`."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return f"{v:.{digits}g}"


def save(fig: Figure, base, dpi: int = 150) -> list[Path]:
    """Write `base`.png and `base`.svg (atomically); returns the paths."""
    base = Path(base)
    base.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for ext in ("png", "svg"):
        path = base.with_suffix(f".{ext}")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi, format=ext, bbox_inches="tight", facecolor="white")
        out.append(path)
    return out
