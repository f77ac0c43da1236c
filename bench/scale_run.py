"""The whole workflow at N = 500, 2,000 and 10,000 synthetic proteins, in one run: JSON on stdout.

    .venv/bin/python bench/scale_run.py [--sizes 500 2000 10000] [--cores 2] [--epochs 2]
                                        [--k 5] [--pool 64] [--keep DIR] [--out FILE]
    .venv/bin/python bench/scale_run.py --summarize DIR     # tables of a run in progress / done

For each size N (in one invocation, so the exponents compare like with like):

1. input preparation, timed apart and NOT part of the workflow's wall time:
   `esm-schnet make-example --out DIR/nN --n N --fast --pool P` (esm_schnet.example.scale:
   single-chain proteins from P folded backbones, each with a fresh sequence and pose; protein i
   is the same at every N, so N = 500 is the first 500 proteins of N = 10,000);
2. `snakemake --cores C` on the repository's Snakefile (profiles/default applies: greedy
   scheduler, run: jobs in threads) with config: onehot embeddings, `cv: {scheme: group, k: K}`
   (MMseqs2 clusters at the default 30% identity / 80% coverage; the table has no group column),
   `training.epochs: E`, every other key the schema's default; target: `rule all` (parse, embed,
   folds, K folds + the final model, evaluate, plots).

Reported per N (from Snakemake's benchmark files, benchmarks/<rule>/...tsv):
- `wall_s`: the snakemake command, end to end; `load_avg`: 1-minute load average sampled every
  15 s during it (mean, max) - the machine is shared, read the times next to it;
- `rules[rule]`: jobs, `sum_s` (job seconds added up), `cpu_s` (the jobs' cpu_time added up: the
  figure least moved by other users' load; None for parse and plots, which run inside
  Snakemake's process, see below; MMseqs2's short-lived child processes may be missed by
  Snakemake's sampling), `max_s`, `span_s` (first job start to last
  job end: start = file mtime - s), `max_rss_mb` (largest job), `mem_mb` (its
  `resources.<stage>.mem_mb`), `rss_ok`. Note: parse is a `run:` job executed in a thread of
  Snakemake's own process (force-use-threads), so its max_rss is Snakemake's process, not a
  separate job; `snakemake_peak_rss_mb` is the largest RSS of Snakemake or any job it waited for
  (wait4's ru_maxrss);
- `stages`: span_s per stage and `share_of_wall` (folds = the clustering job);
- `clusters`: MMseqs2 clusters found, largest cluster, proteins per fold.

And across sizes (`exponents`): for each pair of consecutive sizes and a least-squares fit over
all, b in cost ~ N^b, of wall_s, of the summed job seconds (job_s) and CPU seconds (cpu_s) and of
each rule's sum_s and cpu_s. b = 1 is
linear (constant cost per protein); the per-protein cost grows as N^(b-1).

The JSON is also written to --out (default DIR/scale_run.json) after every size, so a run that
is stopped leaves the sizes it finished. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SNAKEMAKE = str(BIN / "snakemake")

# rule -> the resources.<stage> its jobs run under (workflow/rules/*.smk)
STAGE_OF_RULE = {
    "parse": "parse",
    "embed": "embed",
    "folds": "folds",
    "train_fold": "train",
    "train_final": "train",
    "evaluate": "evaluate",
    "plots": None,  # a localrule without resources
}
# `run:` jobs executed in a thread of Snakemake's own process (profiles/default:
# force-use-threads): their benchmark's cpu_time is the whole Snakemake process's so far, and
# their max_rss Snakemake's, so their cpu_s is left out (None)
IN_PROCESS = frozenset({"parse", "plots"})


# ----------------------------------------------------------------------------------------------
# pure parts (tested in tests/bench/test_scale_run.py)


def read_benchmark(path: str | os.PathLike) -> dict:
    """One Snakemake benchmark file (TSV: s, h:m:s, max_rss, ..., cpu_time; one row per repeat):
    the last row's seconds, max_rss (MB), cpu_time and mean_load as floats (None for 'NA'/'-'),
    and `end`, the file's mtime (when the job finished)."""
    path = Path(path)
    with path.open() as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    if not rows:
        raise ValueError(f"{path}: empty benchmark file")
    row = rows[-1]

    def num(key):
        v = (row.get(key) or "").strip()
        try:
            return float(v)
        except ValueError:
            return None

    return {"s": num("s"), "max_rss": num("max_rss"), "cpu_time": num("cpu_time"),
            "mean_load": num("mean_load"), "end": path.stat().st_mtime}


