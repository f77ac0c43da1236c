import h5py
import numpy as np
import pytest

from esm_schnet.core import store
from esm_schnet.embed.cache import EmbeddingCache
from esm_schnet.embed.config import EmbedConfig
from esm_schnet.embed.shard import embed_proteins, embed_sequences, embed_shard
from esm_schnet.embed.windows import owners, window_spans
from esm_schnet.core.errors import CorruptFileError

from embed_helpers import make_protein, random_seq


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def test_short_chain_equals_single_pass(tiny, rng):
    seqs = [random_seq(rng, n) for n in (20, 31, 5, 12)]
    out = embed_sequences(tiny, seqs, window=32, overlap=8, max_tokens=200)
    for s in seqs:
        arr, windowed = out[s]
        assert not windowed
        np.testing.assert_allclose(arr, tiny.forward([s])[0], atol=1e-5, rtol=0)


def test_long_chain_windows(tiny, rng):
    n, window, overlap = 150, 32, 8
    s = random_seq(rng, n)
    arr, windowed = embed_sequences(tiny, [s], window=window, overlap=overlap, max_tokens=100)[s]
    assert windowed and arr.shape == (n, tiny.dim) and np.isfinite(arr).all()
    spans = window_spans(n, window, overlap)
    own = owners(n, spans)
    direct = [tiny.forward([s[a:b]])[0] for a, b in spans]
    for i in range(n):
        a, _b = spans[own[i]]
        np.testing.assert_allclose(arr[i], direct[own[i]][i - a], atol=1e-5, rtol=0)
    # windowing is a real change: a residue near a window edge differs from the full-length pass
    full = tiny.forward([s])[0]
    assert not np.allclose(arr, full, atol=1e-4)


def test_chains_are_embedded_separately(tiny, rng):
    a, b = random_seq(rng, 17), random_seq(rng, 25)
    prot = make_protein("p2", [a, b], rng)
    (rec,) = embed_proteins([prot], tiny, EmbedConfig.from_dict({"window": 1022, "cache": ""}))
    assert rec.embedding.shape == (42, tiny.dim)
    np.testing.assert_allclose(rec.embedding[:17], tiny.forward([a])[0], atol=1e-5)
    np.testing.assert_allclose(rec.embedding[17:], tiny.forward([b])[0], atol=1e-5)
    assert rec.chain_index.tolist() == [0] * 17 + [1] * 25
    assert rec.sequence == f"{a}/{b}" and rec.chain_names == ["A", "B"]
    np.testing.assert_array_equal(rec.ca, prot.ca)
    # glued chains would differ (the second chain sees the first one)
    glued = tiny.forward([a + b])[0]
    assert not np.allclose(rec.embedding[17:], glued[17:], atol=1e-4)


def _write_structures(tmp_path, proteins):
    from esm_schnet.parse import write_structure_h5

    paths = []
    for p in proteins:
        path = tmp_path / "structures" / f"{p.id}.h5"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_structure_h5(p, path)
        paths.append(path)
    return paths


def test_cache_rerun_embeds_only_new_protein(tiny, tmp_path, rng):
    shared = random_seq(rng, 30)
    prots = [
        make_protein("a", [random_seq(rng, 20), shared], rng),
        make_protein("b", [shared, random_seq(rng, 28)], rng),  # duplicate chain: run once
        make_protein("c", [random_seq(rng, 90)], rng),  # windowed (window 32)
    ]
    cfg = EmbedConfig.from_dict({"window": 32, "overlap": 8, "max_tokens": 256, "cache": str(tmp_path / "cache")})
    paths = _write_structures(tmp_path, prots)
    before = tiny.n_sequences_run
    stats = embed_shard(paths, tmp_path / "s1.h5", cfg, featurizer=tiny)
    n_windows_c = len(window_spans(90, 32, 8))
    assert tiny.n_sequences_run - before == 3 + n_windows_c  # 20, 30 (once), 28, windows of 90
    assert stats["sequences_run"] == 4 and stats["distinct_sequences"] == 4

    new = make_protein("d", [random_seq(rng, 11), random_seq(rng, 13)], rng)
    paths += _write_structures(tmp_path, [new])
    before = tiny.n_sequences_run
    stats = embed_shard(paths, tmp_path / "s2.h5", cfg, featurizer=tiny)
    assert tiny.n_sequences_run - before == 2  # only the new protein's two chains
    assert stats["cache_hits"] == 4
    r1, r2 = store.read_shard(tmp_path / "s1.h5"), store.read_shard(tmp_path / "s2.h5")
    assert set(r2) == {"a", "b", "c", "d"} and r2["c"].windowed and not r2["a"].windowed
    for pid in r1:
        np.testing.assert_array_equal(r1[pid].embedding, r2[pid].embedding)
    # a cache with another layer is another key: nothing is shared by mistake
    other = EmbeddingCache(tmp_path / "cache", model_id=tiny.id, revision=tiny.revision, layer=1, dtype="float32")
    assert other.key != EmbeddingCache(tmp_path / "cache", model_id=tiny.id, revision=tiny.revision, layer=2, dtype="float32").key


