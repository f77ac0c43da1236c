"""The dataset: the proteins of `make-example`, their files, samples.tsv and README."""

from __future__ import annotations

import gzip
import io
import math
from pathlib import Path

import numpy as np

from esm_schnet.example.geometry import ATOM_MIN, CA_MIN, SC_DIST, SC_MIN, _random_rotation
from esm_schnet.example.folding import ChainModel, _Folder, _assign_sequence
from esm_schnet.example.label import LABEL_FORMULA, NOISE_SD, label_of, packing_stats
from esm_schnet.example.writers import ExampleProtein, cif_text, pdb_text


def _numbering(chain: ChainModel, start: int, insertion_at: int | None = None) -> None:
    numbers, icodes = [], []
    num = start
    for i in range(len(chain)):
        if insertion_at is not None and insertion_at < i <= insertion_at + 2:
            numbers.append(numbers[-1])
            icodes.append("AB"[i - insertion_at - 1])
            continue
        numbers.append(num)
        icodes.append("")
        num += 1
    chain.numbers, chain.icodes = numbers, icodes


def _fold(rng, sizes, names, helix_frac: float, hyd_bias: float, charged: float):
    folder = _Folder(rng, sum(sizes))
    chains = [folder.grow(n, helix_frac, name) for n, name in zip(sizes, names)]
    _assign_sequence(chains, hyd_bias, charged, rng)
    return chains


def _specials() -> list[dict]:
    """The proteins that exercise parser and workflow edge cases (always the first ones)."""
    return [
        dict(sizes=[380, 375, 385], names="ABC", format="pdb.gz",
             note="homotrimer-like complex, 1140 residues in 3 chains (> 1024 in total); gzipped"),
        dict(sizes=[124, 118], names="AB", format="pdb", note="two chains A and B"),
        dict(sizes=[96, 88], names="AA", format="pdb", reuse=True,
             note="two segments that share chain letter A, separated by TER; numbering restarts at 1"),
        dict(sizes=[152], names="A", format="cif", note="single chain, mmCIF format"),
        dict(sizes=[118], names="H", format="pdb", insertion=True,
             note="insertion codes: residues 52, 52A, 52B, 53 (antibody-style numbering)"),
        dict(sizes=[134], names="A", format="pdb", mse=True, waters=True,
             note="selenomethionine (MSE HETATM) residues and crystal waters (HOH)"),
        dict(sizes=[64, 58, 61], names="ABC", format="pdb", note="three small chains A, B, C"),
    ]  # fmt: skip


def _new_protein(pid: str, spec: dict, rng: np.random.Generator) -> ExampleProtein:
    helix_frac = float(rng.uniform(0.2, 0.9))
    hyd_bias = float(rng.uniform(-0.2, 0.2))
    charged = float(rng.uniform(0.1, 0.8))
    chains = _fold(rng, spec["sizes"], list(spec["names"]), helix_frac, hyd_bias, charged)
    p = ExampleProtein(pid, chains, spec["format"], spec["note"],
                       segments_reuse_letter=spec.get("reuse", False), family=pid)
    for c in chains:
        # numbering restarts at 1 for segments that reuse a letter, else a random start
        start = 1 if p.segments_reuse_letter else int(rng.integers(1, 12))
        _numbering(c, start, insertion_at=(52 - start) if spec.get("insertion") else None)
    if spec.get("mse"):
        c = chains[0]
        mets = [i for i, aa in enumerate(c.sequence) if aa == "M"]
        extra = [i for i in rng.choice(len(c), 3, replace=False)]
        for i in sorted(set(mets[:2]) | set(int(e) for e in extra)):
            c.sequence = c.sequence[:i] + "M" + c.sequence[i + 1 :]
            c.hetero.add(i)
    if spec.get("waters"):
        p.waters = _waters(chains, rng, 12)
    return p


def _place_and_label(p: ExampleProtein, rng: np.random.Generator) -> None:
    chains = p.chains
    # random orientation and position, then round to what the file stores
    rot = _random_rotation(rng)
    shift = rng.uniform(-30, 30, 3)
    for c in chains:
        c.backbone = np.round(c.backbone @ rot.T + shift, 3)
    if p.waters is not None:
        p.waters = np.round(p.waters @ rot.T + shift, 3)
    ca, chain_index = _ca_and_index(p)
    p.label_clean = label_of("".join(c.sequence for c in chains), ca, chain_index)
    p.label = p.label_clean + float(rng.normal(0, NOISE_SD))


