"""Helpers to run the Snakemake workflow end to end on tiny configs in temporary directories.

Fixtures (use them; do not `from conftest import ...`: several test folders have a conftest.py
and pytest keeps only one module named `conftest` at a time):

- `run_snakemake(workdir, *args, config=None, check=False, timeout=300)` -> CompletedProcess.
  Writes `config` (a dict) to `<workdir>/config.yaml` when given, then runs
  `<venv>/bin/snakemake --snakefile <repo>/Snakefile --directory <workdir> --cores 2 *args`
  with the venv's bin first on PATH (the rules call the `esm-schnet` console script) and no
  network. The Snakefile's `configfile: "config.yaml"` is resolved in the working directory, so
  the file written here is the one used. `res.output` holds stdout + stderr.
- `sample_table(workdir, ids=..., rows=None, broken=(), ...)` -> Path of `<workdir>/samples.tsv`,
  with small structures from the bundled example (or synthetic ones) copied under
  `<workdir>/structures/`.
- `tiny_config(**overrides)` -> a minimal config dict (only `samples`; everything else from
  the schema's defaults) merged with the overrides (nested dicts merge).
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SNAKEMAKE = BIN / "snakemake"
EXAMPLE = REPO / "resources" / "example"
# the smallest proteins of the bundled example: (id, file name)
SMALL = [
    ("ex20", "ex20.pdb"),
    ("ex12", "ex12.pdb"),
    ("ex11", "ex11.pdb"),
    ("ex10", "ex10.pdb"),
]


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def run_snakemake(
    workdir: Path,
    *args: str,
    config: dict | None = None,
    check: bool = False,
    timeout: float = 300,
) -> subprocess.CompletedProcess:
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if config is not None:
        (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    cmd = [
        str(SNAKEMAKE),
        "--snakefile", str(REPO / "Snakefile"),
        "--directory", str(workdir),
        "--cores", "2",
        *args,
    ]  # fmt: skip
    env = dict(os.environ)
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        XDG_CACHE_HOME=str(workdir / ".cache"),
    )
    res = subprocess.run(
        cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout
    )
    res.output = res.stdout + res.stderr  # type: ignore[attr-defined]
    if check and res.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({res.returncode}):\n{res.output[-6000:]}"
        )
    return res


def write_sample_table(
    workdir: Path,
    ids: list[str] | None = None,
    rows: list[str] | None = None,
    broken: tuple[str, ...] = (),
    synthetic: dict[str, dict] | None = None,
    name: str = "samples.tsv",
) -> Path:
    """Copy small example structures to <workdir>/structures and write a sample table.

    ids: which of SMALL to use (default the first three), labelled 1.0, 2.0, ...;
    broken: extra ids whose "structure" is a text file that is no structure at all;
    synthetic: extra proteins made with esm_schnet.example.make_protein, id -> its keyword
    arguments plus `file` (name under structures/, its ending picks the format), e.g.
    {"seg": {"sizes": (20, 15), "names": "AA", "reuse": True, "file": "seg.pdb.gz"}};
    their label is the example's label of that protein;
    rows: tab-separated lines written as they are after the header `id structure label group`
    (for refusal tests; the structures are copied all the same).
    """
    workdir = Path(workdir)
    sdir = workdir / "structures"
    sdir.mkdir(parents=True, exist_ok=True)
    files = dict(SMALL)
    for sid, fname in SMALL:
        if not (sdir / fname).exists():
            shutil.copyfile(EXAMPLE / "structures" / fname, sdir / fname)
    header = "id\tstructure\tlabel\tgroup"
    if rows is None:
        chosen = ids if ids is not None else [s for s, _ in SMALL[:3]]
        rows = [f"{sid}\tstructures/{files[sid]}\t{k + 1}.0\tg{k}" for k, sid in enumerate(chosen)]
        for sid, spec in (synthetic or {}).items():
            from esm_schnet.example import make_protein, write_structure_file

            spec = dict(spec)
            fname = spec.pop("file", f"{sid}.pdb")
            protein = make_protein(sid, **spec)
            write_structure_file(protein, sdir / fname)
            rows.append(f"{sid}\tstructures/{fname}\t{protein.label:.3f}\tsynthetic")
        for k, sid in enumerate(broken):
            (sdir / f"{sid}.pdb").write_text("this is not a structure file\n")
            rows.append(f"{sid}\tstructures/{sid}.pdb\t{10 + k}.0\tbroken")
    path = workdir / name
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def tiny_config(**overrides) -> dict:
    return _merge({"samples": "samples.tsv"}, overrides)


@pytest.fixture(name="run_snakemake")
def _run_snakemake_fixture():
    if not SNAKEMAKE.exists():
        pytest.skip(f"no snakemake next to {sys.executable}")
    return run_snakemake


@pytest.fixture(name="sample_table")
def _sample_table_fixture():
    return write_sample_table


@pytest.fixture(name="tiny_config")
def _tiny_config_fixture():
    return tiny_config
