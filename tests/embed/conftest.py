"""Fixtures of the embedding tests: a tiny random ESM2-architecture checkpoint, proteins.

No test here touches the network: HF_HUB_OFFLINE is set before huggingface_hub is imported.
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

# The ESM alphabet, in the order of the real ESM2 vocab.txt (33 tokens).
ESM_VOCAB = (
    "<cls> <pad> <eos> <unk> L A G V S E R T I D P K Q N F Y M H W C X B U Z O . - <null_1> <mask>"
).split()


def write_tiny_esm(directory, seed: int = 0, layers: int = 2) -> str:
    import torch
    from transformers import EsmConfig, EsmModel, EsmTokenizer

    directory = str(directory)
    os.makedirs(directory, exist_ok=True)
    vocab = os.path.join(directory, "vocab.txt")
    with open(vocab, "w") as fh:
        fh.write("\n".join(ESM_VOCAB) + "\n")
    tok = EsmTokenizer(vocab)
    cfg = EsmConfig(
        vocab_size=len(ESM_VOCAB),
        hidden_size=32,
        num_hidden_layers=layers,
        num_attention_heads=4,
        intermediate_size=64,
        position_embedding_type="rotary",
        token_dropout=True,
        emb_layer_norm_before=False,
        max_position_embeddings=1026,
        pad_token_id=1,
        mask_token_id=32,
    )
    torch.manual_seed(seed)
    model = EsmModel(cfg, add_pooling_layer=False)
    model.save_pretrained(directory)
    tok.save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    return write_tiny_esm(tmp_path_factory.mktemp("tiny_esm") / "esm2_tiny")


@pytest.fixture(scope="session")
def tiny(tiny_model_dir):
    """The tiny model loaded through the same code path as a real one (float32, CPU)."""
    from esm_schnet.embed.model import load_featurizer

    return load_featurizer(tiny_model_dir, dtype="float32", device="cpu")
