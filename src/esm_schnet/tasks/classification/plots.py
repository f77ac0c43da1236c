"""Plots of a classification label (matplotlib Agg, object API, esm_schnet.report.figures).

- `roc_pr`: one figure, two panels: ROC curves (false vs true positive rate) and
  precision-recall curves of SchNet and the baselines; the legend gives each model's AUROC /
  AUPRC with its 95% interval (from `metrics.compute_metrics` rows when given). Binary:
  class 1 is the positive class; K > 2: the macro average of the one-vs-rest curves (mean true
  positive rate on a common false-positive-rate grid; mean step-interpolated precision on a
  common recall grid), matching the macro AUROC / AUPRC of `tasks.classification.metrics`.
- `confusion`: one model's confusion matrix, two panels: counts and row-normalised (each row
  divided by the proteins of that true class, so the diagonal is the per-class recall).

Inputs are arrays: `y_true` class indices 0..K-1 and `probs` {model: [n, K] probabilities};
figures are written with `figures.save`. Each model's colour and legend label come from
`figures.model_styles` (SchNet's, and every classification baseline's from its registration).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from esm_schnet.tasks.classification.metrics import as_inputs, point_metrics
from esm_schnet.tasks.names import CLASSIFICATION
from esm_schnet.report.figures import BASE_FONT, fmt, model_styles, new_figure, style_axis, style_of

log = logging.getLogger("esm_schnet.tasks.classification.plots")

PLOTS_CLS = ("roc_pr", "confusion")
GRID = np.linspace(0.0, 1.0, 201)  # common axis of the macro-averaged curves
CHANCE_COLOR = "#444444"


def _class_names(k: int, names: Sequence[str] | None) -> list[str]:
    if names is None:
        return [str(c) for c in range(k)]
    if len(names) != k:
        raise ValueError(f"{len(names)} class names for {k} classes")
    return [str(n) for n in names]


def _curves(y: np.ndarray, p: np.ndarray) -> tuple[tuple, tuple]:
    """((fpr, tpr), (recall, precision)): class 1's curves if binary, else macro one-vs-rest."""
    from sklearn.metrics import precision_recall_curve, roc_curve

    k = p.shape[1]
    classes = [1] if k == 2 else [c for c in range(k) if (y == c).any()]
    rocs, prs = [], []
    for c in classes:
        fpr, tpr, _ = roc_curve(y == c, p[:, c])
        prec, rec, _ = precision_recall_curve(y == c, p[:, c])
        rocs.append((fpr, tpr))
        prs.append((rec[::-1], prec[::-1]))  # recall ascending
    if len(classes) == 1:
        return rocs[0], prs[0]
    tpr = np.mean([np.interp(GRID, f, t) for f, t in rocs], axis=0)
    # precision at the first threshold whose recall reaches the grid value (the step of AP)
    prec = np.mean(
        [pr[np.minimum(np.searchsorted(r, GRID, side="left"), r.size - 1)] for r, pr in prs],
        axis=0,
    )
    return (np.r_[0.0, GRID], np.r_[0.0, tpr]), (GRID, prec)


def _ordered(models: Sequence[str], baseline_task: str = CLASSIFICATION) -> list[str]:
    styles = model_styles(baseline_task)
    known = [m for m in styles if m in models]
    return known + [m for m in models if m not in styles]


def _legend(name: str, metric: str, row: Mapping) -> str:
    value = row.get(metric)
    lo, hi = row.get(f"{metric}_lo"), row.get(f"{metric}_hi")
    ci = f" [{fmt(lo)}, {fmt(hi)}]" if lo is not None and hi is not None else ""
    return f"{name} ({metric.upper()} {fmt(value)}{ci})"


