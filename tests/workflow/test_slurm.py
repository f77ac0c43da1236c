"""The workflow on a real (single-node) SLURM cluster through `--profile profiles/slurm`.

Starts munged, slurmctld and slurmd from Debian's slurm-wlm (installed with apt-get when missing;
skipped with the reason where that is impossible: not root, no apt, no network to the mirror),
then
- runs the workflow on a tiny config (onehot, kfold k=2, 1 epoch) locally and on the cluster and
  checks that every result file is the same (tables and HDF5 datasets equal or allclose);
- runs it on the cluster with a broken structure and parse.on_error=fail, and checks that the
  run fails naming the rule (parse) and the sample;
- stops every daemon it started, by PID, also when a test fails (module fixture finalizer).

Test-only settings are passed as flags on top of the production profile: status via squeue
(no slurmdbd here), 2-second status intervals, partition `debug` (config resources.partition).
"""

from __future__ import annotations

import math
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from slurm_cluster import PARTITION, LocalSlurmCluster, SlurmUnavailable  # noqa: E402

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SLURM_FLAGS = [
    "--profile", str(REPO / "profiles" / "slurm"),
    "--cores", "2",
    "--jobs", "10",
    "--slurm-status-command", "squeue",
    "--slurm-init-seconds-before-status-checks", "2",
    "--seconds-between-status-checks", "2",
    "--latency-wait", "10",
]  # fmt: skip
# Results that differ between any two runs by design (time stamps, host names, pixels).
VOLATILE = re.compile(r"(^|/)(provenance\.json|report\.html)$|\.(png|svg|pdf)$")
VOLATILE_COLUMNS = {"seconds", "time", "elapsed", "wall_s"}
TIMEOUT = 300


def _start(workdir: Path, *args: str, env: dict) -> subprocess.Popen:
    cmd = [str(BIN / "snakemake"), "--snakefile", str(REPO / "Snakefile"),
           "--directory", str(workdir), *args]  # fmt: skip
    return subprocess.Popen(cmd, cwd=workdir, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def _wait(proc: subprocess.Popen) -> subprocess.CompletedProcess:
    try:
        out, _ = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # this snakemake and its children only
        out, _ = proc.communicate()
        raise AssertionError(f"{' '.join(proc.args)} ran past {TIMEOUT} s:\n{out[-6000:]}")
    res = subprocess.CompletedProcess(proc.args, proc.returncode, out, "")
    res.output = out  # type: ignore[attr-defined]
    return res


def _run(workdir: Path, *args: str, env: dict) -> subprocess.CompletedProcess:
    return _wait(_start(workdir, *args, env=env))


def _env(cluster: LocalSlurmCluster | None, home: Path) -> dict:
    env = dict(os.environ)
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}", HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1", MPLBACKEND="Agg", XDG_CACHE_HOME=str(home / ".cache"))
    return cluster.env(env) if cluster is not None else env


@pytest.fixture(scope="module")
def cluster():
    pytest.importorskip(
        "snakemake_executor_plugin_slurm",
        reason="snakemake-executor-plugin-slurm is not installed (pip install 'esm-schnet[cluster]')",
    )
    c = LocalSlurmCluster()
    try:
        c.start()
    except SlurmUnavailable as exc:
        pytest.skip(f"cannot run a SLURM cluster here: {exc}")
    try:
        yield c
    finally:
        pids = c.pids
        c.stop()
        alive = {name: pid for name, pid in pids.items() if _pid_alive(pid)}
        assert not alive, f"daemons still running after stop: {alive}"


def _pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _config(samples: Path, **over) -> dict:
    cfg = {
        "samples": str(samples),
        "parse": {"on_error": "fail"},
        "embedding": {"model": "onehot", "shards": 2, "cache": "resources/cache/embeddings"},
        "model": {"schnet": {"hidden_channels": 16, "num_filters": 16, "num_interactions": 1,
                             "num_gaussians": 10}},
        "training": {"epochs": 1, "batch_size": 2, "seed": 0, "device": "cpu"},
        "cv": {"scheme": "kfold", "k": 2},
        "evaluate": {"bootstrap": 0},
        "resources": {
            "partition": PARTITION,
            **{stage: {"mem_mb": 300, "runtime": 10, "threads": 1}
               for stage in ("parse", "embed", "folds", "train", "evaluate", "predict")},
        },
    }  # fmt: skip
    cfg.update(over)
    return cfg


def _dataset(root: Path, broken: bool = False, n: int = 4) -> Path:
    from esm_schnet.example import make_protein, write_structure_file

    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    rows = ["id\tstructure\tlabel"]
    for i, sizes in enumerate([(24,), (31,), (18, 15), (40,)][:n]):
        p = make_protein(f"p{i}", sizes=sizes, seed=i)
        write_structure_file(p, data / f"p{i}.pdb")
        rows.append(f"p{i}\t{data / f'p{i}.pdb'}\t{p.label:.4f}")
    if broken:
        (data / "broken.pdb").write_text("HEADER    NOT A STRUCTURE\nEND\n")
        rows.append(f"broken\t{data / 'broken.pdb'}\t1.0")
    table = root / ("samples_broken.tsv" if broken else "samples.tsv")
    table.write_text("\n".join(rows) + "\n")
    return table


def _write_config(workdir: Path, cfg: dict) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))


def _result_files(workdir: Path) -> dict[str, Path]:
    base = workdir / "results"
    return {
        str(p.relative_to(base)): p
        for p in sorted(base.rglob("*"))
        if p.is_file() and not VOLATILE.search(str(p.relative_to(base)))
    }


