"""What the training loop iterates over: a job's proteins as a Sequence of
esm_schnet.encoders.graph.ProteinGraph, and their batches.

- `Entry`: what a job keeps in memory of one protein (esm_schnet.train.dataset.JobProteins
  builds them; the byte offsets its reader uses).
- `ProteinDataset`: proteins of a JobProteins in a given order, read when indexed.
- `GraphList`: the same interface over ProteinGraphs already in memory (tests, and the
  reference path of `esm-schnet train-fold --data memory`). Both give the same tensors.
- `as_dataset`, the batch and label-batch sequences, and the edge statistics that size the
  tabulated filter's work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Entry:
    """What stays in memory of one protein."""

    id: str
    shard: int  # index into JobProteins.shards
    y: float | tuple[float, ...]
    num_nodes: int
    num_edges: int
    max_degree: int
    dim: int  # embedding width
    offset: int = 0  # byte offset of its edges in the job's graph file
    # byte offsets of its `ca` and `embedding` datasets in the shard file, and the embedding's
    # dtype (numpy str), when both are stored contiguously and uncompressed (what write_shard
    # writes): batches then read them with two preads, without HDF5; -1: read through h5py
    ca_at: int = -1
    emb_at: int = -1
    emb_dtype: str = ""


@dataclass
class LabelBatch:
    """The labels of one protein as a one-graph batch has them (y, num_nodes), without features:
    what the mean predictor's yardstick needs (esm_schnet.tasks.heads.LabelHeads.reference_output)."""

    y: object  # Tensor [1] or [1, labels]
    num_nodes: object  # Tensor [1]


def label_batch(y, num_nodes: int, device=None) -> LabelBatch:
    import torch

    return LabelBatch(y=torch.tensor([y], dtype=torch.float32, device=device),
                      num_nodes=torch.tensor([num_nodes], dtype=torch.float32, device=device))


def edge_stats_of(counts) -> dict:
    """Graph statistics from (num_nodes, num_edges, max_degree) of each protein; the same numbers
    as esm_schnet.train.job.edge_stats computes from the graphs."""
    counts = list(counts)
    if not counts:
        return {"proteins": 0, "residues": 0, "edges": 0}
    residues = sum(c[0] for c in counts)
    edges = sum(c[1] for c in counts)
    return {
        "proteins": len(counts),
        "residues": int(residues),
        "edges": int(edges),
        "neighbours_mean": round(edges / residues, 2) if residues else 0.0,
        "neighbours_max": int(max(c[2] for c in counts)) if residues else 0,
    }


class _Batches(Sequence):
    """One-graph batches of a ProteinDataset, read and collated when indexed."""

    def __init__(self, data: "ProteinDataset", device):
        self.data, self.device = data, device

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i):
        from esm_schnet.encoders.graph import collate

        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        return collate([self.data[i]]).to(self.device)


class _Labels(Sequence):
    def __init__(self, entries, device):
        self.entries, self.device = entries, device

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        e = self.entries[i]
        return label_batch(e.y, e.num_nodes, self.device)


class GraphList(Sequence):
    """ProteinGraphs in memory behind the dataset interface; its batches are collated once and
    reused every epoch (with what the encoder caches on them)."""

    def __init__(self, graphs):
        self.entries = list(graphs)  # a ProteinGraph has id, y and num_nodes

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, i):
        return self.entries[i]

    @property
    def ids(self) -> list[str]:
        return [g.id for g in self.entries]

    def subset(self, indices) -> "GraphList":
        return GraphList([self.entries[i] for i in indices])

    def batches(self, device) -> list:
        from esm_schnet.encoders.graph import collate

        return [collate([g]).to(device) for g in self.entries]

    def label_batches(self, device) -> list:
        return [label_batch(g.y, g.num_nodes, device) for g in self.entries]

    def edge_stats(self) -> dict:
        counts = []
        for g in self.entries:
            deg = np.bincount(g.edge_index[1].numpy(), minlength=g.num_nodes)
            counts.append((g.num_nodes, g.num_edges, int(deg.max()) if deg.size else 0))
        return edge_stats_of(counts)


class ProteinDataset(Sequence):
    """Proteins of a JobProteins, in a given order; indexing reads one ProteinGraph."""

    def __init__(self, source: "JobProteins", entries: list[Entry]):
        self.source, self.entries = source, entries

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return ProteinDataset(self.source, self.entries[i])
        return self.source.read_graph(self.entries[i])

    @property
    def ids(self) -> list[str]:
        return [e.id for e in self.entries]

    def subset(self, indices) -> "ProteinDataset":
        return ProteinDataset(self.source, [self.entries[i] for i in indices])

    def batches(self, device) -> _Batches:
        return _Batches(self, device)

    def label_batches(self, device) -> _Labels:
        return _Labels(self.entries, device)

    def edge_stats(self) -> dict:
        return edge_stats_of((e.num_nodes, e.num_edges, e.max_degree) for e in self.entries)


def as_dataset(graphs):
    """A ProteinDataset or GraphList as it is; any other iterable of ProteinGraphs as a GraphList."""
    return graphs if isinstance(graphs, (ProteinDataset, GraphList)) else GraphList(graphs)