def collect_benchmarks(workdir: str | os.PathLike) -> dict[str, list[dict]]:
    """Benchmark rows by rule: benchmarks/<rule>/**.tsv under `workdir`."""
    root = Path(workdir) / "benchmarks"
    out: dict[str, list[dict]] = {}
    if not root.is_dir():
        return out
    for rule_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        rows = [read_benchmark(f) for f in sorted(rule_dir.rglob("*.tsv"))]
        if rows:
            out[rule_dir.name] = rows
    return out


def summarize_rules(bench: dict[str, list[dict]], mem_mb: dict[str, float | None]) -> dict:
    """Per rule: jobs, sum_s, max_s, span_s, max_rss_mb, mem_mb and rss_ok (None: no limit)."""
    out = {}
    for rule, rows in bench.items():
        secs = [r["s"] or 0.0 for r in rows]
        cpu = [r["cpu_time"] or 0.0 for r in rows]
        rss = [r["max_rss"] for r in rows if r["max_rss"] is not None]
        starts = [r["end"] - (r["s"] or 0.0) for r in rows]
        limit = mem_mb.get(rule)
        peak = max(rss) if rss else None
        out[rule] = {
            "jobs": len(rows),
            "sum_s": round(sum(secs), 2),
            "cpu_s": None if rule in IN_PROCESS else round(sum(cpu), 2),
            "max_s": round(max(secs), 2),
            "span_s": round(max(r["end"] for r in rows) - min(starts), 2),
            "max_rss_mb": None if peak is None else round(peak, 1),
            "mem_mb": limit,
            "rss_ok": None if limit is None or peak is None else peak <= limit,
        }
    return out


def exponent(n1: float, t1: float, n2: float, t2: float) -> float | None:
    """b in t ~ n^b through two points (None if a time is not positive)."""
    if not (t1 and t2) or t1 <= 0 or t2 <= 0 or n1 <= 0 or n2 <= 0 or n1 == n2:
        return None
    return math.log(t2 / t1) / math.log(n2 / n1)


def fit_exponent(ns: list[float], ts: list[float]) -> float | None:
    """Least-squares slope of log t on log n (None with fewer than two usable points)."""
    pts = [(math.log(n), math.log(t)) for n, t in zip(ns, ts) if n and t and n > 0 and t > 0]
    if len(pts) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in pts) / sxx


def exponents(runs: list[dict]) -> dict:
    """Cost exponents across the finished sizes: wall_s, job_s (summed job seconds) and each
    rule's sum_s; per consecutive pair ('500-2000') and fitted over all ('fit')."""
    runs = sorted((r for r in runs if r.get("wall_s")), key=lambda r: r["n"])

    def series(get):
        return [(r["n"], get(r)) for r in runs]

    quantities = {"wall_s": lambda r: r["wall_s"], "job_s": lambda r: r["job_s"],
                  "cpu_s": lambda r: r.get("cpu_s")}
    rules = sorted({k for r in runs for k in r.get("rules", {})})
    for rule in rules:
        for q in ("sum_s", "cpu_s"):
            quantities[f"{rule}.{q}"] = (
                lambda rr, qq: lambda r: r["rules"].get(rr, {}).get(qq))(rule, q)
    out: dict = {}
    for name, get in quantities.items():
        pts = series(get)
        entry = {}
        for (n1, t1), (n2, t2) in zip(pts, pts[1:]):
            b = exponent(n1, t1, n2, t2)
            entry[f"{n1}-{n2}"] = None if b is None else round(b, 3)
        fit = fit_exponent([n for n, _ in pts], [t for _, t in pts]) if len(pts) > 2 else None
        entry["fit"] = None if fit is None else round(fit, 3)
        out[name] = entry
    return out


