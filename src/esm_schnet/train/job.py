"""One training job: index the proteins in the embedding shards, build each protein's C-alpha
radius graph ONCE (reused every epoch), train (esm_schnet.train.loop), predict the held-out
proteins and write `predictions.tsv`, `history.tsv` (epoch, train_loss, val_loss, lr, seconds),
`model.pt` (esm_schnet.train.checkpoint) and `provenance.json`.

Data (`data=`): `stream` reads each protein from the shards when a batch needs it and keeps its
graph in a temporary HDF5 file (esm_schnet.train.dataset): memory bounded by the batch, but every
epoch reads the proteins again. `memory` loads every record and graph first (the reference path:
same predictions to the bit, faster epochs, memory growing with the dataset). `auto` (the
default) loads everything when the job's estimated in-memory size (`estimated_memory_bytes`) is
under `AUTO_MEMORY_MB`, else streams: small and mid-sized runs keep the fast path, and a
10,000-protein job stays bounded.

predictions.tsv: with the one default label `label`: id, y_true, y_pred, fold (as always).
Otherwise one row per held-out protein and label it has: id, target (the label's name), y_true,
y_pred, fold, then p_<class> for every class of the classification labels (y_true and y_pred
are class names there, y_pred the most probable class; p_<class> empty on other labels' rows).
"""

from __future__ import annotations

import logging
import math
import os
import platform
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from esm_schnet.core.device import resolve_device
from esm_schnet.core.files import write_json, write_tsv
from esm_schnet.core.resolved import JobSettings
from esm_schnet.core.settings import GraphSettings
from esm_schnet.tasks import task_of
from esm_schnet.train.loop import train_model
from esm_schnet.train.runtime import library_versions, tune_malloc

log = logging.getLogger("esm_schnet.train")


def make_graphs(records: dict, ids, labels: dict | None, graph: GraphSettings, features=None):
    """ProteinGraphs (radius graph computed once) for `ids`, in that order; `labels`: id -> the
    label, or a tuple of one value per label (NaN: missing); `features`: (id, residues) -> the
    node features appended to the embedding (esm_schnet.encoders.node_features), or None."""
    from esm_schnet.core.errors import EsmSchnetError
    from esm_schnet.encoders.graph import build_graph
    from esm_schnet.encoders.node_features import node_inputs

    graphs = []
    for pid in ids:
        if pid not in records:
            raise EsmSchnetError(f"protein {pid!r} has no embedding record")
        r = records[pid]
        emb = np.asarray(r.embedding, dtype=np.float32)
        if not np.isfinite(emb).all():
            raise EsmSchnetError(f"protein {pid!r}: its embedding contains NaN or Inf")
        if features is not None:
            emb = node_inputs(emb, features(pid, len(emb)))
        y = float("nan") if labels is None else labels[pid]
        graphs.append(
            build_graph(pid, emb, np.asarray(r.ca, np.float32), graph.cutoff,
                        graph.max_neighbors, y=y)
        )
    return graphs


def label_targets(table, specs) -> dict[str, tuple[float, ...]]:
    """id -> one float per label: the number, or the class index (NaN: missing)."""
    from esm_schnet.core.labels import encode

    return {pid: tuple(encode(s, table.at[pid, s.name]) for s in specs) for pid in table.index}


def prediction_columns(specs) -> list[str]:
    """Columns of a fold's predictions.tsv (see the module docstring)."""
    from esm_schnet.core.labels import is_default

    if is_default(specs):
        return ["id", "y_true", "y_pred", "fold"]
    extra = dict.fromkeys(c for s in specs for c in task_of(s).fold_columns(s))
    return ["id", "target", "y_true", "y_pred", "fold", *extra]


