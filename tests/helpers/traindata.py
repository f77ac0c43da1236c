"""Synthetic proteins for tests/train: C-alpha random walks, onehot features, shards, tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np

AA = "ACDEFGHIKLMNPQRSTVWY"


def onehot(seq: str) -> np.ndarray:
    x = np.zeros((len(seq), 21), np.float32)
    for i, a in enumerate(seq):
        x[i, AA.index(a) if a in AA else 20] = 1.0
    return x


def walk(n: int, rng: np.random.Generator, compact: float = 1.0) -> np.ndarray:
    """C-alpha trace: 3.8 A steps, pulled towards the centre (compact globule-ish)."""
    pos = np.zeros((n, 3))
    for i in range(1, n):
        step = rng.normal(size=3)
        step -= compact * 0.05 * pos[i - 1] / 3.8
        pos[i] = pos[i - 1] + 3.8 * step / np.linalg.norm(step)
    return (pos - pos.mean(0)).astype(np.float32)


def radius_of_gyration(ca: np.ndarray) -> float:
    c = ca - ca.mean(0)
    return float(np.sqrt((c**2).sum(1).mean()))


def make_records(n_proteins: int, seed: int = 0, sizes=(20, 60)):
    from esm_schnet.core.store import ProteinRecord

    rng = np.random.default_rng(seed)
    out = []
    for k in range(n_proteins):
        n = int(rng.integers(*sizes))
        seq = "".join(rng.choice(list(AA), n))
        ca = walk(n, rng, compact=float(rng.uniform(0.2, 2.0)))
        out.append(
            ProteinRecord(
                id=f"p{k:02d}", ca=ca, embedding=onehot(seq),
                residue_index=np.arange(1, n + 1, dtype=np.int32),
                chain_index=np.zeros(n, np.int32), sequence=seq, n_residues=n,
                windowed=False, chain_names=["A"],
            )
        )
    return out


def write_dataset(tmp: Path, records, labels: dict, n_shards: int = 2):
    """Shards + sample table (+ empty structure files, which the table only checks exist)."""
    from esm_schnet.core.store import write_shard

    tmp = Path(tmp)
    (tmp / "structures").mkdir(parents=True, exist_ok=True)
    shards = []
    for s in range(n_shards):
        path = tmp / "emb" / f"shard-{s:03d}.h5"
        write_shard(path, records[s::n_shards],
                    {"model_id": "onehot", "model_revision": "builtin", "layer": 0,
                     "dtype": "float32", "embedding_dim": 21})
        shards.append(str(path))
    lines = ["id\tstructure\tlabel"]
    for r in records:
        (tmp / "structures" / f"{r.id}.pdb").write_text("")
        lines.append(f"{r.id}\tstructures/{r.id}.pdb\t{labels[r.id]!r}")
    (tmp / "samples.tsv").write_text("\n".join(lines) + "\n")
    return shards, str(tmp / "samples.tsv")


def config_file(path, **sections) -> str:
    """A config YAML of `sections` at `path` (what `--config-file` takes outside Snakemake; the
    schema fills the rest); returns its path as text."""
    import yaml

    Path(path).write_text(yaml.safe_dump(sections, sort_keys=False))
    return str(path)
