"""The training loop: Adam on the masked multi-task loss (esm_schnet.tasks.heads: standardised MSE
per regression label, cross-entropy per classification label), per-protein batches, optional inner
validation split with early stopping.

Mini-batches are formed by accumulating the gradients of `batch_size` proteins, each run through
the encoder on its own precomputed graph: mathematically the same step as a concatenated batch
(the loss is the batch mean), without re-concatenating graphs every epoch, and each protein's
per-edge tensors stay small enough for the CPU caches.

The proteins come as a dataset (esm_schnet.train.dataset): a ProteinDataset reads each protein
from the shards when a step needs it (memory bounded by the batch; what a training job uses), a
GraphList holds ProteinGraphs in memory (a plain list of them is wrapped in one). Every pass over
the training proteins outside the epochs (the ridge start, the fit check) reads them once more.

Determinism: seeds fixed (python, numpy, torch; the shuffling and the validation split use their
own seeded generators), `torch.use_deterministic_algorithms(True)`; on CPU the same config, data
and thread count give bit-identical predictions.
"""

from __future__ import annotations

import copy
import logging
import math
import time

import numpy as np

from esm_schnet.core.settings import TrainingSettings
from esm_schnet.train.runtime import seed_everything

log = logging.getLogger("esm_schnet.train")


def _epoch_lr(base_lr: float, schedule: str, epoch: int, epochs: int, warmup: int = 0) -> float:
    """Learning rate of 0-based `epoch`: linear warm-up over `warmup` epochs, then `schedule`
    (cosine: annealed to 0 over the remaining epochs)."""
    if epoch < warmup:
        return base_lr * (epoch + 1) / (warmup + 1)
    if schedule == "cosine":
        left = max(1, epochs - warmup)
        return base_lr * 0.5 * (1.0 + math.cos(math.pi * (epoch - warmup) / left))
    return base_lr


# A fold "did not fit" when its final training loss stays above this fraction of the mean
# predictor's. Folds stuck at the mean end at 0.94-1.0 (measured: the old defaults' failing folds
# on the bundled example and on jclinic); folds that learned end at 0.03-0.6. It is not a
# setting (changing it would retrain every fold): it decides a flag, not a model.
FIT_THRESHOLD = 0.8


def convergence(model, batches, heads, threshold: float = FIT_THRESHOLD,
                reference=None, targets=None) -> dict:
    """Did the fold fit? Its final training loss (eval mode, every training protein) against the
    loss of the mean predictor on the same proteins: the constant output equal to the mean of
    the standardised training targets (~0, i.e. the fold's size-only line) for regression
    labels, the training class prior for classification labels. ratio > threshold: not
    fitted. `reference`: the heads whose mean predictor is the yardstick (default `heads`; the
    linear term's ridge start moves the heads' offsets, and the yardstick stays the size-only
    line). `targets`: the same proteins' labels without features (esm_schnet.train.dataset
    LabelBatch; default `batches`), all the yardstick reads."""
    import torch

    final = _mean_loss(model, batches, heads)
    targets = batches if targets is None else targets
    with torch.no_grad():
        # on the batches' device: a CPU tensor does not mix with CUDA ones
        device = targets[0].y.device if len(targets) else None
        reference = heads if reference is None else reference
        const = reference.reference_output(targets).to(device=device, dtype=torch.float32)
        ref = float(np.mean([float(reference.loss(const.expand(b.y.shape[0], -1), b.y,
                                                  b.num_nodes)) for b in targets]))
    ratio = final / ref if ref > 0 else (0.0 if final == 0 else math.inf)
    ok = bool(math.isfinite(ratio) and ratio <= threshold)
    hint = "" if ok else "try more training.epochs or another training.lr, or check its labels"
    return {"converged": ok, "final_train_loss": final, "mean_predictor_loss": ref,
            "ratio": ratio, "threshold": float(threshold), "hint": hint}


