"""Benchmark of SchNet training on the jclinic graphs at the default settings (config.yaml).

Prints one JSON object: seconds per epoch, edges per second, peak memory, and, measured in the
same run on the same proteins and model, the speed-ups of
  - precomputed graphs over rebuilding every protein's radius graph on every forward pass,
  - the tabulated filter (model.schnet.filter=table) over PyG's per-edge filter MLP (model.schnet.filter=mlp),
  - ours over the original analysis's setup (`speedup_vs_original`, at each of --original-cutoffs,
    20 and 10 A by default): an unmodified `torch_geometric.nn.models.SchNet` (same hidden sizes
    and readout as config.yaml; only `embedding` becomes a Linear layer, as the embeddings are
    float features, not atomic numbers) with its own per-edge filter MLP and an
    `interaction_graph` that rebuilds the radius graph from `pos` on every forward pass, the
    proteins of a step batched by concatenation into one graph (batch_size of config.yaml), one
    forward and backward per step. Its radius graph is this package's pure-torch one with no
    neighbour cap (PyG's default radius graph needs torch-cluster or pyg-lib, which do not install
    here, and its default cap of 32 neighbours would drop most edges at 20 A), so both train on
    the same graphs. Ours: the workflow's training path at the same cutoff (precomputed graphs,
    tabulated filter, one protein per forward with the step's filter tables shared).

Usage:  .venv/bin/python bench/train.py [--data ../shared/data/jclinic] [--epochs 2]
        [--device cpu|cuda|auto] [--threads 1] [--cutoff 20] [--quick]
Features are onehot (no weights needed); the per-edge work does not depend on the feature width.
Wall seconds and the process's CPU seconds are both reported: on a machine shared with other work
the CPU seconds are the better estimate of the quiet wall time. On CPU, memory is the process's
peak RSS (resource.getrusage); on CUDA, torch's peak allocation.
Skips (exit 0 with a JSON note) when the jclinic data are absent.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


def load_jclinic(data: Path, limit: int | None = None):
    from esm_schnet.embed.featurizers.onehot import OneHotFeaturizer
    from esm_schnet.parse import parse_structure

    labels = {}
    for line in (data / "labels.tsv").read_text().splitlines()[1:]:
        pid, y = line.split("\t")
        labels[pid] = float(y)
    ids = list(labels)[:limit] if limit else list(labels)
    onehot = OneHotFeaturizer()
    out = []
    for pid in ids:
        prot = parse_structure(data / "pdb" / f"{pid}.pdb", pid)
        x = np.concatenate(onehot.forward(prot.sequences))
        out.append((pid, x, prot.ca, labels[pid]))
    return out


def epoch(model, batches, scaler, opt, bs, device, rebuild: bool):
    """One training epoch over per-protein batches (gradient accumulation, as train.py)."""
    import torch

    from esm_schnet.encoders.tabulated import shared_filter_tables

    model.train()
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0, c0 = time.perf_counter(), time.process_time()
    for k in range(0, len(batches), bs):
        opt.zero_grad(set_to_none=True)
        with shared_filter_tables(model):
            for b in batches[k : k + bs]:
                if rebuild:  # what PyG's SchNet does by default: radius graph every forward
                    out = model.forward_pyg(b.x, b.pos, b.batch).view(-1)
                else:
                    out = model(b)
                (scaler.loss(out, b.y, b.num_nodes) / bs).backward()
        opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0, time.process_time() - c0


def original_model(in_channels: int, model_cfg: dict, cutoff: float):
    """PyG's SchNet as the original analysis ran it (see the module docstring)."""
    import torch
    from torch_geometric.nn.models import SchNet

    from esm_schnet.encoders.schnet import PrecomputedRadiusGraph

    model = SchNet(
        hidden_channels=model_cfg["schnet"]["hidden_channels"],
        num_filters=model_cfg["schnet"]["num_filters"],
        num_interactions=model_cfg["schnet"]["num_interactions"],
        num_gaussians=model_cfg["schnet"]["num_gaussians"],
        cutoff=cutoff,
        # without a ForwardContext it builds the radius graph from pos on every call
        interaction_graph=PrecomputedRadiusGraph(cutoff, None),
        readout=model_cfg["readout"],
    )
    model.embedding = torch.nn.Linear(in_channels, model_cfg["schnet"]["hidden_channels"])
    return model


