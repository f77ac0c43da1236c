"""Scale mode of `make-example` (`--fast`): thousands of proteins from a pool of folded backbones.

The bundled example folds every protein with the clash-checked growth of `folding.py` (1.5-6 s
per protein, O(L^2) clash tests): fine for 20 proteins, hours for 10,000. For scale benchmarks
(bench/scale_run.py) `make-example --n 10000 --fast` instead:

1. folds a pool of `--pool` single-chain proteins (default 64) with that same generator, from
   `--seed` (sizes 40-400 residues, log-uniform, as the example's single chains);
2. makes protein i (ids ex00001, ...) from its own random stream (`SeedSequence([seed, i])`, so
   protein i does not depend on n, and N = 500 is the first 500 proteins of N = 10,000): one pool
   backbone drawn at random, a FRESH sequence drawn by the example's burial rule
   (`_assign_sequence`) with the protein's own helix/hydrophobic/charge rates, its own residue
   numbering, a random rotation and translation, and its label from the example's formula.

Sequences are fresh per protein, so two proteins that share a backbone share no more sequence
than chance and the burial pattern give (measured: MMseqs2 at 30% identity, 80% coverage keeps
them apart, see bench/scale_run.py's `clusters`); their structures are the same fold, rigidly
moved. The sample table has no `group` column: sequence clustering (cv.scheme group) decides.
The committed example (`--n 20 --seed 0` without `--fast`) is untouched by this module.
"""

from __future__ import annotations

import math

import numpy as np

from esm_schnet.example.dataset import _fold, _numbering, _place_and_label
from esm_schnet.example.folding import ChainModel, _assign_sequence
from esm_schnet.example.writers import ExampleProtein

POOL = 64


def fold_pool(size: int = POOL, seed: int = 0) -> list[ChainModel]:
    """`size` single folded chains (40-400 residues, log-uniform), deterministic from `seed`."""
    rng = np.random.default_rng(seed)
    pool = []
    for _ in range(size):
        n = int(round(math.exp(rng.uniform(math.log(40), math.log(400)))))
        helix_frac = float(rng.uniform(0.2, 0.9))
        (chain,) = _fold(rng, [n], ["A"], helix_frac, 0.0, 0.5)
        pool.append(chain)
    return pool


def scale_protein(i: int, pool: list[ChainModel], seed: int = 0) -> ExampleProtein:
    """Protein i of the scale set: a pool backbone, a fresh sequence, its own pose and label."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, i]))
    src = pool[int(rng.integers(len(pool)))]
    chain = ChainModel(src.name, src.backbone.copy(), src.ss)
    hyd_bias = float(rng.uniform(-0.2, 0.2))
    charged = float(rng.uniform(0.1, 0.8))
    _assign_sequence([chain], hyd_bias, charged, rng)
    _numbering(chain, int(rng.integers(1, 12)))
    p = ExampleProtein(f"ex{i + 1:05d}", [chain], "pdb",
                       f"pool backbone, fresh sequence ({len(chain)} residues)", family="")
    _place_and_label(p, rng)
    return p


def make_scale_dataset(n: int, seed: int = 0, pool_size: int = POOL) -> list[ExampleProtein]:
    """`n` proteins of the scale set (see the module docstring)."""
    if n < 1:
        raise ValueError("n must be at least 1")
    if pool_size < 1:
        raise ValueError("pool must be at least 1")
    pool = fold_pool(pool_size, seed)
    return [scale_protein(i, pool, seed) for i in range(n)]


def write_scale_dataset(proteins: list[ExampleProtein], out, seed: int, pool_size: int):
    """structures/*.pdb, samples.tsv (id, structure, label: no group column) and a short README."""
    from pathlib import Path

    from esm_schnet.example.dataset import write_structure_file

    out = Path(out)
    sdir = out / "structures"
    sdir.mkdir(parents=True, exist_ok=True)
    rows = ["id\tstructure\tlabel"]
    for p in proteins:
        write_structure_file(p, sdir / p.filename, seed)
        rows.append(f"{p.id}\tstructures/{p.filename}\t{p.label:.3f}")
    table = out / "samples.tsv"
    table.write_text("\n".join(rows) + "\n")
    sizes = [p.n_residues for p in proteins]
    (out / "README.md").write_text(
        "# Synthetic scale set (not real proteins)\n\n"
        f"Made by: `esm-schnet make-example --out {out} --n {len(proteins)} --seed {seed} "
        f"--fast --pool {pool_size}` (source: `src/esm_schnet/example/scale.py`).\n\n"
        f"{len(proteins)} single-chain proteins, {sum(sizes)} residues ({min(sizes)} to "
        f"{max(sizes)} per protein): {pool_size} backbones folded by the example's generator, "
        "each protein one of them with a fresh random sequence (the example's burial rule), "
        "its own residue numbering, a random rotation and translation, and the example's label "
        "formula plus noise. No `group` column: sequence clustering decides the groups.\n"
    )
    return table
