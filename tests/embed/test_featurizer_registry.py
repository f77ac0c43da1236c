"""The featurizer registry: lookups without weights, exact names before predicates, plugins
through the `esm_schnet.featurizers` entry points, and a third featurizer through the shard job."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from esm_schnet.embed import featurizers
from esm_schnet.embed.featurizers import (
    LANGUAGE_MODEL,
    describe,
    featurizer_kind,
    featurizer_name,
    get_featurizer,
    lookup,
    needs_download,
    register,
)
from esm_schnet.core.errors import EsmSchnetError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))
from plugin_helpers import install_toy_plugin  # noqa: E402

from embed_helpers import make_protein, random_seq  # noqa: E402


@pytest.fixture
def registry(monkeypatch):
    """Restore the registry (and forget the toy module) after the test."""
    from esm_schnet.embed.featurizers import registry as freg

    freg.load_builtins()
    monkeypatch.setattr(freg, "_EXACT", dict(freg._EXACT))
    monkeypatch.setattr(freg, "_MATCHERS", list(freg._MATCHERS))
    monkeypatch.setattr(freg, "_plugins_loaded", freg._plugins_loaded)
    yield freg
    sys.modules.pop("toy_featurizer", None)


@pytest.fixture
def toy(registry, tmp_path, monkeypatch):
    """The toy plugin installed (dist-info with the entry point) on sys.path, not yet loaded."""
    monkeypatch.syspath_prepend(str(install_toy_plugin(tmp_path / "site")))
    registry._plugins_loaded = False
    return registry


def test_builtins_without_weights(tmp_path):
    assert featurizer_name("onehot") == "onehot" and featurizer_kind("onehot") == "onehot"
    assert featurizer_name("facebook/esm2_t6_8M_UR50D") == "esm2"
    assert featurizer_kind("facebook/esm2_t6_8M_UR50D") == LANGUAGE_MODEL
    assert featurizer_name(str(tmp_path)) == "esm2"
    assert needs_download("facebook/esm2_t6_8M_UR50D")
    assert not needs_download("onehot") and not needs_download(str(tmp_path))
    assert describe("onehot") == "onehot ablation, no language model"
    assert describe("facebook/esm2_t6_8M_UR50D") == "protein language model"


def test_exact_names_first_then_newest_predicate(registry):
    class Fake:
        kind = "fake"

        def __init__(self, cfg):
            self.id, self.revision, self.dim, self.window, self.cacheable = cfg.model, "r", 1, None, False

        def forward(self, seqs):
            return [np.zeros((len(s), 1), np.float32) for s in seqs]

    register(lambda m: True, Fake, name="greedy")  # would take everything...
    assert featurizer_name("onehot") == "onehot"  # ...but exact names come first
    assert featurizer_name("facebook/esm2_t6_8M_UR50D") == "greedy"  # and it beats the catch-all
    assert featurizer_kind("x/y") == "fake"
    assert not needs_download("facebook/esm2_t6_8M_UR50D")
    assert get_featurizer({"model": "x/y"}).dim == 1


def test_factory_result_is_checked(registry):
    register("broken", lambda cfg: object(), kind="broken")
    with pytest.raises(EsmSchnetError, match="without id, revision"):
        get_featurizer({"model": "broken"})


def test_plugin_from_entry_point(toy):
    assert featurizer_name("toy-scales") == "toy-scales"
    assert featurizer_kind("toy-scales") == "residue scales"  # the factory's `kind`
    assert describe("toy-scales") == "residue scales ablation, no language model"
    assert featurizer_name("toy:anything/else") == "toy-prefixed"  # a predicate claims ids
    assert featurizer_name("facebook/esm2_t6_8M_UR50D") == "esm2"
    f = get_featurizer({"model": "toy-scales"})
    (x,) = f.forward(["ARX"])
    assert x.shape == (3, 3) and x[1].tolist() == [-4.5, 1, 7] and x[2].tolist() == [0, 0, 0]


def test_broken_plugin_is_a_clear_error(registry, tmp_path, monkeypatch):
    info = tmp_path / "bad-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: bad\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[esm_schnet.featurizers]\nbad = no_such_module_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry._plugins_loaded = False
    with pytest.raises(EsmSchnetError, match="featurizer plugin 'bad'.*no_such_module_xyz"):
        lookup("onehot")


def test_toy_through_the_shard_job(toy, tmp_path, capsys):
    """The shared batching/shard code drives a third featurizer; the shard records it."""
    from esm_schnet import cli as cli_mod
    from esm_schnet.core import store
    from esm_schnet.embed.config import EmbedConfig
    from esm_schnet.embed.shard import embed_proteins, load, shard_file_attrs

    rng = np.random.default_rng(0)
    proteins = [make_protein("a", [random_seq(rng, 30), random_seq(rng, 12)], rng),
                make_protein("b", [random_seq(rng, 50)], rng)]
    cfg = EmbedConfig.from_dict({"model": "toy-scales", "window": 20, "overlap": 5, "cache": str(tmp_path / "c")})
    f = load(cfg)
    records = embed_proteins(proteins, f, cfg)
    assert [r.embedding.shape for r in records] == [(42, 3), (50, 3)]
    assert not any(r.windowed for r in records)  # window None: never windowed
    out = tmp_path / "toy" / "shard-000.h5"
    store.write_shard(out, records, shard_file_attrs(f, cfg))
    attrs = store.shard_attrs(out)
    assert attrs["featurizer"] == "toy-scales" and attrs["featurizer_kind"] == "residue scales"
    assert attrs["embedding_dim"] == 3 and attrs["window"] == 0
    assert not (tmp_path / "c").exists()  # not cacheable
    assert cli_mod.main(["inspect", str(out)]) == 0
    assert "featurizer toy-scales (residue scales)" in capsys.readouterr().out


def test_empty_shard_records_the_featurizer(tmp_path):
    from esm_schnet.core import store
    from esm_schnet.embed.shard import embed_shard

    out = tmp_path / "shard-000.h5"
    embed_shard([], out, {"model": "onehot"})
    attrs = store.shard_attrs(out)
    assert attrs["featurizer"] == "onehot" and attrs["featurizer_kind"] == "onehot"
