"""evaluate: gathering folds, the long predictions table, metrics for SchNet and baselines."""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from esm_schnet import evaluate
from esm_schnet.core.errors import InputError


def _tables(d):
    fp = evaluate.gather_fold_predictions(d["pred_paths"])
    folds = pd.read_csv(d["folds"], sep="\t")
    labels = pd.Series(d["y"], index=d["ids"])
    return fp, folds, labels


def test_evaluate_tables_one_row_per_protein_per_model(cv_data):
    fp, folds, labels = _tables(cv_data)
    preds, metrics, info = evaluate.evaluate_tables(fp, folds, labels, cv_data["records"], n_boot=200)
    n = len(cv_data["ids"])
    assert list(preds.columns) == ["id", "label", "prediction", "fold", "model"]
    assert len(preds) == 5 * n
    assert preds.groupby("model")["id"].nunique().to_dict() == {
        "schnet": n, "mean": n, "size_linear": n, "ridge_pooled": n, "ridge_seq": n
    }
    assert list(metrics["model"]) == ["schnet", "ridge_seq", "ridge_pooled", "size_linear", "mean"]
    assert (metrics["n"] == n).all()
    # SchNet row equals the metrics of the fold predictions themselves
    s = metrics.set_index("model").loc["schnet"]
    err = fp.set_index("id").loc[cv_data["ids"]]
    assert s["rmse"] == pytest.approx(np.sqrt(((err.y_pred - err.y_true) ** 2).mean()))
    # mean baseline under LOOCV: (sum - y_i) / (n - 1)
    y = cv_data["y"]
    mean_pred = preds[preds.model == "mean"].set_index("id").loc[cv_data["ids"], "prediction"]
    np.testing.assert_allclose(mean_pred, (y.sum() - y) / (n - 1))
    # size tracks the label in the synthetic data: size-only beats the mean
    m = metrics.set_index("model")
    assert m.loc["size_linear", "rmse"] < m.loc["mean", "rmse"]
    # ridge_seq sees the size too (residue count, sum-pooled features): it beats the mean
    assert m.loc["ridge_seq", "rmse"] < m.loc["mean", "rmse"]
    assert set(info["ridge_seq_per_fold"]) == set(range(n))
    assert info["n_folds"] == n


def test_missing_fold_prediction_is_named(cv_data):
    fp, folds, labels = _tables(cv_data)
    with pytest.raises(InputError, match="p03"):
        evaluate.evaluate_tables(fp[fp.id != "p03"], folds, labels, cv_data["records"], n_boot=0)


def test_label_mismatch_is_refused(cv_data):
    fp, folds, labels = _tables(cv_data)
    labels = labels.copy()
    labels["p05"] += 1.0
    with pytest.raises(InputError, match="p05"):
        evaluate.evaluate_tables(fp, folds, labels, cv_data["records"], n_boot=0)


def test_histories_and_chain_lengths(cv_data):
    h = evaluate.gather_histories(cv_data["hist_paths"])
    assert set(h["fold"]) == set(range(len(cv_data["ids"])))
    assert list(h.columns) == ["fold", "epoch", "train_loss", "val_loss", "seconds"]
    lens = evaluate.chain_lengths(cv_data["records"])
    per_protein = lens.groupby("id")["length"].sum()
    for pid, rec in cv_data["records"].items():
        assert per_protein[pid] == rec.n_residues