def prediction_rows(specs, graphs, preds: dict, fold: int) -> tuple[list[str], list[dict]]:
    """(columns, rows) of predictions.tsv: every graph's labels that it has, predicted."""
    from esm_schnet.core.labels import is_default

    columns = prediction_columns(specs)
    rows = []
    for g in getattr(graphs, "entries", graphs):  # a dataset's entries: id and y, no features
        y = np.atleast_1d(g.y)
        for j, spec in enumerate(specs):
            if not math.isfinite(float(y[j])):
                continue  # not scored on this label
            value = preds[spec.name][g.id]
            row = {c: "" for c in columns} | {"id": g.id, "fold": fold}
            if not is_default(specs):
                row["target"] = spec.name
            row.update(task_of(spec).fold_cells(spec, y[j], value))
            rows.append(row)
    return columns, rows


def edge_stats(graphs) -> dict:
    """Proteins, residues, edges, mean and max neighbours of ProteinGraphs or a dataset."""
    if hasattr(graphs, "edge_stats"):
        return graphs.edge_stats()
    if not graphs:
        return {"proteins": 0, "residues": 0, "edges": 0}
    nodes = np.array([g.num_nodes for g in graphs])
    edges = np.array([g.num_edges for g in graphs])
    deg = np.concatenate(
        [np.bincount(g.edge_index[1].numpy(), minlength=g.num_nodes) for g in graphs]
    )
    return {
        "proteins": len(graphs),
        "residues": int(nodes.sum()),
        "edges": int(edges.sum()),
        "neighbours_mean": round(float(deg.mean()), 2) if deg.size else 0.0,
        "neighbours_max": int(deg.max()) if deg.size else 0,
    }


def run_training_job(
    *,
    shards,
    samples,
    train_ids,
    test_ids,
    outdir,
    settings: JobSettings,
    fold: int | None,
    threads: int = 1,
    extra_provenance: dict | None = None,
    groups=None,
    data: str = "auto",
    structures=(),
) -> dict:
    """Load, build graphs, train, predict the test ids (if any), write all outputs.

    settings: the job's typed settings (esm_schnet.core.resolved.JobSettings, built once at the
    entry point: graph, model, training and the label specs; specs without their classes get
    them from the sample table); groups: {id: cluster} for the inner CV of the linear term's
    ridge start (train_model); data: `auto`, `stream` or `memory` (see the module docstring);
    structures: the parsed structure files (results/structures/<id>.h5), read for the
    descriptors of model.node_features (esm_schnet.encoders.node_features)."""
    import contextlib

    if data not in DATA_MODES:
        raise ValueError(f"data must be one of {DATA_MODES}, not {data!r}")
    if data == "auto":
        cutoff = settings.need("graph").graph.cutoff
        need = estimated_memory_bytes(shards, list(train_ids) + list(test_ids), cutoff)
        data = "memory" if need < AUTO_MEMORY_MB * 2**20 else "stream"
        log.info("data: %s (estimated %.0f MB in memory; auto loads everything below %d MB)",
                 data, need / 2**20, AUTO_MEMORY_MB)
    with contextlib.ExitStack() as stack:
        return _run(stack, shards=shards, samples=samples, train_ids=train_ids,
                    test_ids=test_ids, outdir=outdir, settings=settings, fold=fold,
                    threads=threads, extra_provenance=extra_provenance, groups=groups, data=data,
                    structures=structures)


DATA_MODES = ("auto", "stream", "memory")
# `auto` loads everything below this estimate (MB) and streams above it: well inside the train
# jobs' default resources.train.mem_mb (8,000) together with the model and the batches.
AUTO_MEMORY_MB = 1024
# In-memory graphs per edge (edge_index, distances, the collated batch, the tabulated filter's
# operators, the neighbour profile and PyG's objects, with the default network: the heap kept
# between 500 and 2,000 onehot proteins, `bench/train_memory.py --footprint --model '{}'
# --sizes 500 2000 --pool 8`: 136 bytes per edge; 115 before, fitted to peak RSS with a
# smaller network) and edges per residue at the 10 A cutoff (grows with the cube of the
# cutoff): ~1.8 KB per residue. What the estimate leaves out is the job's fixed ~450 MB
# (torch, PyG, the model) and its transient peaks.
BYTES_PER_EDGE = 136
EDGES_PER_RESIDUE_AT_10A = 13.0


