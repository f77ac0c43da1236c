"""Plots of the evaluation (matplotlib, Agg, object API only: safe inside Snakemake `run:` threads).

Every function builds and returns a `matplotlib.figure.Figure`; `save` writes it as PNG (at the
configured dpi) and SVG. `make_plots` reads the evaluate outputs and writes every plot
(`plot_names`): per regression label parity and residuals, per classification label roc_pr (ROC
and precision-recall curves) and confusion (esm_schnet.report.plots_cls), each named with the label (`parity-<label>`) when there are
several labels; then lengths and learning curves:

- parity.{png,svg}           held-out prediction vs label, identity line, metrics in the corner
- residuals.{png,svg}        SchNet residual vs protein size (residues)
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

from esm_schnet.embed.featurizers.base import LANGUAGE_MODEL
from esm_schnet.report.figures import (
    BASE_FONT, SCHNET_STYLE, fmt, model_styles, new_figure, save, style_axis, style_of,
)
from esm_schnet.core.labels import file_suffix, is_default

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger("esm_schnet.report.plots")

PLOTS = ("parity", "residuals", "lengths", "learning_curves")
SCHEME_NAMES = {"loocv": "leave-one-out CV", "kfold": "k-fold CV", "group": "grouped k-fold CV",
                "logo": "leave-one-cluster-out CV"}
UNCONVERGED_COLOR = "#c0392b"
BAND = (0.1, 0.9)  # quantiles of the shaded band across folds
MAX_UNCONVERGED_LABELS = 6  # more unconverged folds than this share one legend entry


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
) -> Figure:
    """Prediction vs label of the held-out proteins; SchNet on top, baselines faded. Every
    baseline in the predictions is drawn: registered ones in their style (esm_schnet.baselines),
    any other in grey under its name."""
    fig, ax = new_figure(10.0, 6.0)  # the square axes plus the legend beside them
    metrics = metrics or {}
    styles = model_styles("regression")
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


REGRESSION_PLOTS = ("parity", "residuals")
CLASSIFICATION_PLOTS = ("roc_pr", "confusion")
SHARED_PLOTS = ("lengths", "learning_curves")


def plot_names(specs) -> list[str]:
    """Every plot `make_plots` writes for these labels (LabelSpecs): per label parity and
    residuals (regression) or roc_pr and confusion (classification), named `<plot><suffix>`
    (esm_schnet.core.labels.file_suffix: nothing with one label), then lengths and learning curves."""
    names = []
    for spec in specs:
        kinds = CLASSIFICATION_PLOTS if spec.is_classification else REGRESSION_PLOTS
        names += [f"{k}{file_suffix(spec, specs)}" for k in kinds]
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
    """One label's rows of results/predictions.tsv (numbers for regression) and its models'
    metrics from metrics.json."""
    sub = preds
    if "target" in preds.columns:
        sub = preds[preds["target"].astype(str) == spec.name].copy()
        if not spec.is_classification:
            sub["label"] = sub["label"].astype(float)
            sub["prediction"] = sub["prediction"].astype(float)
    targets = doc.get("targets") or {}
    models = (targets.get(spec.name) or doc).get("models", {})
    return sub, models


def classification_plots(preds: pd.DataFrame, models: Mapping, spec, *, where: str = "",
                         baselines: bool = True) -> dict[str, Figure]:
    """roc_pr and confusion (esm_schnet.report.plots_cls) of one classification label from its rows of
    results/predictions.tsv (label = true class, p_<class> per class) and its models' metrics."""
    from esm_schnet.report.plots_cls import confusion, roc_pr

    classes = list(spec.classes)
    cols = [f"p_{c}" for c in classes]
    by_model = {m: g.set_index("id") for m, g in preds.groupby("model", sort=False)}
    if "schnet" not in by_model:
        raise ValueError(f"no SchNet predictions of label {spec.name!r}")
    ids = list(by_model["schnet"].index)
    y = np.array([classes.index(str(c)) for c in by_model["schnet"]["label"]])
    probs = {m: g.loc[ids, cols].to_numpy(dtype=float) for m, g in by_model.items()
             if baselines or m == "schnet"}
    return {
        "roc_pr": roc_pr(y, probs, models, class_names=classes, label_name=spec.name,
                         title=f"Held-out class probabilities of {spec.name} ({where})"),
        "confusion": confusion(y, probs["schnet"], class_names=classes, label_name=spec.name,
                               title=f"SchNet confusion matrix of {spec.name} ({where})"),
    }


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
        if spec.is_classification:
            figs.update({f"{k}{suffix}": f for k, f in classification_plots(
                sub, sub_models, spec, where=where, baselines=baselines).items()})
            continue
        named = "" if is_default(specs) else f" of {spec.name}"
        figs[f"parity{suffix}"] = parity(
            sub, sub_models, baselines=baselines, title=f"Held-out predictions{named} ({where})",
            label_name=spec.name)
        figs[f"residuals{suffix}"] = residuals(
            sub, sizes, title=f"SchNet residuals{named} vs protein size ({where})",
            label_name=spec.name)
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