def original_epoch(model, batches, scaler, opt, device):
    """One epoch of the original: each step's proteins concatenated into one batch."""
    import torch

    model.train()
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0, c0 = time.perf_counter(), time.process_time()
    for b in batches:
        opt.zero_grad(set_to_none=True)
        out = model(b.x, b.pos, b.batch).view(-1)
        scaler.loss(out, b.y, b.num_nodes).backward()
        opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0, time.process_time() - c0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "jclinic"))
    ap.add_argument("--config", default=str(REPO / "config.yaml"))
    ap.add_argument("--epochs", type=int, default=2, help="timed epochs per variant")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cutoff", type=float, default=None, help="override graph.cutoff")
    ap.add_argument("--quick", action="store_true", help="first 10 proteins only")
    ap.add_argument("--skip-mlp", action="store_true", help="do not time the per-edge MLP")
    ap.add_argument("--original-cutoffs", default="20,10",
                    help="cutoffs (A) of the comparison with the original setup; '' = skip it")
    ap.add_argument("--original-epochs", type=int, default=1,
                    help="timed epochs per cutoff of that comparison (each side)")
    a = ap.parse_args()

    data = Path(a.data)
    if not (data / "labels.tsv").is_file():
        print(json.dumps({"skipped": f"jclinic data not found at {data}"}))
        return 0

    import torch

    from esm_schnet.encoders.graph import build_graph, collate
    from esm_schnet.encoders.model import ModelConfig, TargetScaler, build_model
    from esm_schnet.core.device import resolve_device
    from esm_schnet.core.settings import section
    from esm_schnet.train.runtime import tune_malloc

    malloc = tune_malloc()
    torch.set_num_threads(a.threads)
    # the config file's sections, completed from the packaged schema (the workflow's defaults)
    cfg_all = yaml.safe_load(Path(a.config).read_text()) or {}
    graph_cfg = section("graph", cfg_all.get("graph"))
    model_cfg = section("model", cfg_all.get("model"))
    # SchNet's own path, as the original setup it is compared with: without the centroid
    # features and the linear term (on by default; they add per-residue inputs, not edges)
    model_cfg.update(centroid=False, linear=False)
    training = section("training", cfg_all.get("training"))
    if a.cutoff:
        graph_cfg["cutoff"] = a.cutoff
    device = resolve_device(a.device, setting="--device")

    proteins = load_jclinic(data, 10 if a.quick else None)
    t0 = time.perf_counter()
    graphs = [build_graph(pid, x, ca, graph_cfg["cutoff"], graph_cfg["max_neighbors"], y=y)
              for pid, x, ca, y in proteins]
    graph_s = time.perf_counter() - t0
    edges = sum(g.num_edges for g in graphs)
    residues = sum(g.num_nodes for g in graphs)
    batches = [collate([g]).to(device) for g in graphs]
    scaler = TargetScaler.fit(model_cfg["readout"], [g.y for g in graphs],
                              [g.num_nodes for g in graphs])
    bs = int(training["batch_size"])

    def variant(filter_kind: str, rebuild: bool, epochs: int) -> dict:
        cfg = ModelConfig.from_config(graphs[0].x.shape[1], graph_cfg,
                                      {**model_cfg, "schnet": {**model_cfg["schnet"],
                                                                "filter": filter_kind}})
        torch.manual_seed(0)
        model = build_model(cfg).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=training["lr"])
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        epoch(model, batches[:2], scaler, opt, bs, device, rebuild)  # warm-up
        times = [epoch(model, batches, scaler, opt, bs, device, rebuild) for _ in range(epochs)]
        s = float(np.median([t for t, _ in times]))
        cpu = float(np.median([c for _, c in times]))
        row = {"seconds_per_epoch": round(s, 3), "cpu_seconds_per_epoch": round(cpu, 3),
               "epochs_timed": epochs,
               "edges_per_s": round(edges / s), "graph_rebuilds": model.interaction_graph.rebuilds}
        if device.type == "cuda":
            row["cuda_peak_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        return row

    result = {
        "benchmark": "train",
        "device": str(device),
        "cpu": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "malloc_tuned": malloc,
        "settings": {"graph": graph_cfg, "model": model_cfg,
                     "batch_size": bs, "features": "onehot (21)"},
        "proteins": len(graphs),
        "residues": residues,
        "edges": edges,
        "neighbours_per_residue": round(edges / residues, 1),
        "graph_build_s_all_proteins": round(graph_s, 3),
    }
    result["precomputed_table"] = variant("table", False, a.epochs)
    result["rebuild_each_forward_table"] = variant("table", True, max(1, a.epochs // 2))
    def speedup(slow: str, fast: str) -> dict:
        r = {k: round(result[slow][k] / result[fast][k], 2)
             for k in ("seconds_per_epoch", "cpu_seconds_per_epoch")}
        return {"wall": r["seconds_per_epoch"], "cpu": r["cpu_seconds_per_epoch"]}

    result["speedup_precomputed_vs_rebuild"] = speedup("rebuild_each_forward_table",
                                                       "precomputed_table")
    if not a.skip_mlp:
        result["precomputed_mlp"] = variant("mlp", False, 1)
        result["rebuild_each_forward_mlp"] = variant("mlp", True, 1)
        result["speedup_table_vs_mlp"] = speedup("precomputed_mlp", "precomputed_table")
        # PyG's default path: radius graph and per-edge filter MLP on every forward pass
        result["speedup_ours_vs_pyg_default_path"] = speedup("rebuild_each_forward_mlp",
                                                             "precomputed_table")
    cutoffs = [float(c) for c in a.original_cutoffs.split(",") if c.strip()]
    if cutoffs:
        result["original"] = compare_original(proteins, cutoffs, graph_cfg, model_cfg, scaler,
                                              bs, training["lr"], device, a.original_epochs)
        result["speedup_vs_original"] = {
            f"{c:g}A": result["original"][f"{c:g}A"]["speedup_vs_original"] for c in cutoffs}
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(result, indent=2))
    return 0


def compare_original(proteins, cutoffs, graph_cfg, model_cfg, scaler, bs, lr, device,
                     epochs: int) -> dict:
    """Seconds per epoch of the original setup and of ours at each cutoff, same proteins, same
    target scaling, same sizes and learning rate, interleaved (original, ours) per epoch."""
    import torch

    from esm_schnet.encoders.graph import build_graph, collate
    from esm_schnet.encoders.model import ModelConfig, build_model

    out = {}
    for cutoff in cutoffs:
        graphs = [build_graph(pid, x, ca, cutoff, graph_cfg["max_neighbors"], y=y)
                  for pid, x, ca, y in proteins]
        singles = [collate([g]).to(device) for g in graphs]
        steps = [collate(graphs[k : k + bs]).to(device) for k in range(0, len(graphs), bs)]
        torch.manual_seed(0)
        orig = original_model(graphs[0].x.shape[1], model_cfg, cutoff).to(device)
        orig_opt = torch.optim.Adam(orig.parameters(), lr=lr)
        cfg = ModelConfig.from_config(graphs[0].x.shape[1], {**graph_cfg, "cutoff": cutoff},
                                      model_cfg)
        torch.manual_seed(0)
        ours = build_model(cfg).to(device)
        ours_opt = torch.optim.Adam(ours.parameters(), lr=lr)
        original_epoch(orig, steps[:1], scaler, orig_opt, device)  # warm-up
        epoch(ours, singles[:2], scaler, ours_opt, bs, device, False)
        t_orig, t_ours = [], []
        for _ in range(epochs):
            t_orig.append(original_epoch(orig, steps, scaler, orig_opt, device))
            t_ours.append(epoch(ours, singles, scaler, ours_opt, bs, device, False))
        med = lambda ts, i: float(np.median([t[i] for t in ts]))  # noqa: E731
        edges = sum(g.num_edges for g in graphs)
        out[f"{cutoff:g}A"] = {
            "edges": edges,
            "neighbours_per_residue": round(edges / sum(g.num_nodes for g in graphs), 1),
            "original_seconds_per_epoch": round(med(t_orig, 0), 3),
            "original_cpu_seconds_per_epoch": round(med(t_orig, 1), 3),
            "original_graph_rebuilds": orig.interaction_graph.rebuilds,
            "ours_seconds_per_epoch": round(med(t_ours, 0), 3),
            "ours_cpu_seconds_per_epoch": round(med(t_ours, 1), 3),
            "epochs_timed": epochs,
            "speedup_vs_original": {"wall": round(med(t_orig, 0) / med(t_ours, 0), 2),
                                    "cpu": round(med(t_orig, 1) / med(t_ours, 1), 2)},
        }
    return out


if __name__ == "__main__":
    sys.exit(main())
