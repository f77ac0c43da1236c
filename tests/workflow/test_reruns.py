"""The workflow's promises to its users, end to end on one tiny project (issue 7):

- rerun only what changed: after a full run, each edit plans exactly the jobs of the rerun table
  (README), read from `snakemake -n`;
- a run killed with SIGKILL in the middle of an embed job and again in the middle of a training
  fold resumes with `--rerun-incomplete` and gives the same predictions, byte for byte (CPU);
- a truncated or corrupted HDF5 file found later stops the run with one line that names the file
  and says to delete it and rerun;
- two full runs of the same config in two folders give byte-identical predictions;
- with `parse.on_error: skip`, a mix of good and broken structures gives predictions for every
  good one and lists every broken one with its reason in results/qc/skipped.tsv;
- paths with spaces and shell metacharacters (in the working directory, a structure path and the
  sample table's name) reach the shell quoted: nothing they spell is executed.

The tiny project: 4 small example proteins (40-74 residues) + 2 broken files, a tiny random
ESM2-architecture checkpoint on disk (cacheable, unlike onehot, so "only its chains" can be
checked), 2 shards, kfold k=2 (the number of folds does not change when a protein is added, so
the planned fold jobs are exact), a SchNet of width 8 trained for EPOCHS epochs (long enough to
kill a fold mid-training), 20 bootstrap resamples. One full run (module fixture) is copied with
shutil.copytree (which keeps modification times) for each case.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from esm_schnet.evaluate import model_order

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
EXAMPLE = REPO / "resources" / "example" / "structures"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# The workflow harness (tests/workflow/conftest.py) as a plain module: its fixtures are
# function-scoped, and the full run here is shared by the whole module.
harness = _load("workflow_harness", HERE / "conftest.py")
embed_helpers = _load("embed_helpers_for_reruns", REPO / "tests" / "helpers" / "embed_helpers.py")

TAG = "local--tiny_esm"
SCHEME = "kfold"
EPOCHS = 100
GOOD = {"ex20": 1.0, "ex12": 2.5, "ex11": 1.7, "ex10": 4.0}
BROKEN = {"junk": "not a structure file\n", "empty": ""}
# Every one of these is a legal file name; unquoted in a shell command each would run `touch`.
ODD_DIR = "odd dir; $(touch PWNED) `touch PWNED` it's & x"
SAMPLES = "samples $(touch PWNED);x.tsv"
NEW = "ex05"  # the protein added in the rerun table


def tiny_project_config() -> dict:
    return harness.tiny_config(
        samples=SAMPLES,
        parse={"on_error": "skip"},
        embedding={"model": "./tiny_esm", "shards": 2, "cache": "cache", "device": "cpu"},
        model={"schnet": {"hidden_channels": 8, "num_filters": 8, "num_interactions": 1,
                          "num_gaussians": 10}},
        training={"epochs": EPOCHS, "batch_size": 4, "device": "cpu"},
        cv={"scheme": SCHEME, "k": 2},
        evaluate={"bootstrap": 20},
        plots={"dpi": 50},
    )


def make_project(wd: Path) -> None:
    """Inputs of the tiny project: structures, sample table, tiny ESM2 checkpoint, config."""
    embed_helpers.write_tiny_esm(wd / "tiny_esm")
    sdir = wd / "structures"
    (sdir / ODD_DIR).mkdir(parents=True)
    rows = ["id\tstructure\tlabel\tgroup"]
    for k, (sid, label) in enumerate(GOOD.items()):
        rel = f"structures/{ODD_DIR}/{sid} & x.pdb" if sid == "ex12" else f"structures/{sid}.pdb"
        shutil.copyfile(EXAMPLE / f"{sid}.pdb", wd / rel)
        rows.append(f"{sid}\t{rel}\t{label}\tg{k}")
    for sid, text in BROKEN.items():
        (sdir / f"{sid}.pdb").write_text(text)
        rows.append(f"{sid}\tstructures/{sid}.pdb\t3.0\tbroken")
    (wd / SAMPLES).write_text("\n".join(rows) + "\n")
    (wd / "config.yaml").write_text(yaml.safe_dump(tiny_project_config(), sort_keys=False))


def fresh_copy(src: Path, dst: Path) -> Path:
    """The project's inputs only (no results, logs, cache or Snakemake metadata)."""
    ignore = shutil.ignore_patterns("results", "logs", "benchmarks", ".snakemake", "cache", ".cache")
    shutil.copytree(src, dst, ignore=ignore)
    return dst


