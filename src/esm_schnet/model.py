"""SchNet from torch_geometric over C-alpha graphs with per-residue embeddings as node features.

The network is `torch_geometric.nn.models.SchNet` itself, built with keyword arguments and run by
its own `forward`; only small modules are swapped in:

- `embedding` -> `FeatureProjection`: Linear(embedding width -> hidden) (+ optional LayerNorm and
  dropout), so the float [N, D] feature matrix goes where SchNet expects atomic numbers `z`.
- `interaction_graph` -> `PrecomputedRadiusGraph`: returns the graph precomputed once per protein
  (the trainer hands it over with `provide(...)`), or builds the same pure-torch radius graph from
  `pos` when none was provided (prediction on new proteins, tests). Every edge is <= cutoff
  (asserted), no silent neighbour cap (an optional cap keeps the nearest k).
- fast path (`filter="table"`, the default): SchNet's filter network is a function of the scalar
  distance only, h(d) = MLP(GaussianSmearing(d)). Instead of running the MLP on every edge (the
  cost that dominates SchNet at a 20 A cutoff: ~120 neighbours per residue), each forward pass
  evaluates the SAME MLP (same parameters, gradients flow into them) on a fixed fine distance grid
  and interpolates linearly per edge. `distance_expansion` is replaced by `GridCoordinate`
  (d -> d / spacing) and each `interactions[k].conv.nn` by a `TabulatedFilter` wrapping the
  block's own `mlp`. The difference to PyG's per-edge evaluation is bounded by the interpolation
  error (spacing^2/8 * max|h''|), measured in tests/train/test_model.py. `filter="mlp"` keeps PyG's
  original per-edge modules.

`atomref` is None, `dipole` False, `mean`/`std` None: targets are standardised outside the model
(see `TargetScaler`).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import asdict, dataclass, field

import torch
from torch import Tensor, nn
from torch_geometric.nn.models import SchNet
from torch_geometric.nn.models.schnet import CFConv, GaussianSmearing

from .graph import Batch, check_edges, radius_graph

MODEL_FORMAT = "esm-schnet-model"
MODEL_FORMAT_VERSION = 1


@dataclass
class ModelConfig:
    """Everything needed to rebuild the network (stored in model.pt)."""

    in_channels: int
    hidden_channels: int = 64
    num_filters: int = 64
    num_interactions: int = 3
    num_gaussians: int = 50
    cutoff: float = 10.0
    max_neighbors: int | None = None
    readout: str = "add"
    layer_norm: bool = False
    dropout: float = 0.0
    filter: str = "table"
    filter_spacing: float = 0.005

    @classmethod
    def from_config(cls, in_channels: int, graph_cfg: dict, model_cfg: dict) -> "ModelConfig":
        known = {f for f in cls.__dataclass_fields__}
        kw = {k: v for k, v in model_cfg.items() if k in known}
        return cls(
            in_channels=int(in_channels),
            cutoff=float(graph_cfg.get("cutoff", cls.cutoff)),
            max_neighbors=graph_cfg.get("max_neighbors"),
            **kw,
        )


class FeatureProjection(nn.Module):
    """Linear(D -> hidden), optionally followed by LayerNorm and dropout; SchNet's `embedding`."""

    def __init__(self, in_channels: int, hidden_channels: int, layer_norm=False, dropout=0.0):
        super().__init__()
        self.lin = nn.Linear(in_channels, hidden_channels)
        self.norm = nn.LayerNorm(hidden_channels) if layer_norm else nn.Identity()
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def reset_parameters(self) -> None:  # called by SchNet.reset_parameters
        self.lin.reset_parameters()
        if isinstance(self.norm, nn.LayerNorm):
            self.norm.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.norm(self.lin(x)))


