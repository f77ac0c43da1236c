"""Plots: files exist and are non-empty, the parity plot has one point per protein and model."""

import json

import numpy as np
import pandas as pd

from esm_schnet import evaluate
from esm_schnet.report import plots
from esm_schnet.tasks.regression.plots import parity


def _write_eval_outputs(d, root):
    fp = evaluate.gather_fold_predictions(d["pred_paths"])
    folds = pd.read_csv(d["folds"], sep="\t")
    labels = pd.Series(d["y"], index=d["ids"])
    preds, metrics, info = evaluate.evaluate_tables(fp, folds, labels, d["records"], n_boot=50)
    evaluate.write_tsv(preds, root / "predictions.tsv")
    evaluate.write_tsv(evaluate.chain_lengths(d["records"]), root / "lengths.tsv")
    evaluate.write_tsv(evaluate.gather_histories(d["hist_paths"]), root / "history.tsv")
    doc = evaluate.metrics_document(metrics, info, "onehot", "loocv", 50, 0)
    (root / "metrics.json").write_text(json.dumps(doc))
    return preds


def _points(fig, gid):
    ax = fig.axes[0]
    return sum(len(c.get_offsets()) for c in ax.collections if c.get_gid() == gid)


def test_make_plots_writes_png_and_svg(cv_data, tmp_path):
    preds = _write_eval_outputs(cv_data, tmp_path)
    out = tmp_path / "plots"
    figs = plots.make_plots(
        tmp_path / "predictions.tsv", tmp_path / "metrics.json", tmp_path / "lengths.tsv",
        tmp_path / "history.tsv", out, dpi=60,
    )
    for name in ("parity", "residuals", "lengths", "learning_curves"):
        for ext in ("png", "svg"):
            f = out / f"{name}.{ext}"
            assert f.is_file() and f.stat().st_size > 1000, f
        assert (out / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    n = len(cv_data["ids"])
    assert _points(figs["parity"], "points-schnet") == n
    for m in ("mean", "size_linear", "ridge_pooled", "ridge_seq"):
        assert _points(figs["parity"], f"points-{m}") == n
    assert _points(figs["residuals"], "points-schnet") == n
    assert len(preds) == 5 * n
    # every fold has a thin learning curve
    lines = [l for l in figs["learning_curves"].axes[0].lines if l.get_gid() == "fold-train_loss"]
    assert len(lines) == n
    # axes are labelled
    for fig in figs.values():
        for ax in fig.axes:
            assert ax.get_xlabel() and ax.get_ylabel()


def test_parity_without_baselines_and_dpi(cv_data, tmp_path):
    preds = _write_eval_outputs(cv_data, tmp_path)
    fig = parity(pd.read_csv(tmp_path / "predictions.tsv", sep="\t"), {}, baselines=False)
    assert _points(fig, "points-schnet") == len(cv_data["ids"])
    assert _points(fig, "points-mean") == 0
    small = plots.save(fig, tmp_path / "a", dpi=50)[0].stat().st_size
    big = plots.save(fig, tmp_path / "b", dpi=150)[0].stat().st_size
    assert big > small


def test_lengths_marks_window(tmp_path):
    table = pd.DataFrame({"id": ["a", "a", "b"], "chain": [0, 1, 0], "length": [1500, 200, 300]})
    fig = plots.lengths(table, window=1022)
    ax_p, ax_c = fig.axes
    assert any(np.allclose(l.get_xdata(), 1022) for l in ax_c.lines)
    texts = " ".join(t.get_text() for t in ax_c.texts)
    assert "1 chain longer" in texts


def test_parity_axis_follows_schnet_and_counts_off_scale_baselines():
    preds = pd.DataFrame({
        "id": ["a", "b", "c"] * 2,
        "label": [1.0, 2.0, 3.0] * 2,
        "prediction": [1.1, 2.1, 2.9, 1.0, 2.0, 500.0],
        "fold": [0, 1, 2] * 2,
        "model": ["schnet"] * 3 + ["ridge_pooled"] * 3,
    })
    fig = parity(preds, {"schnet": {"rmse": 0.1}, "ridge_pooled": {"rmse": 288.0}})
    ax = fig.axes[0]
    assert ax.get_ylim()[1] < 10
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("1 off-scale" in t for t in legend), legend
    assert legend[1].startswith("SchNet")


def _history(n_folds=8, epochs=20, bad=()):
    rows = []
    for k in range(n_folds):
        for e in range(1, epochs + 1):
            loss = 0.95 if k in bad else 1.0 / e
            rows.append({"fold": k, "epoch": e, "train_loss": loss, "val_loss": np.nan,
                         "seconds": 0.1})
    return pd.DataFrame(rows)


def test_learning_curves_band_median_and_unconverged_fold():
    fig = plots.learning_curves(_history(bad=(3,)), unconverged=[3])
    ax = fig.axes[0]
    assert any(c.get_gid() == "band-train_loss" for c in ax.collections)  # 10-90% band
    assert sum(l.get_gid() == "median-train_loss" for l in ax.lines) == 1
    assert sum(l.get_gid() == "fold-train_loss" for l in ax.lines) == 8
    red = [l for l in ax.lines if l.get_color() == plots.UNCONVERGED_COLOR]
    assert len(red) == 1
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "fold 3 (did not fit)" in legend
    assert "1 did not fit" in ax.get_title()
    # nothing flagged: no "did not fit" entry
    fig = plots.learning_curves(_history())
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert not any("did not fit" in t for t in legend)


def test_many_unconverged_folds_share_one_legend_entry():
    bad = list(range(8))
    fig = plots.learning_curves(_history(bad=bad), unconverged=bad)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "8 folds (did not fit)" in legend
    assert sum("did not fit" in t for t in legend) == 1


def test_make_plots_marks_folds_from_convergence_table(tmp_path):
    from evaldata import convergence_entry, synthetic_cv

    d = synthetic_cv(tmp_path, n=8, n_folds=4, convergence={1: convergence_entry(0.9)})
    _write_eval_outputs(d, tmp_path)
    evaluate.write_tsv(evaluate.read_convergence(d["prov_paths"]), tmp_path / "convergence.tsv")
    figs = plots.make_plots(
        tmp_path / "predictions.tsv", tmp_path / "metrics.json", tmp_path / "lengths.tsv",
        tmp_path / "history.tsv", tmp_path / "plots", dpi=40,
        convergence_tsv=tmp_path / "convergence.tsv",
    )
    legend = [t.get_text() for t in figs["learning_curves"].axes[0].get_legend().get_texts()]
    assert "fold 1 (did not fit)" in legend
    # the same from metrics.json's convergence entry when no table is given
    doc = json.loads((tmp_path / "metrics.json").read_text())
    doc["convergence"] = evaluate.convergence_document(evaluate.read_convergence(d["prov_paths"]))
    (tmp_path / "metrics.json").write_text(json.dumps(doc, default=str))
    figs = plots.make_plots(
        tmp_path / "predictions.tsv", tmp_path / "metrics.json", tmp_path / "lengths.tsv",
        tmp_path / "history.tsv", tmp_path / "plots2", dpi=40,
    )
    legend = [t.get_text() for t in figs["learning_curves"].axes[0].get_legend().get_texts()]
    assert "fold 1 (did not fit)" in legend
