import numpy as np
import pytest

from esm_schnet.embed.featurizers import get_featurizer
from esm_schnet.embed.featurizers.esm2 import ModelNotAvailableError, resolve_dtype
from esm_schnet.embed.featurizers.onehot import OneHotFeaturizer
from esm_schnet.embed.featurizers.registry import model_kind


def test_model_kind(tmp_path):
    assert model_kind("onehot") == "onehot"
    assert model_kind("facebook/esm2_t6_8M_UR50D") == "hub"
    assert model_kind(str(tmp_path)) == "local"
    assert model_kind("./ckpt") == "local"


def test_dtype_auto():
    import torch

    assert resolve_dtype("auto", "cpu") == torch.float32
    assert resolve_dtype("auto", "cuda") == torch.bfloat16
    assert resolve_dtype("float16", "cpu") == torch.float16


def test_tiny_loads_through_transformers_with_sdpa(tiny, tiny_model_dir):
    from transformers import EsmModel

    assert isinstance(tiny.model, EsmModel)
    assert tiny.model.config._attn_implementation == "sdpa"
    assert tiny.dim == 32 and tiny.layer == 2 and tiny.n_layers == 2
    assert tiny.revision.startswith("sha256:")
    assert tiny.model.pooler is None  # no pooler, no LM head


def test_fast_encoding_matches_tokenizer(tiny):
    seq = "MKTAYIAKQRQISFVKSHFSRQXBUZO"
    ids = tiny.tokenizer(seq)["input_ids"]
    assert ids == [tiny.cls_id, *tiny.encode(seq).tolist(), tiny.eos_id]


def test_last_layer_matches_plain_transformers(tiny, tiny_model_dir):
    import torch
    from transformers import AutoTokenizer, EsmModel

    seq = "MKTAYIAKQRQISFVKSHFSRQ"
    ref = EsmModel.from_pretrained(tiny_model_dir, add_pooling_layer=False).eval()
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    with torch.no_grad():
        out = ref(**tok([seq], return_tensors="pt"), output_hidden_states=True)
    ours = tiny.forward([seq])[0]
    np.testing.assert_allclose(ours, out.last_hidden_state[0, 1:-1].numpy(), atol=1e-5)
    # an intermediate layer: the model is cut after block 1, hidden_states[1] of the full model
    mid = get_featurizer(dict(model=tiny_model_dir, layer=1, dtype="float32", device="cpu"))
    assert len(mid.model.encoder.layer) == 1
    np.testing.assert_allclose(mid.forward([seq])[0], out.hidden_states[1][0, 1:-1].numpy(), atol=1e-5)
    first = get_featurizer(dict(model=tiny_model_dir, layer=0, dtype="float32", device="cpu"))
    np.testing.assert_allclose(first.forward([seq])[0], out.hidden_states[0][0, 1:-1].numpy(), atol=1e-5)


def test_bad_layer(tiny_model_dir):
    from esm_schnet.core.errors import EsmSchnetError

    with pytest.raises(EsmSchnetError, match="out of range"):
        get_featurizer(dict(model=tiny_model_dir, layer=5, device="cpu"))


def test_padding_does_not_change_embeddings(tiny):
    a, b = "MKTAYIAKQR", "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ"
    alone = tiny.forward([a])[0]
    batched = tiny.forward([b, a])[1]
    np.testing.assert_allclose(batched, alone, atol=1e-5)


def test_onehot():
    f = get_featurizer(dict(model="onehot"))
    assert isinstance(f, OneHotFeaturizer) and f.dim == 21 and not f.cacheable
    (x,) = f.forward(["ACYXBZ"])
    assert x.shape == (6, 21)
    assert np.array_equal(x.sum(1), np.ones(6))
    assert x[0, 0] == 1 and x[1, 1] == 1 and x[2, 19] == 1
    assert x[3:, 20].tolist() == [1, 1, 1]  # X and non-standard letters -> X


def test_missing_hub_model_offline_says_how_to_fix(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(ModelNotAvailableError) as exc:
        get_featurizer(dict(model="facebook/esm2_t6_8M_UR50D", models_dir=tmp_path / "models", device="cpu"))
    msg = str(exc.value)
    assert "\n" not in msg
    assert "download_model" in msg and "local checkpoint directory" in msg and "onehot" in msg
    assert str(tmp_path / "models") in msg


def test_missing_local_dir(tmp_path):
    with pytest.raises(ModelNotAvailableError, match="no such directory"):
        get_featurizer(dict(model=str(tmp_path / "nope")))


def test_download_offline_fails_clearly(tmp_path, monkeypatch):
    import huggingface_hub.constants

    from esm_schnet.embed.featurizers.esm2 import download_model

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(ModelNotAvailableError, match="cannot download"):
        download_model("facebook/esm2_t6_8M_UR50D", "main", tmp_path / "models")
    assert not (tmp_path / "models" / "facebook--esm2_t6_8M_UR50D" / "download.json").exists()


def test_downloaded_dir_is_used(tmp_path, tiny_model_dir):
    """A hub id resolves to <models_dir>/<tag> once download.json is there (no network)."""
    import json
    import shutil

    dest = tmp_path / "models" / "facebook--esm2_t6_8M_UR50D"
    shutil.copytree(tiny_model_dir, dest)
    (dest / "download.json").write_text(
        json.dumps({"model": "facebook/esm2_t6_8M_UR50D", "revision": "main", "commit": "abc123"})
    )
    f = get_featurizer(dict(model="facebook/esm2_t6_8M_UR50D", models_dir=tmp_path / "models", device="cpu"))
    assert f.revision == "abc123" and f.dim == 32
    with pytest.raises(ModelNotAvailableError, match="revision"):
        get_featurizer(dict(model="facebook/esm2_t6_8M_UR50D", revision="v2", models_dir=tmp_path / "models"))


def test_models_dir_of():
    from esm_schnet.embed.source import models_dir_of

    assert models_dir_of("m/x/facebook--a/download.json", "d") == "m/x"
    assert models_dir_of(["m/facebook--a/download.json"], "d") == "m"
    assert models_dir_of([], "d") == "d"


def test_cpu_batch_workers_one_per_thread_and_results_do_not_depend_on_threads(tiny):
    import torch

    from esm_schnet.embed.shard import embed_sequences

    rng = np.random.default_rng(3)
    seqs = ["".join(rng.choice(list("ACDEFGHIKLMNPQRSTVWY"), n)) for n in (40, 33, 25, 12, 7, 50)]
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        with tiny.batch_workers() as n:
            assert n == 1
        one = embed_sequences(tiny, seqs, window=None, max_tokens=80, stats=(s1 := {}))
        torch.set_num_threads(2)
        with tiny.batch_workers() as n:
            assert n == 2 and torch.get_num_threads() == 1  # each batch single-threaded
        assert torch.get_num_threads() == 2  # restored
        two = embed_sequences(tiny, seqs, window=None, max_tokens=80, stats=(s2 := {}))
    finally:
        torch.set_num_threads(before)
    assert s1["batch_workers"] == 1 and s2["batch_workers"] == 2 and s2["batches"] > 2
    for s in seqs:  # same plan, same kernels: bit-identical
        assert np.array_equal(one[s][0], two[s][0])