def test_unreadable_cache_file_is_recomputed(tiny, tmp_path, rng):
    s = random_seq(rng, 15)
    cache = EmbeddingCache(tmp_path, model_id="m", revision="r", layer=2, dtype="float32")
    embed_sequences(tiny, [s], window=None, cache=cache)
    from esm_schnet.embed.cache import sequence_key

    cache.path(sequence_key(s)).write_bytes(b"\x93NUMPY garbage")
    before = tiny.n_sequences_run
    out = embed_sequences(tiny, [s], window=None, cache=cache)
    assert tiny.n_sequences_run - before == 1 and out[s][0].shape == (15, tiny.dim)


def test_shard_contract_round_trip(tiny, tmp_path, rng):
    prots = [make_protein("x1", [random_seq(rng, 12)], rng), make_protein("x2", [random_seq(rng, 7), random_seq(rng, 9)], rng)]
    paths = _write_structures(tmp_path, prots)
    out = tmp_path / "emb" / "shard-000.h5"
    embed_shard(paths, out, EmbedConfig.from_dict({"cache": "", "storage_dtype": "float16"}), featurizer=tiny)
    with h5py.File(out, "r") as f:
        for key in ("schema_version", "model_id", "model_revision", "layer", "dtype", "package_version"):
            assert key in f.attrs
        assert f.attrs["kind"] == "embeddings" and f.attrs["layer"] == 2
        g = f["x2"]
        assert g["ca"].dtype == np.float32 and g["ca"].shape == (16, 3)
        assert g["embedding"].shape == (16, 32) and g["embedding"].dtype == np.float16
        assert g["residue_index"].shape == (16,) and g["chain_index"].shape == (16,)
        assert g.attrs["n_residues"] == 16 and not g.attrs["windowed"]
    recs = store.load_records([out])
    assert recs["x2"].sequences == prots[1].sequences
    np.testing.assert_array_equal(recs["x1"].residue_index, prots[0].residue_number)
    assert not list(out.parent.glob(".*tmp"))  # no temp files left
    n = store.write_manifest([out], tmp_path / "emb" / "manifest.tsv")
    assert n == 2
    assert store.read_manifest(tmp_path / "emb" / "manifest.tsv") == {"x1": out, "x2": out}
    summary = store.summarize_shard(out)
    assert [p["n_residues"] for p in summary["proteins"]] == [12, 16]
    assert "x2: 16 residues, 2 chain(s)" in store.format_shard_summary(summary)


def test_empty_shard_is_valid(tmp_path):
    out = tmp_path / "shard-003.h5"
    stats = embed_shard([], out, EmbedConfig.from_dict({"model": "facebook/esm2_t6_8M_UR50D", "cache": ""}))
    assert stats["proteins"] == 0
    assert store.read_shard(out) == {}
    assert store.shard_attrs(out)["n_proteins"] == 0


def test_skipped_structures_are_left_out(tiny, tmp_path, rng):
    from esm_schnet.parse import Protein

    ok = make_protein("ok", [random_seq(rng, 10)], rng)
    bad = Protein(id="bad", chains=[], source="bad.pdb", format="pdb", error="no C-alpha atoms")
    paths = _write_structures(tmp_path, [ok, bad])
    out = tmp_path / "s.h5"
    embed_shard(paths, out, EmbedConfig.from_dict({"cache": ""}), featurizer=tiny)
    assert list(store.read_shard(out)) == ["ok"]


def test_corrupt_shard_names_file(tmp_path):
    bad = tmp_path / "shard-001.h5"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 50)
    with pytest.raises(CorruptFileError) as exc:
        store.read_shard(bad)
    assert str(bad) in str(exc.value) and "delete it and rerun" in str(exc.value)


def test_truncated_shard_names_file(tiny, tmp_path, rng):
    paths = _write_structures(tmp_path, [make_protein("t", [random_seq(rng, 50)], rng)])
    out = tmp_path / "shard-002.h5"
    embed_shard(paths, out, EmbedConfig.from_dict({"cache": ""}), featurizer=tiny)
    data = out.read_bytes()
    out.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError, match="shard-002.h5"):
        store.load_records([out])


def test_onehot_shard_and_cli(tmp_path, rng, capsys):
    from esm_schnet.cli import main

    prots = [make_protein("o1", [random_seq(rng, 8), "ACDX"], rng)]
    paths = _write_structures(tmp_path, prots)
    out = tmp_path / "onehot" / "shard-000.h5"
    rc = main(["embed", "--structures", *map(str, paths), "--out", str(out), "--settings",
               '{"model": "onehot", "window": 1022, "overlap": 256}', "--cache", str(tmp_path / "c"),
               "--log", str(tmp_path / "embed.log")])
    assert rc == 0
    rec = store.read_shard(out)["o1"]
    assert rec.embedding.shape == (12, 21) and (rec.embedding.sum(1) == 1).all()
    assert store.shard_attrs(out)["model_id"] == "onehot"
    assert not (tmp_path / "c").exists()  # onehot is not cached


def test_cli_missing_model_is_one_line_error(tmp_path, capsys, monkeypatch):
    import huggingface_hub.constants

    from esm_schnet.cli import main

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    paths = _write_structures(tmp_path, [make_protein("m", ["MKT"])])
    rc = main(["embed", "--structures", str(paths[0]), "--out", str(tmp_path / "s.h5"),
               "--model", "facebook/esm2_t6_8M_UR50D", "--models-dir", str(tmp_path / "models"),
               "--log", str(tmp_path / "e.log")])
    err = capsys.readouterr().err
    assert rc == 1 and "download_model" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "s.h5").exists()
