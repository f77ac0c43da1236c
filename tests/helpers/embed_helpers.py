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


# ProtT5's residue alphabet (its sentencepiece vocabulary holds "▁A" ... for these letters).
PROTT5_LETTERS = "ALGVSREDTIPKFQNYMHWCXBOUZ"


def write_tiny_prott5(directory, seed: int = 0, layers: int = 2) -> str:
    """A tiny randomly initialised T5 encoder saved like Rostlab/prot_t5_xl_half_uniref50-enc:
    config.json (model_type t5), weights, and a sentencepiece `spiece.model` (trained here over
    the residue alphabet, one piece per space-separated residue) with tokenizer_config.json, so
    the real `T5Tokenizer.from_pretrained` path (sentencepiece -> fast tokenizer) is exercised."""
    import json
    import random

    import sentencepiece as spm
    import torch
    from transformers import T5Config, T5EncoderModel

    directory = str(directory)
    os.makedirs(directory, exist_ok=True)
    rnd = random.Random(seed)
    corpus = os.path.join(directory, "corpus.txt")
    with open(corpus, "w") as fh:
        for _ in range(300):
            fh.write(" ".join(rnd.choice(PROTT5_LETTERS) for _ in range(60)) + "\n")
    spm.SentencePieceTrainer.train(
        input=corpus,
        model_prefix=os.path.join(directory, "spiece"),
        vocab_size=len(PROTT5_LETTERS) + 3,
        model_type="word",
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        character_coverage=1.0,
        minloglevel=2,
    )
    os.remove(corpus)
    os.remove(os.path.join(directory, "spiece.vocab"))
    with open(os.path.join(directory, "tokenizer_config.json"), "w") as fh:
        json.dump({"tokenizer_class": "T5Tokenizer", "extra_ids": 0, "do_lower_case": False}, fh)
    cfg = T5Config(
        vocab_size=len(PROTT5_LETTERS) + 3,
        d_model=32,
        d_kv=8,
        d_ff=64,
        num_layers=layers,
        num_heads=4,
        relative_attention_num_buckets=32,
        relative_attention_max_distance=128,
        dropout_rate=0.1,
        feed_forward_proj="relu",
        is_encoder_decoder=False,
        use_cache=False,
        pad_token_id=0,
        eos_token_id=1,
    )
    torch.manual_seed(seed)
    model = T5EncoderModel(cfg)
    model.save_pretrained(directory)
    return directory