def _same_table(a: Path, b: Path) -> str | None:
    import pandas as pd

    ta = pd.read_csv(a, sep="\t", keep_default_na=False)
    tb = pd.read_csv(b, sep="\t", keep_default_na=False)
    if list(ta.columns) != list(tb.columns) or len(ta) != len(tb):
        return f"columns/rows differ: {list(ta.columns)} x {len(ta)} vs {list(tb.columns)} x {len(tb)}"
    for col in ta.columns:
        if col in VOLATILE_COLUMNS:
            continue
        x, y = ta[col], tb[col]
        if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y):
            if not np.allclose(x.to_numpy(float), y.to_numpy(float), rtol=1e-4, atol=1e-6,
                               equal_nan=True):
                return f"column {col} differs"
        elif list(x.astype(str)) != list(y.astype(str)):
            return f"column {col} differs"
    return None


def _same_h5(a: Path, b: Path) -> str | None:
    import h5py

    problems: list[str] = []

    def attrs(obj) -> dict:
        return {k: obj.attrs[k] for k in obj.attrs}

    def equal(x, y) -> bool:
        x, y = np.asarray(x), np.asarray(y)
        if x.shape != y.shape:
            return False
        if x.dtype.kind == "f":
            return bool(np.allclose(x, y, rtol=1e-4, atol=1e-6, equal_nan=True))
        return bool(np.array_equal(x, y))

    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        def visit(name, obj):
            other = fb.get(name)
            if other is None:
                problems.append(f"{name} missing")
                return
            if isinstance(obj, h5py.Dataset) and not equal(obj[()], other[()]):
                problems.append(f"dataset {name} differs")
            aa, ab = attrs(obj), attrs(other)
            for k in set(aa) | set(ab):
                if k not in aa or k not in ab or not equal(aa[k], ab[k]):
                    problems.append(f"attribute {name}:{k} differs")

        visit("/", fa)
        fa.visititems(visit)
        names_a, names_b = set(), set()
        fa.visit(names_a.add)
        fb.visit(names_b.add)
        if names_a != names_b:
            problems.append(f"objects differ: {sorted(names_a ^ names_b)[:5]}")
    return "; ".join(problems) or None


def _compare(local: Path, cluster_dir: Path) -> list[str]:
    fa, fb = _result_files(local), _result_files(cluster_dir)
    problems = []
    if set(fa) != set(fb):
        problems.append(f"different result files: {sorted(set(fa) ^ set(fb))}")
    for rel in sorted(set(fa) & set(fb)):
        a, b = fa[rel], fb[rel]
        if rel.endswith((".tsv", ".csv")):
            why = _same_table(a, b)
        elif rel.endswith(".h5"):
            why = _same_h5(a, b)
        elif rel.endswith(".json"):
            import json

            why = None if _close(json.loads(a.read_text()), json.loads(b.read_text())) else "differs"
        elif rel.endswith(".pt"):
            import torch

            sa = torch.load(a, weights_only=True, map_location="cpu")
            sb = torch.load(b, weights_only=True, map_location="cpu")
            why = None if _close(sa, sb) else "differs"
        else:
            why = None if a.read_bytes() == b.read_bytes() else "bytes differ"
        if why:
            problems.append(f"{rel}: {why}")
    return problems


def _close(x, y) -> bool:
    if isinstance(x, dict) and isinstance(y, dict):
        return x.keys() == y.keys() and all(_close(x[k], y[k]) for k in x)
    if isinstance(x, (list, tuple)) and isinstance(y, (list, tuple)):
        return len(x) == len(y) and all(_close(i, j) for i, j in zip(x, y))
    if hasattr(x, "detach") and hasattr(y, "detach"):
        return x.shape == y.shape and bool(
            np.allclose(x.detach().numpy(), y.detach().numpy(), rtol=1e-4, atol=1e-6))
    if isinstance(x, float) and isinstance(y, (int, float)):
        return math.isclose(x, y, rel_tol=1e-4, abs_tol=1e-6) or (math.isnan(x) and math.isnan(y))
    return x == y


def test_workflow_on_slurm_equals_local_run(cluster, tmp_path):
    samples = _dataset(tmp_path)
    cfg = _config(samples)
    local, remote = tmp_path / "local", tmp_path / "slurm"
    _write_config(local, cfg)
    _write_config(remote, cfg)

    # side by side: the cluster run mostly waits for SLURM
    on_slurm = _start(remote, *SLURM_FLAGS, env=_env(cluster, tmp_path))
    try:
        res = _run(local, "--cores", "2", env=_env(None, tmp_path))
    finally:
        res_slurm = _wait(on_slurm)
    assert res.returncode == 0, res.output[-6000:]
    res = res_slurm
    assert res.returncode == 0, f"{res.output[-6000:]}\n{cluster.logs()}"

    # the jobs really ran as SLURM jobs: the plugin's per-job logs and the group job of parse
    logs = list((remote / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert "group_parse" in res.output or any("group" in str(p) for p in logs), res.output[-3000:]
    assert re.search(r"submitted with SLURM jobid \d+", res.output), res.output[-3000:]

    problems = _compare(local, remote)
    assert not problems, "\n".join(problems)
    assert _result_files(local), "the local run produced no results"


def test_failing_job_fails_the_run_with_the_rules_name(cluster, tmp_path):
    # one good protein and a broken one (a group job runs its members one after the other)
    samples = _dataset(tmp_path, broken=True, n=1)
    work = tmp_path / "fail"
    _write_config(work, _config(samples))
    res = _run(work, *SLURM_FLAGS, "results/qc/structures.tsv", env=_env(cluster, tmp_path))
    assert res.returncode != 0, res.output[-4000:]
    assert re.search(r"Error in (rule|group) parse", res.output), res.output[-6000:]
    assert "broken" in res.output, res.output[-6000:]
    assert not (work / "results" / "qc" / "structures.tsv").exists()
