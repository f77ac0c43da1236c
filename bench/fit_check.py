"""Can SchNet's nonlinear path fit a few training proteins at all? A capacity check on a run's data.

    .venv/bin/python bench/fit_check.py RUN [--proteins 40] [--epochs 30] [--lr 1e-3]
                                         [--model JSON] [--training JSON] [--label NAME]

RUN: a workflow run folder (e.g. `bench/esol.sh DIR kfold`): samples.tsv, results/embeddings and
results/cv/kfold/folds.tsv. Takes the first `--proteins` training proteins of outer fold 0 (ids
sorted), builds their graphs with the workflow's code (esm_schnet.train.job.make_graphs) and:

- `features_at_start`: the untrained network's per-protein features, the input of SchNet's last
  layer (`lin2`) pooled by the readout, standardised; an ordinary least-squares fit of the label
  on them over the same proteins, its training R2, and the features' spread between proteins
  relative to their size (what the last layer has to work with);
- `training`: the same proteins trained by the workflow's training loop
  (esm_schnet.train.train_model; no validation split, the settings' defaults updated by
  `--training`), with the model settings' defaults updated by `--model` (default
  `{"linear": false}`: SchNet's nonlinear path alone, no ridge start); the training loss of every
  epoch (standardised: the mean predictor scores about 1) and the final R2 on those proteins.

Prints one JSON object. If the least-squares fit is high and training stays near 1, the
network's features carry the signal but its optimiser cannot reach it.
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


def pooled_lin2_inputs(model, graphs, readout: str) -> np.ndarray:
    """[n, hidden/2]: the input of the model's last layer, pooled per protein (no gradient)."""
    import torch

    from esm_schnet.encoders.graph import collate

    seen = []
    hook = model.lin2.register_forward_hook(lambda mod, inp, out: seen.append(inp[0].detach()))
    try:
        with torch.no_grad():
            for g in graphs:
                model(collate([g]))
    finally:
        hook.remove()
    pool = (lambda h: h.sum(0)) if readout == "add" else (lambda h: h.mean(0))
    return torch.stack([pool(h) for h in seen]).double().numpy()


def least_squares_r2(x: np.ndarray, y: np.ndarray) -> float:
    sd = x.std(0)
    z = (x - x.mean(0)) / np.where(sd > 0, sd, 1.0)
    a = np.c_[z, np.ones(len(z))]
    coef, *_ = np.linalg.lstsq(a, y, rcond=None)
    return float(1 - np.mean((a @ coef - y) ** 2) / np.var(y))


def main() -> int:
    import torch

    from esm_schnet.core.settings import GraphSettings, TrainingSettings
    from esm_schnet.core.store import load_records
    from esm_schnet.cv import read_folds
    from esm_schnet.encoders.model import ModelConfig, build_model
    from esm_schnet.train import train_model
    from esm_schnet.train.checkpoint import TrainedModel
    from esm_schnet.train.job import make_graphs

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--proteins", type=int, default=40)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--model", default='{"linear": false}', help="model settings overlay (JSON)")
    ap.add_argument("--training", default="{}", help="training settings overlay (JSON)")
    ap.add_argument("--label", default=None, help="label column (default: the table's third)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    run = a.run.resolve()
    samples = pd.read_csv(run / "samples.tsv", sep="\t", dtype={"id": str}).set_index("id")
    label = a.label or samples.columns[1]
    folds = read_folds(run / "results" / "cv" / "kfold" / "folds.tsv")
    ids = sorted(i for i, (f, _) in folds.items() if f != 0)[: a.proteins]
    shards = sorted(glob.glob(str(run / "results" / "embeddings" / "*" / "*.h5")))
    graph = GraphSettings.from_dict({})
    y = samples.loc[ids, label].to_numpy(dtype=float)
    graphs = make_graphs(load_records(shards, ids=ids), ids, dict(zip(ids, y)), graph)
    cfg = ModelConfig.from_config(graphs[0].x.shape[1], graph, json.loads(a.model))
    training = TrainingSettings.from_dict(
        {"epochs": a.epochs, "lr": a.lr, "seed": 0, **json.loads(a.training), "val_fraction": 0})

    torch.manual_seed(training.seed)  # the start train_model builds (same seed, same weights)
    start = build_model(cfg).eval()
    feats = pooled_lin2_inputs(start, graphs, cfg.readout)
    spread = feats.std(0) / np.maximum(np.abs(feats).mean(0), 1e-12)
    model, heads, history, _ = train_model(graphs, cfg, training)
    fitted = TrainedModel(model, cfg, heads).predict(graphs)
    pred = np.array([fitted[i] for i in ids], dtype=float)
    out = {
        "run": str(run), "label": label, "proteins": len(ids), "model": json.loads(a.model),
        "training": {"epochs": a.epochs, "lr": a.lr, **json.loads(a.training)},
        "features_at_start": {
            "width": int(feats.shape[1]),
            "least_squares_train_r2": round(least_squares_r2(feats, y), 4),
            "relative_spread_median": float(f"{np.median(spread):.3g}"),
        },
        "training_loss": [round(h["train_loss"], 4) for h in history],
        "train_r2": round(float(1 - np.mean((pred - y) ** 2) / np.var(y)), 4),
    }
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
