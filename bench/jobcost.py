"""Fixed cost of a `train_fold` job and of the `evaluate` job, against process floors.

    .venv/bin/python bench/jobcost.py [--repeats 5] [--keep DIR] [--compare SRC]

Sets the bundled example (resources/example, 20 proteins) up once with the workflow itself
(`onehot` features, `cv: {scheme: kfold, k: 4}`, `training.epochs: 1`: parse, embed, folds,
every fold, evaluate), then times separate processes in turn, one round = each command once,
`--repeats` rounds (A B C D E A B C D E ...; the machine's drift hits every command alike):

- python:     `python -c pass`                     (interpreter start)
- torch:      `python -c "import torch"`           (the floor of any job that trains)
- pyg:        `python -c "import torch_geometric"` (all of PyG, as it imports itself)
- train_fold: `esm-schnet train-fold` on fold 0, 1 epoch, with the rule's arguments (settings
              from the schema defaults), 1 thread;
- evaluate:   `esm-schnet evaluate` over the 4 folds, with the rule's arguments.

With `--compare SRC` (the `src` folder of another version, e.g. after
`mkdir /tmp/old && git archive main src | tar -x -C /tmp/old`: SRC = /tmp/old/src), train_fold and evaluate also run with that package code (PYTHONPATH=SRC) in the same
rounds, on the same files: `*_compared` entries and the paired ratios ours / theirs.

For train_fold, `fixed_s` = wall - the seconds of its one epoch (history.tsv): everything but the
training loop. Its phases come from its provenance.json `timings_s` (imports of torch, PyG and
the model code; load = reading the fold's proteins from the shards; graphs; setup = the training
call outside its epochs (model, scaler, filter tables, the convergence check); predict; write) and `startup_s` = wall -
the job's own total (interpreter, the CLI, argument parsing). For evaluate, its log's `timings`
line gives imports, read, tables (baselines, metrics, paired comparisons) and write.

Prints one JSON object: per command wall and CPU seconds, min and median over the rounds (CPU =
user + sys of the child from getrusage), and the medians of the phases. Nothing here asserts.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import REPO, SNAKEMAKE, machine  # noqa: E402

PYTHON = sys.executable
ESM_SCHNET = str(Path(sys.executable).with_name("esm-schnet"))
K = 4
TIMINGS = re.compile(r"timings: (.*)$")


def env(src: Path | None = None) -> dict:
    e = dict(os.environ, PATH=f"{Path(SNAKEMAKE).parent}{os.pathsep}{os.environ['PATH']}")
    if src is not None:
        e["PYTHONPATH"] = str(src)
    return e


def setup(work: Path) -> None:
    """Run the example through evaluate with the workflow (onehot, 4 folds, 1 epoch)."""
    samples = REPO / "resources/example/samples.tsv"
    cmd = [SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--configfile",
           str(REPO / "config.yaml"), "--directory", str(work), "--cores", "2", "--config",
           f"samples={samples}", "embedding={model: onehot}", f"cv={{scheme: kfold, k: {K}}}",
           "training={epochs: 1}", "--", "results/metrics.tsv"]
    proc = subprocess.run(cmd, cwd=REPO, env=env(), capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-5000:])
        raise SystemExit("setting the example up failed")


# the train_fold job's model: plain SchNet, the fixed cost measured against earlier versions, whose
# defaults it was (the centroid features and the linear term, on by default since, add a little
# per-epoch work, not fixed cost); a compared version runs its own defaults (`{}`)
PLAIN_MODEL = '{"centroid": false, "linear": false}'


def commands(work: Path, out: Path, model: str = PLAIN_MODEL,
             flags: bool = False) -> dict[str, list[str]]:
    """The timed commands. `flags`: settings as the JSON flags of versions before
    `--config-file` (a compared older version), else in a config file (this version)."""
    shards = sorted(str(p) for p in (work / "results/embeddings/onehot").glob("shard-*.h5"))
    out.mkdir(parents=True, exist_ok=True)
    config = out / "settings.yaml"
    config.write_text(json.dumps({"model": json.loads(model), "training": {"epochs": 1},
                                  "embedding": {"model": "onehot"},
                                  "cv": {"scheme": "kfold"}, "evaluate": {"bootstrap": 1000}}))
    train_settings = (["--graph", "{}", "--model", model, "--training", '{"epochs": 1}']
                      if flags else ["--config-file", str(config)])
    evaluate_settings = (["--embedding-model", "onehot", "--scheme", "kfold", "--bootstrap",
                          "1000", "--seed", "0"] if flags else ["--config-file", str(config)])
    cv = work / "results/cv/kfold"
    folds = [cv / f"fold-{k}" for k in range(K)]
    samples = str(REPO / "resources/example/samples.tsv")
    ev = out / "evaluate"
    return {
        "python": [PYTHON, "-c", "pass"],
        "torch": [PYTHON, "-c", "import torch"],
        "pyg": [PYTHON, "-c", "import torch_geometric"],
        "train_fold": [
            ESM_SCHNET, "train-fold", "--shards", *shards, "--samples", samples,
            "--folds", str(cv / "folds.tsv"), "--fold", "0", *train_settings,
            "--outdir", str(out / "fold-0"), "--threads", "1",
            "--log", str(out / "train_fold.log"),
        ],
        "evaluate": [
            ESM_SCHNET, "evaluate",
            "--fold-predictions", *(str(f / "predictions.tsv") for f in folds),
            "--histories", *(str(f / "history.tsv") for f in folds),
            "--provenance", *(str(f / "provenance.json") for f in folds),
            "--folds", str(cv / "folds.tsv"), "--samples", samples, "--shards", *shards,
            *evaluate_settings,
            *(x for name in ("predictions", "metrics", "json", "comparisons", "lengths",
                             "history", "convergence", "html")
              for x in (f"--out-{name}", str(ev / name))),
            "--log", str(out / "evaluate.log"),
        ],
    }


def timed(cmd: list[str], cwd: Path, src: Path | None = None) -> tuple[float, float]:
    """(wall s, CPU s of the child) of one run; a failed run stops the benchmark."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env(src), capture_output=True, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-2000:] + proc.stderr[-4000:])
        raise SystemExit(f"failed: {' '.join(cmd[:2])}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def train_phases(out: Path, wall: float) -> dict:
    prov = json.loads((out / "fold-0/provenance.json").read_text())
    t = prov["timings_s"]
    with open(out / "fold-0/history.tsv", newline="") as fh:
        epochs = sum(float(r["seconds"]) for r in csv.DictReader(fh, delimiter="\t"))
    phases = {k: t[k] for k in ("imports", "load", "graphs") if k in t}
    phases["setup"] = t["train"] - epochs  # the training call outside its epochs
    phases.update(predict=t["predict"], write=t["write"])
    return {"fixed_s": wall - epochs, "epoch_s": epochs, "startup_s": wall - t["total"],
            **{f"{k}_s": v for k, v in phases.items()}}


def evaluate_phases(out: Path, wall: float) -> dict:
    """The last `timings: name 1.23 s, ...` line of the evaluate log (absent: no phases)."""
    lines = [m.group(1) for line in (out / "evaluate.log").read_text().splitlines()
             if (m := TIMINGS.search(line))]
    if not lines:
        return {}
    phases = {k: float(v) for k, v in re.findall(r"(\w+) ([\d.]+) s", lines[-1])}
    total = sum(phases.values())
    return {"startup_s": wall - total, **{f"{k}_s": v for k, v in phases.items()}}


def summary(values: list[float]) -> dict:
    return {"min": round(min(values), 3), "median": round(statistics.median(values), 3)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5, help="rounds (each command once per round)")
    ap.add_argument("--keep", type=Path, default=None, help="keep the work folder under DIR")
    ap.add_argument("--compare", type=Path, default=None, metavar="SRC",
                    help="also run train_fold and evaluate with the package in SRC, paired")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="esm-schnet-jobcost-", dir=args.keep))
    try:
        t = time.perf_counter()
        setup(work)
        setup_s = time.perf_counter() - t
        out = work / "bench"
        cmds = {name: (cmd, None, out) for name, cmd in commands(work, out).items()}
        if args.compare is not None:
            theirs = work / "compared"
            for name, cmd in commands(work, theirs, model="{}", flags=True).items():
                if name in ("train_fold", "evaluate"):
                    cmds[f"{name}_compared"] = (cmd, args.compare.resolve(), theirs)
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in cmds}
        phases: dict[str, list[dict]] = {name: [] for name in cmds}
        for cmd, src, _ in cmds.values():  # warm-up: file cache, .pyc of every module
            timed(cmd, work, src)
        for _ in range(args.repeats):
            for name, (cmd, src, where) in cmds.items():
                wall, cpu = timed(cmd, work, src)
                runs[name].append((wall, cpu))
                if name.startswith("train_fold"):
                    phases[name].append(train_phases(where, wall))
                elif name.startswith("evaluate"):
                    phases[name].append(evaluate_phases(where, wall))
        result = {"machine": machine(), "setup_s": round(setup_s, 1), "repeats": args.repeats}
        if args.compare is not None:
            result["compared_src"] = str(args.compare)
        for name, vals in runs.items():
            entry = {"wall_s": summary([w for w, _ in vals]), "cpu_s": summary([c for _, c in vals])}
            if phases[name] and phases[name][0]:
                keys = phases[name][0].keys()
                entry["phases_median_s"] = {
                    k: round(statistics.median(p[k] for p in phases[name]), 3) for k in keys
                }
            result[name] = entry
        floor = result["torch"]["wall_s"]["median"]
        for name in ("train_fold", "evaluate"):
            result[name]["wall_over_torch_floor"] = round(
                result[name]["wall_s"]["median"] / floor, 2)
            if f"{name}_compared" in runs:
                pairs = [a[0] / b[0] for a, b in zip(runs[name], runs[f"{name}_compared"])]
                result[name]["wall_ratio_vs_compared"] = summary(pairs)
        print(json.dumps(result, indent=2))
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
