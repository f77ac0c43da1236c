"""The baseline registry: a baseline registered from here (a toy `median`) is run on the same
folds and listed everywhere that lists models, with nothing else touched."""

import numpy as np
import pandas as pd
import pytest

from esm_schnet import baselines, evaluate
from esm_schnet.baselines import Baseline, Proteins, Style
from esm_schnet.report.figures import model_styles
from esm_schnet.tasks.regression.plots import parity


class Median(Baseline):
    name = "median"
    task = "regression"
    description = "median label of the training fold (sees nothing)"
    sees = "nothing (the training labels only)"
    style = Style(color="#e377c2", label="training median", marker="s")

    def fit(self, train):
        self.value_ = float(np.median(train.labels))
        return self

    def predict(self, test):
        assert test.labels is None  # a held-out protein's label is never shown
        return np.full(len(test), self.value_)


@pytest.fixture
def toy():
    baselines.register(Median)
    yield Median
    baselines.unregister("median")


def test_builtins_in_registration_and_display_order():
    assert [b.name for b in baselines.registered("regression")] == [
        "mean", "size_linear", "ridge_pooled", "ridge_seq", "ridge_surface", "hgb_struct"]
    assert evaluate.model_order("regression") == [
        "schnet", "hgb_struct", "ridge_surface", "ridge_seq", "ridge_pooled", "size_linear",
        "mean"]
    assert evaluate.model_order("classification") == [
        "schnet", "seq_logistic", "size_logistic", "majority_class"]
    for task in ("regression", "classification"):
        assert set(evaluate.model_descriptions(task)) == set(evaluate.model_order(task))
        assert all(evaluate.model_sees(task).values())
        assert list(model_styles(task)) == evaluate.model_order(task)


def test_a_registered_toy_is_listed_everywhere(toy):
    assert evaluate.model_order("regression")[:2] == ["schnet", "median"]  # newest first
    assert "median" not in evaluate.model_order("classification")
    assert evaluate.model_descriptions()["median"] == Median.description
    assert evaluate.model_sees()["median"] == Median.sees
    assert model_styles()["median"] == Median.style


def test_out_of_fold_fits_a_fresh_estimator_per_fold_on_the_training_proteins(toy):
    y = np.array([1.0, 2.0, 9.0, 10.0, 11.0, 50.0])
    fold = np.array([0, 0, 0, 1, 1, 1])
    p = Proteins.from_arrays([f"p{i}" for i in range(6)], np.arange(6) + 10, np.ones((6, 2)),
                             labels=y)
    pred, choices = baselines.out_of_fold(Median, p, fold)
    np.testing.assert_array_equal(pred, [11.0] * 3 + [2.0] * 3)
    assert choices == {}
    preds, info = baselines.run("regression", p, fold)
    assert list(preds) == ["mean", "size_linear", "ridge_pooled", "ridge_seq", "median"]
    assert set(info) == {"ridge_alpha_per_fold", "ridge_seq_per_fold"}


def test_toy_in_tables_comparisons_report_and_parity_legend(toy, cv_data):
    fp = evaluate.gather_fold_predictions(cv_data["pred_paths"])
    folds = pd.read_csv(cv_data["folds"], sep="\t")
    labels = pd.Series(cv_data["y"], index=cv_data["ids"])
    preds, metrics, _ = evaluate.evaluate_tables(fp, folds, labels, cv_data["records"], n_boot=50)
    assert list(metrics["model"]) == [
        "schnet", "median", "ridge_seq", "ridge_pooled", "size_linear", "mean"]
    med = preds[preds["model"] == "median"]
    assert len(med) == len(cv_data["ids"]) and med["prediction"].notna().all()
    comp = evaluate.compare_to_baselines(preds, folds, "loocv", n_boot=50)
    assert set(comp.loc[comp["baseline"] == "median", "metric"]) == {"rmse", "mae"}
    html = evaluate.tables_html(metrics, comp, pd.DataFrame())
    assert Median.description in html and Median.sees in html
    rows = {r["model"]: r for r in metrics.to_dict(orient="records")}
    fig = parity(preds, rows)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend[1].startswith("SchNet") and any(t.startswith("training median") for t in legend)


def test_parity_draws_a_model_that_is_not_registered():
    preds = pd.DataFrame({"id": ["a", "b", "a", "b"], "label": [1.0, 2.0, 1.0, 2.0],
                          "prediction": [1.1, 1.9, 1.5, 1.5],
                          "model": ["schnet", "schnet", "unknown", "unknown"]})
    legend = [t.get_text() for t in parity(preds).axes[0].get_legend().get_texts()]
    assert "unknown" in legend


def test_register_refuses_what_is_not_a_baseline():
    with pytest.raises(TypeError):
        baselines.register(object)

    class Nameless(Baseline):
        pass

    with pytest.raises(TypeError, match="name"):
        baselines.register(Nameless)
