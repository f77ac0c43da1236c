"""C-alpha radius graphs in pure torch (no torch-cluster, no pyg-lib), computed once per protein.

Conventions follow PyG's `radius_graph`: `edge_index[0]` is the source j, `edge_index[1]` the
target i (messages flow j -> i), no self loops, both directions of every pair are present (unless a
neighbour cap removes one of them), and `dist[e] = |pos[j] - pos[i]|`.

Every edge is within the cutoff, checked by an assertion: SchNet's cosine envelope
0.5 * (cos(pi d / cutoff) + 1) is not clamped and rises again past the cutoff, so a longer edge would
silently get a large weight. There is no silent neighbour cap: `max_neighbors=None` keeps every
neighbour; a cap keeps the NEAREST k neighbours of each target residue (ties broken by index).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

# Rows of the distance matrix handled at once: bounds memory to ROW_CHUNK x N floats.
ROW_CHUNK = 1024


def radius_graph(
    pos: Tensor,
    cutoff: float,
    batch: Tensor | None = None,
    max_neighbors: int | None = None,
) -> tuple[Tensor, Tensor]:
    """All pairs (j, i), j != i, of the same graph with |pos_j - pos_i| <= cutoff.

    Returns `(edge_index [2, E] int64, dist [E] float32)`, sorted by target i, then by distance
    when `max_neighbors` is set, else by source index. Pure torch, exact (pairwise differences, not
    the matmul form of cdist), O(N^2) per graph in row chunks.
    """
    if pos.dim() != 2 or pos.size(1) != 3:
        raise ValueError(f"pos must be [N, 3], got {tuple(pos.shape)}")
    if not cutoff > 0:
        raise ValueError(f"cutoff must be > 0, got {cutoff}")
    if max_neighbors is not None and max_neighbors < 1:
        raise ValueError(f"max_neighbors must be >= 1 or None, got {max_neighbors}")
    n = pos.size(0)
    device = pos.device
    if batch is None:
        batch = torch.zeros(n, dtype=torch.long, device=device)
    pos = pos.detach().to(torch.float32)
    # Graph boundaries (batch is sorted, as PyG batches are).
    if n and bool((batch[1:] < batch[:-1]).any()):
        raise ValueError("batch must be sorted")
    counts = torch.bincount(batch, minlength=int(batch.max()) + 1 if n else 0) if n else batch
    starts = torch.cumsum(counts, 0) - counts
    srcs, dsts, dists = [], [], []
    for start, count in zip(starts.tolist(), counts.tolist()):
        if count < 2:
            continue
        p = pos[start : start + count]
        for r0 in range(0, count, ROW_CHUNK):
            r1 = min(r0 + ROW_CHUNK, count)
            d = (p[r0:r1, None, :] - p[None, :, :]).norm(dim=-1)  # [rows, count]; row = target i
            rows = torch.arange(r0, r1, device=device)
            d[rows - r0, rows] = float("inf")  # no self loops
            if max_neighbors is not None and max_neighbors < count - 1:
                # Nearest k per target: stable sort by distance (ties -> lower index first).
                d_sorted, order = torch.sort(d, dim=1, stable=True)
                d_sorted = d_sorted[:, :max_neighbors]
                order = order[:, :max_neighbors]
                keep = d_sorted <= cutoff
                tgt = rows[:, None].expand_as(order)[keep]
                src = order[keep]
                dd = d_sorted[keep]
            else:
                keep = d <= cutoff
                tgt, src = keep.nonzero(as_tuple=True)
                dd = d[tgt, src]
                tgt = tgt + r0
            srcs.append(src + start)
            dsts.append(tgt + start)
            dists.append(dd)
    if srcs:
        edge_index = torch.stack([torch.cat(srcs), torch.cat(dsts)]).long()
        dist = torch.cat(dists).to(torch.float32)
    else:
        edge_index = torch.empty(2, 0, dtype=torch.long, device=device)
        dist = torch.empty(0, dtype=torch.float32, device=device)
    check_edges(edge_index, dist, cutoff)
    return edge_index, dist


def check_edges(edge_index: Tensor, dist: Tensor, cutoff: float) -> None:
    """Assert the graph contract: no self loops, every edge within the cutoff."""
    assert edge_index.dim() == 2 and edge_index.size(0) == 2, "edge_index must be [2, E]"
    assert edge_index.size(1) == dist.numel(), "one distance per edge"
    if dist.numel():
        longest = float(dist.max())
        assert longest <= cutoff, f"edge of {longest:.3f} A exceeds the cutoff {cutoff} A"
        assert bool((edge_index[0] != edge_index[1]).all()), "self loop in the graph"


@dataclass
class ProteinGraph:
    """One protein, ready for SchNet: node features, coordinates and its precomputed graph."""

    id: str
    x: Tensor  # [N, D] float32 node features (embeddings)
    pos: Tensor  # [N, 3] float32 C-alpha coordinates (Angstrom)
    edge_index: Tensor  # [2, E] int64, local node indices
    dist: Tensor  # [E] float32
    y: float | tuple[float, ...] = float("nan")  # one value per label (NaN: missing)

    @property
    def num_nodes(self) -> int:
        return int(self.x.size(0))

    @property
    def num_edges(self) -> int:
        return int(self.edge_index.size(1))


def build_graph(
    id: str,
    x: Tensor,
    pos: Tensor,
    cutoff: float,
    max_neighbors: int | None = None,
    y: float | tuple[float, ...] = float("nan"),
) -> ProteinGraph:
    """Compute a protein's radius graph once (what training reuses every epoch). `y`: the
    label, or one value per label (a tuple) for several."""
    x = torch.as_tensor(x, dtype=torch.float32)
    pos = torch.as_tensor(pos, dtype=torch.float32)
    if x.dim() != 2 or x.size(0) != pos.size(0):
        raise ValueError(
            f"{id}: features {tuple(x.shape)} do not match coordinates {tuple(pos.shape)}"
        )
    edge_index, dist = radius_graph(pos, cutoff, max_neighbors=max_neighbors)
    return ProteinGraph(id=id, x=x, pos=pos, edge_index=edge_index, dist=dist,
                        y=tuple(map(float, y)) if isinstance(y, (tuple, list)) else float(y))


@dataclass
class Batch:
    """Several ProteinGraphs concatenated, PyG style (node offsets added to edge indices)."""

    ids: list[str]
    x: Tensor
    pos: Tensor
    batch: Tensor  # [N] graph index of each node
    edge_index: Tensor
    dist: Tensor
    y: Tensor  # [B], or [B, labels] for several labels
    num_nodes: Tensor  # [B]
    # derived per-edge data that depend only on the fixed graph (encoders.tabulated.edge_operators)
    cache: dict = field(default_factory=dict, repr=False, compare=False)

    def to(self, device) -> "Batch":
        return Batch(
            ids=self.ids,
            x=self.x.to(device),
            pos=self.pos.to(device),
            batch=self.batch.to(device),
            edge_index=self.edge_index.to(device),
            dist=self.dist.to(device),
            y=self.y.to(device),
            num_nodes=self.num_nodes.to(device),
        )


def collate(graphs: list[ProteinGraph]) -> Batch:
    offsets, off = [], 0
    for g in graphs:
        offsets.append(off)
        off += g.num_nodes
    return Batch(
        ids=[g.id for g in graphs],
        x=torch.cat([g.x for g in graphs]),
        pos=torch.cat([g.pos for g in graphs]),
        batch=torch.cat(
            [torch.full((g.num_nodes,), k, dtype=torch.long) for k, g in enumerate(graphs)]
        ),
        edge_index=torch.cat([g.edge_index + o for g, o in zip(graphs, offsets)], dim=1),
        dist=torch.cat([g.dist for g in graphs]),
        y=torch.tensor([g.y for g in graphs], dtype=torch.float32),
        num_nodes=torch.tensor([g.num_nodes for g in graphs], dtype=torch.float32),
    )
