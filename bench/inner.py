"""Choose settings on inner splits: variants of the training settings scored by cross-validation
inside the training proteins of one outer fold of a finished run, the outer fold's test proteins
never read.

    .venv/bin/python bench/inner.py RUN --variants VARIANTS.json [--outer-fold 0] [--inner 5]
                                    [--jobs 2] [--scheme kfold] [--workdir DIR]

RUN: a workflow run folder (e.g. `bench/esol.sh DIR kfold`): its sample table (samples.tsv),
results/embeddings/*.h5, results/structures/*.h5 and results/cv/SCHEME/folds.tsv. The training
proteins of `--outer-fold` are split into `--inner` folds (esm_schnet.cv kfold, seed 0). Every
variant, a config overlay `{"name": ..., "model": {...}, "training": {...}, "graph": {...}}`
on the run's own settings (its stage file .snakemake/esm_schnet/settings/train-*.json), is
trained once per inner fold by the training job of the workflow
(esm_schnet.train.job.run_training_job, the code `esm-schnet train-fold` runs); the regression
baselines of the evaluate stage (esm_schnet.baselines.run_baselines, with the structure
summaries) are fitted on the same inner folds.

Prints one JSON object: per model, the inner out-of-fold RMSE, Pearson r and R2, for SchNet
variants also the paired RMSE difference against ridge_seq and against hgb_struct (95% paired
bootstrap; esm_schnet.tasks.regression.metrics), the largest fit ratio over the inner folds
(training loss over the mean predictor's) and the training wall seconds.
"""

from __future__ import annotations

import argparse
import copy
import glob
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = _merge(out.get(k, {}), v) if isinstance(v, dict) and isinstance(
            out.get(k), dict) else copy.deepcopy(v)
    return out


def _train_one(task: dict) -> dict:
    import torch

    from esm_schnet.core.resolved import JobSettings
    from esm_schnet.train.job import run_training_job

    torch.set_num_threads(1)
    out = Path(task["outdir"])
    out.mkdir(parents=True, exist_ok=True)
    (out / "settings.json").write_text(json.dumps(task["config"]))
    settings = JobSettings.from_file(out / "settings.json").need("graph", "model", "training")
    t0 = time.perf_counter()
    prov = run_training_job(shards=task["shards"], samples=task["samples"],
                            train_ids=task["train"], test_ids=task["test"],
                            outdir=task["outdir"], settings=settings, fold=task["fold"],
                            structures=task["structures"], data="memory")
    pred = pd.read_csv(Path(task["outdir"]) / "predictions.tsv", sep="\t")
    return {"name": task["name"], "fold": task["fold"], "seconds": time.perf_counter() - t0,
            "ratio": prov["convergence"]["ratio"],
            "pred": dict(zip(pred["id"].astype(str), pred["y_pred"]))}


def _scores(y, p) -> dict:
    from esm_schnet.tasks.regression.metrics import point_metrics

    m, _ = point_metrics(y, p)
    return {k: round(float(m[k]), 4) for k in ("rmse", "pearson", "r2")}


def main() -> int:
    from esm_schnet.baselines import read_structure_summaries, registry
    from esm_schnet.evaluate.tables import baseline_proteins
    from esm_schnet.cv import read_folds
    from esm_schnet.cv.folds import assign_folds
    from esm_schnet.evaluate.read import pooled_records
    from esm_schnet.tasks.regression.metrics import paired_difference

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--variants", required=True, help="JSON file: a list of overlays")
    ap.add_argument("--outer-fold", type=int, default=0)
    ap.add_argument("--inner", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--scheme", default="kfold")
    ap.add_argument("--workdir", type=Path, default=None)
    a = ap.parse_args()
    run = a.run.resolve()
    stage = sorted(glob.glob(str(run / ".snakemake/esm_schnet/settings/train-*.json")))
    if not stage:
        raise SystemExit(f"inner: no train stage settings under {run}/.snakemake")
    base = json.loads(Path(stage[-1]).read_text())
    variants = json.loads(Path(a.variants).read_text())
    folds = read_folds(run / "results" / "cv" / a.scheme / "folds.tsv")
    train = sorted(i for i, (f, _) in folds.items() if f != a.outer_fold)
    inner = {r["id"]: r["fold"] for r in assign_folds(train, "kfold", k=a.inner, seed=0)}
    shards = sorted(glob.glob(str(run / "results" / "embeddings" / "*" / "*.h5")))
    structures = [str(run / "results" / "structures" / f"{i}.h5") for i in train]
    samples = str(run / "samples.tsv")
    label = base["labels"][0]["name"]
    y = pd.read_csv(samples, sep="\t", dtype={"id": str}).set_index("id").loc[train, label]
    y = y.to_numpy(dtype=float)
    fold = np.array([inner[i] for i in train])
    work = a.workdir or run / "inner"
    tasks = []
    for v in variants:
        cfg = _merge(base, {"config": {k: v[k] for k in ("graph", "model", "training") if k in v}})
        for f in range(a.inner):
            tasks.append({"name": v["name"], "fold": f, "config": cfg, "shards": shards,
                          "samples": samples, "structures": structures,
                          "train": [i for i in train if inner[i] != f],
                          "test": [i for i in train if inner[i] == f],
                          "outdir": str(work / v["name"] / f"fold-{f}")})
    t0 = time.perf_counter()
    records = pooled_records(shards, ids=train)
    summaries = read_structure_summaries(structures)
    # what the evaluate stage's baselines see (kfold inner folds: no cluster groups)
    proteins = baseline_proteins(train, records, pd.DataFrame({"id": train}), "kfold",
                                 summaries).with_labels(y)
    preds, _ = registry.run("regression", proteins, fold)
    out = {"run": str(run), "outer_fold": a.outer_fold, "inner_folds": a.inner,
           "proteins": len(train), "models": {m: _scores(y, p) for m, p in preds.items()}}
    with ProcessPoolExecutor(a.jobs) as pool:
        results = list(pool.map(_train_one, tasks))
    for v in variants:
        mine = [r for r in results if r["name"] == v["name"]]
        p = {}
        for r in mine:
            p.update(r["pred"])
        p = np.array([p[i] for i in train])
        row = _scores(y, p) | {"overlay": {k: v[k] for k in v if k != "name"},
                               "max_fit_ratio": round(max(r["ratio"] for r in mine), 3),
                               "train_seconds": round(sum(r["seconds"] for r in mine), 1)}
        for ref in ("ridge_seq", "hgb_struct"):
            d = paired_difference(y, p, preds[ref])["rmse"]
            row[f"rmse_minus_{ref}"] = [round(d["difference"], 3), round(d["lo"], 3),
                                        round(d["hi"], 3)]
        out["models"][v["name"]] = row
    out["wall_seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
