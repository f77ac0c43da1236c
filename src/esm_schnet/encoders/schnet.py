"""The `schnet` encoder: `torch_geometric.nn.models.SchNet` itself, built with keyword arguments
(the common model settings and the section model.schnet) and run by its own `forward`; only
small modules are swapped in:

- `embedding` -> `FeatureProjection`: Linear(embedding width -> hidden) (+ optional LayerNorm and
  dropout), so the float [N, D] feature matrix goes where SchNet expects atomic numbers `z`.
- `interaction_graph` -> `PrecomputedRadiusGraph`: during an encoder call it returns the batch's
  precomputed graph (from the encoder's ForwardContext; every edge checked against the cutoff),
  otherwise it builds the same pure-torch radius graph from `pos`. No silent neighbour cap (an
  optional cap keeps the nearest k).
- `filter="table"` (the default): the tabulated filter of esm_schnet.encoders.tabulated;
  `filter="mlp"` keeps PyG's original per-edge modules.
- `head="pooled"`: `lin2` maps each residue to hidden_channels // 2 features instead of the
  outputs, the readout pools them, and a small network on the pooled vector (`post`: shifted
  softplus, Linear) gives the outputs: nonlinear in the protein's pooled features (e.g. its
  composition), which PyG's per-residue head (`head="residue"`, the default: the prediction is
  a sum or mean of per-residue outputs) cannot express.

`atomref` is None, `dipole` False, `mean`/`std` None: targets are standardised outside the model
(see esm_schnet.encoders.model.TargetScaler).

Forward contract: `encoder(batch: esm_schnet.encoders.graph.Batch) -> Tensor [B]` ([B, K] with
`out_channels` K > 1: the multi-task head of several labels, esm_schnet.tasks.heads). PyG's own signature
stays reachable as `encoder.forward_pyg(z, pos, batch)` (it builds the graph from `pos`).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.nn.models import SchNet
from torch_geometric.nn.models.schnet import ShiftedSoftplus

from esm_schnet.encoders.graph import Batch, check_edges, radius_graph
from esm_schnet.encoders.context import ForwardContext
from esm_schnet.encoders.geometry import CentroidFeatures
from esm_schnet.encoders.tabulated import operators_for, tabulate


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

    Inside the encoder's `context.graph(edge_index, dist)` it returns those edges; any other call
    builds the radius graph from `pos` (pure torch, same function as the precomputation).
    """

    def __init__(self, cutoff: float, max_neighbors: int | None = None,
                 context: ForwardContext | None = None):
        super().__init__()
        self.cutoff = float(cutoff)
        self.max_neighbors = max_neighbors
        self.context = context
        self.rebuilds = 0  # how many graphs were built on the fly (benchmarks, tests)

    def forward(self, pos: Tensor, batch: Tensor) -> tuple[Tensor, Tensor]:
        if self.context is not None and self.context.edges is not None:
            return self.context.edges
        self.rebuilds += 1
        edge_index, dist = radius_graph(pos, self.cutoff, batch, self.max_neighbors)
        return edge_index, dist

    def extra_repr(self) -> str:
        return f"cutoff={self.cutoff}, max_neighbors={self.max_neighbors}"


