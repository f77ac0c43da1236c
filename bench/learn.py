"""Can the model learn geometry? SchNet against size-only and sequence-only baselines on labels
computed from the C-alpha coordinates of the jclinic structures.

    .venv/bin/python bench/learn.py [--data ../shared/data/jclinic] [--folds 6] [--jobs 2]
                                    [--epochs N] [--labels rg_norm,far_fraction,contact_density]
                                    [--seeds 0,1,2]

Prints one JSON object: per label, R2 (and RMSE) of SchNet, `size_linear` and `ridge_seq` on the
same 6 folds, and whether SchNet is above both. Skips (exit 0, JSON note) without the data.
With `--seeds` SchNet is trained once per `training.seed` on every fold: `r2` is then that of the
seeds' mean prediction (an ensemble), and `schnet_r2_per_seed` gives each seed alone (the
run-to-run spread).

The labels (all chains of a protein together, N = residues with a C-alpha, x_i their coordinates,
c their centroid, Rg = sqrt(mean |x_i - c|^2)):
- `rg_norm`: Rg / N^(1/3) (Angstrom). Compactness with the size scaling of a globule divided out.
- `far_fraction`: fraction of residues farther than 1.25 Rg from the centroid: how much of the
  chain sits in the periphery (elongated or multi-domain proteins score high).
- `contact_density`: mean number of other C-alpha atoms within 8 Angstrom of a residue (local
  packing; low for loose or surface-rich chains).
Each is intensive (a per-protein shape value), so size alone explains little of it; the runs use
`model.readout: mean`. Relative contact order is not among them on purpose: it needs each
contact's separation along the chain, which the C-alpha graph does not carry (SchNet sees
distances, not residue order).

Everything else is the workflow's own code at its defaults (the packaged config schema): the
parser (esm_schnet.parse), the onehot featurizer, esm_schnet.encoders.graph, the training loop
(esm_schnet.train.train_model), folds from esm_schnet.cv (kfold, seed 0), the baselines of the
evaluate stage (esm_schnet.baselines) and its metrics (esm_schnet.tasks.regression.metrics).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

LABELS = ("rg_norm", "far_fraction", "contact_density")


def geometric_labels(ca: np.ndarray) -> dict[str, float]:
    """The labels of one protein from its C-alpha coordinates [N, 3] (see the module doc)."""
    x = np.asarray(ca, dtype=np.float64)
    n = len(x)
    r = np.linalg.norm(x - x.mean(axis=0), axis=1)
    rg = float(np.sqrt(np.mean(r**2)))
    d2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    contacts = (d2 < 8.0**2).sum(axis=1) - 1
    return {
        "rg_norm": rg / n ** (1 / 3),
        "far_fraction": float(np.mean(r > 1.25 * rg)),
        "contact_density": float(contacts.mean()),
    }


def load(data: Path):
    from esm_schnet.embed.featurizers.onehot import OneHotFeaturizer
    from esm_schnet.parse import parse_structure

    onehot = OneHotFeaturizer()
    ids = [line.split("\t")[0] for line in (data / "labels.tsv").read_text().splitlines()[1:]]
    proteins = []
    for pid in ids:
        prot = parse_structure(data / "pdb" / f"{pid}.pdb", pid)
        x = np.concatenate(onehot.forward(prot.sequences)).astype(np.float32)
        proteins.append({"id": pid, "x": x, "ca": np.asarray(prot.ca, np.float32),
                         "sequences": prot.sequences})
    return proteins


def _train_fold(args):
    """Train SchNet (defaults, readout mean) on the training proteins of one fold; predict."""
    import torch

    from esm_schnet.train.checkpoint import TrainedModel
    from esm_schnet.encoders.graph import build_graph
    from esm_schnet.encoders.model import ModelConfig
    from esm_schnet.core.settings import GraphSettings, TrainingSettings, section
    from esm_schnet.train import train_model
    from esm_schnet.train.runtime import tune_malloc

    proteins, labels, train_idx, test_idx, overrides = args
    torch.set_num_threads(1)
    tune_malloc()
    graph = GraphSettings.from_dict(overrides["graph"])
    model = section("model", {"readout": "mean", **overrides["model"]})
    training = {"device": "cpu", **overrides["training"]}

    def graphs(idx):
        return [build_graph(proteins[i]["id"], proteins[i]["x"], proteins[i]["ca"], graph.cutoff,
                            graph.max_neighbors, y=float(labels[i])) for i in idx]

    train, test = graphs(train_idx), graphs(test_idx)
    cfg = ModelConfig.from_config(train[0].x.shape[1], graph, model)
    t0 = time.perf_counter()
    net, scaler, _, info = train_model(train, cfg, TrainingSettings.from_dict(training))
    pred = TrainedModel(net, cfg, scaler).predict(test)
    return ([pred[g.id] for g in test], info["convergence"]["ratio"],
            info["convergence"]["converged"], time.perf_counter() - t0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "jclinic"))
    ap.add_argument("--folds", type=int, default=6)
    ap.add_argument("--jobs", type=int, default=2, help="folds trained side by side")
    ap.add_argument("--epochs", type=int, default=None, help="default: the schema's")
    for sec in ("graph", "model", "training"):
        ap.add_argument(f"--{sec}", default="{}", metavar="JSON",
                        help=f"settings of the `{sec}` section over the defaults")
    ap.add_argument("--labels", default=",".join(LABELS))
    ap.add_argument("--seeds", default=None,
                    help="comma-separated training seeds: SchNet's prediction is their mean")
    a = ap.parse_args()
    data = Path(a.data)
    if not (data / "labels.tsv").is_file():
        print(json.dumps({"skipped": f"no jclinic data at {data}"}))
        return 0

    from esm_schnet.baselines import mean_pool, ridge_seq, sequence_features, size_linear
    from esm_schnet.cv import assign_folds
    from esm_schnet.tasks.regression.metrics import point_metrics

    t_start = time.perf_counter()
    proteins = load(data)
    ids = [p["id"] for p in proteins]
    fold = np.array([r["fold"] for r in assign_folds(ids, "kfold", k=a.folds, seed=0)])
    n_res = np.array([len(p["ca"]) for p in proteins], dtype=np.float64)
    pooled = np.stack([mean_pool(p["x"]) for p in proteins])
    seq_x = sequence_features(pooled, pooled * n_res[:, None], n_res)
    values = [geometric_labels(p["ca"]) for p in proteins]

    out: dict = {"data": str(data), "proteins": len(ids), "folds": a.folds,
                 "model": {"readout": "mean", "other settings": "schema defaults"}, "labels": {}}
    names = [s for s in a.labels.split(",") if s]
    overrides = {sec: json.loads(getattr(a, sec)) for sec in ("graph", "model", "training")}
    if a.epochs is not None:
        overrides["training"]["epochs"] = a.epochs
    seeds = [int(v) for v in a.seeds.split(",")] if a.seeds else [None]
    out["model"] = {"readout": "mean", **overrides["model"], "other settings": "schema defaults"}
    if seeds != [None]:
        out["seeds"] = seeds
    if overrides["graph"] or overrides["training"]:
        out["graph"], out["training"] = overrides["graph"], overrides["training"]
    jobs = []
    for name in names:
        y = np.array([v[name] for v in values])
        for seed in seeds:
            over = overrides if seed is None else {
                **overrides, "training": {**overrides["training"], "seed": seed}}
            for k in range(a.folds):
                tr, te = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
                jobs.append((name, seed, te, (proteins, y, tr, te, over)))
    with ProcessPoolExecutor(max_workers=a.jobs) as pool:
        results = list(pool.map(_train_fold, [j[3] for j in jobs]))

    for name in names:
        y = np.array([v[name] for v in values])
        per_seed = {seed: np.full(len(y), np.nan) for seed in seeds}
        ratios, fitted, seconds = [], [], 0.0
        for (lab, seed, te, _), (pred, ratio, ok, sec) in zip(jobs, results):
            if lab == name:
                per_seed[seed][te] = pred
                ratios.append(ratio)
                fitted.append(ok)
                seconds += sec
        schnet = np.mean(list(per_seed.values()), axis=0)
        preds = {"schnet": schnet, "size_linear": size_linear(n_res, y, fold),
                 "ridge_seq": ridge_seq(seq_x, y, fold)[0]}
        scores = {m: point_metrics(y, p)[0] for m, p in preds.items()}
        r2 = {m: round(s["r2"], 4) for m, s in scores.items()}
        out["labels"][name] = {
            "range": [round(float(y.min()), 4), round(float(y.max()), 4)],
            "r2": r2,
            "rmse": {m: round(s["rmse"], 5) for m, s in scores.items()},
            "schnet_above_both_baselines": bool(r2["schnet"] > max(r2["size_linear"],
                                                                  r2["ridge_seq"])),
            "folds_not_fitted": int(len(fitted) - sum(fitted)),
            "fit_ratio_max": round(float(max(ratios)), 4),
            "train_seconds": round(seconds, 1),
        }
        if seeds != [None]:
            out["labels"][name]["schnet_r2_per_seed"] = {
                str(s): round(point_metrics(y, p)[0]["r2"], 4) for s, p in per_seed.items()}
    out["wall_seconds"] = round(time.perf_counter() - t_start, 1)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
