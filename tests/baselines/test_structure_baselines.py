"""The structure-aware baselines (esm_schnet.baselines.structure): the per-protein summaries of
the parse-time descriptors, what each baseline can learn that the sequence-only ridge cannot,
and their skip where no structures are given."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from esm_schnet import baselines
from esm_schnet.baselines import Proteins
from esm_schnet.baselines.structure import (
    AMINO_ACIDS, STRUCTURE_COLUMNS, SURFACE_COLUMNS, read_structure_summaries, structure_summary,
)
from esm_schnet.core.errors import InputError
from esm_schnet.parse import DESCRIPTOR_COLUMNS, parse_structure, write_structure_h5

EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "example" / "structures"
COL = {c: k for k, c in enumerate(DESCRIPTOR_COLUMNS)}


def _descriptors(rsa, ok=None, ss="C"):
    d = np.zeros((len(rsa), len(DESCRIPTOR_COLUMNS)))
    d[:, COL["rsa"]] = rsa
    d[:, COL["rsa_ok"]] = 1 if ok is None else ok
    d[:, COL[f"ss_{ss}"]] = 1
    d[:, COL["ss_ok"]] = 1
    return d


def test_summary_splits_composition_by_exposure_and_honours_masks():
    #            A exposed, A buried, K exposed, K undefined (mask 0: left out)
    d = _descriptors([0.6, 0.1, 0.25, 0.9], ok=[1, 1, 1, 0], ss="H")
    pooled, surface = structure_summary("AAKK", d, DESCRIPTOR_COLUMNS)
    assert pooled.shape == (len(STRUCTURE_COLUMNS),) and surface.shape == (len(SURFACE_COLUMNS),)
    exposed = dict(zip(AMINO_ACIDS, surface[:20]))
    buried = dict(zip(AMINO_ACIDS, surface[20:]))
    assert exposed["A"] == pytest.approx(0.5) and exposed["K"] == pytest.approx(0.5)
    assert buried["A"] == pytest.approx(1.0) and buried["K"] == 0
    p = dict(zip(STRUCTURE_COLUMNS, pooled))
    assert p["rsa_mean"] == pytest.approx((0.6 + 0.1 + 0.25) / 3)  # the masked 0.9 left out
    assert p["exposed_fraction"] == pytest.approx(2 / 3)
    assert p["helix_fraction"] == 1 and p["coil_fraction"] == 0
    with pytest.raises(ValueError, match="residue letters"):
        structure_summary("AAK", d, DESCRIPTOR_COLUMNS)


def test_summaries_read_from_parsed_structure_files(tmp_path):
    paths = []
    for name in ("ex02.pdb", "ex03.pdb"):
        protein = parse_structure(EXAMPLE / name, name.split(".")[0])
        paths.append(tmp_path / f"{protein.id}.h5")
        write_structure_h5(protein, paths[-1])
    out = read_structure_summaries(paths)
    assert set(out) == {"ex02", "ex03"}
    for pooled, surface in out.values():
        p = dict(zip(STRUCTURE_COLUMNS, pooled))
        assert 0 < p["exposed_fraction"] < 1 and 0 < p["rsa_mean"] < 1.5
        assert p["helix_fraction"] + p["strand_fraction"] + p["coil_fraction"] == pytest.approx(1)
        assert surface[:20].sum() == pytest.approx(1) and surface[20:].sum() == pytest.approx(1)
    # a structure parsed without descriptors (an older version's file) is one clear error
    old = parse_structure(EXAMPLE / "ex02.pdb", "old", descriptors=False)
    write_structure_h5(old, tmp_path / "old.h5")
    with pytest.raises(InputError, match="old.*parse it again"):
        read_structure_summaries([tmp_path / "old.h5"])


def _proteins(n, rng):
    """Proteins whose overall composition is uninformative: every protein has the same counts of
    A and K; only WHICH of them are exposed varies, and the label follows that."""
    n_res = np.full(n, 100.0)
    mean = np.zeros((n, 20))
    mean[:, AMINO_ACIDS.index("A")] = mean[:, AMINO_ACIDS.index("K")] = 0.5
    k_exposed = rng.uniform(0, 1, n)  # fraction of the K residues that sit on the surface
    surface = np.zeros((n, 40))
    surface[:, AMINO_ACIDS.index("K")] = k_exposed
    surface[:, AMINO_ACIDS.index("A")] = 1 - k_exposed
    surface[:, 20 + AMINO_ACIDS.index("K")] = 1 - k_exposed
    surface[:, 20 + AMINO_ACIDS.index("A")] = k_exposed
    structure = np.column_stack([rng.uniform(0.1, 0.4, n), np.full(n, 0.5),
                                 rng.uniform(0, 1, (n, len(STRUCTURE_COLUMNS) - 2))])
    p = Proteins.from_arrays([f"p{i}" for i in range(n)], n_res, mean, mean * 100)
    return p.with_structure(structure, surface), k_exposed, structure


def _rmse(pred, y):
    return float(np.sqrt(np.mean((pred - y) ** 2)))


def test_ridge_surface_sees_exposure_the_sequence_ridge_cannot():
    rng = np.random.default_rng(0)
    proteins, k_exposed, _ = _proteins(60, rng)
    y = 40 * k_exposed + rng.normal(0, 1, 60)
    fold = np.arange(60) % 5
    preds, info = baselines.run("regression", proteins.with_labels(y), fold)
    assert _rmse(preds["ridge_surface"], y) < 0.2 * _rmse(preds["ridge_seq"], y)
    assert set(info["ridge_surface_per_fold"]) == set(range(5))


def test_hgb_learns_a_threshold_on_pooled_structure():
    rng = np.random.default_rng(1)
    proteins, _, structure = _proteins(120, rng)
    helix = structure[:, STRUCTURE_COLUMNS.index("helix_fraction")]
    y = np.where(helix > 0.5, 80.0, 20.0) + rng.normal(0, 2, 120)
    fold = np.arange(120) % 4
    preds, info = baselines.run("regression", proteins.with_labels(y), fold)
    assert _rmse(preds["hgb_struct"], y) < 0.5 * _rmse(preds["ridge_seq"], y)
    chosen = info["hgb_struct_per_fold"]
    assert set(chosen) == set(range(4)) and all(np.isfinite(c["inner_mse"]) for c in chosen.values())


def test_skipped_without_structures_and_never_shown_a_test_label():
    rng = np.random.default_rng(2)
    proteins, k_exposed, _ = _proteins(20, rng)
    bare = Proteins.from_arrays(proteins.ids, proteins.n_residues, proteins.mean, proteins.summed)
    preds, _ = baselines.run("regression", bare.with_labels(k_exposed), np.arange(20) % 4)
    assert "hgb_struct" not in preds and "ridge_surface" not in preds and "ridge_seq" in preds
    test = proteins.take(np.arange(20) < 5, labels=False)
    assert test.labels is None and test.structure.shape == (5, len(STRUCTURE_COLUMNS))
    assert test.surface.shape == (5, 40)