class PrecomputedRadiusGraph(nn.Module):
    """SchNet `interaction_graph`: (pos, batch) -> (edge_index, edge_weight).

    Inside `with graph.provide(pos, edge_index, dist):` a call with that very `pos` tensor returns
    the precomputed edges (checked against the cutoff once, when provided); any other call builds
    the radius graph from `pos` (pure torch, same function as the precomputation).
    """

    def __init__(self, cutoff: float, max_neighbors: int | None = None):
        super().__init__()
        self.cutoff = float(cutoff)
        self.max_neighbors = max_neighbors
        self._provided: tuple[Tensor, Tensor, Tensor] | None = None
        self.rebuilds = 0  # how many graphs were built on the fly (benchmarks, tests)

    @contextlib.contextmanager
    def provide(self, pos: Tensor, edge_index: Tensor, dist: Tensor, operators=None):
        check_edges(edge_index, dist, self.cutoff)
        previous = self._provided
        self._provided = (pos, edge_index, dist, operators)
        try:
            yield self
        finally:
            self._provided = previous

    def operators(self, edge_index: Tensor):
        """Precomputed EdgeOperators of the provided graph (None for any other edge_index)."""
        if self._provided is not None and self._provided[1] is edge_index:
            return self._provided[3]
        return None

    def forward(self, pos: Tensor, batch: Tensor) -> tuple[Tensor, Tensor]:
        if self._provided is not None and self._provided[0] is pos:
            return self._provided[1], self._provided[2]
        self.rebuilds += 1
        edge_index, dist = radius_graph(pos, self.cutoff, batch, self.max_neighbors)
        return edge_index, dist

    def extra_repr(self) -> str:
        return f"cutoff={self.cutoff}, max_neighbors={self.max_neighbors}"


@dataclass
class EdgeOperators:
    """What the tabulated message needs per graph, computed once from the fixed distances.

    g0, w: grid cell and interpolation weight of every edge; `table_grad`: sparse CSR [G, E] whose
    row g holds the interpolation weights of the edges that use grid point g (so the filter
    table's gradient is one sparse-dense product); `scatter_src`: sparse CSR [N, E] of ones that
    sums per-edge rows into their source node (the input gradient).
    """

    g0: Tensor
    w: Tensor
    table_grad: Tensor
    scatter_src: Tensor


def _csr(crow, col, values, size):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "sparse CSR support is in beta"
        return torch.sparse_csr_tensor(crow, col, values, size, check_invariants=False)


def grid_cell(t: Tensor, grid_size: int) -> tuple[Tensor, Tensor]:
    """Grid coordinates t = d / spacing -> (cell index g0 [E] long, weight of g0 + 1 [E, 1])."""
    t = t.reshape(-1)
    g0 = t.floor().clamp_(0, grid_size - 2)
    return g0.long(), (t - g0).unsqueeze(1)


def edge_operators(edge_index: Tensor, dist: Tensor, num_nodes: int, spacing: float,
                   grid_size: int) -> EdgeOperators:
    g0, w = grid_cell(dist.to(torch.float32) / spacing, grid_size)
    E = g0.numel()
    edges = torch.arange(E, device=g0.device)
    rows = torch.cat([g0, g0 + 1])
    order = torch.argsort(rows, stable=True)
    crow = torch.zeros(grid_size + 1, dtype=torch.long, device=g0.device)
    crow[1:] = torch.cumsum(torch.bincount(rows, minlength=grid_size), 0)
    table_grad = _csr(crow, torch.cat([edges, edges])[order],
                      torch.cat([1.0 - w[:, 0], w[:, 0]])[order], (grid_size, E))
    src = edge_index[0]
    order = torch.argsort(src, stable=True)
    crow = torch.zeros(num_nodes + 1, dtype=torch.long, device=g0.device)
    crow[1:] = torch.cumsum(torch.bincount(src, minlength=num_nodes), 0)
    scatter_src = _csr(crow, order, torch.ones(E, device=g0.device), (num_nodes, E))
    return EdgeOperators(g0=g0, w=w, table_grad=table_grad, scatter_src=scatter_src)


