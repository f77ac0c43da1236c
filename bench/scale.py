"""Workflow scale: job graph, no-op rerun and parse + embed (onehot) for thousands of proteins.

    .venv/bin/python bench/scale.py [--sizes 1000,10000] [--cores 2] [--shards auto]
                                    [--no-run] [--repeats 3] [--keep DIR]

For each size N it writes N tiny synthetic proteins (one chain of 30-60 residues, C-alpha only,
random sequence, a 3.8 A random walk: every sequence is distinct, so the embedding cache never
short-cuts) and a sample table into a temporary folder, then times, with `snakemake --cores C` on the
repository's Snakefile (with profiles/default: greedy scheduler, run: jobs in threads) (targets: the QC table and the manifest of the
onehot embeddings, i.e. parse + embed):

- dry_run_s / jobs: `snakemake -n` (builds the whole job graph: N parse jobs, the shard jobs, ...);
- trivial_dry_run_s / dry_run_ratio: Snakemake's own floor for that job graph: a trivial
  Snakefile (TRIVIAL below: the same targets, rules, wildcards, number of jobs and files per job,
  each rule a `touch`) planned in the same run with the same profile, the two dry runs taken in
  turn (`--repeats` pairs); dry_run_ratio = median(ours) / median(trivial), with the min and
  median of the pair-by-pair ratios beside it;
- run_s: parse + embed end to end (every job executed), and per_job_ms = run_s / jobs;
- noop_s: the same command again when everything is up to date;
- slurm_plan: the cluster jobs `--profile profiles/slurm` would submit for the same targets
  (a dry run with that profile's groups; a group job counts once), by rule/group.

Prints one JSON object (machine included). Nothing here asserts a time: see tests for checks.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
AMINO = "ACDEFGHIKLMNPQRSTVWY"
THREE = dict(zip(AMINO, "ALA CYS ASP GLU PHE GLY HIS ILE LYS LEU MET ASN PRO GLN ARG SER THR "
                        "VAL TRP TYR".split()))  # fmt: skip


def ca_trace_pdb(sequence: str, rng: np.random.Generator) -> str:
    """A C-alpha-only PDB text: a self-avoiding-ish random walk with 3.8 A steps."""
    n = len(sequence)
    steps = rng.normal(size=(n, 3))
    steps /= np.linalg.norm(steps, axis=1, keepdims=True)
    # persistence: mix each step with the previous one so the chain does not fold onto itself
    for i in range(1, n):
        steps[i] = 0.6 * steps[i - 1] + 0.4 * steps[i]
        steps[i] /= np.linalg.norm(steps[i])
    xyz = np.cumsum(3.8 * steps, axis=0)
    lines = []
    for i, (aa, (x, y, z)) in enumerate(zip(sequence, xyz), start=1):
        lines.append(
            f"ATOM  {i:5d}  CA  {THREE[aa]} A{i:4d}    {x:8.3f}{y:8.3f}{z:8.3f}  1.00 20.00"
            "           C  "
        )
    lines += [f"TER   {n + 1:5d}      {THREE[sequence[-1]]} A{n:4d}", "END"]
    return "\n".join(lines) + "\n"


def write_synthetic(n: int, out: Path, seed: int = 0, min_len: int = 30, max_len: int = 60) -> Path:
    """Write n synthetic structures and samples.tsv (id, structure, label) under out."""
    rng = np.random.default_rng(seed)
    sdir = out / "structures"
    sdir.mkdir(parents=True, exist_ok=True)
    rows = ["id\tstructure\tlabel"]
    for i in range(n):
        pid = f"s{i:07d}"
        length = int(rng.integers(min_len, max_len + 1))
        seq = "".join(rng.choice(list(AMINO), length))
        (sdir / f"{pid}.pdb").write_text(ca_trace_pdb(seq, rng))
        rows.append(f"{pid}\tstructures/{pid}.pdb\t{rng.normal():.4f}")
    table = out / "samples.tsv"
    table.write_text("\n".join(rows) + "\n")
    return table


def write_config(work: Path, shards: int) -> Path:
    cfg = work / "config.yaml"
    cfg.write_text(
        "samples: samples.tsv\n"
        f"embedding:\n  model: onehot\n  shards: {shards}\n"
        "  cache: resources/cache/embeddings\n  models_dir: resources/models\n"
        "cv:\n  scheme: kfold\n  k: 2\n"
    )
    return cfg


# Snakemake's floor for the job graph of parse + embed: the same targets, wildcards, inputs,
# outputs, log and benchmark files per job as the workflow's parse / qc / structure_list (one
# list per shard) / embed / manifest rules
# (the structure files by pattern, the shard members by a dict lookup), every rule a `touch`.
TRIVIAL = """
import csv