def make_protein(
    pid: str = "prot",
    sizes: tuple[int, ...] | list[int] = (60,),
    seed: int = 0,
    names: str | None = None,
    fmt: str = "pdb",
    **options,
) -> ExampleProtein:
    """One synthetic protein outside the bundled set (for tests and demos).

    sizes: residues per chain; names: chain letters (default A, B, ...); fmt: pdb, cif or
    pdb.gz; options: reuse=True (segments share the first letter, numbering restarts),
    insertion=True (52, 52A, 52B), mse=True, waters=True, note="...".
    """
    rng = np.random.default_rng(seed)
    names = names or "ABCDEFGHIJ"[: len(sizes)]
    if len(names) != len(sizes):
        raise ValueError("one chain name per size")
    spec = dict(sizes=list(sizes), names=names, format=fmt, note=options.pop("note", "synthetic"))
    spec.update(options)
    p = _new_protein(pid, spec, rng)
    _place_and_label(p, rng)
    return p


def write_structure_file(p: ExampleProtein, path: str | Path, seed: int = 0) -> Path:
    """Write one protein as PDB, mmCIF or gzipped PDB, chosen by the file name's ending."""
    path = Path(path)
    name = path.name.lower()
    if name.endswith((".cif", ".mmcif")):
        path.write_text(cif_text(p, seed))
    elif name.endswith(".gz"):
        buf = io.BytesIO()
        # mtime=0 and no file name: the same seed gives the same bytes
        with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0) as gz:
            gz.write(pdb_text(p, seed).encode("ascii"))
        path.write_bytes(buf.getvalue())
    else:
        path.write_text(pdb_text(p, seed))
    return path


def make_dataset(n: int = 20, seed: int = 0) -> list[ExampleProtein]:
    """Fold and label `n` synthetic proteins (deterministic from `seed`)."""
    if n < 1:
        raise ValueError("n must be at least 1")
    rng = np.random.default_rng(seed)
    specs = _specials()[:n]
    # One near-copy (same sequence, coordinates perturbed by 0.25 A), like a protein solved twice,
    # then single chains of 40-400 residues (log-uniform).
    n_rest = n - len(specs)
    copy_of = len(specs) if n_rest >= 2 else None
    for j in range(n_rest):
        if copy_of is not None and j == 1:
            specs.append(dict(copy=copy_of, format="pdb", note="near-copy of the previous protein"))
            continue
        size = int(round(math.exp(rng.uniform(math.log(40), math.log(400)))))
        specs.append(dict(sizes=[size], names="A", format="pdb", note="single chain"))

    proteins: list[ExampleProtein] = []
    for idx, spec in enumerate(specs):
        pid = f"ex{idx + 1:02d}"
        if "copy" in spec:
            src = proteins[spec["copy"]]
            chains = []
            for c in src.chains:
                noisy = c.backbone + rng.normal(0, 0.25, c.backbone.shape)
                chains.append(
                    ChainModel(c.name, noisy, c.ss, c.sequence, list(c.numbers), list(c.icodes))
                )
            p = ExampleProtein(pid, chains, spec["format"], f"near-copy of {src.id} "
                               "(same sequence, coordinates perturbed by 0.25 A)",
                               family=src.family)
        else:
            p = _new_protein(pid, spec, rng)
        _place_and_label(p, rng)
        proteins.append(p)
    return proteins


def _waters(chains: list[ChainModel], rng, count: int) -> np.ndarray:
    atoms = np.concatenate([c.backbone.reshape(-1, 3) for c in chains])
    centre = atoms.mean(0)
    out = []
    while len(out) < count:
        i = int(rng.integers(len(atoms)))
        d = atoms[i] - centre
        p = atoms[i] + 3.0 * d / np.linalg.norm(d) + rng.normal(0, 0.5, 3)
        if np.linalg.norm(atoms - p, axis=1).min() > 2.6:
            out.append(p)
    return np.array(out)


def write_dataset(proteins: list[ExampleProtein], out: str | Path, seed: int) -> Path:
    """Write structures/, samples.tsv and README.md under `out`; returns the samples.tsv path."""
    out = Path(out)
    sdir = out / "structures"
    sdir.mkdir(parents=True, exist_ok=True)
    for p in proteins:
        write_structure_file(p, sdir / p.filename, seed)
    table = out / "samples.tsv"
    rows = ["id\tstructure\tlabel\tgroup"]
    rows += [f"{p.id}\tstructures/{p.filename}\t{p.label:.3f}\t{p.family}" for p in proteins]
    table.write_text("\n".join(rows) + "\n")
    (out / "README.md").write_text(readme_text(proteins, seed))
    return table


