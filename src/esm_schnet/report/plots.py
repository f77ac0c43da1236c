"""Plots of the evaluation (matplotlib, Agg, object API only: safe inside Snakemake `run:` threads).

Every function builds and returns a `matplotlib.figure.Figure`; `save` writes it as PNG (at the
configured dpi) and SVG. `make_plots` reads the evaluate outputs and writes every plot
(`plot_names`): each label's plots, drawn by its task (esm_schnet.tasks: regression parity and
residuals, tasks.regression.plots; classification roc_pr and confusion,
tasks.classification.plots), each named with the label (`parity-<label>`) when there are
several labels; then the plots every run has:

- lengths.{png,svg}          residues per protein and per chain, the model window marked
- learning_curves.{png,svg}  train/validation loss per epoch: median over folds, a shaded
  10-90% band across folds, thin per-fold lines; folds that did not fit (their convergence in
  results/evaluate/convergence.tsv) drawn in red with a legend entry "fold k (did not fit)"
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from esm_schnet.core.labels import file_suffix, is_default
from esm_schnet.embed.featurizers.base import LANGUAGE_MODEL
from esm_schnet.report.figures import BASE_FONT, new_figure, save, style_axis
from esm_schnet.tasks import task_of

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger("esm_schnet.report.plots")

SCHEME_NAMES = {"loocv": "leave-one-out CV", "kfold": "k-fold CV", "group": "grouped k-fold CV",
                "logo": "leave-one-cluster-out CV"}
UNCONVERGED_COLOR = "#c0392b"
BAND = (0.1, 0.9)  # quantiles of the shaded band across folds
MAX_UNCONVERGED_LABELS = 6  # more unconverged folds than this share one legend entry


def lengths(lengths_table: pd.DataFrame, window: int | None = 1022, *, title: str = "") -> Figure:
    """Histograms of residues per protein and per chain, with the model window marked."""
    fig, (ax_p, ax_c) = new_figure(10.0, 4.2, ncols=2)
    per_protein = lengths_table.groupby("id")["length"].sum()
    per_chain = lengths_table["length"]
    for ax, values, what, color in (
        (ax_p, per_protein, "protein (all chains)", "#1f4e9c"),
        (ax_c, per_chain, "chain", "#5a8fd0"),
    ):
        values = values.to_numpy()
        top = max(float(values.max()) if len(values) else 1.0, float(window or 0)) * 1.15
        bins = np.linspace(0, top, 31)
        ax.hist(values, bins=bins, color=color, edgecolor="white", linewidth=0.6, gid="hist")
        if window:
            over = int((values > window).sum())
            unit = what.split()[0]
            note = (
                "(kept: each chain is\nembedded on its own)" if unit == "protein"
                else "(embedded in overlapping\nwindows, stitched)"
            )
            ax.axvline(window, color="#c0392b", ls="--", lw=1.5)
            ax.text(
                0.985, 0.97,
                f"model window: {window} residues\n{over} {unit}{'' if over == 1 else 's'} longer\n{note}",
                transform=ax.transAxes, ha="right", va="top", fontsize=BASE_FONT - 1.5,
                color="#c0392b",
                bbox=dict(boxstyle="round,pad=0.3", facecolor="white", edgecolor="#c0392b", alpha=0.9),
            )
        ax.set_xlim(0, top)
        ax.set_xlabel(f"residues per {what}", fontsize=BASE_FONT + 1)
        ax.set_ylabel(f"number of {what.split()[0]}s", fontsize=BASE_FONT + 1)
        ax.set_title(
            f"{len(values)} {what.split()[0]}s, median {int(np.median(values)) if len(values) else 0}",
            fontsize=BASE_FONT + 1,
        )
        style_axis(ax)
    if window:
        fig.text(
            0.5, -0.02,
            "Chains longer than the window are embedded in overlapping windows and stitched; "
            "no protein is dropped for length.",
            ha="center", va="top", fontsize=BASE_FONT - 1.5, color="#555555",
        )
    fig.suptitle(title or "Sequence lengths", fontsize=BASE_FONT + 2)
    return fig


def unconverged_folds(convergence: pd.DataFrame | None) -> list[int]:
    """Folds whose status is `unconverged` in a convergence table (evaluate's convergence.tsv)."""
    if convergence is None or not len(convergence) or "status" not in convergence:
        return []
    return sorted(int(f) for f in convergence.loc[convergence["status"] == "unconverged", "fold"])


def learning_curves(
    history: pd.DataFrame,
    *,
    unconverged: Collection[int] = (),
    title: str = "",
    loss_label: str = "loss (MSE of standardised target)",
) -> Figure:
    """Train (and validation) loss per epoch: the median over folds, a shaded 10-90% band
    across folds and thin per-fold lines; folds in `unconverged` drawn in red and named in
    the legend ("fold k (did not fit)")."""
    fig, ax = new_figure(7.0, 4.6)
    folds = sorted(history["fold"].unique()) if len(history) else []
    bad = sorted(int(k) for k in unconverged if k in set(int(f) for f in folds))
    thin = 0.8 if len(folds) <= 10 else 0.5
    alpha = 0.45 if len(folds) <= 10 else 0.2
    series = [("train_loss", "train", "#1f4e9c"), ("val_loss", "validation", "#d95f02")]
    positive = True
    for col, name, color in series:
        if col not in history.columns or history[col].isna().all():
            continue
        bad_labelled = False
        for k in folds:
            h = history[history["fold"] == k]
            if int(k) in bad:
                if len(bad) <= MAX_UNCONVERGED_LABELS:
                    label = f"fold {int(k)} (did not fit)" if col == "train_loss" else None
                elif col == "train_loss" and not bad_labelled:
                    label = f"{len(bad)} folds (did not fit)"
                    bad_labelled = True
                else:
                    label = None
                ax.plot(h["epoch"], h[col], color=UNCONVERGED_COLOR, lw=1.4, alpha=0.9,
                        ls="-" if col == "train_loss" else ":", gid=f"fold-{col}", label=label)
            else:
                ax.plot(h["epoch"], h[col], color=color, lw=thin, alpha=alpha, gid=f"fold-{col}")
        by_epoch = history.groupby("epoch")[col]
        q = by_epoch.quantile(list(BAND)).unstack()
        if len(folds) > 2:
            ax.fill_between(
                q.index, q[BAND[0]].to_numpy(), q[BAND[1]].to_numpy(), color=color, alpha=0.18,
                lw=0, label=f"{name}, {int(BAND[0] * 100)}-{int(BAND[1] * 100)}% of folds",
                gid=f"band-{col}",
            )
        med = by_epoch.median()
        ax.plot(med.index, med.to_numpy(), color=color, lw=2.4,
                label=f"{name}, median of {len(folds)} folds", gid=f"median-{col}")
        positive &= bool((history[col].dropna() > 0).all())
    values = pd.concat([history[c] for c in ("train_loss", "val_loss") if c in history]).dropna()
    if positive and len(values) and values.max() / values.min() > 20:
        ax.set_yscale("log")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch", fontsize=BASE_FONT + 1)
    ax.set_ylabel(loss_label, fontsize=BASE_FONT + 1)
    style_axis(ax)
    ax.legend(fontsize=BASE_FONT - 1.5, loc="upper right")
    default = f"Learning curves ({len(folds)} folds"
    default += f"; {len(bad)} did not fit)" if bad else ")"
    ax.set_title(title or default, fontsize=BASE_FONT + 2)
    return fig


SHARED_PLOTS = ("lengths", "learning_curves")


def plot_names(specs) -> list[str]:
    """Every plot `make_plots` writes for these labels (LabelSpecs): per label its task's plots
    (Task.plots; regression parity and residuals, classification roc_pr and confusion), named
    `<plot><suffix>` (esm_schnet.core.labels.file_suffix: nothing with one label), then
    lengths and learning curves."""
    names = []
    for spec in specs:
        names += [f"{k}{file_suffix(spec, specs)}" for k in task_of(spec).plots]
    return names + list(SHARED_PLOTS)


def plot_kind(name: str) -> str:
    """The kind of a plot name: 'parity-size' -> 'parity'."""
    return name.split("-", 1)[0]


def doc_labels(doc: Mapping) -> list:
    """The LabelSpecs of a metrics.json (before several labels: the one label `label`)."""
    from esm_schnet.core.labels import LabelSpec, parse_labels

    stored = doc.get("labels")
    return [LabelSpec.from_dict(d) for d in stored] if stored else parse_labels(None)


def label_view(preds: pd.DataFrame, doc: Mapping, spec, specs) -> tuple[pd.DataFrame, dict]:
    """One label's rows of results/predictions.tsv (typed by its task: numbers for regression)
    and its models' metrics from metrics.json."""
    sub = preds
    if "target" in preds.columns:
        sub = task_of(spec).plot_rows(preds[preds["target"].astype(str) == spec.name].copy())
    targets = doc.get("targets") or {}
    models = (targets.get(spec.name) or doc).get("models", {})
    return sub, models


def make_plots(
    predictions_tsv,
    metrics_json,
    lengths_tsv,
    history_tsv,
    outdir,
    dpi: int = 150,
    window: int | None = 1022,
    baselines: bool = True,
    convergence_tsv=None,
) -> dict[str, Figure]:
    """Read the evaluate outputs and write every plot into `outdir`; returns the figures.

    `convergence_tsv` (evaluate's results/evaluate/convergence.tsv) marks the folds that did not
    fit in the learning curves; without it they are read from metrics.json `convergence`."""
    doc = json.loads(Path(metrics_json).read_text(encoding="utf-8"))
    specs = doc_labels(doc)
    preds = pd.read_csv(predictions_tsv, sep="\t",
                        dtype=None if is_default(specs) else {"label": str, "prediction": str})
    lens = pd.read_csv(lengths_tsv, sep="\t")
    hist = pd.read_csv(history_tsv, sep="\t")
    kind = doc.get("embedding_kind", "")
    scheme = doc.get("cv_scheme", "?")
    where = f"{SCHEME_NAMES.get(scheme, scheme)}, {doc.get('embedding_model', '?')}"
    if kind and kind != LANGUAGE_MODEL:  # onehot and other featurizers without a language model
        where += " ablation"
    sizes = lens.groupby("id")["length"].sum()
    if convergence_tsv is not None:
        bad = unconverged_folds(pd.read_csv(convergence_tsv, sep="\t"))
    else:
        bad = [int(u["fold"]) for u in (doc.get("convergence") or {}).get("unconverged", [])]
    figs = {}
    for spec in specs:
        suffix = file_suffix(spec, specs)
        sub, sub_models = label_view(preds, doc, spec, specs)
        named = "" if is_default(specs) else f" of {spec.name}"
        drawn = task_of(spec).draw(spec, sub, sub_models, where=where, named=named, sizes=sizes,
                                   baselines=baselines)
        figs.update({f"{k}{suffix}": f for k, f in drawn.items()})
    figs["lengths"] = lengths(lens, window)
    figs["learning_curves"] = learning_curves(hist, unconverged=bad)
    outdir = Path(outdir)
    for name, fig in figs.items():
        save(fig, outdir / name, dpi=dpi)
    log.info("wrote %d plots (PNG + SVG, %d dpi) to %s", len(figs), dpi, outdir)
    return figs


def plots_job(
    predictions_tsv, metrics_json, lengths_tsv, history_tsv, outdir, dpi, window, log_path=None,
    convergence_tsv=None,
) -> None:
    """The `plots` rule: make_plots with its log written to `log_path`."""
    from esm_schnet.core.log import job_log

    with job_log(log_path):
        make_plots(predictions_tsv, metrics_json, lengths_tsv, history_tsv, outdir, dpi, window,
                   convergence_tsv=convergence_tsv)