with open(config["samples"]) as fh:
    IDS = [row["id"] for row in csv.DictReader(fh, delimiter="\\t")]
N = int(config["shards"])
BY_SHARD = {f"{s:03d}": IDS[s::N] for s in range(N)}


rule parse:
    input:
        "structures/{id}.pdb",
    output:
        h5="results/structures/{id}.h5",
        qc="results/qc/parse/{id}.tsv",
    log:
        "logs/parse/{id}.log",
    benchmark:
        "benchmarks/parse/{id}.tsv"
    shell:
        "touch {output} {log}"


rule qc:
    input:
        expand("results/qc/parse/{id}.tsv", id=IDS),
    output:
        structures="results/qc/structures.tsv",
        skipped="results/qc/skipped.tsv",
    log:
        "logs/qc/structures.log",
    shell:
        "touch {output} {log}"


rule structure_list:
    input:
        lambda w: expand("results/structures/{id}.h5", id=BY_SHARD[w.part[6:]]),
    output:
        "results/lists/structures-{part}.txt",
    log:
        "logs/structure_list/{part}.log",
    wildcard_constraints:
        part=r"shard-\\d{3}",
    shell:
        "touch {output} {log}"


rule embed:
    input:
        structures=lambda w: expand("results/structures/{id}.h5", id=BY_SHARD[w.shard]),
        listed="results/lists/structures-shard-{shard}.txt",
    output:
        "results/embeddings/onehot/shard-{shard}.h5",
    log:
        "logs/embed/onehot/shard-{shard}.log",
    benchmark:
        "benchmarks/embed/onehot/shard-{shard}.tsv"
    shell:
        "touch {output} {log}"


rule manifest:
    input:
        expand("results/embeddings/onehot/shard-{shard}.h5", shard=sorted(BY_SHARD)),
    output:
        "results/embeddings/onehot/manifest.tsv",
    log:
        "logs/manifest/onehot.log",
    shell:
        "touch {output} {log}"
"""


def targets() -> list[str]:
    return ["results/qc/structures.tsv", "results/embeddings/onehot/manifest.tsv"]


def snakemake(work: Path, *args: str, timeout: float = 3600, snakefile: Path = REPO / "Snakefile"
              ) -> tuple[float, subprocess.CompletedProcess]:
    cmd = [SNAKEMAKE, "--snakefile", str(snakefile), "--directory", str(work), *args]
    t = time.perf_counter()
    env = dict(os.environ, PATH=f"{Path(SNAKEMAKE).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO, env=env)
    dt = time.perf_counter() - t
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-5000:])
        raise SystemExit(f"snakemake {' '.join(args)} failed ({proc.returncode})")
    return dt, proc


def job_counts(text: str) -> Counter:
    """Parse Snakemake's 'Job stats' table (job / count) from a dry run."""
    counts: Counter = Counter()
    block = text.split("Job stats:", 1)[-1]
    for line in block.splitlines()[3:]:
        m = re.match(r"^(\S+)\s+(\d+)\s*$", line)
        if not m:
            if counts:
                break
            continue
        if m.group(1) != "total":
            counts[m.group(1)] = int(m.group(2))
    return counts


