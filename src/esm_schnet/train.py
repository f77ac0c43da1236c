"""Train SchNet on one cross-validation fold (`esm-schnet train-fold`) or on every labelled protein
(`esm-schnet train-final`).

Per fold, in order: load the proteins' records from the embedding shards, build each protein's
C-alpha radius graph ONCE (reused every epoch), fit the target standardisation on the training
proteins only, train with Adam on the MSE, predict the held-out proteins, write
`predictions.tsv` (id, y_true, y_pred, fold), `history.tsv` (epoch, train_loss, val_loss, lr,
seconds), `model.pt` (see esm_schnet.model.save_model) and `provenance.json`.

Mini-batches are formed by accumulating the gradients of `batch_size` proteins, each run through
SchNet on its own precomputed graph: mathematically the same step as a concatenated batch (the
loss is the batch mean), without re-concatenating graphs every epoch, and each protein's per-edge
tensors stay small enough for the CPU caches.

Determinism: seeds fixed (python, numpy, torch; the shuffling and the validation split use their
own seeded generators), `torch.use_deterministic_algorithms(True)`; on CPU the same config, data
and thread count give bit-identical predictions.
"""

from __future__ import annotations

import argparse
import copy
import ctypes
import json
import logging
import math
import os
import platform
import random
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

log = logging.getLogger("esm_schnet.train")

GRAPH_DEFAULTS = {"cutoff": 10.0, "max_neighbors": None}
MODEL_DEFAULTS = {
    "hidden_channels": 64,
    "num_filters": 64,
    "num_interactions": 3,
    "num_gaussians": 50,
    "readout": "add",
    "layer_norm": False,
    "dropout": 0.0,
    "filter": "table",
    "filter_spacing": 0.005,
}
TRAINING_DEFAULTS = {
    "epochs": 60,
    "lr": 2e-3,
    "lr_schedule": "cosine",
    "batch_size": 2,
    "weight_decay": 0.0,
    "val_fraction": 0.0,
    "patience": 20,
    "seed": 0,
    "device": "auto",
}


def resolve(section: dict | None, defaults: dict, name: str) -> dict:
    """Defaults + given values; unknown keys are an error (the schema forbids them too)."""
    from .errors import ConfigError

    section = dict(section or {})
    unknown = sorted(set(section) - set(defaults))
    if unknown:
        raise ConfigError(f"unknown {name} setting(s): {', '.join(unknown)}")
    return {**defaults, **section}


# ----------------------------------------------------------------------------- runtime set-up