class SchNetEncoder(SchNet):
    """PyG SchNet with our embedding projection, interaction graph and (optional) fast filter."""

    def __init__(self, *, in_channels: int, out_channels: int, cutoff: float,
                 max_neighbors: int | None, readout: str, layer_norm: bool, centroid: bool,
                 linear: bool, dropout: float, hidden_channels: int, num_filters: int,
                 num_interactions: int, num_gaussians: int, filter: str,
                 filter_spacing: float, head: str):
        """Keyword arguments as PyG's SchNet: the settings every encoder receives
        (esm_schnet.encoders.model.COMMON_KWARGS), then the section model.schnet (no defaults
        here: the config schema holds them)."""
        if readout not in ("add", "mean"):
            raise ValueError(f"readout must be 'add' or 'mean', got {readout!r}")
        if filter not in ("table", "mlp"):
            raise ValueError(f"filter must be 'table' or 'mlp', got {filter!r}")
        if head not in ("residue", "pooled"):
            raise ValueError(f"head must be 'residue' or 'pooled', got {head!r}")
        context = ForwardContext()
        super().__init__(
            hidden_channels=hidden_channels,
            num_filters=num_filters,
            num_interactions=num_interactions,
            num_gaussians=num_gaussians,
            cutoff=cutoff,
            interaction_graph=PrecomputedRadiusGraph(cutoff, max_neighbors, context),
            readout=readout,
            dipole=False,
            mean=None,
            std=None,
            atomref=None,
        )
        self.context = context
        # model.centroid: each residue's place in the whole protein appended to its features
        self.centroid = CentroidFeatures() if centroid else None
        extra = CentroidFeatures.width if centroid else 0
        self.embedding = FeatureProjection(in_channels + extra, hidden_channels, layer_norm,
                                           dropout)
        # one output per regression label and one logit per class (esm_schnet.tasks.heads)
        self.out_channels = int(out_channels)
        # head "pooled": residue features pooled, then a network on the pooled vector
        self.post = None
        if head == "pooled":
            width = self.lin2.in_features
            self.lin2 = nn.Linear(width, width)
            self.post = nn.Sequential(ShiftedSoftplus(), nn.Linear(width, self.out_channels))
        elif self.out_channels != 1:
            self.lin2 = nn.Linear(self.lin2.in_features, self.out_channels)
        # model.linear: a linear term of each residue's input features and of its neighbour
        # profile (the Gaussian expansion of its edge distances, summed over its edges) added to
        # its output before the readout (with `add`: per-residue-type contributions, the
        # sequence-only model inside the network; mean neighbour counts at any radius under
        # the cutoff), zero at initialisation (train_model then starts it at a ridge fit:
        # esm_schnet.train.linear_init)
        self.skip = nn.Linear(in_channels + extra + num_gaussians, self.out_channels) \
            if linear else None
        # SchNet's own Gaussian expansion, kept before the tabulated filter replaces
        # distance_expansion
        self.profile_expansion = self.distance_expansion if linear else None
        if filter == "table":
            tabulate(self, num_gaussians, filter_spacing, context)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyG's initialisation, then the last layer at zero (lin2; with head "pooled" the
        pooled network's last Linear): the untrained network outputs 0, i.e. exactly the
        target scaler's offset (the fold's size-only fit). With PyG's Xavier init the
        per-residue outputs of an `add` readout summed to several standard deviations on
        large proteins (first-epoch loss 4-5x the offset's), and the first epochs were spent
        undoing it."""
        super().reset_parameters()
        post = getattr(self, "post", None)
        last = self.lin2 if post is None else post[-1]
        if post is not None:
            torch.nn.init.xavier_uniform_(self.lin2.weight)
            torch.nn.init.zeros_(self.lin2.bias)
        torch.nn.init.zeros_(last.weight)
        torch.nn.init.zeros_(last.bias)
        if getattr(self, "skip", None) is not None:
            torch.nn.init.zeros_(self.skip.weight)
            torch.nn.init.zeros_(self.skip.bias)

    def forward(self, batch: Batch) -> Tensor:  # type: ignore[override]
        """One value per protein of `batch` ([B]), or out_channels of them ([B, K]), on its
        precomputed graph."""
        check_edges(batch.edge_index, batch.dist, self.cutoff)
        ops = operators_for(self, batch)
        x = self._inputs(batch)
        profile = self._profile(batch, x) if self.skip is not None else None
        with self.context.graph(batch.edge_index, batch.dist, ops):
            out = self._forward(x, batch.pos, batch.batch, profile)
        return out.view(-1) if self.out_channels == 1 else out.view(-1, self.out_channels)

    def _inputs(self, batch: Batch) -> Tensor:
        """[N, in]: the residues' features, with the centroid features when on."""
        x = batch.x
        if self.centroid is not None:
            key = ("centroid", x.device)
            if key not in batch.cache:  # coordinates only: the same every epoch
                batch.cache[key] = self.centroid(batch.pos, batch.batch, len(batch.ids))
            x = torch.cat([x, batch.cache[key]], dim=1)
        return x

    def _profile(self, batch: Batch, x: Tensor) -> Tensor:
        key = ("profile", x.device)
        if key not in batch.cache:  # the graph is fixed: the same every epoch
            batch.cache[key] = self.neighbour_profile(batch.edge_index, batch.dist, x.size(0))
        return batch.cache[key]

    def linear_inputs(self, batch: Batch) -> Tensor:
        """[N, D]: what the linear term (model.linear) sees per residue: the input features
        (with the centroid features when on) and the neighbour profile."""
        x = self._inputs(batch)
        return torch.cat([x, self._profile(batch, x)], dim=1)

    def forward_pyg(self, z: Tensor, pos: Tensor, batch: Tensor | None = None) -> Tensor:
        """PyG's SchNet.forward (graph built from `pos`, as PyG does by default); with
        model.centroid the features are appended to `z` first."""
        if batch is None:  # one graph (PyG's zeros_like(z) would copy z's shape and dtype)
            batch = torch.zeros(pos.size(0), dtype=torch.long, device=pos.device)
        if self.centroid is not None:
            num_graphs = int(batch.max()) + 1 if batch.numel() else 0
            z = torch.cat([z, self.centroid(pos, batch, num_graphs)], 1)
        profile = None
        if self.skip is not None:
            edge_index, dist = radius_graph(pos, self.cutoff, batch,
                                            self.interaction_graph.max_neighbors)
            profile = self.neighbour_profile(edge_index, dist, z.size(0))
        return self._forward(z, pos, batch, profile)

    def neighbour_profile(self, edge_index: Tensor, dist: Tensor, num_nodes: int) -> Tensor:
        """[N, num_gaussians]: SchNet's Gaussian expansion of the distances of each residue's
        edges, summed over its edges (a soft count of its neighbours at each distance)."""
        rbf = self.profile_expansion(dist)
        out = torch.zeros(num_nodes, rbf.size(1), dtype=rbf.dtype, device=rbf.device)
        return out.index_add_(0, edge_index[1], rbf)

    def _forward(self, x: Tensor, pos: Tensor, batch: Tensor,
                 profile: Tensor | None = None) -> Tensor:
        """SchNet.forward (with head "pooled": then the network on the pooled features), plus
        the linear term (model.linear) through the same readout."""
        out = SchNet.forward(self, x, pos, batch)
        if self.post is not None:
            out = self.post(out)
        if self.skip is not None:
            out = out + self.readout(self.skip(torch.cat([x, profile], dim=1)), batch, dim=0)
        return out