def slurm_plan(work: Path, cores: int) -> dict:
    """Cluster jobs the slurm profile would submit for parse + embed: groups count once.

    The dry run with the profile lists one block per job; jobs of a group show `group: parse`
    and the groups are formed by --group-components, so the count is computed from the DAG
    counts and the profile's group size (a dry run does not print group jobs).
    """
    import yaml

    prof = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())
    sizes = dict(s.split("=") for s in prof.get("group-components", []))
    groups = dict(s.split("=") for s in prof.get("groups", []))
    _, proc = snakemake(work, "-n", "--cores", str(cores), "--workflow-profile", "none",
                        "--forceall", *targets())
    counts = job_counts(proc.stdout + proc.stderr)
    local = {"qc", "manifest", "download_model", "all"}
    plan = {}
    for rule, n in counts.items():
        if rule in local:
            continue
        if rule in groups:
            k = int(sizes.get(groups[rule], 1))
            plan[f"group:{groups[rule]} ({rule} x{k})"] = -(-n // k)
        else:
            plan[rule] = n
    return {"cluster_jobs": sum(plan.values()), "by_rule": plan,
            "local_jobs": {r: n for r, n in counts.items() if r in local}}


def dry_run_vs_trivial(work: Path, shards: int, cores: int, repeats: int) -> dict:
    """Dry runs of the workflow and of TRIVIAL on the same folder, in turn (A B A B ...)."""
    trivial = work / "trivial.smk"
    trivial.write_text(TRIVIAL)
    # the same workflow profile as ours (greedy scheduler, subsampling, ...), the same targets
    triv_args = ["-n", "--cores", str(cores), "--workflow-profile", str(REPO / "profiles/default"),
                 "--config", "samples=samples.tsv", f"shards={shards}", "--", *targets()]
    ours, triv, jobs = [], [], set()
    for _ in range(repeats):
        dt, proc = snakemake(work, "-n", "--cores", str(cores), *targets())
        ours.append(dt)
        jobs.add(("ours", sum(job_counts(proc.stdout + proc.stderr).values())))
        dt, proc = snakemake(work, *triv_args, snakefile=trivial)
        triv.append(dt)
        jobs.add(("trivial", sum(job_counts(proc.stdout + proc.stderr).values())))
    if len({n for _, n in jobs}) != 1:
        raise SystemExit(f"the trivial Snakefile plans a different number of jobs: {sorted(jobs)}")
    pairs = [a / b for a, b in zip(ours, triv)]
    med = statistics.median
    return {
        "dry_run_s": {"min": round(min(ours), 2), "median": round(med(ours), 2)},
        "trivial_dry_run_s": {"min": round(min(triv), 2), "median": round(med(triv), 2)},
        "dry_run_ratio": round(med(ours) / med(triv), 2),
        "dry_run_ratio_pairs": {"min": round(min(pairs), 2), "median": round(med(pairs), 2)},
        "dry_run_repeats": repeats,
    }


def bench_size(n: int, cores: int, shards: int, run: bool, keep: Path | None, repeats: int
               ) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"esm-schnet-scale-{n}-", dir=keep))
    try:
        t = time.perf_counter()
        write_synthetic(n, tmp)
        write_s = time.perf_counter() - t
        write_config(tmp, shards)
        # profiles/default applies (greedy scheduler, run: jobs in threads), as for users
        common = ["--cores", str(cores)]
        _, proc = snakemake(tmp, "-n", *common, *targets())  # warm-up (file cache, .pyc)
        counts = job_counts(proc.stdout + proc.stderr)
        res = {
            "proteins": n,
            "shards": shards,
            "write_dataset_s": round(write_s, 2),
            **dry_run_vs_trivial(tmp, shards, cores, repeats),
            "jobs": sum(counts.values()),
            "jobs_by_rule": dict(counts),
            "slurm_plan": slurm_plan(tmp, cores),
        }
        if run:
            run_s, _ = snakemake(tmp, *common, *targets(), timeout=7200)
            noop_s, proc = snakemake(tmp, *common, *targets())
            res.update(
                run_s=round(run_s, 1),
                per_job_ms=round(1000 * run_s / max(res["jobs"], 1), 1),
                noop_s=round(noop_s, 2),
            )
            res["noop_nothing_to_do"] = "Nothing to be done" in proc.stdout + proc.stderr
            res["embedded_proteins"] = sum(
                1 for _ in open(tmp / "results/embeddings/onehot/manifest.tsv")
            ) - 1
        return res
    finally:
        if keep is None:
            shutil.rmtree(tmp, ignore_errors=True)


def machine() -> dict:
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import snakemake as sm

    return {"cpu": cpu, "cpus": os.cpu_count(), "mem_gib": round(mem, 1),
            "python": platform.python_version(), "snakemake": sm.__version__}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--shards", default="auto",
                    help="embedding.shards; auto = one shard per 1,000 proteins (at least 1)")
    ap.add_argument("--no-run", action="store_true", help="dry runs only")
    ap.add_argument("--repeats", type=int, default=3,
                    help="dry-run pairs (ours, trivial) per size; min and median are reported")
    ap.add_argument("--keep", type=Path, default=None, help="keep work folders under DIR")
    args = ap.parse_args(argv)
    out = {"machine": machine(), "sizes": []}
    for n in [int(s) for s in args.sizes.split(",")]:
        shards = max(1, n // 1000) if args.shards == "auto" else int(args.shards)
        out["sizes"].append(bench_size(n, args.cores, shards, not args.no_run, args.keep,
                                      args.repeats))
        print(json.dumps(out["sizes"][-1]), file=sys.stderr)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