def roc_pr(
    y_true,
    probs: Mapping[str, np.ndarray],
    metrics: Mapping[str, Mapping] | None = None,
    *,
    class_names: Sequence[str] | None = None,
    title: str = "",
    label_name: str = "label",
    baseline_task: str = CLASSIFICATION,
) -> Figure:
    """ROC (left) and precision-recall (right) curves, SchNet on top, baselines faded; AUROC and
    AUPRC with their 95% intervals in the legends (point values only for a model without a
    `metrics` row)."""
    if not probs:
        raise ValueError("no predictions to plot")
    metrics = metrics or {}
    fig, (ax_roc, ax_pr) = new_figure(11.0, 5.2, ncols=2)
    models = _ordered(list(probs), baseline_task)
    styles = model_styles(baseline_task)
    y = None
    k = 0
    for m in reversed(models):  # SchNet drawn last (on top)
        y, p = as_inputs(y_true, probs[m])
        k = p.shape[1]
        st = style_of(m, styles)
        own = m == "schnet"
        row = metrics.get(m) or point_metrics(y, p)[0]
        (fpr, tpr), (rec, prec) = _curves(y, p)
        style = dict(color=st.color, lw=2.4 if own else 1.4, alpha=1.0 if own else 0.75,
                     zorder=3 if own else 2)
        ax_roc.plot(fpr, tpr, drawstyle="steps-post", gid=f"roc-{m}",
                    label=_legend(st.label, "auroc", row), **style)
        # steps-pre on ascending recall: each recall step carries the precision of the
        # threshold that reaches it, so the area under the line is the average precision
        ax_pr.plot(rec, prec, drawstyle="steps-pre", gid=f"pr-{m}",
                   label=_legend(st.label, "auprc", row), **style)
    names = _class_names(k, class_names)
    present = np.flatnonzero(np.bincount(y, minlength=k))
    if k == 2:
        what = f"positive class: {names[1]}"
        chance = float(np.mean(y == 1))
    else:
        what = f"macro average of {len(present)} one-vs-rest curves"
        chance = 1.0 / max(len(present), 1)  # the mean prevalence of the classes present
    ax_roc.plot([0, 1], [0, 1], ls="--", color=CHANCE_COLOR, lw=1.0, zorder=1, label="chance",
                gid="chance-roc")
    ax_pr.axhline(chance, ls="--", color=CHANCE_COLOR, lw=1.0, zorder=1,
                  label=f"chance ({fmt(chance, 2)})", gid="chance-pr")
    for ax, xl, yl, sub, loc in (
        (ax_roc, "false positive rate", "true positive rate", "ROC", "lower right"),
        (ax_pr, "recall", "precision", "Precision-recall", "lower left"),
    ):
        ax.set_xlim(-0.01, 1.01)
        ax.set_ylim(-0.01, 1.01)
        ax.set_aspect("equal")
        ax.set_xlabel(xl, fontsize=BASE_FONT + 1)
        ax.set_ylabel(yl, fontsize=BASE_FONT + 1)
        ax.set_title(f"{sub} ({what})", fontsize=BASE_FONT + 1)
        style_axis(ax)
        handles, labels = ax.get_legend_handles_labels()
        order = [*range(len(handles) - 2, -1, -1), len(handles) - 1]  # SchNet first, chance last
        ax.legend([handles[i] for i in order], [labels[i] for i in order],
                  loc=loc, fontsize=BASE_FONT - 1.5, frameon=True, framealpha=0.9)
    fig.suptitle(
        title or f"Held-out {label_name}: ROC and precision-recall (n = {len(y)}, 95% CI)",
        fontsize=BASE_FONT + 2,
    )
    return fig


def confusion_counts(y_true, prob) -> np.ndarray:
    """[K, K] counts: rows the true class, columns the predicted (most probable) class."""
    from sklearn.metrics import confusion_matrix

    y, p = as_inputs(y_true, prob)
    k = p.shape[1]
    return confusion_matrix(y, p.argmax(axis=1), labels=list(range(k)))


def confusion(
    y_true,
    prob,
    *,
    model: str = "schnet",
    class_names: Sequence[str] | None = None,
    title: str = "",
    label_name: str = "label",
    baseline_task: str = CLASSIFICATION,
) -> Figure:
    """Confusion matrix of one model: counts (left) and row-normalised (right)."""
    counts = confusion_counts(y_true, prob)
    k = counts.shape[0]
    names = _class_names(k, class_names)
    rows = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        norm = np.where(rows > 0, counts / np.where(rows > 0, rows, 1), np.nan)
    size = 3.2 + 0.55 * k
    fig, (ax_n, ax_r) = new_figure(2 * size + 1.2, size, ncols=2)
    for ax, data, gid, sub, fmt in (
        (ax_n, counts.astype(float), "counts", "proteins", lambda v: f"{int(v)}"),
        (ax_r, norm, "normalised", "fraction of the true class (row)", lambda v: f"{v:.2f}"),
    ):
        top = np.nanmax(data) if np.isfinite(data).any() and np.nanmax(data) > 0 else 1.0
        vmax = 1.0 if gid == "normalised" else top
        im = ax.imshow(data, cmap="Blues", vmin=0.0, vmax=vmax, gid=gid)
        for i in range(k):
            for j in range(k):
                v = data[i, j]
                text = "–" if not np.isfinite(v) else fmt(v)
                dark = np.isfinite(v) and v > 0.6 * vmax
                ax.text(j, i, text, ha="center", va="center", fontsize=BASE_FONT,
                        color="white" if dark else "#222222")
        ax.set_xticks(range(k), names, fontsize=BASE_FONT - 1)
        ax.set_yticks(range(k), names, fontsize=BASE_FONT - 1)
        ax.set_xlabel(f"predicted {label_name}", fontsize=BASE_FONT + 1)
        ax.set_ylabel(f"true {label_name}", fontsize=BASE_FONT + 1)
        ax.set_title(sub, fontsize=BASE_FONT + 1)
        fig.colorbar(im, ax=ax, shrink=0.8)
    st = style_of(model, model_styles(baseline_task))
    fig.suptitle(
        title or f"{st.label}: confusion matrix of {int(counts.sum())} held-out proteins",
        fontsize=BASE_FONT + 2,
    )
    return fig


def label_plots(preds, models: Mapping, spec, *, where: str = "", baselines: bool = True,
                baseline_task: str = CLASSIFICATION) -> dict[str, Figure]:
    """roc_pr and confusion of one classification label from its rows of
    results/predictions.tsv (label = true class, p_<class> per class) and its models' metrics."""
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
                         title=f"Held-out class probabilities of {spec.name} ({where})",
                         baseline_task=baseline_task),
        "confusion": confusion(y, probs["schnet"], class_names=classes, label_name=spec.name,
                               title=f"SchNet confusion matrix of {spec.name} ({where})",
                               baseline_task=baseline_task),
    }
