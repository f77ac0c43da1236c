"""Peak RSS of one training job against the number of proteins (issue 26, point 5): JSON on stdout.

For each N (default 1,000, 4,000 and 10,000) it writes N synthetic proteins into real embedding
shards and runs ONE `esm-schnet train-fold` job on them as a subprocess, once per data mode:
with `--job fold` (default) fold 0 of 5 (80% of the proteins trained, 20% predicted); with
`--job final` a fold 0 of one protein: N - 1 proteins trained, 1 predicted, i.e. the final
model's training job (`train-final` trains on all N) up to one protein, through the same command
(train-final first reads every parsed structure to find the usable proteins: this bench has no
structure files; that step's own peak is measured apart, see docs/performance.md):

- `stream` (the default of train-fold): proteins read from the shards as batches need them;
- `memory` (`--data memory`): every protein's embedding and graph loaded first (the old path).

The proteins: a pool of `--pool` single-chain proteins from the bundled example's generator
(esm_schnet.example.make_dataset: 40-400 residues, log-uniform), repeated with each copy's
C-alpha coordinates perturbed by 0.25 A (as the generator's near-copies are) and its own id and
label. Embeddings: the `onehot` featurizer through the package's embed code (embed_proteins,
write_shard with the embed job's file attrs), `embedding.shards` shards by the workflow's
id hash. The job runs the default settings except `training.epochs` (default 1),
`training.batch_size` and a small network (`--model`, default 16 channels, 2 interaction
blocks: the memory measured is the data's, the network's weights and one protein's
activations are small either way; the default network only makes the run longer).

Peak RSS is the job process's own `ru_maxrss` (os.wait4 on that child), so the runs do not mix.
The same run also checks that both modes wrote identical predictions.tsv files (fold jobs).

`--footprint` measures instead what the in-memory path keeps (what `--data auto` estimates,
esm_schnet.train.job.estimated_memory_bytes): in a fresh process per size, the heap in use
(glibc mallinfo2) before and after loading every protein, building its graph, collating its
batch and running one forward and backward pass on it (which fills the caches the encoder keeps
on a batch reused every epoch), against the estimate for the same proteins.

    .venv/bin/python bench/train_memory.py [--sizes 1000 4000 10000] [--epochs 1] [--keep DIR]
                                           [--job fold|final] [--model '{}' (the default network)]
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

BIN = Path(sys.executable).parent
SMALL_MODEL = {"schnet": {"hidden_channels": 16, "num_filters": 16, "num_interactions": 2}}


def make_pool(n: int, seed: int) -> list:
    """`n` single-chain proteins of the example generator (its special cases left out)."""
    from esm_schnet.example.dataset import _specials, make_dataset

    pool = [p for p in make_dataset(len(_specials()) + n, seed) if len(p.chains) == 1]
    return pool[-n:]


def _protein(pid: str, src, rng) -> SimpleNamespace:
    """A parsed-protein stand-in with what the embed code reads (id, chains, ca, numbering)."""
    chains = [SimpleNamespace(name=c.name, label=c.name, sequence=c.sequence) for c in src.chains]
    ca = np.concatenate([c.ca for c in src.chains]).astype(np.float64)
    ca = (ca + rng.normal(0, 0.25, ca.shape)).astype(np.float32)
    return SimpleNamespace(
        id=pid, chains=chains, ca=ca,
        residue_number=np.concatenate([np.asarray(c.numbers, np.int32) for c in src.chains]),
        chain_index=np.concatenate([np.full(len(c), k, np.int32)
                                    for k, c in enumerate(src.chains)]),
    )


def write_inputs(root: Path, n: int, pool: list, n_shards: int, seed: int = 0) -> dict:
    """Shards, sample table (with empty structure files: the table checks they exist) and a
    5-fold folds.tsv for N proteins; returns the paths and totals."""
    from esm_schnet.embed.config import EmbedConfig
    from esm_schnet.embed.shard import load, shard_file_attrs, embed_proteins
    from esm_schnet.core.samples import shard_of
    from esm_schnet.core.store import write_shard

    rng = np.random.default_rng(seed)
    cfg = EmbedConfig.from_dict({"model": "onehot", "cache": ""})
    featurizer = load(cfg)
    ids = [f"s{i:05d}" for i in range(n)]
    by_shard: dict[int, list[str]] = {}
    for pid in ids:
        by_shard.setdefault(shard_of(pid, n_shards), []).append(pid)
    labels, residues, shards = {}, 0, []
    for s in range(n_shards):
        members = by_shard.get(s, [])
        proteins = [_protein(pid, pool[int(pid[1:]) % len(pool)], rng) for pid in members]
        records = embed_proteins(proteins, featurizer, cfg) if proteins else []
        for pid in members:
            src = pool[int(pid[1:]) % len(pool)]
            labels[pid] = float(src.label + rng.normal(0, 1.0))
        residues += sum(r.n_residues for r in records)
        path = root / "emb" / f"shard-{s:03d}.h5"
        write_shard(path, records, shard_file_attrs(featurizer, cfg),
                    storage_dtype=cfg.storage_dtype)
        shards.append(str(path))
    (root / "structures").mkdir(parents=True, exist_ok=True)
    lines, folds, final = ["id\tstructure\tlabel"], ["id\tfold\tcluster"], ["id\tfold\tcluster"]
    for k, pid in enumerate(ids):
        (root / "structures" / f"{pid}.pdb").touch()
        lines.append(f"{pid}\tstructures/{pid}.pdb\t{labels[pid]!r}")
        folds.append(f"{pid}\t{k % 5}\t{pid}")
        final.append(f"{pid}\t{0 if k == 0 else 1}\t{pid}")  # --job final: 1 held out
    (root / "samples.tsv").write_text("\n".join(lines) + "\n")
    (root / "folds.tsv").write_text("\n".join(folds) + "\n")
    (root / "folds-final.tsv").write_text("\n".join(final) + "\n")
    return {"shards": shards, "samples": str(root / "samples.tsv"),
            "folds": str(root / "folds.tsv"), "folds_final": str(root / "folds-final.tsv"),
            "residues": residues}


def _settings_file(outdir: Path, training: dict, model: str) -> str:
    """The job's settings (training, model) as a config file (`--config-file`)."""
    path = Path(f"{outdir}.settings.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"training": training, "model": json.loads(model)}))
    return str(path)


def run_job(inputs: dict, outdir: Path, mode: str, epochs: int, batch_size: int,
            model: str, job: str = "fold") -> dict:
    """One training job; its own peak RSS (wait4) and wall time."""
    training = {"epochs": epochs, "batch_size": batch_size, "device": "cpu"}
    folds = inputs["folds_final" if job == "final" else "folds"]
    cmd = [str(BIN / "esm-schnet"), "train-fold", "--shards", *inputs["shards"],
           "--samples", inputs["samples"], "--folds", folds, "--fold", "0",
           "--config-file", _settings_file(outdir, training, model), "--outdir", str(outdir), "--threads", "1", "--log", str(outdir) + ".log",
           "--data", mode]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"train-{job} ({mode}) failed with {proc.returncode}: see {outdir}.log")
    prov = json.loads((outdir / "provenance.json").read_text())
    return {"peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "wall_s": round(wall, 1),
            "data": prov["data"], "timings_s": prov["timings_s"],
            "train_s": prov["timings_s"]["train"], "graphs_s": prov["timings_s"]["graphs"],
            "edges": prov["graphs"]["train"]["edges"] + prov["graphs"]["test"]["edges"]}


