"""Test data for tests/evaluate: synthetic CV outputs shaped like the train stage's
(fold-<k>/predictions.tsv, history.tsv) and tiny C-alpha-only PDB files."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class FakeRecord:
    """The fields of esm_schnet.core.store.ProteinRecord that evaluate uses."""

    id: str
    embedding: np.ndarray
    chain_index: np.ndarray
    n_residues: int


def convergence_entry(ratio, threshold=0.5):
    """A provenance.json `convergence` entry as the train stage writes it."""
    return {
        "converged": bool(ratio <= threshold), "final_train_loss": ratio,
        "mean_predictor_loss": 1.0, "ratio": ratio, "threshold": threshold,
        "hint": "" if ratio <= threshold else "raise training.lr or training.epochs",
    }


def synthetic_cv(tmp_path, n=24, n_folds=None, epochs=30, seed=0, convergence=None):
    """Write fold outputs for n proteins; returns a dict of paths and the records.

    convergence: {fold: entry} written into that fold's provenance.json (`convergence` key);
    folds not in it get a provenance.json without the key (as older runs wrote)."""
    rng = np.random.default_rng(seed)
    n_folds = n_folds or n
    ids = [f"p{i:02d}" for i in range(n)]
    chains = [rng.integers(1, 4) for _ in ids]
    lens = [rng.integers(60, 700, size=c) for c in chains]
    size = np.array([int(sum(x)) for x in lens])
    y = 0.1 * size + rng.normal(scale=8.0, size=n) + 20
    fold = np.arange(n) % n_folds
    records = {}
    for i, pid in enumerate(ids):
        ci = np.concatenate([np.full(L, c) for c, L in enumerate(lens[i])]).astype(np.int32)
        emb = rng.normal(size=(len(ci), 8)).astype(np.float32) + 0.01 * y[i]
        records[pid] = FakeRecord(pid, emb, ci, len(ci))
    cv = tmp_path / "results" / "cv" / "loocv"
    pred_paths, hist_paths, prov_paths = [], [], []
    convergence = convergence or {}
    for k in range(n_folds):
        d = cv / f"fold-{k}"
        d.mkdir(parents=True)
        te = fold == k
        pd.DataFrame(
            {"id": np.array(ids)[te], "y_true": y[te],
             "y_pred": y[te] + rng.normal(scale=5.0, size=te.sum()), "fold": k}
        ).to_csv(d / "predictions.tsv", sep="\t", index=False)
        ep = np.arange(1, epochs + 1)
        pd.DataFrame(
            {"epoch": ep, "train_loss": 1.0 / ep + 0.02 * rng.random(epochs),
             "val_loss": np.nan, "seconds": 0.1}
        ).to_csv(d / "history.tsv", sep="\t", index=False)
        prov = {"fold": k}
        if k in convergence:
            prov["convergence"] = convergence[k]
        (d / "provenance.json").write_text(json.dumps(prov))
        pred_paths.append(d / "predictions.tsv")
        hist_paths.append(d / "history.tsv")
        prov_paths.append(d / "provenance.json")
    folds = cv / "folds.tsv"
    pd.DataFrame({"id": ids, "fold": fold, "cluster": np.arange(n)}).to_csv(folds, sep="\t", index=False)
    samples = tmp_path / "samples.tsv"
    for pid in ids:
        (tmp_path / f"{pid}.pdb").write_text("")
    pd.DataFrame({"id": ids, "structure": [f"{p}.pdb" for p in ids], "label": y}).to_csv(
        samples, sep="\t", index=False
    )
    return dict(ids=ids, y=y, fold=fold, records=records, pred_paths=pred_paths,
                hist_paths=hist_paths, prov_paths=prov_paths, folds=folds, samples=samples, size=size)


AA3 = ["ALA", "GLY", "LEU", "SER", "LYS", "GLU", "VAL", "ASP", "PHE", "THR"]


def write_helix_pdb(path, n, chain="A", seed=0):
    """A C-alpha-only ideal helix of n residues (what the parser needs: ATOM records with CA)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    ca = np.stack([2.3 * np.cos(t * 1.745), 2.3 * np.sin(t * 1.745), 1.5 * t], axis=1)
    ca += rng.normal(scale=0.05, size=ca.shape)
    lines = []
    for i, (x, y, z) in enumerate(ca):
        res = AA3[(i * 7 + seed) % len(AA3)]
        lines.append(
            f"ATOM  {i + 1:5d}  CA  {res} {chain}{i + 1:4d}    {x:8.3f}{y:8.3f}{z:8.3f}"
            "  1.00 20.00           C"
        )
    path.write_text("\n".join(lines + ["TER", "END"]) + "\n")
