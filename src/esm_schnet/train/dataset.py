"""A training job's proteins, read from the embedding shards batch by batch.

What a job keeps in memory per protein is its index entry (id, shard, label, residue and edge
counts), never its embedding or its graph: a job's memory is bounded by its batches, not by the
dataset (10,000 proteins x 300 residues x 1,280 dims x 4 bytes would be 15 GB).

- `JobProteins` (a context manager) indexes the shards (esm_schnet.core.store.index_shards), then makes
  one pass over the job's proteins: it reads each protein's C-alpha coordinates and embedding,
  checks them (shapes, finite values), builds its radius graph ONCE (esm_schnet.encoders.graph) and
  appends the edges (`edge_index` [2, E] int32, then `dist` [E] float32, then the node
  features of model.node_features [L, k] float32 when set, read once from the protein's
  structure file: esm_schnet.encoders.node_features) to a temporary flat binary file (`graphs.bin` in a `esm-schnet-graphs-*` folder under TMPDIR, deleted when the job
  ends; ~12 bytes per edge: ~1 GB at 10,000 proteins x 300 residues x 30 neighbours). The
  protein's index entry keeps the byte offset of its edges there and of its `ca` and `embedding`
  datasets in the shard (stored contiguously and uncompressed, as write_shard writes them).
- `ProteinDataset` (a Sequence of esm_schnet.encoders.graph.ProteinGraph) reads a protein when it
  is indexed: three preads at those offsets (shard and graph file descriptors opened once,
  reopened in a forked child), no HDF5 call. Why not h5py per batch: HDF5 keeps the metadata of
  every group and dataset read through an open file (~15 KB per protein, measured: 157 MB after
  reading 10,000 proteins through 4 open shards), and a job reading 10,000 proteins every epoch
  churned that cache; its allocations, between the training's tensors in a heap that
  esm_schnet.train.runtime.tune_malloc keeps, grew the heap to 1-1.7 GB (see
  docs/performance.md). A shard not readable by offset (chunked or compressed by another
  writer) is read through h5py, its handle reopened every `READS_PER_OPEN` reads; so is every
  shard in the build pass. Embeddings are stored as `embedding.storage_dtype` (float16 halves
  the files) and converted to float32 per protein, never the whole table.
- `GraphList` (esm_schnet.train.batches, with the batch sequences) is the same interface over ProteinGraphs already in memory (what tests build, and the
  reference path of `esm-schnet train-fold --data memory`, which loads every record first). Both
  give the training loop (esm_schnet.train.loop) the same tensors, so the same predictions.

Per-protein data derived from the fixed graph (the tabulated filter's edge operators, the
centroid features, the neighbour profile) are recomputed per batch on the lazy path instead of
being kept for every protein; they are deterministic, so the results do not change.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from esm_schnet.train.batches import Entry, ProteinDataset

log = logging.getLogger("esm_schnet.train")

# A shard handle is closed and reopened after this many reads: HDF5 caches the metadata of every
# group and dataset read through an open file (~15 KB per protein, measured on onehot shards:
# 157 MB after reading 10,000 proteins through 4 open shards, 16 MB when reopened every 256
# reads, at the same speed), so a handle kept open for a whole job grows with the dataset.
READS_PER_OPEN = 256


def _offset(ds, data) -> int:
    """Byte offset of an h5py dataset's data in its file when it is stored contiguously,
    unfiltered and complete (what esm_schnet.core.store.write_shard writes), else -1."""
    if ds.chunks is not None or data.dtype.kind not in "fiu" or data.dtype.byteorder == ">":
        return -1
    at = ds.id.get_offset()
    if at is None or ds.id.get_storage_size() != data.nbytes:
        return -1
    return int(at)


def _pread(fd: int, dtype, shape, at: int, path, pid: str) -> np.ndarray:
    out = np.empty(shape, dtype)
    if out.nbytes and os.preadv(fd, [memoryview(out).cast("B")], at) != out.nbytes:
        from esm_schnet.core.errors import CorruptFileError

        raise CorruptFileError(path, f"protein {pid!r}: its data are cut short")
    return out


class JobProteins:
    """The proteins of one job: the shard index, the graphs built once, open file handles.

    `labels`: id -> label (a float, or a tuple of one value per label; NaN: missing), or None
    (NaN for every protein). `features`: (id, residues) -> [L, k] node features appended to the
    embedding (esm_schnet.encoders.node_features.StructureDescriptors), or None. Use it as a
    context manager (closes the files, deletes the graph
    file); `dataset(ids)` gives the proteins in that order.
    """

    def __init__(self, shards, ids, labels: dict | None, graph, tmpdir=None, features=None):
        from esm_schnet.core.store import index_shards

        ids = list(dict.fromkeys(ids))
        index, self.attrs = index_shards(list(shards), ids)
        self.shards = list(dict.fromkeys(index.values()))
        which = {p: k for k, p in enumerate(self.shards)}
        self.cutoff, self.max_neighbors = float(graph.cutoff), graph.max_neighbors
        self.features = features
        self.feature_width = features.width if features is not None else 0
        self._handles: dict[int, object] = {}
        self._reads: dict[int, int] = {}  # reads through each open handle (READS_PER_OPEN)
        self._fds: dict[int, int] = {}  # shard file descriptors of the preads (Entry.ca_at)
        self._pid = os.getpid()
        self._tmp = tempfile.TemporaryDirectory(prefix="esm-schnet-graphs-", dir=tmpdir)
        self.graph_path = Path(self._tmp.name) / "graphs.bin"
        self._graphs = None  # the graph file's descriptor (reading)
        self._entries: dict[str, Entry] = {}
        try:
            self._build(ids, index, which, labels)
        except BaseException:
            self.close()
            raise

    # -- building ---------------------------------------------------------------------------

    def _build(self, ids, index, which, labels) -> None:
        with open(self.graph_path, "wb") as out:
            self._write_graphs(out, ids, index, which, labels)

    def _write_graphs(self, out, ids, index, which, labels) -> None:
        import torch

        from esm_schnet.core.errors import EsmSchnetError
        from esm_schnet.encoders.graph import radius_graph
        from esm_schnet.core.log import progress

        offset = 0
        for pid in progress(ids, logger=log, desc="graphs"):
            k = which[index[pid]]
            ca, emb, where = self._read(k, pid, locate=True)
            if not np.isfinite(emb).all():
                raise EsmSchnetError(f"protein {pid!r}: its embedding contains NaN or Inf")
            edge_index, dist = radius_graph(torch.as_tensor(ca, dtype=torch.float32),
                                            self.cutoff, max_neighbors=self.max_neighbors)
            data = (edge_index.numpy().astype(np.int32).tobytes()
                    + dist.numpy().astype(np.float32, copy=False).tobytes())
            if self.features is not None:  # model.node_features: after the edges
                data += np.ascontiguousarray(self.features(pid, len(ca)), np.float32).tobytes()
            out.write(data)
            deg = np.bincount(edge_index[1].numpy(), minlength=len(ca))
            y = float("nan") if labels is None else labels[pid]
            y = tuple(map(float, y)) if isinstance(y, (tuple, list)) else float(y)
            self._entries[pid] = Entry(pid, k, y, int(len(ca)), int(edge_index.size(1)),
                                       int(deg.max()) if deg.size else 0, int(emb.shape[1]),
                                       offset, *where)
            offset += len(data)

    # -- reading ----------------------------------------------------------------------------

    def _after_fork(self) -> None:
        """In a forked worker: its own handles (HDF5 handles are not shared)."""
        if os.getpid() != self._pid:
            self._handles, self._reads, self._fds, self._pid = {}, {}, {}, os.getpid()
            self._graphs = None

    def _file(self, k: int):
        from esm_schnet.core.store import _open

        self._after_fork()
        f = self._handles.get(k)
        if f is not None and self._reads.get(k, 0) >= READS_PER_OPEN:
            f.close()  # drops HDF5's cache of the groups read so far (see READS_PER_OPEN)
            f = None
        if f is None:
            f = self._handles[k] = _open(self.shards[k])
            self._reads[k] = 0
        self._reads[k] += 1
        return f

    def _read(self, k: int, pid: str, locate: bool = False):
        """(ca [L, 3] float32, embedding [L, D] in its storage dtype) of one protein, through
        h5py; with `locate`, also (ca_at, emb_at, emb_dtype) for Entry (-1, -1, "": not
        readable by offset)."""
        from esm_schnet.core.errors import CorruptFileError
        from esm_schnet.core.files import first_line

        path = self.shards[k]
        try:
            g = self._file(k)[pid]
            n = int(g.attrs["n_residues"])
            ca_ds, emb_ds = g["ca"], g["embedding"]
            ca = ca_ds[()]
            emb = emb_ds[()]
            where = (_offset(ca_ds, ca), _offset(emb_ds, emb), emb.dtype.str) if locate else None
        except (OSError, KeyError, ValueError) as exc:
            raise CorruptFileError(path, first_line(exc, 160)) from None
        if ca.shape != (n, 3) or emb.ndim != 2 or emb.shape[0] != n:
            raise CorruptFileError(path, f"protein {pid!r}: ca {ca.shape} and embedding "
                                         f"{emb.shape} do not match its {n} residues")
        if where is not None and (ca.dtype.str != "<f4" or min(where[:2]) < 0):
            where = (-1, -1, "")
        ca = np.asarray(ca, dtype=np.float32)
        return (ca, emb, where) if locate else (ca, emb)

    def _load(self, e: Entry) -> tuple[np.ndarray, np.ndarray]:
        """(ca, embedding) of one protein for a batch: two preads at the offsets the build
        pass found (no HDF5 call: its metadata cache and the allocations it makes and frees
        per group fragmented the heap of a job reading 10,000 proteins every epoch), else
        through h5py."""
        if e.ca_at < 0:
            return self._read(e.shard, e.id)
        self._after_fork()
        fd = self._fds.get(e.shard)
        if fd is None:
            fd = self._fds[e.shard] = os.open(self.shards[e.shard], os.O_RDONLY)
        dtype = np.dtype(e.emb_dtype)
        ca = _pread(fd, np.dtype("<f4"), (e.num_nodes, 3), e.ca_at, self.shards[e.shard], e.id)
        emb = _pread(fd, dtype, (e.num_nodes, e.dim), e.emb_at, self.shards[e.shard], e.id)
        return ca, emb

    def read_graph(self, e: Entry):
        """One protein's ProteinGraph: features in float32, its edges from the graph file."""
        import torch

        from esm_schnet.encoders.graph import ProteinGraph

        ca, emb = self._load(e)
        if self._graphs is None:  # (reset in a forked child)
            self._graphs = os.open(self.graph_path, os.O_RDONLY)
        k = self.feature_width
        size = 12 * e.num_edges + 4 * k * e.num_nodes  # int32 [2, E], float32 [E], [L, k]
        data = os.pread(self._graphs, size, e.offset)
        if len(data) != size:
            from esm_schnet.core.errors import CorruptFileError

            raise CorruptFileError(self.graph_path, f"protein {e.id!r}: its edges are cut short")
        edge_index = torch.from_numpy(
            np.frombuffer(data, np.int32, 2 * e.num_edges).reshape(2, -1).astype(np.int64))
        dist = torch.from_numpy(
            np.frombuffer(data, np.float32, e.num_edges, offset=8 * e.num_edges).copy())
        x = emb.astype(np.float32, copy=False)
        if k:
            feats = np.frombuffer(data, np.float32, offset=12 * e.num_edges).reshape(-1, k)
            x = np.concatenate([x, feats], axis=1)
        return ProteinGraph(id=e.id, x=torch.from_numpy(x),
                            pos=torch.from_numpy(ca), edge_index=edge_index, dist=dist, y=e.y)

    def dataset(self, ids) -> ProteinDataset:
        return ProteinDataset(self, [self._entries[i] for i in ids])

    @property
    def dims(self) -> set[int]:
        """The node features' widths: embedding + model.node_features columns."""
        return {e.dim + self.feature_width for e in self._entries.values()}

    def close(self) -> None:
        for f in self._handles.values():
            f.close()
        self._handles = {}
        if self._pid == os.getpid():
            for fd in self._fds.values():
                os.close(fd)
        self._fds = {}
        if self._graphs is not None and self._pid == os.getpid():
            os.close(self._graphs)
        self._graphs = None
        self._tmp.cleanup()

    def __enter__(self) -> "JobProteins":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

