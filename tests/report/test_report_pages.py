"""The report's landing page: headline sentence and the metrics table, rendered by docutils as
Snakemake's report renders them."""

from docutils.core import publish_parts

from esm_schnet.report.pages import headline_rst, metrics_table_rst

METRICS = {
    "best_baseline": "size_linear", "n_proteins": 6, "n_folds": 6, "cv_scheme": "loocv",
    "embedding_model": "onehot",
    "comparisons": [{"baseline": "size_linear", "metric": "rmse", "schnet_value": 1.5,
                     "baseline_value": 2.5, "difference": -1.0, "lo": -1.8, "hi": -0.2,
                     "n_units": 6, "resampling_unit": "protein", "verdict": "better"}],
    "models": {
        name: {"model": name, "n": 6, "rmse": rmse, "rmse_lo": rmse - 0.5, "rmse_hi": rmse + 0.5,
               "mae": rmse * 0.8, "r2": 0.9, "pearson": 0.95}
        for name, rmse in (("schnet", 1.5), ("size_linear", 2.5), ("mean", 7.0))
    },
}


def test_landing_page_has_headline_and_metrics_table():
    text = headline_rst(METRICS) + "\n" + metrics_table_rst(METRICS)
    html = publish_parts(text, writer_name="html")["body"]
    assert "better" in html and "size_linear" in html and "-1" in html
    assert html.count("<tr") == 4  # header + one row per model
    for name in ("schnet", "size_linear", "mean"):
        assert f">{name}</tt></td>" in html
    assert "System Message" not in html  # docutils reports markup errors inline


def test_no_models_no_table():
    assert metrics_table_rst({}) == ""
    assert "no baseline" in headline_rst({})
