"""Classification plots: curves per model, intervals in the legends, confusion matrix cells."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_curve

from esm_schnet.report import plots
from esm_schnet.tasks.classification import plots as plots_cls
from esm_schnet.tasks.classification.metrics import compute_metrics


def _case(k=2, n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    logits = rng.normal(size=(n, k)) + 2.0 * np.eye(k)[y]
    good = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    prior = np.tile(np.bincount(y, minlength=k) / n, (n, 1))
    noise = rng.dirichlet(np.ones(k), n)
    return y, {"schnet": good, "majority_class": prior, "seq_logistic": noise}


def _line(ax, gid):
    lines = [l for l in ax.lines if l.get_gid() == gid]
    assert len(lines) == 1, gid
    return lines[0]


@pytest.mark.parametrize("k", [2, 3])
def test_roc_pr_two_panels_curve_per_model_and_intervals_in_legend(k, tmp_path):
    y, probs = _case(k)
    metrics = {m: compute_metrics(y, p, n_boot=100) for m, p in probs.items()}
    fig = plots_cls.roc_pr(y, probs, metrics, class_names=[f"c{i}" for i in range(k)])
    ax_roc, ax_pr = fig.axes[:2]
    for m in probs:
        roc, pr = _line(ax_roc, f"roc-{m}"), _line(ax_pr, f"pr-{m}")
        for line in (roc, pr):
            x, v = line.get_data()
            assert np.all((0 <= x) & (x <= 1)) and np.all((0 <= v) & (v <= 1))
        x, v = roc.get_data()
        assert x[0] == 0 and v[-1] == 1
    legend_roc = [t.get_text() for t in ax_roc.get_legend().get_texts()]
    legend_pr = [t.get_text() for t in ax_pr.get_legend().get_texts()]
    s = metrics["schnet"]
    assert legend_roc[0].startswith("SchNet")  # SchNet first
    assert legend_roc[-1] == "chance"
    expect = f"AUROC {s['auroc']:.3g} [{s['auroc_lo']:.3g}, {s['auroc_hi']:.3g}]"
    assert expect in legend_roc[0]
    assert f"AUPRC {s['auprc']:.3g} [" in legend_pr[0]
    # the uninformative models sit near chance, SchNet well above
    assert s["auroc"] > 0.8 and metrics["majority_class"]["auroc"] == pytest.approx(0.5)
    paths = plots.save(fig, tmp_path / "roc_pr", dpi=50)
    assert all(p.stat().st_size > 1000 for p in paths)
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_binary_roc_is_the_class_one_curve_and_point_legend_without_metrics():
    y, probs = _case(2, seed=1)
    fig = plots_cls.roc_pr(y, {"schnet": probs["schnet"]})
    fpr, tpr, _ = roc_curve(y == 1, probs["schnet"][:, 1])
    x, v = _line(fig.axes[0], "roc-schnet").get_data()
    np.testing.assert_allclose(x, fpr)
    np.testing.assert_allclose(v, tpr)
    # the PR line is drawn so that the area under it is the average precision
    pr = _line(fig.axes[1], "pr-schnet")
    assert pr.get_drawstyle() == "steps-pre"
    r, p = pr.get_data()
    area = float(np.sum(np.diff(r) * p[1:]))
    assert area == pytest.approx(average_precision_score(y, probs["schnet"][:, 1]))
    text = fig.axes[0].get_legend().get_texts()[0].get_text()
    assert "AUROC" in text and "[" not in text  # no interval without a metrics row
    chance = _line(fig.axes[1], "chance-pr").get_ydata()
    assert chance[0] == pytest.approx(np.mean(y == 1))
    with pytest.raises(ValueError):
        plots_cls.roc_pr(y, {})


def test_confusion_counts_and_row_normalised():
    y = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    pred = np.array([0, 1, 0, 1, 1, 2, 0, 2, 1])
    prob = np.eye(3)[pred] * 0.8 + 0.2 / 3
    counts = plots_cls.confusion_counts(y, prob)
    expect = np.array([[2, 1, 0], [0, 2, 0], [1, 1, 2]])
    np.testing.assert_array_equal(counts, expect)
    fig = plots_cls.confusion(y, prob, class_names=["a", "b", "c"])
    images = {im.get_gid(): np.asarray(im.get_array()) for ax in fig.axes for im in ax.images}
    np.testing.assert_array_equal(images["counts"], expect)
    np.testing.assert_allclose(images["normalised"], expect / expect.sum(axis=1, keepdims=True))
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks == ["a", "b", "c"]
    cell_text = {t.get_text() for t in fig.axes[0].texts}
    assert {"2", "1", "0"} <= cell_text


def test_confusion_empty_true_class_row_is_blank():
    y = np.array([0, 0, 1, 1])
    prob = np.array([[.9, .05, .05], [.1, .1, .8], [.2, .7, .1], [.3, .6, .1]])
    fig = plots_cls.confusion(y, prob)
    norm = next(im for ax in fig.axes for im in ax.images if im.get_gid() == "normalised")
    row = np.asarray(norm.get_array())[2]
    assert np.all(np.isnan(row))
    assert "–" in {t.get_text() for t in fig.axes[1].texts}