def stage_shares(rules: dict, wall_s: float | None) -> dict:
    """span_s of every rule and its share of the workflow's wall time."""
    out = {}
    for rule, r in rules.items():
        share = None if not wall_s else round(r["span_s"] / wall_s, 4)
        out[rule] = {"span_s": r["span_s"], "sum_s": r["sum_s"], "share_of_wall": share}
    return out


def folds_summary(path: str | os.PathLike) -> dict | None:
    """Clusters and fold sizes of a folds.tsv (columns id, fold, cluster)."""
    path = Path(path)
    if not path.exists():
        return None
    with path.open() as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    sizes: dict[str, int] = {}
    per_fold: dict[str, int] = {}
    for r in rows:
        sizes[r.get("cluster", r["id"])] = sizes.get(r.get("cluster", r["id"]), 0) + 1
        per_fold[r["fold"]] = per_fold.get(r["fold"], 0) + 1
    return {"proteins": len(rows), "clusters": len(sizes),
            "largest_cluster": max(sizes.values()) if sizes else 0,
            "proteins_per_fold": [per_fold[k] for k in sorted(per_fold, key=int)]}


def table(result: dict) -> str:
    """A plain-text table of the result: N, stage spans, peak RSS vs mem_mb, exponents."""
    runs = result["runs"]
    rules = [r for r in STAGE_OF_RULE if any(r in run.get("rules", {}) for run in runs)]
    lines = ["N | wall_s | load | " + " | ".join(f"{r} span_s (rss/mem MB)" for r in rules)]
    for run in runs:
        cells = []
        for r in rules:
            x = run.get("rules", {}).get(r)
            if x is None:
                cells.append("-")
                continue
            mem = "" if x["mem_mb"] is None else f"/{x['mem_mb']:.0f}"
            cells.append(f"{x['span_s']:.0f} ({x['max_rss_mb']:.0f}{mem})")
        load = run.get("load_avg", {}).get("mean")
        lines.append(f"{run['n']} | {run.get('wall_s') or '-'} | {load} | " + " | ".join(cells))
    for name in ("wall_s", "job_s", "cpu_s"):
        if name in result.get("exponents", {}):
            lines.append(f"exponent {name}: {result['exponents'][name]}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# running


def mem_limits() -> dict[str, float | None]:
    from esm_schnet.core.settings import default

    return {rule: (None if st is None else float(default(f"resources.{st}.mem_mb")))
            for rule, st in STAGE_OF_RULE.items()}


def write_config(work: Path, k: int, epochs: int) -> Path:
    cfg = work / "config.yaml"
    cfg.write_text(
        "samples: samples.tsv\n"
        "embedding:\n  model: onehot\n"
        "  cache: resources/cache/embeddings\n  models_dir: resources/models\n"
        f"cv:\n  scheme: group\n  k: {k}\n"
        f"training:\n  epochs: {epochs}\n"
    )
    return cfg


class LoadSampler:
    """1-minute load average every `every` seconds in a thread."""

    def __init__(self, every: float = 15.0):
        self.every, self.values = every, [os.getloadavg()[0]]
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(self.every):
            self.values.append(os.getloadavg()[0])

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()

    def summary(self) -> dict:
        return {"mean": round(sum(self.values) / len(self.values), 2),
                "max": round(max(self.values), 2), "samples": len(self.values)}


def run_logged(cmd: list[str], log: Path, cwd: Path) -> tuple[int, float, float]:
    """(returncode, wall seconds, peak RSS MB of the process tree it waited for)."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    t0 = time.perf_counter()
    with log.open("w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=cwd, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
    return os.waitstatus_to_exitcode(status), time.perf_counter() - t0, usage.ru_maxrss / 1024


def summarize_dir(work: Path, n: int, limits: dict) -> dict:
    rules = summarize_rules(collect_benchmarks(work), limits)
    return {"n": n, "rules": rules,
            "job_s": round(sum(r["sum_s"] for r in rules.values()), 2),
            "cpu_s": round(sum(r["cpu_s"] or 0.0 for r in rules.values()), 2),
            "clusters": folds_summary(work / "results" / "cv" / "group" / "folds.tsv")}


def run_size(root: Path, n: int, a, limits: dict) -> dict:
    work = root / f"n{n}"
    work.mkdir(parents=True, exist_ok=True)
    gen_cmd = [str(BIN / "esm-schnet"), "make-example", "--out", str(work), "--n", str(n),
               "--seed", "0", "--fast", "--pool", str(a.pool)]
    rc, gen_s, _ = run_logged(gen_cmd, work / "make_example.log", REPO)
    if rc != 0:
        raise SystemExit(f"make-example failed ({rc}): see {work / 'make_example.log'}")
    write_config(work, a.k, a.epochs)
    cmd = [SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--directory", str(work),
           "--cores", str(a.cores)]
    print(f"N={n}: {' '.join(cmd)}", file=sys.stderr, flush=True)
    with LoadSampler() as load:
        rc, wall, peak = run_logged(cmd, work / "snakemake.log", REPO)
    out = summarize_dir(work, n, limits)
    residues = 0
    with (work / "samples.tsv").open() as fh:
        n_rows = sum(1 for _ in fh) - 1
    for q in (work / "results" / "qc" / "structures.tsv",):
        if q.exists():
            with q.open() as fh:
                rows = list(csv.DictReader(fh, delimiter="\t"))
            residues = sum(int(float(r.get("residues") or 0)) for r in rows)
    out.update({
        "proteins": n_rows, "residues": residues or None, "generation_s": round(gen_s, 1),
        "wall_s": round(wall, 1) if rc == 0 else None, "returncode": rc,
        "elapsed_s": round(wall, 1), "snakemake_peak_rss_mb": round(peak, 1),
        "load_avg": load.summary(), "workdir": str(work),
    })
    out["stages"] = stage_shares(out["rules"], out["wall_s"])
    if rc != 0:
        print(f"N={n}: snakemake failed ({rc}): see {work / 'snakemake.log'}", file=sys.stderr)
    return out


def machine() -> dict:
    info = {"cpus": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        info["mem_gb"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (OSError, ValueError):
        pass
    try:
        info["snakemake"] = subprocess.run([SNAKEMAKE, "--version"], capture_output=True,
                                           text=True).stdout.strip()
    except OSError:
        pass
    return info


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[500, 2000, 10000])
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--pool", type=int, default=64, help="folded backbones of --fast")
    ap.add_argument("--keep", default=None, help="work in this folder and keep it")
    ap.add_argument("--out", default=None, help="JSON file (default: <work>/scale_run.json)")
    ap.add_argument("--summarize", default=None, metavar="DIR",
                    help="only summarise the n<N> folders of an earlier or running bench")
    a = ap.parse_args(argv)
    limits = mem_limits()
    if a.summarize:
        root = Path(a.summarize)
        runs = [summarize_dir(d, int(d.name[1:]), limits)
                for d in sorted(root.glob("n*"), key=lambda d: int(d.name[1:]))
                if d.name[1:].isdigit()]
        prev = root / "scale_run.json"
        done = {r["n"]: r for r in json.loads(prev.read_text())["runs"]} if prev.exists() else {}
        # finished sizes: the run's own figures (wall time, load, ...), the job tables again
        runs = [{**done[r["n"]], **r} if r["n"] in done else r for r in runs]
        for r in runs:
            r["stages"] = stage_shares(r["rules"], r.get("wall_s"))
        result = {"runs": runs, "exponents": exponents(runs), "partial": True}
        print(json.dumps(result, indent=1))
        print(table(result), file=sys.stderr)
        return 0
    tmp = None if a.keep else tempfile.TemporaryDirectory(prefix="scale-run-")
    root = Path(a.keep or tmp.name)
    root.mkdir(parents=True, exist_ok=True)
    out_path = Path(a.out) if a.out else root / "scale_run.json"
    result = {"command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
              "machine": machine(),
              "settings": {"sizes": a.sizes, "cores": a.cores, "epochs": a.epochs, "k": a.k,
                           "pool": a.pool, "embedding": "onehot", "cv": "group"},
              "runs": []}
    for n in a.sizes:
        result["runs"].append(run_size(root, n, a, limits))
        result["exponents"] = exponents(result["runs"])
        out_path.write_text(json.dumps(result, indent=1) + "\n")
        if result["runs"][-1]["returncode"] != 0:
            break
    print(json.dumps(result, indent=1))
    print(table(result), file=sys.stderr)
    return 0 if all(r["returncode"] == 0 for r in result["runs"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