def tune_malloc() -> bool:
    """Keep freed memory in glibc's heap instead of returning it to the OS.

    Training allocates and frees the same large per-edge tensors thousands of times; with glibc's
    defaults each large block is a fresh mmap whose pages fault in again, which we measured to
    double the time per epoch. Returns True when applied (glibc only; harmless elsewhere).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_MAX = -1, -2, -4
        ok = libc.mallopt(M_MMAP_MAX, 0) == 1
        ok &= libc.mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1
        ok &= libc.mallopt(M_TOP_PAD, 64 << 20) == 1
        return bool(ok)
    except (OSError, AttributeError):
        return False


def resolve_device(name: str = "auto"):
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        from .errors import ConfigError

        raise ConfigError("training.device is cuda but no CUDA device is available")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    # warn_only: a CUDA op without a deterministic implementation warns instead of failing;
    # every op used on CPU is deterministic.
    torch.use_deterministic_algorithms(True, warn_only=True)


def library_versions() -> dict:
    import h5py
    import torch
    import torch_geometric

    from . import __version__

    return {
        "esm_schnet": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_geometric": torch_geometric.__version__,
        "numpy": np.__version__,
        "h5py": h5py.__version__,
    }


# ----------------------------------------------------------------------------- data


def make_graphs(records: dict, ids, labels: dict | None, graph_cfg: dict):
    """ProteinGraphs (radius graph computed once) for `ids`, in that order."""
    from .errors import EsmSchnetError
    from .graph import build_graph

    graphs = []
    for pid in ids:
        if pid not in records:
            raise EsmSchnetError(f"protein {pid!r} has no embedding record")
        r = records[pid]
        emb = np.asarray(r.embedding, dtype=np.float32)
        if not np.isfinite(emb).all():
            raise EsmSchnetError(f"protein {pid!r}: its embedding contains NaN or Inf")
        y = float("nan") if labels is None else float(labels[pid])
        graphs.append(
            build_graph(pid, emb, np.asarray(r.ca, np.float32), graph_cfg["cutoff"],
                        graph_cfg["max_neighbors"], y=y)
        )
    return graphs


def edge_stats(graphs) -> dict:
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


# ----------------------------------------------------------------------------- training


def _epoch_lr(base_lr: float, schedule: str, epoch: int, epochs: int) -> float:
    if schedule == "cosine":
        return base_lr * 0.5 * (1.0 + math.cos(math.pi * epoch / max(1, epochs)))
    return base_lr


def train_model(train_graphs, model_cfg, training: dict, *, device=None, logger=None):
    """Train on `train_graphs`. Returns (model, scaler, history rows, info dict).

    An inner validation split (training.val_fraction > 0) is drawn with the seed; the model with
    the best validation loss is kept and training stops after `patience` epochs without
    improvement. The target scaler is fitted on the remaining training proteins only.
    """
    import torch

    from .graph import collate
    from .log import progress
    from .model import TargetScaler, build_model, forward_batch, shared_filter_tables

    logger = logger or log
    device = device or torch.device("cpu")
    seed = int(training["seed"])
    seed_everything(seed)
    graphs = list(train_graphs)
    if not graphs:
        from .errors import EsmSchnetError

        raise EsmSchnetError("no training proteins")
    gen = torch.Generator().manual_seed(seed)
    val: list = []
    if training["val_fraction"] > 0 and len(graphs) >= 3:
        n_val = min(len(graphs) - 2, max(1, round(training["val_fraction"] * len(graphs))))
        order = torch.randperm(len(graphs), generator=gen).tolist()
        val = [graphs[i] for i in sorted(order[:n_val])]
        graphs = [graphs[i] for i in sorted(order[n_val:])]
    scaler = TargetScaler.fit(model_cfg.readout, [g.y for g in graphs], [g.num_nodes for g in graphs])
    # Each protein becomes a one-graph batch once; epochs only reorder them.
    train_b = [collate([g]).to(device) for g in graphs]
    val_b = [collate([g]).to(device) for g in val]

    torch.manual_seed(seed)
    model = build_model(model_cfg).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=training["lr"], weight_decay=training["weight_decay"])
    epochs, bs = int(training["epochs"]), max(1, int(training["batch_size"]))
    schedule = training.get("lr_schedule", "constant")
    history, best, best_state, bad = [], math.inf, None, 0
    logger.info(
        "training on %d proteins (%d for validation), %d epochs, batch %d, lr %g (%s), "
        "target scaler %s", len(graphs), len(val), epochs, bs, training["lr"], schedule,
        asdict(scaler),
    )
    bar = progress(range(1, epochs + 1), logger=logger, desc="epochs")
    stopped = None
    for epoch in bar:
        t0 = time.perf_counter()
        lr = _epoch_lr(training["lr"], schedule, epoch - 1, epochs)
        for group in opt.param_groups:
            group["lr"] = lr
        model.train()
        perm = torch.randperm(len(train_b), generator=gen).tolist()
        total = 0.0
        for k in range(0, len(perm), bs):
            chunk = perm[k : k + bs]
            opt.zero_grad(set_to_none=True)
            with shared_filter_tables(model):
                for i in chunk:
                    b = train_b[i]
                    loss = scaler.loss(forward_batch(model, b), b.y, b.num_nodes) / len(chunk)
                    loss.backward()
                    total += float(loss.detach()) * len(chunk)
            opt.step()
        train_loss = total / len(train_b)
        val_loss = math.nan
        if val_b:
            val_loss = _mean_loss(model, val_b, scaler)
        seconds = time.perf_counter() - t0
        history.append(
            {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "lr": lr,
             "seconds": seconds}
        )
        logger.info(
            "epoch %d/%d train_loss %.5f val_loss %.5f lr %.3g (%.2f s)",
            epoch, epochs, train_loss, val_loss, lr, seconds,
        )
        if not math.isfinite(train_loss):
            from .errors import EsmSchnetError

            raise EsmSchnetError(
                f"training diverged at epoch {epoch} (loss {train_loss}): lower training.lr"
            )
        if val_b:
            if val_loss < best:
                best, bad = val_loss, 0
                best_state = copy.deepcopy(model.state_dict())
                best_epoch = epoch
            else:
                bad += 1
                if bad >= int(training["patience"]):
                    stopped = epoch
                    logger.info("early stopping at epoch %d (best epoch %d, val_loss %.5f)",
                                epoch, best_epoch, best)
                    break
    bar.close()
    info = {"epochs_run": len(history), "stopped_early_at": stopped,
            "val_ids": [g.id for g in val], "train_ids": [g.id for g in graphs]}
    if best_state is not None:
        model.load_state_dict(best_state)
        info["best_epoch"] = best_epoch
        info["best_val_loss"] = best
    model.eval()
    return model, scaler, history, info


def _mean_loss(model, batches, scaler) -> float:
    import torch

    from .model import forward_batch

    from .model import shared_filter_tables

    model.eval()
    with torch.no_grad(), shared_filter_tables(model):
        vals = [float(scaler.loss(forward_batch(model, b), b.y, b.num_nodes)) for b in batches]
    model.train()
    return float(np.mean(vals))


# ----------------------------------------------------------------------------- jobs


def _write_tsv(path: Path, columns: list[str], rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write("\t".join(columns) + "\n")
        for r in rows:
            fh.write("\t".join(_fmt(r[c]) for c in columns) + "\n")
    os.replace(tmp, path)


def _fmt(v) -> str:
    if isinstance(v, float):
        return "nan" if math.isnan(v) else repr(v)
    return str(v)


def _write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, indent=2, sort_keys=True, default=str)
        fh.write("\n")
    os.replace(tmp, path)


def read_folds(path) -> "dict[str, tuple[int, str]]":
    """folds.tsv -> {id: (fold, cluster)} in file order."""
    import pandas as pd

    from .errors import CorruptFileError

    try:
        df = pd.read_csv(path, sep="\t", dtype={"id": str, "cluster": str}, keep_default_na=False)
    except Exception as exc:  # noqa: BLE001 - any parse failure is a corrupt file
        raise CorruptFileError(path, type(exc).__name__) from exc
    if not {"id", "fold"} <= set(df.columns):
        raise CorruptFileError(path, "missing id/fold columns")
    cluster = df["cluster"] if "cluster" in df.columns else [""] * len(df)
    return {i: (int(f), str(c)) for i, f, c in zip(df["id"], df["fold"], cluster)}


def run_training_job(
    *,
    shards,
    samples,
    train_ids,
    test_ids,
    outdir,
    graph_cfg: dict,
    model_cfg: dict,
    training: dict,
    fold: int | None,
    threads: int = 1,
    extra_provenance: dict | None = None,
) -> dict:
    """Load, build graphs, train, predict the test ids (if any), write all outputs."""
    import torch

    from .errors import EsmSchnetError
    from .model import ModelConfig, save_model
    from .samples import read_sample_table
    from .store import load_records, shard_attrs

    t_start = time.perf_counter()
    malloc = tune_malloc()
    torch.set_num_threads(max(1, int(threads)))
    graph_cfg = resolve(graph_cfg, GRAPH_DEFAULTS, "graph")
    model_cfg = resolve(model_cfg, MODEL_DEFAULTS, "model")
    training = resolve(training, TRAINING_DEFAULTS, "training")
    device = resolve_device(training["device"])
    outdir = Path(outdir)

    table = read_sample_table(samples, require_labels=False)
    labels = table["label"].to_dict()
    unlabelled = [i for i in train_ids + test_ids if i not in labels or not math.isfinite(labels[i])]
    if unlabelled:
        raise EsmSchnetError(f"no label for protein(s) {', '.join(unlabelled[:10])}")
    records = load_records(list(shards), ids=list(train_ids) + list(test_ids))
    attrs = next((shard_attrs(p) for p in shards if shard_attrs(p).get("n_proteins")), {})
    t_load = time.perf_counter()
    train_graphs = make_graphs(records, train_ids, labels, graph_cfg)
    test_graphs = make_graphs(records, test_ids, labels, graph_cfg)
    t_graph = time.perf_counter()
    dims = {g.x.shape[1] for g in train_graphs + test_graphs}
    if len(dims) != 1:
        raise EsmSchnetError(f"proteins have embeddings of different widths: {sorted(dims)}")
    cfg = ModelConfig.from_config(dims.pop(), graph_cfg, model_cfg)
    stats_train, stats_test = edge_stats(train_graphs), edge_stats(test_graphs)
    log.info("fold %s: %d training, %d test proteins; device %s, %d thread(s); graphs: %s",
             fold, len(train_graphs), len(test_graphs), device, torch.get_num_threads(),
             stats_train)

    model, scaler, history, info = train_model(
        train_graphs, cfg, training, device=device, logger=log
    )
    t_train = time.perf_counter()

    from .model import TrainedModel

    trained = TrainedModel(model=model, config=cfg, scaler=scaler)
    preds = trained.predict(test_graphs) if test_graphs else {}
    t_pred = time.perf_counter()
    rows = [
        {"id": g.id, "y_true": g.y, "y_pred": preds[g.id], "fold": -1 if fold is None else fold}
        for g in test_graphs
    ]
    meta = {
        "embedding_model": attrs.get("model_id", ""),
        "embedding_revision": attrs.get("model_revision", ""),
        "embedding_dim": cfg.in_channels,
        "fold": fold,
        "seed": training["seed"],
        "train_ids": list(train_ids),
    }
    outdir.mkdir(parents=True, exist_ok=True)
    if fold is not None:
        _write_tsv(outdir / "predictions.tsv", ["id", "y_true", "y_pred", "fold"], rows)
    _write_tsv(outdir / "history.tsv", ["epoch", "train_loss", "val_loss", "lr", "seconds"], history)
    save_model(outdir / "model.pt", model, cfg, scaler, meta)
    t_end = time.perf_counter()
    provenance = {
        "fold": fold,
        "config": {"graph": graph_cfg, "model": model_cfg, "training": training},
        "model_config": asdict(cfg),
        "target_scaler": asdict(scaler),
        "seed": training["seed"],
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
        "training": {k: v for k, v in info.items() if k not in ("train_ids", "val_ids")},
        "graphs": {"train": stats_train, "test": stats_test},
        "timings_s": {
            "load": round(t_load - t_start, 3),
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
    _write_json(outdir / "provenance.json", provenance)
    if rows:
        err = np.array([r["y_pred"] - r["y_true"] for r in rows])
        log.info("fold %s: test RMSE %.4g on %d protein(s)", fold, float(np.sqrt((err**2).mean())),
                 len(rows))
    log.info("done in %.1f s (load %.1f, graphs %.1f, train %.1f, predict %.1f)",
             t_end - t_start, t_load - t_start, t_graph - t_load, t_train - t_graph,
             t_pred - t_train)
    return provenance


def _common_args(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--shards", nargs="+", required=True, help="embedding shards (HDF5)")
    ap.add_argument("--samples", required=True, help="sample table (labels)")
    ap.add_argument("--graph", default="{}", help="graph settings (JSON)")
    ap.add_argument("--model", default="{}", help="model settings (JSON)")
    ap.add_argument("--training", default="{}", help="training settings (JSON)")
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--log", default=None, help="log file (default: stderr)")


def _json_arg(text: str, name: str) -> dict:
    from .errors import ConfigError

    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--{name} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"--{name} must be a JSON object")
    return value


def cli_fold(argv: list[str]) -> int:
    from .errors import InputError
    from .log import job_log

    ap = argparse.ArgumentParser(prog="esm-schnet train-fold",
                                 description="Train SchNet on one fold and predict its test set.")
    _common_args(ap)
    ap.add_argument("--folds", required=True, help="results/cv/<scheme>/folds.tsv")
    ap.add_argument("--fold", type=int, required=True)
    a = ap.parse_args(argv)
    with job_log(a.log):
        folds = read_folds(a.folds)
        test = [i for i, (f, _) in folds.items() if f == a.fold]
        if not test:
            raise InputError(None, f"fold {a.fold} is not in {a.folds}")
        train = [i for i, (f, _) in folds.items() if f != a.fold]
        run_training_job(
            shards=a.shards, samples=a.samples, train_ids=train, test_ids=test,
            outdir=a.outdir, graph_cfg=_json_arg(a.graph, "graph"),
            model_cfg=_json_arg(a.model, "model"), training=_json_arg(a.training, "training"),
            fold=a.fold, threads=a.threads,
            extra_provenance={"folds": str(a.folds),
                              "clusters": {i: c for i, (_, c) in folds.items()}},
        )
    return 0


def cli_final(argv: list[str]) -> int:
    from .log import job_log

    ap = argparse.ArgumentParser(prog="esm-schnet train-final",
                                 description="Train the final model on every labelled protein.")
    _common_args(ap)
    ap.add_argument("--structures", nargs="+", required=True,
                    help="results/structures/<id>.h5 (proteins that parsed and have a label are used)")
    a = ap.parse_args(argv)
    with job_log(a.log):
        from .folds import usable_proteins

        _, ids, _ = usable_proteins(a.samples, a.structures)
        run_training_job(
            shards=a.shards, samples=a.samples, train_ids=ids, test_ids=[], outdir=a.outdir,
            graph_cfg=_json_arg(a.graph, "graph"), model_cfg=_json_arg(a.model, "model"),
            training=_json_arg(a.training, "training"), fold=None, threads=a.threads,
        )
    return 0
