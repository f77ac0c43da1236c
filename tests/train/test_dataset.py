"""The training data read from the shards batch by batch (esm_schnet.train.dataset) against the
in-memory reference path (load_records + make_graphs): same tensors, same predictions; float16
storage; a batch reads only its proteins; nothing per-residue kept in memory."""

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

from esm_schnet.core.errors import EsmSchnetError
from esm_schnet.core.resolved import JobSettings
from esm_schnet.encoders.graph import collate
from esm_schnet.core.settings import GraphSettings
from esm_schnet.core.store import load_records, write_shard
from esm_schnet.train import make_graphs, run_training_job
from esm_schnet.train.batches import ProteinDataset
from esm_schnet.train.dataset import JobProteins

from traindata import make_records, radius_of_gyration, write_dataset

SMALL_MODEL = {"schnet": {"hidden_channels": 16, "num_filters": 16, "num_interactions": 2,
                          "num_gaussians": 20}}
ATTRS = {"model_id": "onehot", "model_revision": "builtin", "layer": 0, "dtype": "float32",
         "embedding_dim": 21}


def _write(tmp: Path, recs, storage_dtype="float32", n_shards=3):
    shards = []
    for s in range(n_shards):
        path = tmp / "emb" / f"shard-{s:03d}.h5"
        write_shard(path, recs[s::n_shards], ATTRS, storage_dtype=storage_dtype)
        shards.append(str(path))
    return shards


@pytest.fixture
def data(tmp_path):
    recs = make_records(9, seed=1, sizes=(12, 40))
    recs[0].embedding = recs[0].embedding * 0.1 + 0.0123  # not exactly representable in fp16
    labels = {r.id: 0.3 * r.n_residues + radius_of_gyration(r.ca) for r in recs}
    shards, samples = write_dataset(tmp_path, recs, labels, n_shards=3)
    return tmp_path, recs, labels, shards, samples


def _same_graph(a, b):
    assert a.id == b.id and a.y == b.y
    for name in ("x", "pos", "edge_index", "dist"):
        ta, tb = getattr(a, name), getattr(b, name)
        assert ta.dtype == tb.dtype and torch.equal(ta, tb), name


@pytest.mark.parametrize("max_neighbors", [None, 3])
def test_lazy_dataset_returns_the_in_memory_tensors(data, max_neighbors):
    tmp, recs, labels, shards, _ = data
    graph = GraphSettings.from_dict({"cutoff": 9.0, "max_neighbors": max_neighbors})
    ids = [r.id for r in recs][::-1]
    reference = make_graphs(load_records(shards, ids=ids), ids, labels, graph)
    with JobProteins(shards, ids, labels, graph) as source:
        ds = source.dataset(ids)
        assert isinstance(ds, ProteinDataset) and len(ds) == len(ids) and ds.ids == ids
        for k, ref in enumerate(reference):
            _same_graph(ds[k], ref)
            lazy, mem = ds.batches("cpu")[k], collate([ref])
            assert lazy.ids == mem.ids
            for name in ("x", "pos", "batch", "edge_index", "dist", "y", "num_nodes"):
                assert torch.equal(getattr(lazy, name), getattr(mem, name)), name
        from esm_schnet.train.job import edge_stats

        assert ds.edge_stats() == edge_stats(reference)
        assert ds.subset([2, 0]).ids == [ids[2], ids[0]]
        assert source.dims == {21}


def test_a_protein_without_edges_round_trips(tmp_path):
    rec = make_records(1, seed=4, sizes=(5, 6))[0]
    for name in ("ca", "embedding", "residue_index", "chain_index"):
        setattr(rec, name, getattr(rec, name)[:1])
    rec.sequence, rec.n_residues = rec.sequence[:1], 1
    shards = _write(tmp_path, [rec], n_shards=1)
    graph = GraphSettings.from_dict({})
    (ref,) = make_graphs(load_records(shards), [rec.id], None, graph)
    with JobProteins(shards, [rec.id], None, graph) as source:
        (g,) = source.dataset([rec.id])
        assert g.num_edges == 0 and g.edge_index.shape == (2, 0)
        assert torch.isnan(torch.tensor(g.y)) and torch.isnan(torch.tensor(ref.y))
        g.y = ref.y = 0.0
        _same_graph(g, ref)


