"""Structure parsing: time and losslessness over a folder of PDB/mmCIF files.

    .venv/bin/python bench/parse.py [FOLDER] [--repeat 3] [--sasa fast|biopython]

FOLDER defaults to $ESM_SCHNET_JCLINIC or ../shared/data/jclinic/pdb (else the bundled example).
Prints one JSON object: per-file parse + HDF5 write time (best of --repeat, in-process, after one
warm-up; wall seconds and CPU seconds of this process, best of each), residues kept vs C-alpha
records counted independently in the text, chains vs distinct chain letters, and the machine.
--sasa picks the Shrake-Rupley of the descriptors: the vectorised one (the parse job's) or
Biopython's own loops (identical areas; for timing the difference). On a checkout without
esm_schnet.parse.sasa (before it existed) leave it out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from esm_schnet.parse import parse_structure, write_structure_h5

REPO = Path(__file__).resolve().parents[1]


def default_folder() -> Path:
    env = os.environ.get("ESM_SCHNET_JCLINIC")
    for c in ([Path(env) / "pdb"] if env else []) + [REPO.parent / "shared/data/jclinic/pdb"]:
        if c.is_dir():
            return c
    return REPO / "resources/example/structures"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", type=Path, default=None)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sasa", choices=("fast", "biopython"), default=None)
    args = ap.parse_args(argv)
    if args.sasa:
        import functools

        from esm_schnet.parse import descriptors, parser

        parser.compute_descriptors = functools.partial(
            descriptors.compute, sasa_method=args.sasa
        )
    folder = args.folder or default_folder()
    files = sorted(
        p for p in folder.iterdir() if p.name.endswith((".pdb", ".cif", ".ent", ".gz"))
    )
    if not files:
        print(f"no structure files in {folder}", file=sys.stderr)
        return 1
    parse_structure(files[0], "warmup")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for f in files:
            best = best_cpu = float("inf")
            for _ in range(args.repeat):
                t, c = time.perf_counter(), time.process_time()
                p = parse_structure(f, "bench")
                write_structure_h5(p, Path(tmp) / "x.h5")
                best = min(best, time.perf_counter() - t)
                best_cpu = min(best_cpu, time.process_time() - c)
            rows.append(
                {
                    "file": f.name,
                    "seconds": round(best, 4),
                    "cpu_seconds": round(best_cpu, 4),
                    "residues": p.n_residues,
                    "ca_records": p.qc["ca_records"],
                    "chains": p.qc["chains"],
                    "chain_ids": p.qc["chain_ids"],
                }
            )
    secs = [r["seconds"] for r in rows]
    cpus = [r["cpu_seconds"] for r in rows]
    res = sum(r["residues"] for r in rows)
    out = {
        "folder": str(folder),
        "files": len(rows),
        "lossless_files": sum(r["residues"] == r["ca_records"] for r in rows),
        "residues": res,
        "residues_lost": sum(max(r["ca_records"] - r["residues"], 0) for r in rows),
        "files_with_reused_chain_letters": sum(r["chains"] > r["chain_ids"] for r in rows),
        "total_seconds": round(sum(secs), 3),
        "median_ms_per_file": round(1000 * statistics.median(secs), 1),
        "max_ms_per_file": round(1000 * max(secs), 1),
        "sasa": args.sasa or "default",
        "total_cpu_seconds": round(sum(cpus), 3),
        "mean_cpu_ms_per_file": round(1000 * sum(cpus) / len(cpus), 1),
        "median_cpu_ms_per_file": round(1000 * statistics.median(cpus), 1),
        "residues_per_second": round(res / sum(secs)),
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
        },
        "per_file": rows,
    }
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