class _TabulatedMessage(torch.autograd.Function):
    """out[i] = sum_{e: dst_e = i} x[src_e] * lerp(table[g_e], table[g_e + 1], w_e).

    A fused message + sum aggregation for the tabulated filter: forward and backward each touch
    the per-edge [E, F] data a handful of times. With precomputed EdgeOperators the two
    scatter-sums of the backward pass are sparse-dense products (faster than index_add on CPU).
    """

    @staticmethod
    def forward(ctx, x, table, src, dst, g0, w, ops):
        filt = table.index_select(0, g0)
        filt.lerp_(table.index_select(0, g0 + 1), w)
        x_src = x.index_select(0, src)
        msg = x_src * filt
        out = x.new_zeros(x.shape).index_add_(0, dst, msg)
        del msg
        ctx.save_for_backward(x_src, filt, src, dst, g0, w)
        ctx.shapes = (x.shape, table.shape)
        ctx.ops = ops
        return out

    @staticmethod
    def backward(ctx, grad_out):
        if getattr(ctx, "consumed", False):
            raise RuntimeError("the tabulated filter's backward reuses its buffers in place and "
                               "runs once per forward (retain_graph is not supported)")
        ctx.consumed = True
        x_src, filt, src, dst, g0, w = ctx.saved_tensors
        x_shape, table_shape = ctx.shapes
        ops = ctx.ops
        grad_x = grad_table = None
        g_dst = grad_out.index_select(0, dst)  # [E, F]
        if ctx.needs_input_grad[1]:
            g_filt = x_src.mul_(g_dst)  # d loss / d filter, per edge (in place: x_src is done)
            if ops is not None:
                grad_table = ops.table_grad @ g_filt
            else:
                hi = g_filt * w
                g_filt.sub_(hi)  # (1 - w) * g_filt
                grad_table = grad_out.new_zeros(table_shape)
                grad_table.index_add_(0, g0, g_filt).index_add_(0, g0 + 1, hi)
                del hi
            del g_filt
        if ctx.needs_input_grad[0]:
            filt.mul_(g_dst)
            if ops is not None:
                grad_x = ops.scatter_src @ filt
            else:
                grad_x = grad_out.new_zeros(x_shape).index_add_(0, src, filt)
        return grad_x, grad_table, None, None, None, None, None


class GridCoordinate(nn.Module):
    """Replaces SchNet's `distance_expansion` on the fast path: d -> d / spacing, shape [E, 1]."""

    def __init__(self, spacing: float):
        super().__init__()
        self.spacing = float(spacing)

    def forward(self, dist: Tensor) -> Tensor:
        return (dist / self.spacing).view(-1, 1)

    def extra_repr(self) -> str:
        return f"spacing={self.spacing}"


class TabulatedCFConv(CFConv):
    """PyG's CFConv (same parameters: lin1, lin2 and the filter MLP `nn`) with a tabulated filter.

    PyG computes, per edge, W = nn(GaussianSmearing(d)) * 0.5 (cos(pi d / cutoff) + 1). Both factors
    are functions of the distance alone, so each forward pass evaluates them on a fixed grid
    0, spacing, ..., cutoff (+1 point) -- the SAME `nn`, so gradients reach its parameters -- and
    interpolates linearly at each edge's grid coordinate t = d / spacing (from `GridCoordinate`).
    Agreement with the per-edge evaluation is bounded by the interpolation error and measured in
    tests/train/test_model.py.
    """

    def __init__(self, conv: CFConv, num_gaussians: int, spacing: float):
        super().__init__(
            conv.lin1.in_features, conv.lin2.out_features, conv.lin1.out_features, conv.nn,
            conv.cutoff,
        )
        self.lin1, self.lin2 = conv.lin1, conv.lin2  # keep the very same parameters
        self.spacing = float(spacing)
        n = int(math.ceil(conv.cutoff / self.spacing)) + 2  # one point past the cutoff
        grid = torch.arange(n, dtype=torch.float32) * self.spacing
        self.register_buffer("grid", grid)
        # Constant inputs of the filter on the grid (not saved: rebuilt from the config).
        expansion = GaussianSmearing(0.0, conv.cutoff, num_gaussians)
        self.register_buffer("grid_expansion", expansion(grid), persistent=False)
        env = 0.5 * (torch.cos(grid * math.pi / conv.cutoff) + 1.0)
        self.register_buffer("grid_envelope", env.view(-1, 1), persistent=False)

        self._shared: Tensor | None = None  # set inside `shared_filter_tables`
        # [interaction graph] (a list, so that it is not registered as a submodule): source of
        # the graph's precomputed EdgeOperators
        self._graph: list | None = None

    def table(self) -> Tensor:
        """The filter (envelope included) on the distance grid, [G, num_filters]."""
        if self._shared is not None:
            return self._shared
        return self.nn(self.grid_expansion) * self.grid_envelope

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor,
                edge_attr: Tensor) -> Tensor:
        ops = None
        if self._graph is not None and x.device.type == "cpu":
            ops = self._graph[0].operators(edge_index)
        if ops is not None and ops.g0.numel() == edge_index.size(1):
            g0, w = ops.g0, ops.w.to(x.dtype)
        else:
            ops = None
            g0, w = grid_cell(edge_attr, self.grid.numel())
            w = w.to(x.dtype)
        x = self.lin1(x)
        x = _TabulatedMessage.apply(x, self.table().to(x.dtype), edge_index[0], edge_index[1],
                                    g0, w, ops)
        return self.lin2(x)

    def extra_repr(self) -> str:
        return f"grid={self.grid.numel()} points, spacing={self.spacing} A"