def estimated_memory_bytes(shards, ids, cutoff: float = 10.0) -> float:
    """What loading the proteins `ids` and their graphs would take: residues x (embedding width
    x 4 bytes + edges per residue x BYTES_PER_EDGE), read from the shards' group attributes and
    dataset shapes only (no embedding is read)."""
    import h5py

    from esm_schnet.core.store import index_shards

    index, _ = index_shards(list(shards), ids)
    by_shard: dict = {}
    for pid, path in index.items():
        by_shard.setdefault(path, []).append(pid)
    per_residue_edges = EDGES_PER_RESIDUE_AT_10A * (float(cutoff) / 10.0) ** 3
    total = 0.0
    for path, members in by_shard.items():
        with h5py.File(path, "r") as f:
            for pid in members:
                g = f[pid]
                n = int(g.attrs["n_residues"])
                width = int(g["embedding"].shape[1]) if g["embedding"].ndim == 2 else 0
                total += n * (4.0 * width + per_residue_edges * BYTES_PER_EDGE)
    return total


def _run(stack, *, shards, samples, train_ids, test_ids, outdir, settings: JobSettings, fold,
         threads, extra_provenance, groups, data, structures) -> dict:
    t_start = time.perf_counter()
    import torch

    from esm_schnet import encoders  # noqa: F401  (PyG: most of a job's fixed cost, timed as imports)
    from esm_schnet.train.checkpoint import TrainedModel, embedding_meta, save_model
    from esm_schnet.core.errors import EsmSchnetError
    from esm_schnet.encoders.model import ModelConfig
    from esm_schnet.core.samples import read_sample_table
    from esm_schnet.core.store import load_records, shard_attrs
    from esm_schnet.encoders.node_features import descriptor_source
    from esm_schnet.train.dataset import JobProteins

    t_import = time.perf_counter()
    settings.need("graph", "model", "training")
    graph, model_section, training = settings.graph, settings.model, settings.training
    # model.node_features: descriptor columns after the embedding (None: the embedding alone)
    features = descriptor_source(structures, model_section.get("node_features", []))
    malloc = tune_malloc()
    torch.set_num_threads(max(1, int(threads)))
    device = resolve_device(training.device, setting="training.device")
    outdir = Path(outdir)

    table = read_sample_table(samples, require_labels=True, labels=settings.labels)
    specs = table.attrs["labels"]
    targets = label_targets(table, specs)
    unlabelled = [i for i in list(train_ids) + list(test_ids)
                  if i not in targets or not any(math.isfinite(v) for v in targets[i])]
    if unlabelled:
        raise EsmSchnetError(f"no label for protein(s) {', '.join(unlabelled[:10])}")
    if data == "memory":
        records = load_records(list(shards), ids=list(train_ids) + list(test_ids))
        # provenance of the embeddings: the attrs of the first non-empty shard (each read once)
        attrs = next((a for a in map(shard_attrs, shards) if a.get("n_proteins")), {})
        t_load = time.perf_counter()
        train_graphs = make_graphs(records, train_ids, targets, graph, features)
        test_graphs = make_graphs(records, test_ids, targets, graph, features)
        del records
        dims = {g.x.shape[1] for g in train_graphs + test_graphs}
    else:  # one pass over the shards: checks, graphs into a temporary file; nothing kept
        t_load = time.perf_counter()
        source = stack.enter_context(
            JobProteins(shards, list(train_ids) + list(test_ids), targets, graph,
                        features=features))
        attrs = source.attrs
        train_graphs, test_graphs = source.dataset(train_ids), source.dataset(test_ids)
        dims = source.dims
    t_graph = time.perf_counter()
    if len(dims) != 1:
        raise EsmSchnetError(f"proteins have embeddings of different widths: {sorted(dims)}")
    cfg = ModelConfig.from_config(dims.pop(), graph, model_section,
                                  out_channels=sum(s.width for s in specs))
    stats_train, stats_test = edge_stats(train_graphs), edge_stats(test_graphs)
    log.info("fold %s: %d training, %d test proteins; device %s, %d thread(s); graphs: %s",
             fold, len(train_graphs), len(test_graphs), device, torch.get_num_threads(),
             stats_train)

    model, heads, history, info = train_model(
        train_graphs, cfg, training, device=device, logger=log, labels=specs, groups=groups
    )
    t_train = time.perf_counter()

    trained = TrainedModel(model=model, config=cfg, heads=heads)
    preds = trained.predict_labels(test_graphs) if len(test_graphs) else {}
    t_pred = time.perf_counter()
    columns, rows = prediction_rows(specs, test_graphs, preds, -1 if fold is None else fold)
    meta = {
        "embedding_model": attrs.get("model_id", ""),
        "embedding_revision": attrs.get("model_revision", ""),
        "embedding_dim": cfg.embedding_width,
        "embedding": embedding_meta(attrs),
        "fold": fold,
        "seed": training.seed,
        "train_ids": list(train_ids),
        "labels": [s.as_dict() for s in specs],
    }
    outdir.mkdir(parents=True, exist_ok=True)
    if fold is not None:
        write_tsv(outdir / "predictions.tsv", columns, rows)
    write_tsv(outdir / "history.tsv", ["epoch", "train_loss", "val_loss", "lr", "seconds"], history)
    save_model(outdir / "model.pt", model, cfg, heads, meta)
    t_end = time.perf_counter()
    provenance = {
        "fold": fold,
        "config": {"graph": graph.as_dict(), "model": model_section,
                   "training": training.as_dict()},
        "model_config": asdict(cfg),
        "labels": heads.as_dict(),
        "seed": training.seed,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "malloc_tuned": malloc,
        "embeddings": {k: attrs.get(k) for k in ("model_id", "model_revision", "layer", "dtype",
                                                  "storage_dtype", "embedding_dim")},
        "shards": [str(p) for p in shards],
        "samples": str(samples),
        "train_ids": info["train_ids"],
        "val_ids": info["val_ids"],
        "test_ids": list(test_ids),
        "training": {k: v for k, v in info.items()
                     if k not in ("train_ids", "val_ids", "convergence")},
        "convergence": info["convergence"],
        "graphs": {"train": stats_train, "test": stats_test},
        "data": data,
        "timings_s": {
            "imports": round(t_import - t_start, 3),
            "load": round(t_load - t_import, 3),
            "graphs": round(t_graph - t_load, 3),
            "train": round(t_train - t_graph, 3),
            "predict": round(t_pred - t_train, 3),
            "write": round(t_end - t_pred, 3),
            "total": round(t_end - t_start, 3),
            "per_epoch_mean": round(float(np.mean([h["seconds"] for h in history])), 4),
        },
        "versions": library_versions(),
        "host": {"platform": platform.platform(), "cpus": os.cpu_count()},
    }
    if extra_provenance:
        provenance.update(extra_provenance)
    write_json(outdir / "provenance.json", provenance)
    fit = info["convergence"]
    if not fit["converged"]:
        log.warning("fold %s did not fit (training loss %.3g x the mean predictor's, threshold %g)",
                    fold, fit["ratio"], fit["threshold"])
    for spec in specs if rows else ():
        mine = [r for r in rows if r.get("target", spec.name) == spec.name]
        line = task_of(spec).fold_log(spec, mine, named=len(specs) > 1)
        if line:
            log.info("fold %s: %s", fold, line)
    log.info("done in %.1f s (imports %.1f, load %.1f, graphs %.1f, train %.1f, predict %.1f)",
             t_end - t_start, t_import - t_start, t_load - t_import, t_graph - t_load,
             t_train - t_graph, t_pred - t_train)
    return provenance


