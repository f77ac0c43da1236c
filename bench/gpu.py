"""The GPU run in one command: embedding, training and the whole example workflow on CUDA.

    .venv/bin/python bench/gpu.py [--epochs 5] [--repeats 3] [--max-tokens 8192] [--skip-workflow]

Prints ONE JSON object. Installs nothing: it uses the project's environment as it is. On a
machine without CUDA it prints {"skipped": "...reason..."} and exits 0.

- `gpu`: the device (name, compute capability, memory), torch and its CUDA version.
- `bf16_matmul`: the bf16 peak measured with torch.matmul (square n = 8192, best of 5), and the
  datasheet's dense bf16 tensor-core peak where the GPU's name is known (H100/H200/GH200, A100,
  L40S, L4, A10; no sparsity).
- `embedding`: ESM2 at the 8M and 650M architectures with random weights (bench/embed.py's
  checkpoint writer, proteins and `run_ours`, i.e. `esm_schnet.embed` as `esm-schnet embed` runs
  it) in bfloat16 on all 42 jclinic proteins, with and without dedupe, best of --repeats:
  residues/s and the fraction of the measured and of the datasheet bf16 roofline (unpadded FLOPs
  of what ran, as bench/embed.py counts them).
- `training`: one jclinic fold (LOOCV fold 0: 41 training proteins, onehot features from
  bench/train.py's loader) at 10 A and 20 A through `esm_schnet.train.loop.train_model` (the
  workflow's training loop: fit check, deterministic settings) and `TrainedModel.predict`, other
  settings from config.yaml, --epochs epochs: seconds per epoch (median, the first epoch apart)
  and peak memory (torch.cuda.max_memory_allocated).
- `workflow`: the bundled example end to end (`snakemake --cores <all>` in a temporary folder,
  config.yaml with `embedding.device: cuda`, `training.device: cuda`, `embedding.model` = the
  random 8M checkpoint, as there is no internet on the GPU machine): wall seconds and whether it
  finished.

Sequences and structures: ../shared/data/jclinic; where that is absent the embedding falls back to
the bundled example (as bench/embed.py) and the training section is skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "src"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import embed as bench_embed  # noqa: E402  (bench/embed.py)
import train as bench_train  # noqa: E402  (bench/train.py)

# Dense bf16 tensor-core peaks from NVIDIA's datasheets, TFLOP/s (the "with sparsity" figures
# halved). First match of the name wins, so the more specific names come first.
DATASHEET_BF16_TFLOPS = [
    ("H200 NVL", 835.0),
    ("H200", 989.0),
    ("GH200", 989.0),
    ("H100 NVL", 835.0),
    ("H100 PCIe", 756.0),
    ("H100", 989.0),
    ("A100", 312.0),
    ("L40S", 362.0),
    ("L4", 121.0),
    ("A10", 125.0),
]


DEVICE = "cuda"  # every section runs here
ARCHS = ("8M", "650M")


def datasheet_bf16_tflops(name: str) -> float | None:
    for key, tflops in DATASHEET_BF16_TFLOPS:
        if key.lower() in name.lower():
            return tflops
    return None


def skip_reason() -> str | None:
    """Why this machine cannot run the GPU benchmark, or None."""
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - torch is a dependency
        return f"torch cannot be imported ({exc})"
    if not torch.cuda.is_available():
        built = torch.version.cuda or "none (a CPU-only build)"
        return (f"no CUDA device: torch.cuda.is_available() is False (torch {torch.__version__}, "
                f"CUDA build {built}); run this on a machine with an NVIDIA GPU")
    return None


def gpu_info() -> dict:
    import torch

    p = torch.cuda.get_device_properties(0)
    return {"name": p.name, "compute_capability": f"{p.major}.{p.minor}",
            "memory_gb": round(p.total_memory / 2**30, 1), "count": torch.cuda.device_count(),
            "torch": torch.__version__, "cuda": torch.version.cuda,
            "bf16_supported": torch.cuda.is_bf16_supported()}


def embedding(tmp: Path, args, peak_gflops: float, datasheet_tflops: float | None) -> dict:
    source, proteins = bench_embed.load_proteins()
    out = {"source": source}
    for arch in ARCHS:
        ckpt = bench_embed.write_random_checkpoint(arch, tmp / arch)
        runs: dict[str, list] = {"dedupe": [], "without_dedupe": []}
        for _ in range(args.repeats):
            for key, dedupe in (("dedupe", True), ("without_dedupe", False)):
                runs[key].append(bench_embed.run_ours(
                    ckpt, proteins, args.max_tokens, peak_gflops, dedupe=dedupe,
                    dtype="bfloat16", device=DEVICE))
        entry = {"architecture": bench_embed.ARCH[arch]}
        for key, rs in runs.items():
            r = bench_embed.best_of(rs)
            if datasheet_tflops:
                r["fraction_of_datasheet_bf16"] = round(r["useful_gflops"] / (datasheet_tflops * 1e3), 3)
            entry[key] = r
        out[arch] = entry
    return out


def training(args) -> dict:
    import torch

    from esm_schnet.train.checkpoint import TrainedModel
    from esm_schnet.encoders.graph import build_graph
    from esm_schnet.encoders.model import ModelConfig
    from esm_schnet.core.settings import GraphSettings, TrainingSettings, section
    from esm_schnet.train.loop import train_model

    data = REPO.parent / "shared" / "data" / "jclinic"
    if not (data / "labels.tsv").is_file():
        return {"skipped": f"jclinic data not found at {data}"}
    import yaml

    cfg_all = yaml.safe_load((REPO / "config.yaml").read_text()) or {}
    proteins = bench_train.load_jclinic(data)
    out = {"proteins": len(proteins), "fold": "LOOCV fold 0 (first protein held out)",
           "epochs": args.epochs}
    for cutoff in (10.0, 20.0):
        graph = GraphSettings.from_dict({**(cfg_all.get("graph") or {}), "cutoff": cutoff})
        model_section = section("model", cfg_all.get("model"))
        train_cfg = TrainingSettings.from_dict(
            {**(cfg_all.get("training") or {}), "epochs": args.epochs, "device": DEVICE})
        graphs = [build_graph(pid, x, ca, graph.cutoff, graph.max_neighbors, y=y)
                  for pid, x, ca, y in proteins]
        test, train_graphs = graphs[:1], graphs[1:]
        cfg = ModelConfig.from_config(graphs[0].x.shape[1], graph, model_section)
        torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        model, scaler, history, info = train_model(train_graphs, cfg, train_cfg,
                                                   device=torch.device(DEVICE))
        pred = TrainedModel(model=model, config=cfg, scaler=scaler).predict(test)
        torch.cuda.synchronize()
        seconds = [h["seconds"] for h in history]
        out[f"{cutoff:g}A"] = {
            "edges": sum(g.num_edges for g in graphs),
            "seconds_per_epoch": round(float(np.median(seconds[1:] or seconds)), 4),
            "first_epoch_seconds": round(seconds[0], 4),
            "total_seconds": round(time.perf_counter() - t0, 2),
            "peak_memory_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1),
            "fitted": info["convergence"]["converged"],
            "test_prediction_finite": bool(np.isfinite(list(pred.values())).all()),
        }
    return out


def workflow(tmp: Path, args) -> dict:
    """The bundled example end to end on CUDA (a fresh folder, snakemake as a user runs it)."""
    snakemake = Path(sys.executable).parent / "snakemake"
    if not snakemake.exists():
        return {"skipped": f"no snakemake next to {sys.executable}"}
    ckpt = bench_embed.write_random_checkpoint("8M", tmp / "workflow-8M")
    work = tmp / "workflow"
    work.mkdir()
    shutil.copyfile(REPO / "config.yaml", work / "config.yaml")
    cores = str(os.cpu_count() or 2)
    cmd = [str(snakemake), "--snakefile", str(REPO / "Snakefile"), "--directory", str(work),
           "--cores", cores, "--config",
           f"samples={REPO / 'resources' / 'example' / 'samples.tsv'}",
           f"embedding={{model: {ckpt}, device: {DEVICE}}}", f"training={{device: {DEVICE}}}"]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True,
                         timeout=args.workflow_timeout)
    seconds = time.perf_counter() - t0
    row = {"command": " ".join(cmd), "cores": int(cores), "wall_seconds": round(seconds, 1),
           "returncode": res.returncode,
           "metrics_written": (work / "results" / "metrics.tsv").is_file()}
    if res.returncode != 0:
        row["log_tail"] = (res.stdout + res.stderr)[-3000:]
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=5, help="training epochs per cutoff")
    ap.add_argument("--repeats", type=int, default=3, help="embedding repeats (best of)")
    ap.add_argument("--max-tokens", type=int, default=8192, help="embedding token budget")
    ap.add_argument("--skip-workflow", action="store_true")
    ap.add_argument("--workflow-timeout", type=float, default=900)
    args = ap.parse_args(argv)

    reason = skip_reason()
    if reason is not None:
        print(json.dumps({"benchmark": "gpu", "skipped": reason}))
        return 0
    result: dict = {"benchmark": "gpu", "gpu": gpu_info()}
    # each part on its own: one that fails is reported and the others still run
    sections = {}
    with tempfile.TemporaryDirectory(prefix="esm_gpu_") as tmp:
        tmp = Path(tmp)
        try:
            peak = bench_embed.sgemm_gflops(n=8192, reps=10, dtype="bfloat16", device=DEVICE)
            sheet = datasheet_bf16_tflops(result["gpu"]["name"])
            result["bf16_matmul"] = {"measured_tflops": round(peak / 1e3, 1),
                                     "datasheet_dense_tflops": sheet}
            sections["embedding"] = lambda: embedding(tmp, args, peak, sheet)
        except Exception as exc:  # noqa: BLE001 - reported in the JSON
            result["bf16_matmul"] = {"error": f"{type(exc).__name__}: {exc}"}
        sections["training"] = lambda: training(args)
        if not args.skip_workflow:
            sections["workflow"] = lambda: workflow(tmp, args)
        for name, run in sections.items():
            t0 = time.perf_counter()
            try:
                result[name] = run()
            except Exception as exc:  # noqa: BLE001 - reported in the JSON
                result[name] = {"error": f"{type(exc).__name__}: {exc}",
                                "traceback_tail": traceback.format_exc()[-2500:]}
            result[name]["section_seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
