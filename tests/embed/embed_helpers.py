"""Helpers shared by the embedding tests (proteins made of random sequences)."""

from __future__ import annotations

import os

import numpy as np

AA = "ACDEFGHIKLMNPQRSTVWY"


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


def random_seq(rng, n: int) -> str:
    return "".join(rng.choice(list(AA), size=n))


def make_protein(pid: str, seqs: list[str], rng=None):
    from esm_schnet.parse import Chain, Protein

    rng = rng or np.random.default_rng(0)
    chains = []
    for i, s in enumerate(seqs):
        n = len(s)
        chains.append(
            Chain(
                name="ABCDEFGH"[i],
                segment=1,
                sequence=s,
                ca=rng.normal(size=(n, 3)).astype(np.float32) * 10,
                residue_number=np.arange(1, n + 1, dtype=np.int32),
                insertion_code=np.array([""] * n),
            )
        )
    return Protein(id=pid, chains=chains, source=f"{pid}.pdb", format="pdb")
