"""`prott5`: the ProtT5 encoder (Rostlab) through transformers (`T5EncoderModel` + `T5Tokenizer`).

Claims (registry predicate) hub ids containing `prot_t5` or `prott5` (any case), e.g.
`Rostlab/prot_t5_xl_half_uniref50-enc`, and local checkpoint directories whose config.json has
`model_type: t5`. Everything else about the model's source is as for ESM2 (`esm2.locate`): a hub
id is read from `<models_dir>/<tag>/` (written by the `download_model` rule) or the Hugging Face
cache, never downloaded inside a job; a local directory's revision is a sha256 of its weights.

Input as on the model card: residues space-separated, the rare residues U, Z, O, B mapped to X,
only EOS (`</s>`) appended (T5 has no BOS). The per-residue embeddings are the hidden states
without the EOS position. The token budget counts residues + 1 EOS + padding
(`special_tokens = 1`). Tokenisation is a per-character lookup table built from the tokenizer's
own vocabulary (checked against the tokenizer in the tests).

ProtT5 uses relative position buckets, so there is no hard length limit; chains longer than
`embedding.window` (default 1022, as for ESM2) are still windowed, which bounds the quadratic
attention memory and keeps every pass within the lengths ProtT5 was trained on (up to 512 and
then longer crops; the model card sets no limit).

dtype: `auto` is float16 on CUDA (the half-precision checkpoint's own precision, as the model
card runs it) and float32 elsewhere. Half precision on CPU (float16 weights such as the `_half_`
checkpoint, or `embedding.dtype: float16/bfloat16`) is computed in float32: the weights are
upcast at load time and the provenance/cache key records float32.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np

from esm_schnet.embed.featurizers.base import LANGUAGE_MODEL
from esm_schnet.embed.featurizers.esm2 import (
    ESM_WINDOW,
    create_from,
    download_model,
    load_checkpoint,
    resolve_dtype,
)
from esm_schnet.embed.source import source_kind
from esm_schnet.embed.featurizers.hub import HubFeaturizer

log = logging.getLogger("esm_schnet.embed.featurizers.prott5")

NAME = "prott5"
LABEL = "ProtT5"
WINDOW = ESM_WINDOW
RARE = "UZOB"  # mapped to X, as on the ProtT5 model card
DOWNLOAD_PATTERNS = (
    "config.json",
    "*.safetensors",
    "spiece.model",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
)


def claims(model: str) -> bool:
    """Registry predicate: ProtT5 hub ids, or a local directory holding a T5 config."""
    m = str(model)
    low = m.lower()
    if "prot_t5" in low or "prott5" in low:
        return True
    if source_kind(m) != "local":
        return False
    cfg = Path(os.path.expanduser(m)) / "config.json"
    try:
        with open(cfg, encoding="utf-8") as fh:
            return json.load(fh).get("model_type") == "t5"
    except (OSError, ValueError, AttributeError):
        return False


def needs_download(model: str) -> bool:
    return source_kind(model) == "hub"


def compute_dtype(dtype: str, device: str):
    import torch

    if dtype == "auto":
        return torch.float16 if torch.device(device).type == "cuda" else torch.float32
    tdtype = resolve_dtype(dtype, device)
    if torch.device(device).type == "cpu" and tdtype in (torch.float16, torch.bfloat16):
        log.warning("embedding.dtype %s on CPU: ProtT5 computes in float32 on CPU", dtype)
        return torch.float32
    return tdtype


class ProtT5Embedder(HubFeaturizer):
    """ProtT5 encoder (`transformers.T5EncoderModel`, SDPA) returning one hidden layer per residue.

    `layer`: hidden-state index, 0 = token embeddings, k = output of block k (before the final
    LayerNorm), -1 (or n_layers) = the encoder output after the final LayerNorm (what the
    model card's `last_hidden_state` is). Blocks after the requested one are not run.
    """

    special_tokens = 1  # </s>
    layers_attr = "num_layers"
    dim_attr = "d_model"
    window_size = WINDOW
    compute_dtype = staticmethod(compute_dtype)

    def load_pretrained(self, path, kwargs, tok_kwargs):
        from transformers import T5EncoderModel, T5Tokenizer

        return (T5EncoderModel.from_pretrained(path, **kwargs),
                T5Tokenizer.from_pretrained(path, **tok_kwargs))

    def truncate(self, model, k):
        import torch

        # Keep blocks 1..k (block 1 holds the relative position bias the others reuse);
        # hidden state k is the block's output before the final LayerNorm.
        model.encoder.block = model.encoder.block[:k]
        model.encoder.final_layer_norm = torch.nn.Identity()

    def token_table(self, tokenizer):
        # Per-character table from the tokenizer's vocabulary: sentencepiece pieces are "▁A"
        # (a word-initial residue, as space-separated input gives), plain letters elsewhere.
        unk_id = tokenizer.unk_token_id
        table = np.full(256, unk_id, dtype=np.int64)
        for tok, idx in tokenizer.get_vocab().items():
            letter = tok[1:] if tok.startswith("\u2581") else tok
            if len(letter) == 1 and letter.isalpha() and letter.isupper():
                if tok.startswith("\u2581") or table[ord(letter)] == unk_id:
                    table[ord(letter)] = idx
        x_id = table[ord("X")]
        for r in RARE:
            table[ord(r)] = x_id
        for c in range(ord("a"), ord("z") + 1):
            table[c] = table[c - 32]
        return table

    @staticmethod
    def model_input(seq: str) -> str:
        """The text the model card feeds the tokenizer: rare residues -> X, space-separated."""
        up = seq.upper()
        for r in RARE:
            up = up.replace(r, "X")
        return " ".join(up)


def load(model: str, **kwargs) -> ProtT5Embedder:
    """ProtT5 from a hub id or a local directory; never downloads (keyword arguments as
    `esm2.load_checkpoint`: revision, layer, dtype, device, models_dir)."""
    return load_checkpoint(ProtT5Embedder, model, label=LABEL, **kwargs)


def create(cfg) -> ProtT5Embedder:
    """Registry factory: the featurizer for the embedding settings (an EmbedConfig)."""
    return create_from(ProtT5Embedder, cfg, LABEL)


def download(model: str, revision: str = "main", models_dir: str | os.PathLike = "resources/models") -> Path:
    """Fetch a ProtT5 hub model (weights, config, sentencepiece tokenizer) into <models_dir>/<tag>/."""
    return download_model(model, revision, models_dir, patterns=DOWNLOAD_PATTERNS)


def setup(register) -> None:
    """Register ProtT5 with the featurizer registry (its `register`; registry.load_builtins)."""
    register(
        claims,
        create,
        name=NAME,
        kind=LANGUAGE_MODEL,
        needs_download=needs_download,
        download=download,
    )