def smk(wd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return harness.run_snakemake(wd, *args, check=check, timeout=600)


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    if not harness.SNAKEMAKE.exists():
        pytest.skip(f"no snakemake next to {sys.executable}")
    wd = tmp_path_factory.mktemp("base run ") / "project"
    wd.mkdir()
    make_project(wd)
    t0 = time.perf_counter()
    smk(wd)
    print(f"full run: {time.perf_counter() - t0:.1f} s")
    return wd


def read_tsv(path: Path) -> list[dict]:
    import csv

    with open(path, newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------- the full run itself


def test_skip_mix_predicts_every_good_protein_and_lists_every_bad_one(base):
    skipped = {r["id"]: r["reason"] for r in read_tsv(base / "results/qc/skipped.tsv")}
    assert set(skipped) == set(BROKEN)
    assert "empty file" in skipped["empty"]
    assert "not a PDB or mmCIF file" in skipped["junk"]
    preds = read_tsv(base / "results/predictions.tsv")
    by_model = {}
    for r in preds:
        by_model.setdefault(r["model"], []).append(r["id"])
    assert set(by_model) == set(model_order("regression"))  # structure-aware ones included
    for model, ids in by_model.items():
        assert sorted(ids) == sorted(GOOD), model
    assert {r["id"] for r in read_tsv(base / f"results/cv/{SCHEME}/folds.tsv")} == set(GOOD)
    assert (base / "results/final/model.pt").stat().st_size > 0


def test_odd_paths_reach_the_shell_quoted(base):
    # the structure in the odd folder and the oddly named sample table were used ...
    assert "ex12" in {r["id"] for r in read_tsv(base / "results/predictions.tsv")}
    assert (base / "results/structures/ex12.h5").is_file()
    # ... and nothing they spell ran: no PWNED file anywhere (a `touch PWNED` would write it
    # into the job's working directory, the project folder)
    assert not list(base.parent.rglob("PWNED*"))
    assert " " in str(base)  # the working directory itself has a space


# ---------------------------------------------------------------- rerun table

FOLD_JOBS = {f"train_fold[scheme={SCHEME}, fold={k}]" for k in (0, 1)}
TRAIN_AND_AFTER = FOLD_JOBS | {"train_final", "evaluate", "report_pages", "plots", "all"}
EMBED_ALL = {"embed[shard=000]", "embed[shard=001]", "manifest"}
JOB_HEADER = re.compile(r"^(?:local)?(?:rule|checkpoint) (\w+):$")
# Aggregate rules print a one-line message instead of a block: `Job N: rule[wildcards]: ...`
JOB_MESSAGE = re.compile(r"^Job \d+: (\w+)(?:\[([^\]]*)\])?: ")


def planned(wd: Path, *targets: str) -> Counter:
    """Jobs `snakemake -n` plans, as 'rule' or 'rule[wildcards]', e.g. 'parse[id=ex05]'.

    Parsed from the job blocks of the dry run (a header line `rule NAME:`, `localrule NAME:`,
    `checkpoint NAME:`, then indented lines, among them `wildcards: ...`) and from the one-line
    messages of the aggregate rules (`Job N: NAME[wildcards]: ...`), and checked against the
    "total" of the job-stats table, so a job the parser missed fails the test.
    """
    res = smk(wd, "-n", *targets)
    jobs: Counter = Counter()
    current: list[str] | None = None

    def flush():
        nonlocal current
        if current is not None:
            jobs[f"{current[0]}[{current[1]}]" if current[1] else current[0]] += 1
        current = None

    for line in res.output.splitlines():
        m = JOB_HEADER.match(line)
        msg = JOB_MESSAGE.match(line)
        if msg:
            flush()
            jobs[f"{msg.group(1)}[{msg.group(2)}]" if msg.group(2) else msg.group(1)] += 1
        elif m:
            flush()
            current = [m.group(1), ""]
        elif current is not None and line.startswith("    "):
            if line.startswith("    wildcards: "):
                current[1] = line.split(": ", 1)[1].strip()
        else:
            flush()
    flush()
    totals = re.findall(r"^total\s+(\d+)$", res.output, flags=re.M)
    if "Nothing to be done" in res.output:
        assert not jobs and not totals, res.output[-3000:]
    else:
        assert totals and int(totals[-1]) == sum(jobs.values()), res.output[-3000:]
    return jobs


def edit_config(wd: Path, section: str, **values) -> None:
    cfg = yaml.safe_load((wd / "config.yaml").read_text())
    cfg.setdefault(section, {}).update(values)
    (wd / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))


def shard_of(sid: str) -> str:
    from esm_schnet.core.samples import shard_of as _shard_of

    return f"{_shard_of(sid, 2):03d}"


def structure_lists(shard: str) -> set[str]:
    """The list jobs a changed protein reruns: every structure (folds, train_final) and its
    shard's (embed)."""
    return {"structure_list[part=all]", f"structure_list[part=shard-{shard}]"}


@pytest.fixture(scope="module")
def copied(base, tmp_path_factory) -> Path:
    """The finished project copied (modification times kept) to another folder."""
    return Path(shutil.copytree(base, tmp_path_factory.mktemp("copy") / "moved project"))


def test_rerun_nothing_changed_even_after_moving_the_project(base, copied):
    assert planned(base) == Counter()
    assert planned(copied) == Counter()


@pytest.mark.parametrize(
    ("section", "values", "expected"),
    [
        ("training", {"lr": 0.00123}, TRAIN_AND_AFTER),
        # model.node_features: descriptors already in the structure files; never parse or embed
        ("model", {"node_features": ["rsa", "ss"]}, TRAIN_AND_AFTER),
        ("embedding", {"layer": 1}, EMBED_ALL | TRAIN_AND_AFTER),
        ("embedding", {"model": "onehot"}, EMBED_ALL | TRAIN_AND_AFTER),
        ("plots", {"dpi": 51}, {"plots", "all"}),
    ],
    ids=["training.lr", "model.node_features", "embedding.layer", "embedding.model", "plots.dpi"],
)
def test_rerun_config_edit(copied, section, values, expected):
    original = (copied / "config.yaml").read_text()
    try:
        edit_config(copied, section, **values)
        jobs = planned(copied)
    finally:
        (copied / "config.yaml").write_text(original)
    assert set(jobs) == expected
    assert all(n == 1 for n in jobs.values()), jobs


def _run_up_to_checkpoint_and_plan(wd: Path, first: set[str], extra_targets=()) -> set[str]:
    """A dry run cannot see past a checkpoint that must rerun (`folds`): it plans everything up
    to it, and the fold jobs only once the new folds.tsv exists. So: plan, build folds.tsv
    (and `extra_targets`) for real, plan the rest; the union is what the edit reruns."""
    jobs = planned(wd)
    assert set(jobs) == first
    assert not any(j.startswith("train_fold") for j in jobs)
    smk(wd, f"results/cv/{SCHEME}/folds.tsv", *extra_targets)
    rest = planned(wd)
    assert FOLD_JOBS <= set(rest)
    return set(jobs) | set(rest)


def test_rerun_protein_added(base, tmp_path):
    wd = Path(shutil.copytree(base, tmp_path / "project"))
    shutil.copyfile(EXAMPLE / f"{NEW}.pdb", wd / "structures" / f"{NEW}.pdb")
    with open(wd / SAMPLES, "a") as fh:
        fh.write(f"{NEW}\tstructures/{NEW}.pdb\t2.2\tg9\n")
    s = shard_of(NEW)
    first = {f"parse[id={NEW}]", "qc", f"embed[shard={s}]", "manifest", f"folds[scheme={SCHEME}]",
             "train_final", "evaluate", "report_pages", "plots", "all",
             *structure_lists(s)}  # fmt: skip
    shard = f"results/embeddings/{TAG}/shard-{s}.h5"
    union = _run_up_to_checkpoint_and_plan(wd, first, extra_targets=[shard])
    assert union == first | FOLD_JOBS
    # the embed job ran the model on the new protein's chains only: the rest came from the cache
    line = [ln for ln in (wd / f"logs/embed/{TAG}/shard-{s}.log").read_text().splitlines()
            if " wrote " in ln][-1]  # fmt: skip
    stats = json.loads(line.split(": ", 2)[-1])
    from esm_schnet.parse import read_structure_h5

    new_seqs = set(read_structure_h5(wd / f"results/structures/{NEW}.h5").sequences)
    assert stats["sequences_run"] == len(new_seqs)
    assert stats["cache_hits"] == stats["distinct_sequences"] - len(new_seqs) > 0
    assert stats["proteins"] == 1 + sum(shard_of(i) == s for i in GOOD)


def test_rerun_structure_file_changed(base, tmp_path):
    wd = Path(shutil.copytree(base, tmp_path / "project"))
    pdb = wd / "structures" / "ex20.pdb"
    lines = pdb.read_text().splitlines(keepends=True)
    k = next(i for i, ln in enumerate(lines) if ln.startswith("ATOM") and ln[12:16] == " CA ")
    x = float(lines[k][30:38]) + 0.5  # move one C-alpha by half an Angstrom
    lines[k] = f"{lines[k][:30]}{x:8.3f}{lines[k][38:]}"
    pdb.write_text("".join(lines))
    s = shard_of("ex20")
    first = {"parse[id=ex20]", "qc", f"embed[shard={s}]", "manifest", f"folds[scheme={SCHEME}]",
             "train_final", "evaluate", "report_pages", "plots", "all",
             *structure_lists(s)}  # fmt: skip
    assert _run_up_to_checkpoint_and_plan(wd, first) == first | FOLD_JOBS


# ---------------------------------------------------------------- determinism


def test_two_runs_give_identical_predictions(base, tmp_path):
    wd = fresh_copy(base, tmp_path / "second run")
    smk(wd)
    for rel in ("results/predictions.tsv", "results/metrics.tsv",
                f"results/cv/{SCHEME}/folds.tsv", f"results/cv/{SCHEME}/fold-0/predictions.tsv",
                f"results/cv/{SCHEME}/fold-1/predictions.tsv"):  # fmt: skip
        assert digest(wd / rel) == digest(base / rel), rel


# ---------------------------------------------------------------- kill and resume


def _popen(wd: Path, log: Path, *args: str) -> subprocess.Popen:
    """Snakemake as run_snakemake runs it, in a session of its own (so the whole process group,
    jobs included, can be killed at once)."""
    cmd = [str(harness.SNAKEMAKE), "--snakefile", str(REPO / "Snakefile"), "--directory", str(wd),
           "--cores", "2", *args]  # fmt: skip
    env = dict(os.environ)
    env.update(PATH=f"{harness.BIN}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", XDG_CACHE_HOME=str(wd / ".cache"))
    with open(log, "w") as fh:
        return subprocess.Popen(cmd, cwd=wd, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip


def _kill_group_when(proc: subprocess.Popen, ready, log: Path, timeout: float = 300):
    """Poll `ready()` (returns something truthy when the moment has come); then SIGKILL the
    process group and wait until every process of it is gone. Returns what ready() returned."""
    deadline = time.monotonic() + timeout
    while True:
        hit = ready()
        if hit:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            while time.monotonic() < deadline:
                try:
                    os.killpg(proc.pid, 0)
                except ProcessLookupError:
                    return hit
                time.sleep(0.05)
            raise AssertionError("processes of the killed run still alive")
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            raise AssertionError(f"never got to the kill point:\n{log.read_text()[-4000:]}")
        time.sleep(0.05)


def test_kill_during_embed_and_training_then_resume(base, tmp_path):
    wd = fresh_copy(base, tmp_path / "killed run")
    emb = wd / "results" / "embeddings" / TAG

    def embed_running():
        # an embed job has started (its log has a line) and its shard is not written yet
        for log in sorted((wd / "logs" / "embed" / TAG).glob("shard-*.log")):
            if log.stat().st_size and not (emb / f"{log.stem}.h5").exists():
                return log.stem
        return None

    shard = _kill_group_when(_popen(wd, tmp_path / "run1.txt"), embed_running, tmp_path / "run1.txt")
    assert not (emb / f"{shard}.h5").exists()  # outputs are atomic: nothing half-written
    # Snakemake marked the killed job's output incomplete
    assert any((wd / ".snakemake" / "incomplete").iterdir())
    # A SIGKILLed Snakemake cannot remove its lock on the folder: the next run refuses to start
    # and says how to go on (`--unlock`, which only removes the lock).
    res = smk(wd, "--rerun-incomplete", check=False)
    assert res.returncode != 0 and "--unlock" in res.output, res.output[-3000:]
    smk(wd, "--unlock")

    fold_dir = wd / "results" / "cv" / SCHEME

    def fold_training():
        # a fold has logged at least one epoch, and its model is not written yet
        for log in sorted((wd / "logs" / "train_fold" / SCHEME).glob("fold-*.log")):
            if re.search(r" epoch \d+/", log.read_text()) and not (
                fold_dir / log.stem / "model.pt"
            ).exists():
                return log.stem
        return None

    run2 = tmp_path / "run2.txt"
    fold = _kill_group_when(_popen(wd, run2, "--rerun-incomplete"), fold_training, run2)
    assert (emb / f"{shard}.h5").is_file()  # the resumed run redid the killed embed job
    assert not (fold_dir / fold / "model.pt").exists()
    assert not (fold_dir / fold / "predictions.tsv").exists()

    smk(wd, "--unlock")
    smk(wd, "--rerun-incomplete")
    assert digest(wd / "results/predictions.tsv") == digest(base / "results/predictions.tsv")
    assert digest(wd / "results/metrics.tsv") == digest(base / "results/metrics.tsv")
    assert planned(wd) == Counter()


# ---------------------------------------------------------------- corrupt files found later


@pytest.mark.parametrize(
    ("rel", "damage"),
    [
        (f"results/embeddings/{TAG}/shard-000.h5", "truncate"),
        ("results/structures/ex20.h5", "garble"),
    ],
    ids=["truncated-shard", "garbled-structure"],
)
def test_corrupt_hdf5_names_the_file(base, tmp_path, rel, damage):
    wd = Path(shutil.copytree(base, tmp_path / "project"))
    path = wd / rel
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    else:  # overwrite the HDF5 signature and superblock
        path.write_bytes(b"\0garbage" * 8 + data[64:])
    now = time.time()
    os.utime(path, (now, now))  # newer than its inputs: Snakemake does not remake it
    # (modification times only: what is tested here is the message, whatever else changed)
    res = smk(wd, "--rerun-triggers", "mtime", check=False)
    assert res.returncode != 0
    assert f"{rel} is truncated or corrupted" in res.output, res.output[-5000:]
    assert "delete it and rerun" in res.output
    # ... and the failed job's own log says it too
    logs = [p for p in (wd / "logs").rglob("*.log") if f"{rel} is truncated" in p.read_text()]
    assert logs, "no job log names the damaged file"
    # the producing job was not rerun: the damaged file is still there, damaged
    assert path.read_bytes() != data
    assert "Traceback (most recent call last)" not in res.output
