"""How a run's folds trained: loss spikes in the learning curves, and where the gradient goes.

    .venv/bin/python bench/curves.py RUN [--grads FOLD] [--training JSON]

RUN: a workflow run folder (results/cv/SCHEME/fold-*/history.tsv, e.g. Quick start's folder or a
`bench/jclinic.sh` one). Prints one JSON object:

- `folds`: per fold, the first and last epoch's training loss and the largest rise from one
  epoch to the next (`max_rise`: loss[t] / loss[t-1]); `summary`: the median and largest rise
  over the folds and how many folds ended below their first epoch.
- with `--grads FOLD`: that fold retrained in this process with the workflow's code
  (esm_schnet.train.job.make_graphs, esm_schnet.train.train_model), from what its
  provenance.json records (shards, sample table, training proteins, clusters, the graph, model
  and training settings), the training settings updated by `--training`. Before
  every optimiser step the gradient norm of each parameter is recorded (after the step's
  gradient clipping, which scales every gradient by the same factor, so the ratios are those of
  the raw gradients); `grads` gives, per parameter family (the linear term `skip`, the last
  readout layer `lin2`, everything else), the largest norm over the first 3 epochs, over the
  epochs with the largest training loss, and over the last 20 epochs.
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


def curve_summary(run: Path) -> dict:
    folds = {}
    for f in sorted(glob.glob(str(run / "results" / "cv" / "*" / "fold-*" / "history.tsv"))):
        loss = pd.read_csv(f, sep="\t")["train_loss"].to_numpy(dtype=float)
        rises = loss[1:] / loss[:-1]  # epoch t+2 against epoch t+1
        at = int(np.argmax(rises)) if len(rises) else None
        folds[Path(f).parent.name] = {
            "first": float(loss[0]), "last": float(loss[-1]),
            "max_rise": round(float(rises[at]), 2) if at is not None else 1.0,
            "max_rise_epoch": at + 2 if at is not None else 1}
    if not folds:
        raise SystemExit(f"curves: no results/cv/*/fold-*/history.tsv under {run}")
    rises = np.array([v["max_rise"] for v in folds.values()])
    summary = {"folds": len(folds), "max_rise_median": round(float(np.median(rises)), 2),
               "max_rise_max": round(float(rises.max()), 2),
               "last_below_first": sum(v["last"] < v["first"] for v in folds.values())}
    for v in folds.values():  # printed to 8 decimals, compared above at full precision
        v["first"], v["last"] = round(v["first"], 8), round(v["last"], 8)
    return {"folds": folds, "summary": summary}


def family(name: str) -> str:
    return name.split(".")[0] if name.startswith(("skip.", "lin2.")) else "rest"


def gradient_norms(run: Path, fold: int, training: dict) -> dict:
    """Retrain fold `fold` of the run with its own settings (its provenance.json) updated by
    `training`; the largest per-parameter gradient norm per family."""
    import torch

    import esm_schnet.encoders.model as model_module
    from esm_schnet.cv import is_grouped
    from esm_schnet.encoders.model import ModelConfig
    from esm_schnet.core.labels import LabelSpec
    from esm_schnet.core.samples import read_sample_table
    from esm_schnet.core.settings import GraphSettings, TrainingSettings
    from esm_schnet.core.store import load_records
    from esm_schnet.train import train_model
    from esm_schnet.train.job import label_targets, make_graphs

    found = glob.glob(str(run / "results" / "cv" / "*" / f"fold-{fold}" / "provenance.json"))
    if not found:
        raise SystemExit(f"curves: no fold-{fold}/provenance.json under {run}/results/cv")
    prov = json.loads(Path(found[0]).read_text())
    cfg_all = prov["config"]
    settings = {**cfg_all["training"], **training}
    scheme = Path(found[0]).parent.parent.name
    stored = [LabelSpec.from_dict(h["spec"]) for h in prov["labels"]]  # classes included
    table = read_sample_table(run / prov["samples"], require_labels=True, labels=stored)
    specs = table.attrs["labels"]
    train_ids = list(prov["train_ids"])
    records = load_records([run / p for p in prov["shards"]], ids=train_ids)
    graph = GraphSettings.from_dict(cfg_all["graph"])
    graphs = make_graphs(records, train_ids, label_targets(table, specs), graph)
    cfg = ModelConfig.from_config(graphs[0].x.shape[1], graph, cfg_all["model"],
                                  out_channels=sum(s.width for s in specs))
    torch.set_num_threads(1)

    built = {}
    build = model_module.build_model

    def keep(c):  # the model train_model builds, to name its parameters
        built["model"] = build(c)
        return built["model"]

    steps: list[dict] = []

    def before_step(optimizer, args, kwargs):
        if "names" not in built:  # the model's parameters do not change during training
            built["names"] = {id(p): n for n, p in built["model"].named_parameters()}
        names = built["names"]
        norms: dict = {}
        for g in optimizer.param_groups:
            for p in g["params"]:
                if p.grad is not None:
                    fam = family(names[id(p)])
                    norms[fam] = max(norms.get(fam, 0.0), float(p.grad.norm()))
        steps.append(norms)

    model_module.build_model = keep
    from torch.optim.optimizer import register_optimizer_step_pre_hook

    handle = register_optimizer_step_pre_hook(before_step)  # on every optimiser
    try:
        _, _, history, _ = train_model(graphs, cfg, TrainingSettings.from_dict(settings),
                                       labels=specs,
                                       groups=prov["clusters"] if is_grouped(scheme)
                                       else None)
    finally:
        handle.remove()
        model_module.build_model = build
    epochs = len(history)
    per_epoch = len(steps) // epochs
    loss = np.array([h["train_loss"] for h in history])
    worst = sorted(np.argsort(loss)[-2:].tolist())

    def largest(epoch_idx, fam):
        vals = [s.get(fam, 0.0) for e in epoch_idx
                for s in steps[e * per_epoch:(e + 1) * per_epoch]]
        return float(max(vals)) if vals else None

    fams = sorted({k for s in steps for k in s})
    spans = {"epochs_1_3": range(min(3, epochs)),
             f"epochs_{worst[0] + 1}_{worst[-1] + 1}_largest_loss": worst,
             "last_20_epochs": range(max(0, epochs - 20), epochs)}
    return {"fold": fold, "proteins": len(graphs), "steps_per_epoch": per_epoch,
            "training_overrides": training,
            "grads": {span: {f: largest(list(idx), f) for f in fams}
                      for span, idx in spans.items()},
            "train_loss_first_last": [float(loss[0]), float(loss[-1])],
            "train_loss_max": [float(loss.max()), int(np.argmax(loss)) + 1]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--grads", type=int, default=None, metavar="FOLD")
    ap.add_argument("--training", default="{}",
                    help="with --grads: training settings to change from the run's (JSON)")
    a = ap.parse_args()
    out = curve_summary(a.run)
    if a.grads is not None:
        out["gradients"] = gradient_norms(a.run, a.grads, json.loads(a.training))
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
