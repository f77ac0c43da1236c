"""Embedding shards (HDF5) and their manifest: the contract between the embed and train stages.

Shard file `results/embeddings/<tag>/shard-NNN.h5`:
- file attrs: `kind`="embeddings", `schema_version`, `featurizer` (registered name: esm2, onehot,
  a plugin's) and `featurizer_kind` (language model, onehot, ...), `model_id`, `model_revision`
  (hub commit, `sha256:<weights hash>` for a local directory, `builtin` for onehot),
  `requested_revision` (the configured `embedding.revision`), `layer` (hidden-state
  index actually exported), `dtype` (compute dtype), `storage_dtype`, `embedding_dim`, `window`,
  `overlap`, `package_version`, `n_proteins`;
- one group per protein id (ids are file-name safe, so valid group names) with datasets
  `ca` [L,3] float32 (C-alpha coordinates, Angstrom), `embedding` [L,D] (storage dtype),
  `residue_index` [L] int32 (author residue numbers from the structure file),
  `chain_index` [L] int32 (0-based index of the residue's chain in the protein),
  and attrs `sequence` (the chains' sequences joined by '/', in chain order), `n_residues` (L),
  `windowed` (True if any chain was longer than the window), `chain_names` (author chain ids).
Residues are in the protein's residue order: chain by chain, as parsed; row i of `embedding`
belongs to row i of `ca`.

Files are written to a temporary name in the same directory and renamed (atomic). A file that
cannot be read raises CorruptFileError naming it (delete it and rerun).

Manifest `results/embeddings/<tag>/manifest.tsv`: columns id, shard (file name, relative to the
manifest's directory), n_residues, n_chains, windowed.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from esm_schnet import __version__
from esm_schnet.core.errors import CorruptFileError, EsmSchnetError
from esm_schnet.core.files import first_line, open_h5, write_h5, write_tsv

SCHEMA_VERSION = 1
KIND = "embeddings"
SEPARATOR = "/"
# file attrs that must agree between shards loaded together
MODEL_ATTRS = ("model_id", "model_revision", "layer", "dtype", "embedding_dim")


@dataclass
class ProteinRecord:
    id: str
    ca: np.ndarray  # [L, 3] float32
    embedding: np.ndarray | None  # [L, D] (None when read with embeddings=False)
    residue_index: np.ndarray  # [L] int32, author residue numbers
    chain_index: np.ndarray  # [L] int32, 0-based chain of each residue
    sequence: str  # chain sequences joined by '/'
    n_residues: int
    windowed: bool = False
    chain_names: list[str] = field(default_factory=list)

    @property
    def sequences(self) -> list[str]:
        return self.sequence.split(SEPARATOR) if self.sequence else []

    @property
    def n_chains(self) -> int:
        return len(self.sequences)

    def validate(self) -> None:
        L = self.n_residues
        problems = []
        if self.ca.shape != (L, 3):
            problems.append(f"ca has shape {self.ca.shape}, expected ({L}, 3)")
        if self.embedding is not None and (self.embedding.ndim != 2 or self.embedding.shape[0] != L):
            problems.append(f"embedding has shape {self.embedding.shape}, expected ({L}, D)")
        for name in ("residue_index", "chain_index"):
            if getattr(self, name).shape != (L,):
                problems.append(f"{name} has shape {getattr(self, name).shape}, expected ({L},)")
        if sum(map(len, self.sequences)) != L:
            problems.append(f"sequence has {sum(map(len, self.sequences))} residues, expected {L}")
        if problems:
            raise EsmSchnetError(f"protein {self.id!r}: " + "; ".join(problems))


def write_shard(
    path: str | os.PathLike,
    records: Iterable[ProteinRecord],
    attrs: dict,
    *,
    storage_dtype: str = "float32",
) -> None:
    """Write records into an HDF5 shard atomically (temp file in the same dir, then rename).

    `attrs` are the file attrs (model_id, model_revision, layer, dtype, ...); kind,
    schema_version, package_version, storage_dtype and n_proteins are added here.
    """
    sdtype = np.dtype(storage_dtype)
    n = 0
    with write_h5(path) as f:
        for key, value in attrs.items():
            f.attrs[key] = value
        f.attrs["kind"] = KIND
        f.attrs["schema_version"] = SCHEMA_VERSION
        f.attrs["package_version"] = __version__
        f.attrs["storage_dtype"] = sdtype.name
        for rec in records:
            rec.validate()
            if rec.id in f:
                raise EsmSchnetError(f"protein {rec.id!r} written twice into {path}")
            g = f.create_group(rec.id)
            g.create_dataset("ca", data=np.asarray(rec.ca, dtype=np.float32))
            g.create_dataset("embedding", data=np.asarray(rec.embedding, dtype=sdtype))
            g.create_dataset("residue_index", data=np.asarray(rec.residue_index, dtype=np.int32))
            g.create_dataset("chain_index", data=np.asarray(rec.chain_index, dtype=np.int32))
            g.attrs["sequence"] = rec.sequence
            g.attrs["n_residues"] = int(rec.n_residues)
            g.attrs["windowed"] = bool(rec.windowed)
            g.attrs["chain_names"] = [str(c) for c in rec.chain_names]
            n += 1
        f.attrs["n_proteins"] = n


def _open(path: str | os.PathLike):
    return open_h5(path, KIND, what="embedding shard", missing="run the embed step",
                   own_output=True)


def _attr_value(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return [_attr_value(x) for x in v.tolist()]
    return v


def shard_attrs(path: str | os.PathLike) -> dict:
    """File attrs of a shard as plain Python values."""
    f = _open(path)
    try:
        return {k: _attr_value(v) for k, v in f.attrs.items()}
    except (OSError, KeyError, ValueError) as exc:
        raise CorruptFileError(path, first_line(exc, 160)) from None
    finally:
        f.close()


def read_shard(
    path: str | os.PathLike, ids: Iterable[str] | None = None, *, embeddings: bool = True
) -> dict[str, ProteinRecord]:
    """Records of a shard (all, or those in `ids`), in file order; embeddings in storage dtype."""
    f = _open(path)
    try:
        wanted = None if ids is None else set(ids)
        out: dict[str, ProteinRecord] = {}
        for pid in f.keys():
            if wanted is not None and pid not in wanted:
                continue
            g = f[pid]
            rec = ProteinRecord(
                id=pid,
                ca=g["ca"][()],
                embedding=g["embedding"][()] if embeddings else None,
                residue_index=g["residue_index"][()],
                chain_index=g["chain_index"][()],
                sequence=str(_attr_value(g.attrs["sequence"])),
                n_residues=int(g.attrs["n_residues"]),
                windowed=bool(g.attrs["windowed"]),
                chain_names=[str(c) for c in _attr_value(g.attrs.get("chain_names", []))],
            )
            rec.validate()
            out[pid] = rec
        return out
    except (OSError, KeyError, ValueError, EsmSchnetError) as exc:
        raise CorruptFileError(path, first_line(exc, 160)) from None
    finally:
        f.close()


def index_shards(
    paths: Sequence[str | os.PathLike], ids: Iterable[str] | None = None
) -> tuple[dict[str, Path], dict]:
    """(id -> shard path, file attrs of the first non-empty shard) for the proteins in `ids`
    (all when None), reading only the files' attrs and group names, not their data.

    Shards must come from the same model (model_id, revision, layer, dtype, dim); a protein id
    must not appear twice; every id asked for must be there.
    """
    wanted = None if ids is None else set(ids)
    out: dict[str, Path] = {}
    first: tuple[Path, dict, dict] | None = None
    for p in dict.fromkeys(Path(x) for x in paths):
        attrs = shard_attrs(p)
        model = {k: attrs.get(k) for k in MODEL_ATTRS}
        if not attrs.get("n_proteins"):
            continue  # an empty shard loads no model: nothing to compare, nothing to read
        if first is None:
            first = (p, model, attrs)
        elif model != first[1]:
            raise EsmSchnetError(
                f"embedding shards {first[0]} and {p} come from different models "
                f"({first[1]} vs {model}): delete the stale shards and rerun"
            )
        with _open(p) as f:
            try:
                names = list(f.keys())
            except (OSError, KeyError, ValueError) as exc:
                raise CorruptFileError(p, first_line(exc, 160)) from None
        for pid in names:
            if wanted is not None and pid not in wanted:
                continue
            if pid in out:
                raise EsmSchnetError(f"protein {pid!r} appears in more than one shard (e.g. {p})")
            out[pid] = p
    if wanted is not None:
        missing = sorted(wanted - out.keys())
        if missing:
            raise EsmSchnetError(
                f"{len(missing)} protein(s) have no embeddings in the given shards: "
                + ", ".join(missing[:10])
                + (" ..." if len(missing) > 10 else "")
            )
    return out, ({} if first is None else first[2])


def load_records(
    paths: Sequence[str | os.PathLike], ids: Iterable[str] | None = None, *, embeddings: bool = True
) -> dict[str, ProteinRecord]:
    """Records of several shards (e.g. every shard of a model tag, or the manifest's values),
    all in memory (training reads them batch by batch instead: esm_schnet.train.dataset).

    Shards must come from the same model (model_id, revision, layer, dtype, dim); a protein id
    must not appear twice (see index_shards).
    """
    index, _ = index_shards(paths, ids)
    by_shard: dict[Path, set[str]] = {}
    for pid, p in index.items():
        by_shard.setdefault(p, set()).add(pid)
    out: dict[str, ProteinRecord] = {}
    for p, wanted in by_shard.items():
        out.update(read_shard(p, wanted, embeddings=embeddings))
    return out


MANIFEST_COLUMNS = ("id", "shard", "n_residues", "n_chains", "windowed")


def write_manifest(shard_paths: Sequence[str | os.PathLike], out: str | os.PathLike) -> int:
    """Manifest TSV (id -> shard file name, relative to the manifest's dir); returns the row count."""
    out = Path(out)
    rows = []
    for p in shard_paths:
        p = Path(p)
        for pid, rec in read_shard(p, embeddings=False).items():
            rel = os.path.relpath(p.resolve(), out.parent.resolve())
            rows.append((pid, rel, rec.n_residues, rec.n_chains, int(rec.windowed)))
    rows.sort()
    counts = Counter(r[0] for r in rows)
    dup = {pid for pid, c in counts.items() if c > 1}
    if dup:
        raise EsmSchnetError(f"protein(s) in more than one shard: {', '.join(sorted(dup))}")
    write_tsv(out, MANIFEST_COLUMNS, [dict(zip(MANIFEST_COLUMNS, r)) for r in rows])
    return len(rows)


def read_manifest(path: str | os.PathLike) -> dict[str, Path]:
    """id -> shard path (resolved against the manifest's directory)."""
    path = Path(path)
    base = path.parent
    out: dict[str, Path] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        if reader.fieldnames is None or not {"id", "shard"} <= set(reader.fieldnames):
            raise CorruptFileError(path, "missing id/shard columns")
        for row in reader:
            out[row["id"]] = base / row["shard"]
    return out


def summarize_shard(path: str | os.PathLike) -> dict:
    """What `esm-schnet inspect` shows for a shard: provenance attrs and one entry per protein."""
    attrs = shard_attrs(path)
    recs = read_shard(path, embeddings=False)
    proteins = []
    with _open(path) as f:
        for pid, rec in recs.items():
            shape = list(f[pid]["embedding"].shape)
            dtype = str(f[pid]["embedding"].dtype)
            proteins.append(
                {
                    "id": pid,
                    "n_residues": rec.n_residues,
                    "n_chains": rec.n_chains,
                    "chains": [
                        {"name": name, "n_residues": len(seq), "sequence": seq}
                        for name, seq in zip(
                            rec.chain_names or [""] * rec.n_chains, rec.sequences, strict=False
                        )
                    ],
                    "embedding_shape": shape,
                    "embedding_dtype": dtype,
                    "windowed": rec.windowed,
                }
            )
    return {"file": str(path), "kind": KIND, "attrs": attrs, "proteins": proteins}


def format_shard_summary(summary: dict) -> str:
    a = summary["attrs"]
    lines = [
        f"{summary['file']}: embedding shard (schema {a.get('schema_version')}), "
        f"{len(summary['proteins'])} protein(s)",
        f"  featurizer {a.get('featurizer', '?')} ({a.get('featurizer_kind', '?')}), "
        f"model {a.get('model_id')} @ {a.get('model_revision')}, layer {a.get('layer')}, "
        f"dim {a.get('embedding_dim')}, compute {a.get('dtype')}, stored {a.get('storage_dtype')}, "
        f"window {a.get('window')}/{a.get('overlap')}, esm-schnet {a.get('package_version')}",
    ]
    for p in summary["proteins"]:
        chains = ", ".join(f"{c['name'] or '?'}:{c['n_residues']}" for c in p["chains"])
        lines.append(
            f"  {p['id']}: {p['n_residues']} residues, {p['n_chains']} chain(s) [{chains}], "
            f"embedding {tuple(p['embedding_shape'])} {p['embedding_dtype']}"
            + (", windowed" if p["windowed"] else "")
        )
        for c in p["chains"]:
            seq = c["sequence"]
            lines.append(f"    {c['name'] or '?'}: {seq[:60]}{'...' if len(seq) > 60 else ''}")
    return "\n".join(lines)


def manifest_job(shard_paths: Sequence[str | os.PathLike], out: str | os.PathLike, log_path=None) -> int:
    """The `manifest` rule: write the manifest of all shards of a model tag, logging to log_path."""
    import logging

    from esm_schnet.core.log import job_log

    with job_log(log_path):
        n = write_manifest(list(shard_paths), out)
        logging.getLogger("esm_schnet.core.store").info("manifest %s: %d proteins in %d shards", out, n, len(shard_paths))
    return n
