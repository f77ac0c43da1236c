"""model.node_features (esm_schnet.encoders.node_features): which descriptor columns a group
means, their order, masks and width; the checks on a protein's features; the setting in the
schema and in ModelConfig."""

from __future__ import annotations

import numpy as np
import pytest

from esm_schnet.core.errors import ConfigError, EsmSchnetError
from esm_schnet.encoders import node_features as nf
from esm_schnet.parse.descriptors import COLUMNS


def _full(n=5, seed=0):
    """A descriptor array [n, 17] whose column j holds j + 0.01 * row (easy to trace)."""
    return (np.arange(len(COLUMNS))[None, :] + 0.01 * np.arange(n)[:, None]).astype(np.float32)


def test_every_group_names_existing_columns_and_each_column_once():
    seen = [c for cols in nf.GROUPS.values() for c in cols]
    assert set(seen) <= set(COLUMNS) and len(seen) == len(set(seen))
    # every descriptor column (values and masks) belongs to one group
    assert set(seen) == set(COLUMNS)


def test_columns_with_masks_in_canonical_order_whatever_the_setting_order():
    assert nf.columns(["ss", "rsa"]) == ("rsa", "rsa_ok", "ss_H", "ss_E", "ss_C", "ss_ok")
    assert nf.columns(["rsa", "ss"]) == nf.columns(["ss", "rsa"])
    assert nf.columns(["dihedrals"]) == ("phi_sin", "phi_cos", "psi_sin", "psi_cos",
                                         "phi_ok", "psi_ok")
    assert nf.columns(["hse", "neighbours"]) == ("cn8", "cn12", "hse_up", "hse_down", "hse_ok")
    assert nf.columns([]) == () and nf.width([]) == 0
    assert nf.width(["rsa", "ss"]) == 6
    assert nf.width(list(nf.GROUPS)) == len(COLUMNS)
    assert nf.normalise(["hse", "rsa"]) == ["rsa", "hse"]


def test_unknown_or_repeated_group_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown group.*'sasa'"):
        nf.columns(["sasa"])
    with pytest.raises(ConfigError, match="twice"):
        nf.normalise(["rsa", "rsa"])


def test_select_picks_the_columns_and_scales_the_counts():
    d = _full()
    got = nf.select(d, ["ss", "rsa", "neighbours"])
    names = nf.columns(["rsa", "ss", "neighbours"])
    assert got.dtype == np.float32 and got.shape == (5, len(names))
    for j, c in enumerate(names):
        want = d[:, COLUMNS.index(c)] / (nf.COUNT_SCALE if c in nf.COUNTS else 1.0)
        np.testing.assert_allclose(got[:, j], want, rtol=1e-6)
    # a missing value stays 0 with its mask 0
    d[2, COLUMNS.index("rsa")] = 0.0
    d[2, COLUMNS.index("rsa_ok")] = 0.0
    assert nf.select(d, ["rsa"])[2].tolist() == [0.0, 0.0]


def test_node_inputs_appends_after_the_embedding():
    emb = np.arange(15, dtype=np.float16).reshape(5, 3)
    feats = nf.node_features("p", _full(), ["rsa"], 5)
    x = nf.node_inputs(emb, feats)
    assert x.shape == (5, 5) and x.dtype == np.float32
    np.testing.assert_array_equal(x[:, :3], emb.astype(np.float32))
    np.testing.assert_array_equal(x[:, 3:], feats)
    same = nf.node_inputs(emb, None)
    assert same.dtype == np.float32 and np.array_equal(same, emb.astype(np.float32))


def test_a_protein_whose_features_do_not_fit_is_one_clear_line():
    with pytest.raises(EsmSchnetError, match="protein 'p': its structure file has 5 residues, "
                                              "its embedding 6"):
        nf.node_features("p", _full(5), ["rsa"], 6)
    bad = _full()
    bad[1, COLUMNS.index("rsa")] = np.nan
    with pytest.raises(EsmSchnetError, match="NaN"):
        nf.node_features("p", bad, ["rsa"], 5)
    with pytest.raises(EsmSchnetError, match=r"x.h5: written before structural descriptors "
                                              r"\(schema 1\).*parse it again"):
        nf.node_features("p", None, ["ss"], 5, where="x.h5")


def test_source_needs_structures_only_when_set():
    assert nf.descriptor_source([], []) is None
    with pytest.raises(ConfigError, match="needs the parsed structures"):
        nf.descriptor_source([], ["rsa"])
    src = nf.descriptor_source(["results/structures/a.h5"], ["ss", "rsa"])
    assert src.width == 6 and src.groups == ["rsa", "ss"]
    with pytest.raises(EsmSchnetError, match="'b'.*not given"):
        src("b", 3)


def test_schema_default_and_validation():
    from esm_schnet.core.settings import section

    assert section("model", {})["node_features"] == []
    assert section("model", {"node_features": ["ss", "rsa"]})["node_features"] == ["ss", "rsa"]
    with pytest.raises(ConfigError):
        section("model", {"node_features": ["sasa"]})
    with pytest.raises(ConfigError):
        section("model", {"node_features": ["rsa", "rsa"]})


def test_model_config_widths():
    from esm_schnet.encoders.model import ModelConfig

    cfg = ModelConfig.from_config(21 + 6, {"cutoff": 10.0}, {"node_features": ["ss", "rsa"]})
    assert cfg.node_features == ["rsa", "ss"] and cfg.embedding_width == 21
    plain = ModelConfig.from_config(21, {"cutoff": 10.0}, {})
    assert plain.node_features == [] and plain.embedding_width == 21