def _optimiser(model, training: TrainingSettings):
    """Adam over the model's weights; model.linear's term (`model.skip`) at
    `training.linear_lr_scale` times the learning rate, or (scale 0) left out and frozen at its
    start (see the schema's description)."""
    import torch

    skip = getattr(model, "skip", None)
    linear = [] if skip is None else list(skip.parameters())
    ids = {id(p) for p in linear}
    groups = [{"params": [p for p in model.parameters() if id(p) not in ids], "lr_scale": 1.0}]
    scale = float(training.linear_lr_scale)
    if linear and scale > 0:
        groups.append({"params": linear, "lr_scale": scale})
    for p in linear:
        p.requires_grad_(scale > 0)
    return torch.optim.Adam(groups, lr=training.lr, weight_decay=training.weight_decay)


def train_model(train_graphs, model_cfg, training: TrainingSettings, *, device=None,
                logger=None, labels=None, groups=None):
    """Train on `train_graphs`. Returns (model, label heads, history rows, info dict).

    An inner validation split (training.val_fraction > 0) is drawn with the seed; the model with
    the best validation loss is kept and training stops after `patience` epochs without
    improvement. The heads (target scalers, class priors) are fitted on the remaining training
    proteins only. `training`: the TrainingSettings (built at the job's entry point). `labels`: the LabelSpecs of the graphs' `y` values, in order (None: the one
    default regression label); `model_cfg.out_channels` must be their widths summed.
    `groups` ({protein id: cluster}, optional): proteins of one cluster stay together in the
    inner CV of the linear term's ridge start (given under `cv.scheme: group`).
    `train_graphs`: ProteinGraphs, or a dataset (esm_schnet.train.dataset) read batch by batch.
    """
    import torch

    from esm_schnet.encoders.tabulated import shared_filter_tables
    from esm_schnet.core.log import progress
    from esm_schnet.tasks.heads import LabelHeads
    from esm_schnet.core.labels import parse_labels
    from esm_schnet.encoders.model import build_model
    from esm_schnet.train.batches import as_dataset

    if not isinstance(training, TrainingSettings):
        raise TypeError("train_model: training must be TrainingSettings (from_dict at the caller)")
    logger = logger or log
    device = device or torch.device("cpu")
    seed = int(training.seed)
    seed_everything(seed)
    graphs = as_dataset(train_graphs)
    if not len(graphs):
        from esm_schnet.core.errors import EsmSchnetError

        raise EsmSchnetError("no training proteins")
    gen = torch.Generator().manual_seed(seed)
    val = graphs.subset([])
    if training.val_fraction > 0 and len(graphs) >= 3:
        n_val = min(len(graphs) - 2, max(1, round(training.val_fraction * len(graphs))))
        if n_val >= int(training.min_val_proteins):
            order = torch.randperm(len(graphs), generator=gen).tolist()
            val = graphs.subset(sorted(order[:n_val]))
            graphs = graphs.subset(sorted(order[n_val:]))
        else:
            logger.info("no validation split: %d of %d training proteins would be fewer than "
                        "training.min_val_proteins (%d); every epoch trains on all of them",
                        n_val, len(graphs), int(training.min_val_proteins))
    specs = list(labels) if labels is not None else parse_labels(None)
    heads = LabelHeads.fit(specs, model_cfg.readout, [np.atleast_1d(g.y) for g in graphs.entries],
                           [g.num_nodes for g in graphs.entries])
    if heads.width != model_cfg.out_channels:
        raise ValueError(f"labels need {heads.width} outputs, model has {model_cfg.out_channels}")
    # Each protein is a one-graph batch (in memory: collated once; epochs only reorder them).
    train_b = graphs.batches(device)
    val_b = val.batches(device)

    torch.manual_seed(seed)
    model = build_model(model_cfg).to(device)
    linear_choice = {}
    size_heads = heads  # the yardstick of the fit check: the size-only lines
    if training.linear_init == "ridge" and model_cfg.linear:
        from esm_schnet.train.linear_init import init_linear_term

        size_heads = copy.deepcopy(heads)  # before the ridge start moves their offsets

        units = None if groups is None else [str(groups.get(i, i)) for i in graphs.ids]
        from esm_schnet.encoders.node_features import width

        linear_choice = init_linear_term(model, train_b, heads, model_cfg.readout, seed, units,
                                         node_features=width(model_cfg.node_features))
        if linear_choice:
            logger.info("linear term started at the ridge fit of the training proteins "
                        "(%s)", linear_choice)
    opt = _optimiser(model, training)
    epochs, bs = int(training.epochs), max(1, int(training.batch_size))
    schedule = training.lr_schedule
    history, best, best_state, bad = [], math.inf, None, 0
    logger.info(
        "training on %d proteins (%d for validation), %d epochs, batch %d, lr %g (%s, %d warm-up), "
        "grad clip %s, heads %s", len(graphs), len(val), epochs, bs, training.lr,
        schedule, training.warmup_epochs, training.grad_clip, heads.as_dict(),
    )
    bar = progress(range(1, epochs + 1), logger=logger, desc="epochs")
    stopped = None
    for epoch in bar:
        t0 = time.perf_counter()
        lr = _epoch_lr(training.lr, schedule, epoch - 1, epochs, int(training.warmup_epochs))
        for group in opt.param_groups:
            group["lr"] = lr * group["lr_scale"]
        model.train()
        perm = torch.randperm(len(train_b), generator=gen).tolist()
        total = 0.0
        for k in range(0, len(perm), bs):
            chunk = perm[k : k + bs]
            opt.zero_grad(set_to_none=True)
            with shared_filter_tables(model):
                for i in chunk:
                    b = train_b[i]
                    loss = heads.loss(model(b), b.y, b.num_nodes) / len(chunk)
                    loss.backward()
                    total += float(loss.detach()) * len(chunk)
            if training.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), float(training.grad_clip))
            opt.step()
        train_loss = total / len(train_b)
        val_loss = math.nan
        if len(val_b):
            val_loss = _mean_loss(model, val_b, heads)
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
            from esm_schnet.core.errors import EsmSchnetError

            raise EsmSchnetError(
                f"training diverged at epoch {epoch} (loss {train_loss}): lower training.lr"
            )
        if len(val_b):
            if val_loss < best:
                best, bad = val_loss, 0
                best_state = copy.deepcopy(model.state_dict())
                best_epoch = epoch
            else:
                bad += 1
                if bad >= int(training.patience):
                    stopped = epoch
                    logger.info("early stopping at epoch %d (best epoch %d, val_loss %.5f)",
                                epoch, best_epoch, best)
                    break
    bar.close()
    info = {"epochs_run": len(history), "stopped_early_at": stopped, "linear_init": linear_choice,
            "val_ids": val.ids, "train_ids": graphs.ids}
    if best_state is not None:
        model.load_state_dict(best_state)
        info["best_epoch"] = best_epoch
        info["best_val_loss"] = best
    info["convergence"] = fit = convergence(model, train_b, heads, reference=size_heads,
                                            targets=graphs.label_batches(device))
    if fit["converged"]:
        logger.info("fit: final training loss %.4g = %.3g x the mean predictor's (threshold %g)",
                    fit["final_train_loss"], fit["ratio"], fit["threshold"])
    else:
        logger.warning("did not fit: final training loss %.4g = %.3g x the mean predictor's "
                       "(threshold %g): %s", fit["final_train_loss"], fit["ratio"],
                       fit["threshold"], fit["hint"])
    model.eval()
    return model, heads, history, info


def _mean_loss(model, batches, heads) -> float:
    import torch

    from esm_schnet.encoders.tabulated import shared_filter_tables

    model.eval()
    with torch.no_grad(), shared_filter_tables(model):
        vals = [float(heads.loss(model(b), b.y, b.num_nodes)) for b in batches]
    model.train()
    return float(np.mean(vals))