def test_summary_table_and_json(cv_data, tmp_path):
    fp, folds, labels = _tables(cv_data)
    preds, metrics, info = evaluate.evaluate_tables(
        fp, folds, labels, cv_data["records"], n_boot=100
    )
    comp = evaluate.compare_to_baselines(preds, folds, "loocv", n_boot=100)
    text = evaluate.summary_table(metrics, "onehot", "loocv")
    assert "onehot ablation" in text
    assert len(text.splitlines()) == 3 + 5 + 1
    assert "no comparison" in text.splitlines()[-1]
    text = evaluate.summary_table(metrics, "onehot", "loocv", comp)
    last = text.splitlines()[-1]
    best = evaluate.best_baseline(metrics)
    assert last.startswith(f"SchNet vs the best baseline ({best}")
    assert "95% paired CI" in last and "proteins resampled" in last
    r = comp[(comp.baseline == best) & (comp.metric == "rmse")].iloc[0]
    assert last.endswith(r["verdict"])
    doc = evaluate.metrics_document(
        metrics, info, "facebook/esm2_t6_8M_UR50D", "group", 100, 0, comparisons=comp
    )
    assert doc["embedding_kind"] == "language model"
    assert doc["cv_scheme"] == "group"
    s = json.dumps(doc, allow_nan=False)  # no NaN leaks into JSON
    assert set(json.loads(s)["models"]) == {
        "schnet", "ridge_seq", "ridge_pooled", "size_linear", "mean"
    }
    assert len(doc["comparisons"]) == 2 * 4
    assert doc["best_baseline"] == best


def test_fold_of_path():
    assert evaluate.fold_of_path("results/cv/loocv/fold-12/predictions.tsv") == 12
    with pytest.raises(ValueError):
        evaluate.fold_of_path("results/cv/loocv/predictions.tsv")
    assert evaluate.embedding_kind("onehot") == "onehot"
    assert evaluate.embedding_kind("/x/esm2") == "language model"
    assert math.isnan(float("nan"))


# --------------------------------------------------------------- comparisons and convergence
from evaldata import convergence_entry, synthetic_cv  # noqa: E402
from traindata import config_file  # noqa: E402


def test_comparisons_table_columns_units_and_verdicts(cv_data):
    fp, folds, labels = _tables(cv_data)
    preds, metrics, _ = evaluate.evaluate_tables(fp, folds, labels, cv_data["records"], n_boot=0)
    comp = evaluate.compare_to_baselines(preds, folds, "loocv", n_boot=300)
    assert list(comp.columns) == evaluate.COMPARISON_COLUMNS
    assert list(comp["baseline"]) == [
        b for b in ("ridge_seq", "ridge_pooled", "size_linear", "mean") for _ in (0, 1)
    ]
    assert set(comp["metric"]) == {"rmse", "mae"}
    assert (comp["resampling_unit"] == "protein").all()
    assert (comp["n_units"] == len(cv_data["ids"])).all()
    m = metrics.set_index("model")
    for _, r in comp.iterrows():
        assert r["difference"] == pytest.approx(m.loc["schnet", r["metric"]] - m.loc[r["baseline"], r["metric"]])
        assert r["lo"] <= r["difference"] <= r["hi"]
        expect = "better" if r["hi"] < 0 else "worse" if r["lo"] > 0 else "not distinguishable"
        assert r["verdict"] == expect
    # SchNet's synthetic errors (sd 5) are far below the mean predictor's: better
    assert comp.set_index(["baseline", "metric"]).loc[("mean", "rmse"), "verdict"] == "better"


