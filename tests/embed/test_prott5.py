"""ProtT5 through the featurizer seam, offline: a tiny random T5 encoder with a sentencepiece
tokenizer written by the test (embed_helpers.write_tiny_prott5), loaded through the real code."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sentencepiece")

from esm_schnet.embed import featurizers  # noqa: E402
from esm_schnet.embed.featurizers import get_featurizer  # noqa: E402
from esm_schnet.embed.featurizers.esm2 import ModelNotAvailableError  # noqa: E402
from esm_schnet.embed.featurizers.prott5 import ProtT5Embedder  # noqa: E402

from embed_helpers import random_seq, write_tiny_prott5  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
HUB_ID = "Rostlab/prot_t5_xl_half_uniref50-enc"


@pytest.fixture(scope="module")
def t5_dir(tmp_path_factory):
    return write_tiny_prott5(tmp_path_factory.mktemp("tiny_t5") / "prot_t5_tiny")


@pytest.fixture(scope="module")
def t5(t5_dir):
    return get_featurizer(dict(model=t5_dir, dtype="float32", device="cpu"))


def test_registry_claims_prott5(t5_dir, tiny_model_dir, tmp_path):
    for m in (HUB_ID, "Rostlab/prot_t5_xl_uniref50", "someone/ProtT5-XL"):
        assert featurizers.featurizer_name(m) == "prott5"
        assert featurizers.featurizer_kind(m) == featurizers.LANGUAGE_MODEL
        assert featurizers.needs_download(m)
    # a local directory: by its config.json (model_type t5), whatever its name
    plain = tmp_path / "ckpt"
    plain.mkdir()
    (plain / "config.json").write_text(json.dumps({"model_type": "t5"}))
    assert featurizers.featurizer_name(str(plain)) == "prott5"
    assert featurizers.featurizer_name(t5_dir) == "prott5" and not featurizers.needs_download(t5_dir)
    assert featurizers.featurizer_name(tiny_model_dir) == "esm2"  # ESM2 directories stay ESM2
    assert featurizers.featurizer_name("facebook/esm2_t6_8M_UR50D") == "esm2"


def test_loads_through_transformers(t5):
    from transformers import T5EncoderModel, T5Tokenizer

    assert isinstance(t5, ProtT5Embedder) and isinstance(t5.model, T5EncoderModel)
    assert isinstance(t5.tokenizer, T5Tokenizer)
    assert t5.model.config._attn_implementation == "sdpa"
    assert t5.dim == 32 and t5.layer == 2 and t5.n_layers == 2 and t5.special_tokens == 1
    assert t5.revision.startswith("sha256:") and t5.dtype == "float32" and t5.window == 1022


def test_encoding_matches_tokenizer_and_model_card(t5):
    seq = "MKTAYIAKQRQISFVKSHFSRQXBUZO"
    assert t5.model_input(seq) == " ".join("MKTAYIAKQRQISFVKSHFSRQXXXXX")
    ids = t5.tokenizer(t5.model_input(seq))["input_ids"]
    assert ids[-1] == t5.tokenizer.eos_token_id and ids.count(t5.tokenizer.eos_token_id) == 1
    assert len(ids) == len(seq) + 1  # no BOS: residues + EOS
    assert t5.encode(seq).tolist() == ids[:-1]
    assert t5.tokenizer.unk_token_id not in ids


def test_forward_is_the_model_without_eos(t5):
    import torch

    rng = np.random.default_rng(3)
    seqs = [random_seq(rng, n) for n in (9, 23, 4)]
    batch = t5.forward(seqs)
    for s, arr in zip(seqs, batch, strict=True):
        enc = t5.tokenizer([t5.model_input(s)], return_tensors="pt")
        with torch.inference_mode():
            ref = t5.model(**enc).last_hidden_state[0, :-1].numpy()
        assert arr.shape == (len(s), 32)
        np.testing.assert_allclose(arr, ref, atol=1e-5, rtol=0)  # padding does not leak


def test_layers_and_half_weights_on_cpu(t5_dir, tmp_path):
    from transformers import T5EncoderModel

    first = get_featurizer(dict(model=t5_dir, layer=1, dtype="float32", device="cpu"))
    assert first.layer == 1 and len(first.model.encoder.block) == 1
    emb0 = get_featurizer(dict(model=t5_dir, layer=0, dtype="float32", device="cpu"))
    x = emb0.forward(["MKTA"])[0]
    np.testing.assert_allclose(x, emb0.model.shared.weight[emb0.encode("MKTA")].detach().numpy(), atol=1e-6)
    # a half-precision checkpoint (like prot_t5_xl_half) computes in float32 on CPU
    half = tmp_path / "prot_t5_half"
    T5EncoderModel.from_pretrained(t5_dir).half().save_pretrained(half)
    for name in ("spiece.model", "tokenizer_config.json"):
        (half / name).write_bytes((Path(t5_dir) / name).read_bytes())
    for dtype in ("auto", "float16"):
        f = get_featurizer(dict(model=str(half), dtype=dtype, device="cpu"))
        assert f.dtype == "float32" and next(f.model.parameters()).dtype.is_floating_point
        assert str(next(f.model.parameters()).dtype) == "torch.float32"
        assert np.isfinite(f.forward(["MKTAYIAKQR"])[0]).all()


def test_missing_hub_model_and_offline_download_are_clear(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(ModelNotAvailableError) as exc:
        get_featurizer(dict(model=HUB_ID, models_dir=tmp_path / "models", device="cpu"))
    msg = str(exc.value)
    assert msg.startswith("ProtT5 weights") and "download_model" in msg and "\n" not in msg
    with pytest.raises(ModelNotAvailableError, match="cannot download"):
        featurizers.download(HUB_ID, "main", tmp_path / "models")


def test_downloaded_dir_is_used(tmp_path, t5_dir):
    import shutil

    dest = tmp_path / "models" / "Rostlab--prot_t5_xl_half_uniref50-enc"
    shutil.copytree(t5_dir, dest)
    (dest / "download.json").write_text(json.dumps({"model": HUB_ID, "revision": "main", "commit": "c0ffee"}))
    f = get_featurizer(dict(model=HUB_ID, models_dir=tmp_path / "models", dtype="float32", device="cpu"))
    assert isinstance(f, ProtT5Embedder) and f.revision == "c0ffee"


def _example_structures(tmp_path):
    from esm_schnet.core.samples import read_sample_table
    from esm_schnet.parse import parse_structure, write_structure_h5

    table = read_sample_table(REPO / "resources" / "example" / "samples.tsv", require_labels=False)
    paths, proteins = [], []
    for pid, row in table.iterrows():
        p = parse_structure(row.structure, pid)
        path = tmp_path / "structures" / f"{pid}.h5"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_structure_h5(p, path)
        paths.append(path)
        proteins.append(p)
    return paths, proteins


def test_bundled_example_through_the_shard_job(t5, tmp_path, capsys):
    from esm_schnet import cli as cli_mod
    from esm_schnet.core import store
    from esm_schnet.embed.shard import embed_shard
    from esm_schnet.embed.windows import owners, window_spans

    paths, proteins = _example_structures(tmp_path)
    window, overlap = 128, 32
    long = [c.sequence for p in proteins for c in p.chains if len(c.sequence) > window]
    assert long, "the example needs a chain longer than the test window"
    cfg = {"model": t5.id, "dtype": "float32", "device": "cpu", "window": window, "overlap": overlap,
           "max_tokens": 2048, "cache": str(tmp_path / "cache")}
    out = tmp_path / "emb" / "shard-000.h5"
    before = t5.n_sequences_run
    stats = embed_shard(paths, out, cfg, featurizer=t5)
    assert t5.n_sequences_run > before and stats["windowed_proteins"] >= 1
    # the token budget counts residues + 1 EOS per segment, plus padding
    assert stats["tokens"] >= stats["residues_run"] + stats["segments_run"]
    recs = store.read_shard(out)
    assert set(recs) == {p.id for p in proteins}
    for p in proteins:
        r = recs[p.id]
        assert r.embedding.shape == (p.n_residues if hasattr(p, "n_residues") else len(r.ca), 32)
        assert r.embedding.shape[0] == sum(len(c.sequence) for c in p.chains)
        assert np.isfinite(r.embedding).all()
    # windows stitch: each residue equals a direct pass over the window that owns it
    s = long[0]
    spans = window_spans(len(s), window, overlap)
    direct = [t5.forward([s[a:b]])[0] for a, b in spans]
    pid, start = next((p.id, sum(len(c.sequence) for c in p.chains[:k]))
                      for p in proteins for k, c in enumerate(p.chains) if c.sequence == s)
    got = recs[pid].embedding[start : start + len(s)].astype(np.float32)
    own = owners(len(s), spans)
    for i in range(len(s)):
        np.testing.assert_allclose(got[i], direct[own[i]][i - spans[own[i]][0]], atol=1e-5, rtol=0)
    attrs = store.shard_attrs(out)
    assert attrs["featurizer"] == "prott5" and attrs["featurizer_kind"] == "language model"
    assert attrs["model_id"] == t5.id and attrs["model_revision"] == t5.revision
    assert attrs["embedding_dim"] == 32 and attrs["dtype"] == "float32" and attrs["layer"] == 2
    assert attrs["window"] == window and attrs["overlap"] == overlap
    # second run: everything from the cache, the model is not run, identical shard contents
    ran = t5.n_sequences_run
    out2 = tmp_path / "emb" / "shard-001.h5"
    stats2 = embed_shard(paths, out2, cfg, featurizer=t5)
    assert t5.n_sequences_run == ran
    assert stats2["sequences_run"] == 0 and stats2["cache_hits"] == stats2["distinct_sequences"] > 0
    recs2 = store.read_shard(out2)
    for pid in recs:
        np.testing.assert_array_equal(recs[pid].embedding, recs2[pid].embedding)
    key_dir = next((tmp_path / "cache").iterdir())
    ident = json.loads((key_dir / "model.json").read_text())
    assert ident["model"] == t5.id and ident["weights"] == t5.revision and ident["dtype"] == "float32"
    assert cli_mod.main(["inspect", str(out)]) == 0
    assert "prott5" in capsys.readouterr().out