def test_float16_storage_round_trips_and_is_read_as_float32(tmp_path):
    import h5py

    recs = make_records(5, seed=2)
    recs[1].embedding = recs[1].embedding * 0.3 + 0.0123
    shards = _write(tmp_path, recs, "float16")
    with h5py.File(shards[0]) as f:
        assert f.attrs["storage_dtype"] == "float16"
        assert f[recs[0].id]["embedding"].dtype == np.float16
    ids = [r.id for r in recs]
    graph = GraphSettings.from_dict({})
    with JobProteins(shards, ids, None, graph) as source:
        assert source.attrs["storage_dtype"] == "float16"
        ds = source.dataset(ids)
        for r, g in zip(recs, ds):
            assert g.x.dtype == torch.float32
            expected = torch.from_numpy(r.embedding.astype(np.float16).astype(np.float32))
            assert torch.equal(g.x, expected)
        # the same tensors as the in-memory path on the same float16 shards
        reference = make_graphs(load_records(shards, ids=ids), ids, None, graph)
        for a, b in zip(ds, reference):
            assert torch.equal(a.x, b.x) and torch.equal(a.edge_index, b.edge_index)
    x = torch.from_numpy(recs[1].embedding)
    assert not torch.equal(x, x.half().float())  # float16 did round something


def test_a_batch_reads_only_its_proteins_and_nothing_per_residue_is_kept(data, monkeypatch):
    tmp, recs, labels, shards, _ = data
    ids = [r.id for r in recs]
    with JobProteins(shards, ids, labels, GraphSettings.from_dict({})) as source:
        reads = []
        real = JobProteins._load

        def spy(self, e):
            reads.append(e.id)
            return real(self, e)

        monkeypatch.setattr(JobProteins, "_load", spy)
        ds = source.dataset(ids)
        batches = ds.batches("cpu")
        batches[4]
        batches[2]
        assert reads == [ids[4], ids[2]]
        reads.clear()
        ds.label_batches("cpu")[3]
        ds.edge_stats()
        assert reads == []  # labels and graph statistics come from the index
        # what the job keeps: the index entries (ints, floats, strings), no arrays or tensors
        for entry in source._entries.values():
            assert all(isinstance(v, (str, int, float, tuple)) for v in vars(entry).values())
        for name, value in vars(source).items():
            assert not isinstance(value, (np.ndarray, torch.Tensor)), name
        # handles stay open across batches: one per shard, not one per read
        assert len(source._handles) <= len(shards)
        handles = dict(source._handles)
        batches[4]
        assert all(source._handles[k] is h for k, h in handles.items())
        graph_dir = source.graph_path.parent
        assert source.graph_path.is_file()
    assert not graph_dir.exists()  # the graph file goes with the job


def test_errors_name_the_protein(data):
    tmp, recs, labels, shards, _ = data
    graph = GraphSettings.from_dict({})
    with pytest.raises(EsmSchnetError, match="have no embeddings in the given shards: nope"):
        JobProteins(shards, [recs[0].id, "nope"], labels, graph)
    bad = make_records(2, seed=3)
    bad[1].embedding[0, 0] = np.nan
    shards = _write(tmp / "bad", bad, n_shards=1)
    before = set(Path(tempfile.gettempdir()).glob("esm-schnet-graphs-*"))
    with pytest.raises(EsmSchnetError, match=f"protein '{bad[1].id}': its embedding contains NaN"):
        JobProteins(shards, [r.id for r in bad], None, graph)
    assert set(Path(tempfile.gettempdir()).glob("esm-schnet-graphs-*")) == before