@contextlib.contextmanager
def shared_filter_tables(model: nn.Module):
    """Evaluate every tabulated filter once for all the forward passes inside the block.

    The parameters do not change between the proteins of one optimizer step, so their filter
    tables are computed once, handed to the forward passes as detached leaves that collect the
    gradients of every protein's backward pass, and on leaving the block those gradients are
    propagated into the filter networks in one backward call. Same gradients as evaluating the
    table per protein (gradients are linear), one table evaluation per step instead of one per
    protein.
    """
    convs = [m for m in model.modules() if isinstance(m, TabulatedCFConv)]
    pairs = []
    for conv in convs:
        full = conv.table()
        leaf = full.detach().requires_grad_(full.requires_grad)
        conv._shared = leaf
        pairs.append((full, leaf))
    try:
        yield
    finally:
        for conv in convs:
            conv._shared = None
    todo = [(full, leaf.grad) for full, leaf in pairs if leaf.grad is not None]
    if todo:
        torch.autograd.backward([f for f, _ in todo], [g for _, g in todo])


def build_model(cfg: ModelConfig) -> SchNet:
    """PyG SchNet with our embedding projection, interaction graph and (optional) fast filter."""
    if cfg.readout not in ("add", "mean"):
        raise ValueError(f"readout must be 'add' or 'mean', got {cfg.readout!r}")
    if cfg.filter not in ("table", "mlp"):
        raise ValueError(f"filter must be 'table' or 'mlp', got {cfg.filter!r}")
    model = SchNet(
        hidden_channels=cfg.hidden_channels,
        num_filters=cfg.num_filters,
        num_interactions=cfg.num_interactions,
        num_gaussians=cfg.num_gaussians,
        cutoff=cfg.cutoff,
        interaction_graph=PrecomputedRadiusGraph(cfg.cutoff, cfg.max_neighbors),
        readout=cfg.readout,
        dipole=False,
        mean=None,
        std=None,
        atomref=None,
    )
    model.embedding = FeatureProjection(
        cfg.in_channels, cfg.hidden_channels, cfg.layer_norm, cfg.dropout
    )
    if cfg.filter == "table":
        model.distance_expansion = GridCoordinate(cfg.filter_spacing)
        for block in model.interactions:
            block.conv = TabulatedCFConv(block.conv, cfg.num_gaussians, cfg.filter_spacing)
            block.conv._graph = [model.interaction_graph]
    model.reset_parameters()
    return model


def forward_batch(model: SchNet, batch: Batch) -> Tensor:
    """Run SchNet.forward on a batch with its precomputed graph; returns [B].

    On CPU with the tabulated filter, the graph's EdgeOperators are computed on first use and
    kept in `batch.cache` (a batch reused every epoch pays for them once)."""
    ops = None
    conv = model.interactions[0].conv if len(model.interactions) else None
    if isinstance(conv, TabulatedCFConv) and batch.pos.device.type == "cpu" and model.training:
        key = ("edge_operators", conv.spacing, conv.grid.numel())
        ops = batch.cache.get(key)
        if ops is None:
            ops = edge_operators(batch.edge_index, batch.dist, batch.x.size(0), conv.spacing,
                                 conv.grid.numel())
            batch.cache[key] = ops
    with model.interaction_graph.provide(batch.pos, batch.edge_index, batch.dist, ops):
        out = model(batch.x, batch.pos, batch.batch)
    return out.view(-1)