def footprint(spec: str) -> int:
    """The in-memory path's heap in use per protein set (see the module docstring); JSON."""
    import ctypes

    import torch

    from esm_schnet.core.settings import GraphSettings, section
    from esm_schnet.core.store import load_records
    from esm_schnet.encoders.model import ModelConfig, build_model
    from esm_schnet.encoders.tabulated import shared_filter_tables
    from esm_schnet.train.batches import GraphList
    from esm_schnet.train.job import estimated_memory_bytes, make_graphs
    from esm_schnet.train.runtime import tune_malloc

    class MallInfo(ctypes.Structure):
        _fields_ = [(f, ctypes.c_size_t) for f in ("arena", "ordblks", "smblks", "hblks",
                                                   "hblkhd", "usmblks", "fsmblks", "uordblks",
                                                   "fordblks", "keepcost")]

    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo

    def in_use() -> int:
        m = libc.mallinfo2()
        return m.uordblks + m.hblkhd

    a = json.loads(spec)
    tune_malloc()
    torch.set_num_threads(1)
    graph = GraphSettings.from_dict({})
    ids = [line.split("\t")[0] for line in Path(a["samples"]).read_text().splitlines()[1:]]
    model = None
    before = in_use()
    records = load_records(a["shards"], ids=ids)
    width = next(iter(records.values())).embedding.shape[1]
    graphs = make_graphs(records, ids, None, graph)
    del records
    batches = GraphList(graphs).batches("cpu")
    loaded = in_use()
    cfg = ModelConfig.from_config(width, graph, section("model", json.loads(a["model"])),
                                  out_channels=1)
    torch.manual_seed(0)
    model = build_model(cfg)
    model.train()
    with_model = in_use()
    for b in batches:
        with shared_filter_tables(model):
            model(b).sum().backward()
        model.zero_grad(set_to_none=True)
    after = in_use()
    kept = (loaded - before) + (after - with_model)
    residues = sum(g.num_nodes for g in graphs)
    edges = sum(g.num_edges for g in graphs)
    est = estimated_memory_bytes(a["shards"], ids, graph.cutoff)
    print(json.dumps({
        "proteins": len(ids), "residues": residues, "edges": edges,
        "kept_mb": round(kept / 2**20, 1), "loaded_mb": round((loaded - before) / 2**20, 1),
        "caches_mb": round((after - with_model) / 2**20, 1),
        "estimate_mb": round(est / 2**20, 1), "kept_over_estimate": round(kept / est, 3),
        "bytes_per_edge": round((kept - 4.0 * width * residues) / edges, 1),
        "edges_per_residue": round(edges / residues, 2)}))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000, 10000])
    ap.add_argument("--modes", nargs="+", default=["stream", "memory"],
                    choices=["stream", "memory"])
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=2)
    ap.add_argument("--pool", type=int, default=24, help="distinct example proteins")
    ap.add_argument("--shards", type=int, default=None, help="default: embedding.shards")
    ap.add_argument("--model", default=json.dumps(SMALL_MODEL), help="model settings (JSON)")
    ap.add_argument("--keep", default=None, help="work in this folder and keep it")
    ap.add_argument("--job", choices=["fold", "final"], default="fold",
                    help="fold: fold 0 of 5; final: all proteins but one trained")
    ap.add_argument("--footprint", action="store_true",
                    help="measure what the in-memory path keeps against its estimate")
    ap.add_argument("--footprint-of", default=None, help=argparse.SUPPRESS)  # the child
    a = ap.parse_args(argv)
    if a.footprint_of:
        return footprint(a.footprint_of)
    from esm_schnet.core.settings import default

    n_shards = a.shards or int(default("embedding.shards"))
    tmp = None if a.keep else tempfile.TemporaryDirectory(prefix="train-memory-")
    root = Path(a.keep or tmp.name)
    t0 = time.perf_counter()
    pool = make_pool(a.pool, 0)
    pool_s = time.perf_counter() - t0
    results = []
    for n in a.sizes:
        d = root / f"n{n}"
        inputs = write_inputs(d, n, pool, n_shards)
        row = {"proteins": n, "residues": inputs["residues"], "shards": n_shards}
        if a.footprint:
            spec = json.dumps({**inputs, "model": a.model})
            done = subprocess.run([sys.executable, __file__, "--footprint-of", spec],
                                  check=True, capture_output=True, text=True)
            row["footprint"] = json.loads(done.stdout.strip().splitlines()[-1])
            results.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
            continue
        for mode in a.modes:
            row[mode] = run_job(inputs, d / mode, mode, a.epochs, a.batch_size, a.model, a.job)
        if set(a.modes) == {"stream", "memory"} and a.job == "fold":
            row["predictions_identical"] = filecmp.cmp(d / "stream" / "predictions.tsv",
                                                       d / "memory" / "predictions.tsv",
                                                       shallow=False)
        results.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    out = {"bench": "train_memory", "job": a.job, "epochs": a.epochs, "batch_size": a.batch_size,
           "model": json.loads(a.model),
           "pool": a.pool, "pool_seconds": round(pool_s, 1), "cpus": os.cpu_count(),
           "runs": results}
    first, last = results[0], results[-1]
    if len(results) > 1 and a.footprint:  # per edge between the sizes: no fixed cost in it
        f1, f2 = first["footprint"], last["footprint"]
        out["marginal_bytes_per_edge"] = round(
            (f2["bytes_per_edge"] * f2["edges"] - f1["bytes_per_edge"] * f1["edges"])
            / (f2["edges"] - f1["edges"]), 1)
    if len(results) > 1 and not a.footprint:
        out["ratio"] = {"sizes": f"{last['proteins']}/{first['proteins']}"}
        for mode in a.modes:
            out["ratio"][mode] = round(last[mode]["peak_rss_mb"] / first[mode]["peak_rss_mb"], 3)
    print(json.dumps(out, indent=1))
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