@pytest.mark.parametrize("storage", ["float32", "float16"])
def test_stream_and_memory_jobs_write_identical_outputs(data, storage):
    """The training job reading batch by batch gives the in-memory path's predictions to the
    byte: the ridge start, an inner validation split, float32 and float16 shards."""
    tmp, recs, labels, shards, samples = data
    if storage == "float16":
        shards = _write(tmp / "f16", recs, "float16")
    ids = [r.id for r in recs]
    test = [i for k, i in enumerate(ids) if k % 3 == 1]
    train = [i for i in ids if i not in test]
    out = {}
    for data_mode in ("stream", "memory"):
        outdir = tmp / f"{storage}-{data_mode}"
        prov = run_training_job(
            shards=shards, samples=samples, train_ids=train, test_ids=test, outdir=outdir,
            settings=JobSettings.from_config({
                "graph": {"cutoff": 10.0}, "model": SMALL_MODEL,
                "training": {"epochs": 3, "batch_size": 2, "seed": 3, "device": "cpu",
                             "val_fraction": 0.25, "patience": 5}}),
            fold=1, groups={i: f"c{k % 4}" for k, i in enumerate(ids)}, data=data_mode)
        out[data_mode] = (outdir, prov)
    (a, pa), (b, pb) = out["stream"], out["memory"]
    assert (a / "predictions.tsv").read_bytes() == (b / "predictions.tsv").read_bytes()
    hist = [(d / "history.tsv").read_text().splitlines() for d in (a, b)]
    strip = [[line.rsplit("\t", 1)[0] for line in h] for h in hist]  # all but the seconds
    assert strip[0] == strip[1]
    sa = torch.load(a / "model.pt", weights_only=True)
    sb = torch.load(b / "model.pt", weights_only=True)
    assert all(torch.equal(sa["state_dict"][k], sb["state_dict"][k]) for k in sa["state_dict"])
    assert sa["meta"] == sb["meta"] and sa["labels"] == sb["labels"]
    assert pa["training"]["linear_init"] and pa["training"] == pb["training"]
    for key in ("graphs", "convergence", "val_ids", "train_ids", "embeddings"):
        assert json.dumps(pa[key]) == json.dumps(pb[key]), key
    assert pa["data"] == "stream" and pb["data"] == "memory"
    assert pa["embeddings"]["storage_dtype"] == storage


@pytest.mark.parametrize("size", [1, 7, 2001, 32767, 32768, 40000])
def test_stable_order_is_torchs_stable_argsort(size):
    from esm_schnet.encoders.tabulated import stable_order

    gen = torch.Generator().manual_seed(size)
    for n in (0, 1, 5000):
        keys = torch.randint(0, size, (n,), generator=gen)
        got = stable_order(keys, size)
        assert got.dtype == torch.int64
        assert torch.equal(got, torch.argsort(keys, stable=True))


def test_ridge_fit_is_the_same_on_one_blas_thread():
    """init_linear_term fits on one BLAS thread (OpenBLAS's idle threads spin under load): the
    same numbers as on the library's default threads."""
    from threadpoolctl import threadpool_limits

    from esm_schnet.train.linear_init import fit_ridge

    rng = np.random.default_rng(1)
    x, r, w = rng.normal(size=(40, 30)), rng.normal(size=40), rng.uniform(0.5, 2, 40)
    a = fit_ridge(x, r, w, [10, 10, 9, 1])
    with threadpool_limits(limits=1, user_api="blas"):
        b = fit_ridge(x, r, w, [10, 10, 9, 1])
    assert np.array_equal(a[0], b[0]) and a[1] == b[1] and a[2] == b[2]