def test_group_scheme_resamples_clusters(cv_data):
    fp, folds, labels = _tables(cv_data)
    folds = folds.copy()
    folds["cluster"] = [f"c{i // 3}" for i in range(len(folds))]
    preds, _, _ = evaluate.evaluate_tables(
        fp, folds, labels, cv_data["records"], n_boot=0, scheme="group"
    )
    comp = evaluate.compare_to_baselines(preds, folds, "group", n_boot=100)
    assert (comp["resampling_unit"] == "cluster").all()
    assert (comp["n_units"] == len(cv_data["ids"]) // 3).all()


def test_read_convergence_flags_unconverged_and_tolerates_missing_key(tmp_path):
    d = synthetic_cv(tmp_path, n=6, convergence={0: convergence_entry(0.1), 2: convergence_entry(0.9)})
    conv = evaluate.read_convergence(d["prov_paths"])
    assert list(conv.columns) == evaluate.CONVERGENCE_COLUMNS
    st = conv.set_index("fold")["status"].to_dict()
    assert st == {0: "converged", 1: "unknown", 2: "unconverged", 3: "unknown", 4: "unknown",
                  5: "unknown"}
    doc = evaluate.convergence_document(conv)
    assert doc["n_folds"] == 6 and doc["threshold"] == 0.5
    assert [u["fold"] for u in doc["unconverged"]] == [2]
    assert doc["unconverged"][0]["ratio"] == pytest.approx(0.9)
    assert doc["unconverged"][0]["hint"]
    assert doc["unknown"] == [1, 3, 4, 5]
    lines = evaluate.convergence_lines(conv)
    assert lines[0].startswith("WARNING: fold 2 did not fit") and "0.9" in lines[0]
    assert "unknown for 4 of 6 folds" in lines[1]


def test_run_writes_every_output(tmp_path, monkeypatch):
    from esm_schnet.evaluate import read

    d = synthetic_cv(tmp_path, n=8, n_folds=4, convergence={
        0: convergence_entry(0.1), 1: convergence_entry(0.95), 2: convergence_entry(0.2)
    })
    monkeypatch.setattr(read, "pooled_records",
                        lambda paths: {i: read.pool_record(r) for i, r in d["records"].items()})
    inputs = evaluate.EvaluateInputs(
        fold_predictions=d["pred_paths"], histories=d["hist_paths"], provenances=d["prov_paths"],
        folds=d["folds"], samples=d["samples"], shards=[tmp_path / "unused.h5"],
        embedding_model="onehot", scheme="kfold", n_boot=50, seed=0,
    )
    out = evaluate.EvaluateOutputs.under(tmp_path / "out")
    metrics = evaluate.run(inputs, out)
    # the structure-aware baselines need parsed structures (EvaluateInputs.structures): skipped
    assert list(metrics["model"]) == [
        m for m in evaluate.model_order("regression") if m not in ("hgb_struct", "ridge_surface")
    ] == ["schnet", "ridge_seq", "ridge_pooled", "size_linear", "mean"]
    for f in ("predictions", "metrics", "json", "comparisons", "lengths", "history",
              "convergence", "html"):
        assert getattr(out, f).is_file(), f
    doc = json.loads(out.json.read_text())
    assert [u["fold"] for u in doc["convergence"]["unconverged"]] == [1]
    assert doc["convergence"]["unknown"] == [3]
    assert len(doc["comparisons"]) == 8
    comp = pd.read_csv(out.comparisons, sep="\t")
    assert list(comp.columns) == evaluate.COMPARISON_COLUMNS
    conv = pd.read_csv(out.convergence, sep="\t")
    assert conv.set_index("fold").loc[1, "status"] == "unconverged"
    html = out.html.read_text()
    assert html.count("<table") == 4 and "ridge_seq" in html
    assert "SchNet minus each baseline" in html and "unconverged" in html


def test_cli_builds_the_typed_inputs(tmp_path, monkeypatch):
    seen = {}
    monkeypatch.setattr(evaluate.job, "run", lambda i, o: seen.update(i=i, o=o))  # cli calls job.run
    rc = evaluate.cli([
        "--fold-predictions", "a.tsv", "b.tsv", "--provenance", "p.json", "--folds", "f.tsv",
        "--samples", "s.tsv", "--shards", "x.h5", "--config-file",
        config_file(tmp_path / "c.yaml", embedding={"model": "onehot"}, cv={"scheme": "group"},
                    evaluate={"bootstrap": 7}),
        "--out-comparisons", str(tmp_path / "c.tsv"),
        "--log", str(tmp_path / "log"),
    ])
    assert rc == 0
    i, o = seen["i"], seen["o"]
    assert isinstance(i, evaluate.EvaluateInputs) and isinstance(o, evaluate.EvaluateOutputs)
    assert i.fold_predictions == [Path("a.tsv"), Path("b.tsv")]
    assert i.provenances == [Path("p.json")] and i.n_boot == 7 and i.scheme == "group"
    assert i.embedding_model == "onehot" and [s.name for s in i.labels] == ["label"]
    assert o.comparisons == tmp_path / "c.tsv" and o.metrics == Path("results/metrics.tsv")


def test_out_of_range_flags_predictions_beyond_the_training_labels_widened_by_one_sd():
    from esm_schnet.tasks.regression.tables import out_of_range

    y = np.array([10.0, 20.0, 30.0, 40.0, 50.0, 60.0])
    fold = np.array([0, 0, 1, 1, 2, 2])
    # fold 0 trains on 30..60 (sd 11.18): [18.82, 71.18]; fold 2 trains on 10..40: [-1.18, 51.18]
    pred = np.array([18.0, 71.0, 35.0, 35.0, -2.0, 51.0])
    out = out_of_range([f"p{i}" for i in range(6)], y, pred, fold)
    assert [o["id"] for o in out] == ["p0", "p4"]
    assert out[0]["fold"] == 0 and out[0]["lo"] == pytest.approx(30 - np.std([30, 40, 50, 60]))
    assert out_of_range(["a", "b", "c"], [1.0, 2.0, 3.0], [2.0, 2.0, 2.0], [0, 1, 2]) == []


def test_evaluate_log_warns_about_out_of_range_predictions(cv_data, caplog):
    fp, folds, labels = _tables(cv_data)
    first = cv_data["ids"][0]
    fp.loc[fp["id"] == first, "y_pred"] = 1e6  # far beyond any label
    with caplog.at_level("WARNING", logger="esm_schnet.evaluate"):
        _, _, info = evaluate.evaluate_tables(fp, folds, labels, cv_data["records"], n_boot=20)
    assert [o["id"] for o in info["out_of_range"]] == [first]
    assert any("outside the training labels' range" in r.getMessage() and first in
               r.getMessage() for r in caplog.records)


def test_pooled_records_read_shards_in_chunks_and_pool_like_the_baselines(tmp_path):
    """evaluate keeps per protein only pooled features, counts and chains, read from the shards
    a chunk at a time: the same baseline inputs and chain lengths as from the full records."""
    from esm_schnet.evaluate.read import chain_lengths, pooled_records
    from esm_schnet.evaluate.tables import baseline_proteins
    from esm_schnet.core.store import ProteinRecord, load_records, write_shard

    rng = np.random.default_rng(0)
    attrs = {"model_id": "onehot", "model_revision": "", "layer": -1, "dtype": "float32"}
    paths = []
    for s in range(2):
        recs = []
        for j in range(7):
            lens = [int(x) for x in rng.integers(3, 9, size=1 + (j % 2))]
            L = sum(lens)
            recs.append(ProteinRecord(
                id=f"p{s}{j}", ca=rng.normal(size=(L, 3)).astype(np.float32),
                embedding=rng.normal(size=(L, 5)).astype(np.float32),
                residue_index=np.arange(L, dtype=np.int32),
                chain_index=np.concatenate([np.full(n, c) for c, n in enumerate(lens)]
                                           ).astype(np.int32),
                sequence="/".join("A" * n for n in lens), n_residues=L,
                chain_names=list("AB"[: len(lens)])))
        paths.append(tmp_path / f"shard-{s:03d}.h5")
        write_shard(paths[-1], recs, attrs)
    full = load_records(paths)
    pooled = pooled_records(paths, chunk=3)
    assert set(pooled) == set(full)
    ids = sorted(full)
    folds = pd.DataFrame({"id": ids, "fold": [k % 3 for k in range(len(ids))]})
    a = baseline_proteins(ids, full, folds, "kfold")
    b = baseline_proteins(ids, pooled, folds, "kfold")
    for name in ("n_residues", "mean", "summed"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    pd.testing.assert_frame_equal(chain_lengths({i: full[i] for i in ids}),
                                  chain_lengths({i: pooled[i] for i in ids}))
    assert all(p.mean.dtype == np.float64 for p in pooled.values())
