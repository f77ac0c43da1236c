"""Plots: files exist and are non-empty, the parity plot has one point per protein and model."""

import json

import numpy as np
import pandas as pd

from esm_schnet import evaluate, plots


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
    for name in plots.PLOTS:
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
    fig = plots.parity(pd.read_csv(tmp_path / "predictions.tsv", sep="\t"), {}, baselines=False)
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
    fig = plots.parity(preds, {"schnet": {"rmse": 0.1}, "ridge_pooled": {"rmse": 288.0}})
    ax = fig.axes[0]
    assert ax.get_ylim()[1] < 10
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("1 off-scale" in t for t in legend), legend
    assert legend[1].startswith("SchNet")