def test_auto_loads_small_jobs_and_streams_large_ones(data, monkeypatch):
    """`auto` picks `memory` when the estimated in-memory size of the job is under the budget,
    `stream` above it; the estimate counts residues x (4 bytes x width + edges x bytes per edge)
    from the shards' attributes, and grows with the cube of the cutoff."""
    from esm_schnet.train import job

    tmp, recs, labels, shards, samples = data
    ids = [r.id for r in recs]
    residues = sum(r.n_residues for r in recs)
    width = recs[0].embedding.shape[1]
    est = job.estimated_memory_bytes(shards, ids, 10.0)
    edge_bytes = job.EDGES_PER_RESIDUE_AT_10A * job.BYTES_PER_EDGE
    assert est == pytest.approx(residues * (4.0 * width + edge_bytes))
    assert job.estimated_memory_bytes(shards, ids, 20.0) == pytest.approx(
        residues * (4.0 * width + 8 * edge_bytes))
    test = ids[:3]
    train = ids[3:]
    kwargs = dict(shards=shards, samples=samples, train_ids=train, test_ids=test,
                  settings=JobSettings.from_config({
                      "graph": {"cutoff": 10.0}, "model": SMALL_MODEL,
                      "training": {"epochs": 1, "batch_size": 2, "seed": 3, "device": "cpu"}}),
                  fold=0)
    small = job.run_training_job(outdir=tmp / "auto-small", data="auto", **kwargs)
    assert small["data"] == "memory"
    monkeypatch.setattr(job, "AUTO_MEMORY_MB", est / 2**20 * 0.5)  # budget below this job
    large = job.run_training_job(outdir=tmp / "auto-large", data="auto", **kwargs)
    assert large["data"] == "stream"
    assert ((tmp / "auto-small" / "predictions.tsv").read_bytes()
            == (tmp / "auto-large" / "predictions.tsv").read_bytes())



def _compress(shards):
    """The same shards with every embedding chunked and gzipped (not readable by offset)."""
    import h5py

    for path in shards:
        with h5py.File(path, "r+") as f:
            for pid in list(f):
                data = f[pid]["embedding"][()]
                del f[pid]["embedding"]
                f[pid].create_dataset("embedding", data=data, chunks=True, compression="gzip")
    return shards


@pytest.mark.parametrize("layout", ["contiguous", "gzip"])
def test_epochs_read_without_hdf5_and_handles_stay_bounded(data, monkeypatch, layout):
    """Batches read a protein with two preads at the offsets found in the build pass (no HDF5
    call per protein: HDF5's per-file metadata cache grew with every protein read and its
    allocations fragmented the heap of a 10,000-protein job), or, for shards not readable by
    offset (chunked, compressed), through h5py handles reopened every READS_PER_OPEN reads;
    the graphs live in one flat file; the same tensors either way."""
    import esm_schnet.core.store as store
    import esm_schnet.train.dataset as dataset

    tmp, recs, labels, shards, _ = data
    ids = [r.id for r in recs]
    graph = GraphSettings.from_dict({})
    with JobProteins(shards, ids, labels, graph) as source:
        reference = [source.dataset(ids)[k] for k in range(len(ids))]
    if layout == "gzip":
        shards = _compress(shards)
    opens, real_open = [], store._open
    monkeypatch.setattr(store, "_open", lambda path: opens.append(path) or real_open(path))
    monkeypatch.setattr(dataset, "READS_PER_OPEN", 2)
    with JobProteins(shards, ids, labels, graph) as source:
        assert source.graph_path.suffix == ".bin"
        assert source.graph_path.stat().st_size == 12 * sum(
            e.num_edges for e in source._entries.values())
        assert all(n <= 2 for n in source._reads.values())  # the build pass reopens too
        by_offset = {e.ca_at >= 0 for e in source._entries.values()}
        assert by_offset == {layout == "contiguous"}
        ds = source.dataset(ids)
        opens.clear()
        for _ in range(3):  # epochs
            for k in range(len(ids)):
                _same_graph(ds[k], reference[k])
                assert all(n <= 2 for n in source._reads.values())
                assert len(source._handles) <= len(shards)
    if layout == "contiguous":
        assert opens == []  # no HDF5 file opened in the epochs
    else:  # 9 proteins in 3 shards, 3 epochs: 9 reads per shard, 2 per opening
        assert sorted(map(str, opens)) == sorted(shards * 4)