@dataclass
class TargetScaler:
    """Standardisation of the targets, fitted on the training proteins only.

    readout `add` (extensive targets): y = mu * N + sigma * out, where mu = sum(y) / sum(N) is the
    training set's label per residue and sigma the standard deviation of the per-residue residual
    (y - mu N) / N; the model's sum over residues then only has to explain O(1) per-residue
    deviations. The loss is the label-space MSE divided by (sigma * mean N)^2, i.e. O(1).
    readout `mean`: y = mu + sigma * out with mu, sigma the training labels' mean and std; the
    loss is the label-space MSE / sigma^2.
    """

    readout: str
    mu: float
    sigma: float
    scale: float  # loss scale in units of sigma (mean N for add, 1 for mean)

    @classmethod
    def fit(cls, readout: str, y, n) -> "TargetScaler":
        y = torch.as_tensor(y, dtype=torch.float64)
        n = torch.as_tensor(n, dtype=torch.float64)
        if readout == "add":
            mu = float(y.sum() / n.sum())
            resid = (y - mu * n) / n
            scale = float(n.mean())
        else:
            mu = float(y.mean())
            resid = y - mu
            scale = 1.0
        sigma = float(resid.std(unbiased=False)) if resid.numel() > 1 else 0.0
        if not math.isfinite(sigma) or sigma <= 1e-12 * max(1.0, abs(mu)):
            sigma = max(abs(mu), 1.0) * (1e-2 if readout == "add" else 1.0)
        return cls(readout=readout, mu=mu, sigma=sigma, scale=scale)

    def offset(self, n: Tensor) -> Tensor:
        return self.mu * n if self.readout == "add" else torch.full_like(n, self.mu)

    def to_label(self, out: Tensor, n: Tensor) -> Tensor:
        return self.offset(n) + self.sigma * out

    def loss(self, out: Tensor, y: Tensor, n: Tensor) -> Tensor:
        """MSE in label space, divided by (sigma * scale)^2."""
        target = (y - self.offset(n)) / self.sigma
        return torch.mean(((out - target) / self.scale) ** 2)


@dataclass
class TrainedModel:
    """A loaded model.pt: the network (eval mode), its config and the target scaler."""

    model: SchNet
    config: ModelConfig
    scaler: TargetScaler
    meta: dict = field(default_factory=dict)

    @torch.no_grad()
    def predict(self, graphs, batch_size: int = 8) -> dict[str, float]:
        """Predict labels of ProteinGraphs (built with this model's cutoff)."""
        from .graph import collate

        self.model.eval()
        out: dict[str, float] = {}
        graphs = list(graphs)
        device = next(self.model.parameters()).device
        with shared_filter_tables(self.model):
            for k in range(0, len(graphs), batch_size):
                b = collate(graphs[k : k + batch_size]).to(device)
                pred = self.scaler.to_label(
                    forward_batch(self.model, b).double(), b.num_nodes.double()
                )
                out.update({i: float(p) for i, p in zip(b.ids, pred.cpu())})
        return out

    def predict_records(self, records, batch_size: int = 8) -> dict[str, float]:
        """Predict from esm_schnet.store ProteinRecords (dict id -> record, or an iterable)."""
        from .graph import build_graph

        recs = records.values() if isinstance(records, dict) else records
        graphs = [
            build_graph(r.id, r.embedding, r.ca, self.config.cutoff, self.config.max_neighbors)
            for r in recs
        ]
        return self.predict(graphs, batch_size)


def save_model(path, model: SchNet, cfg: ModelConfig, scaler: TargetScaler, meta: dict) -> None:
    """Write model.pt atomically: state dict + hyperparameters, loadable with weights_only=True."""
    import os
    from pathlib import Path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": MODEL_FORMAT,
        "format_version": MODEL_FORMAT_VERSION,
        "model_config": asdict(cfg),
        "target_scaler": asdict(scaler),
        "meta": meta,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def load_model(path, device: str | torch.device = "cpu") -> TrainedModel:
    """Load a model.pt written by `save_model` (torch.load with weights_only=True)."""
    from .errors import CorruptFileError

    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as exc:  # truncated zip, pickle error, ...
        raise CorruptFileError(path, type(exc).__name__) from exc
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
        raise CorruptFileError(path, "not an esm-schnet model file")
    cfg = ModelConfig(**payload["model_config"])
    model = build_model(cfg)
    model.load_state_dict(payload["state_dict"])
    model.to(device).eval()
    return TrainedModel(
        model=model,
        config=cfg,
        scaler=TargetScaler(**payload["target_scaler"]),
        meta=dict(payload.get("meta", {})),
    )
