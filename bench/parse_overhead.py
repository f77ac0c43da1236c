"""Per-job overhead of the per-protein parse jobs: shell CLI vs in-process `run:`.

    .venv/bin/python bench/parse_overhead.py [--n 200] [--cores 2]

Writes N tiny synthetic proteins (bench/scale.py's writer) and a small Snakefile next to them
that includes the repository's workflow/rules/common.smk and defines the parse job three ways,
each calling the same package code (esm_schnet.parse.parse_job):

- shell:  `esm-schnet parse ...` (a new Python interpreter per protein);
- run:    a `run:` block, Snakemake's default (Snakemake 9 spawns a whole new `snakemake`
          process for every `run:` job of the local executor);
- run+threads: the same `run:` with `--force-use-threads` (runs in a thread of the main
          Snakemake process: no new interpreter); also without its `benchmark:` directive.

Also times parse_job in a plain loop (no Snakemake) as the floor. Every variant runs with
`--scheduler greedy`. Prints JSON: wall seconds and ms per job for each.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import REPO, SNAKEMAKE, machine, write_synthetic  # noqa: E402

SNAKEFILE = """
from snakemake.utils import validate
configfile: "config.yaml"
validate(config, "{repo}/workflow/schemas/config.schema.yaml")
include: "{repo}/workflow/rules/common.smk"
from esm_schnet.parse import parse_job

rule shell_all:
    input: expand("shell/{{id}}.h5", id=IDS)
rule run_all:
    input: expand("run/{{id}}.h5", id=IDS)

rule parse_shell:
    input: structure_of
    output: h5="shell/{{id}}.h5", qc="shell/{{id}}.tsv"
    log: "logs/shell/{{id}}.log"
    benchmark: "benchmarks/shell/{{id}}.tsv"
    shell: "esm-schnet parse {{input:q}} --id {{wildcards.id:q}} --out {{output.h5:q}} --qc {{output.qc:q}} --log {{log:q}}"

rule parse_run:
    input: structure_of
    output: h5="run/{{id}}.h5", qc="run/{{id}}.tsv"
    log: "logs/run/{{id}}.log"
    benchmark: "benchmarks/run/{{id}}.tsv"
    run:
        parse_job(input[0], wildcards.id, output.h5, output.qc, "fail", log[0])

rule bench_all:
    input: expand("nobench/{{id}}.h5", id=IDS)

rule parse_run_nobench:
    input: structure_of
    output: h5="nobench/{{id}}.h5", qc="nobench/{{id}}.tsv"
    log: "logs/nobench/{{id}}.log"
    run:
        parse_job(input[0], wildcards.id, output.h5, output.qc, "fail", log[0])
"""


def run(work: Path, *args: str) -> float:
    env = dict(os.environ, PATH=f"{Path(SNAKEMAKE).parent}{os.pathsep}{os.environ['PATH']}")
    cmd = [SNAKEMAKE, "--workflow-profile", "none", "--scheduler", "greedy", *args]
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-2000:] + proc.stderr[-4000:])
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return time.perf_counter() - t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--cores", type=int, default=2)
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="esm-schnet-overhead-"))
    try:
        write_synthetic(args.n, work)
        (work / "config.yaml").write_text("samples: samples.tsv\nembedding: {model: onehot}\n")
        (work / "Snakefile").write_text(SNAKEFILE.format(repo=REPO))
        cores = ["--cores", str(args.cores)]
        out: dict = {"machine": machine(), "proteins": args.n, "cores": args.cores}
        dry = run(work, "-n", *cores, "run_all")
        out["dry_run_s"] = round(dry, 2)

        from esm_schnet.parse import parse_job

        ids = [f"s{i:07d}" for i in range(args.n)]
        t = time.perf_counter()
        for pid in ids:
            parse_job(work / "structures" / f"{pid}.pdb", pid, work / "x.h5", work / "x.tsv")
        loop = time.perf_counter() - t
        out["in_process_loop"] = {"s": round(loop, 2), "ms_per_protein": round(1000 * loop / args.n, 1)}

        variants = {
            "shell_cli": ("shell_all", []),
            "run_spawned": ("run_all", []),
            "run_threads": ("run_all", ["--force-use-threads"]),
            "run_threads_no_benchmark": ("bench_all", ["--force-use-threads"]),
        }
        for name, (target, extra) in variants.items():
            for d in ("shell", "run", "nobench", "benchmarks", ".snakemake/metadata"):
                shutil.rmtree(work / d, ignore_errors=True)
            n = args.n
            if name == "run_spawned":
                # a few seconds per job: time a subset
                n = min(args.n, 20)
                target_args = [f"run/{pid}.h5" for pid in ids[:n]]
            else:
                target_args = [target]
            s = run(work, *cores, *extra, *target_args)
            out[name] = {"jobs": n, "s": round(s, 2), "ms_per_job": round(1000 * s / n, 1)}
            print(json.dumps({name: out[name]}), file=sys.stderr)
        print(json.dumps(out, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