def _ca_and_index(p: ExampleProtein) -> tuple[np.ndarray, np.ndarray]:
    ca = np.concatenate([c.ca for c in p.chains])
    index = np.concatenate([np.full(len(c), i) for i, c in enumerate(p.chains)])
    return ca, index


def readme_text(proteins: list[ExampleProtein], seed: int) -> str:
    n_res = sum(p.n_residues for p in proteins)
    sizes = [p.n_residues for p in proteins]
    stats = [packing_stats(*_ca_and_index(p)) for p in proteins]

    def span(key: str, fmt: str) -> str:
        vals = [st[key] for st in stats]
        return f"{min(vals):{fmt}} to {max(vals):{fmt}} (mean {sum(vals) / len(vals):{fmt}})"

    table = "\n".join(
        f"| {p.id} | `structures/{p.filename}` | {len(p.chains)} | {p.n_residues} | "
        f"{p.label:.3f} | {p.note} |"
        for p in proteins
    )
    return f"""# Example dataset (synthetic)

**These are not real proteins.** Every structure here is a synthetic backbone model written by
this project's own code, so that the default configuration runs end to end in minutes on a
laptop, with no download and no third-party data. Numbers measured on it say nothing about real
proteins; use your own sample table (or the jclinic set) for that.

- Made by: `esm-schnet make-example --out resources/example --n {len(proteins)} --seed {seed}`
  (source: `src/esm_schnet/example.py`). The same command and seed rewrite the same files.
- {len(proteins)} proteins, {n_res} residues in total ({min(sizes)} to {max(sizes)} per protein).
- Files: `samples.tsv` (columns `id`, `structure`, `label`, `group`) and `structures/`.
- Provenance: generated with numpy from the seed above; no experimental or database structure
  was used or copied. License: same as the repository.

## How the structures are made

Secondary-structure plans (alpha helices, beta strands, loops) are turned into backbones by
growing N, CA, C, O residue by residue from dihedral angles with ideal bond lengths and angles
(Engh & Huber): helices at phi/psi near (-57, -47) degrees (1.5 A rise and 100 degrees per
residue), strands near (-120, 130), loops from the populated Ramachandran regions, omega 180.
Each loop and the element after it is placed greedily: candidate conformations that clash
(non-neighbouring C-alpha atoms closer than {CA_MIN} A, backbone atoms closer than {ATOM_MIN} A,
side-chain pseudo-atoms {SC_DIST} A out along CA->CB closer than {SC_MIN} A) are rejected and the
one with the most C-alpha contacts to what is already placed is kept (a dead end backtracks),
which packs the chains into a compact globule. An ideal C-beta is added to every residue except
glycine; there are no other side-chain atoms and no hydrogens. Residue types are drawn
afterwards: buried helix and strand positions favour hydrophobic residues, the others the
usual helix/strand/loop residues or polar and charged ones, at rates that differ from protein
to protein (so composition is not a function of size). B-factors grow with the distance from
the centre.
Each protein is then rotated and translated at random.

How realistic (measured on these files; in brackets the same figures for the 42 crystal
structures of the jclinic set): radius of gyration / (2.2 N^0.38 A) {span("rg_ratio", ".2f")}
[0.91 to 1.22, mean 1.03]; non-local C-alpha neighbours within 8 A per residue
{span("neighbours_8A", ".1f")} [5.1 to 7.3, mean 6.1]; closest non-local C-alpha pair
{span("min_ca_ca", ".2f")} A [3.3 to 4.4]. So the globules are compact and free of clashes but
somewhat less densely packed than real proteins, and there are no real sequence-structure
relationships beyond the burial rule above.

The proteins (the first seven exercise the parser on purpose):

| id | file | chains | residues | label | what it is |
|----|------|-------:|---------:|------:|------------|
{table}

`group` is the protein's family: a near-copy (same sequence, coordinates perturbed by 0.25 A,
like one protein solved twice) shares the family of its original, every other protein is its own.

## The label

A structure-derived number that a SchNet on C-alpha graphs can learn:

    {LABEL_FORMULA}

- `H`: number of residues in A, V, I, L, M, F, W, Y (selenomethionine counts as M), all chains;
- `Q`: number of charged residues D, E, K, R;
- `C`: number of C-alpha pairs closer than 8 A that are not near in sequence (|i - j| >= 3
  within a chain, or in different chains);
- `Rg`: radius of gyration of all C-alpha atoms, in Angstrom;
- `e`: Gaussian noise drawn from the same seed, standard deviation {NOISE_SD}.

`esm_schnet.example.label_of(sequence, ca, chain_index)` computes the noise-free part from a parsed
structure, so the label can be checked against the files.
"""


