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

from ...device import resolve_device
from . import register
from .base import LANGUAGE_MODEL, Featurizer
from .esm2 import (
    ESM_WINDOW,
    ModelNotAvailableError,
    download_model,
    locate,
    missing_message,
    resolve_dtype,
    source_kind,
)

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


class ProtT5Embedder(Featurizer):
    """ProtT5 encoder (`transformers.T5EncoderModel`, SDPA) returning one hidden layer per residue.

    `layer`: hidden-state index, 0 = token embeddings, k = output of block k (before the final
    LayerNorm), -1 (or n_layers) = the encoder output after the final LayerNorm (what the
    model card's `last_hidden_state` is). Blocks after the requested one are not run.
    """

    kind = LANGUAGE_MODEL
    special_tokens = 1  # </s>

    def __init__(
        self,
        path,
        *,
        model_id: str,
        revision: str,
        layer: int = -1,
        dtype: str = "auto",
        device: str = "auto",
        revision_id: str | None = None,
        local_files_only: bool = True,
    ):
        import torch
        from transformers import T5EncoderModel, T5Tokenizer

        from ...errors import EsmSchnetError

        self.id = model_id
        self.device = str(resolve_device(device, setting="embedding.device"))
        tdtype = compute_dtype(dtype, self.device)
        self.dtype = str(tdtype).replace("torch.", "")
        kwargs = dict(
            attn_implementation="sdpa",
            trust_remote_code=False,
            local_files_only=local_files_only,
            dtype=tdtype,
        )
        tok_kwargs = {"local_files_only": local_files_only, "trust_remote_code": False}
        if revision and not os.path.isdir(path):
            kwargs["revision"] = revision
            tok_kwargs["revision"] = revision
        model = T5EncoderModel.from_pretrained(str(path), **kwargs)
        tokenizer = T5Tokenizer.from_pretrained(str(path), **tok_kwargs)
        n_layers = model.config.num_layers
        k = layer if layer >= 0 else n_layers + 1 + layer
        if not 0 <= k <= n_layers:
            raise EsmSchnetError(
                f"embedding.layer {layer} is out of range for {model_id!r} "
                f"({n_layers} layers: use 0..{n_layers} or -1..-{n_layers + 1})"
            )
        if k < n_layers:
            # Keep blocks 1..k (block 1 holds the relative position bias the others reuse);
            # hidden state k is the block's output before the final LayerNorm.
            model.encoder.block = model.encoder.block[:k]
            model.encoder.final_layer_norm = torch.nn.Identity()
        self.layer = k
        self.n_layers = n_layers
        self.dim = model.config.d_model
        self.revision = revision_id or getattr(model.config, "_commit_hash", None) or revision
        self.window = WINDOW
        self.cacheable = True
        self.n_sequences_run = 0
        self.model = model.to(self.device).eval()
        self._torch = torch
        self.tokenizer = tokenizer
        self.eos_id = tokenizer.eos_token_id
        self.pad_id = tokenizer.pad_token_id
        self.unk_id = tokenizer.unk_token_id
        # Per-character table from the tokenizer's vocabulary: sentencepiece pieces are "▁A"
        # (a word-initial residue, as space-separated input gives), plain letters elsewhere.
        table = np.full(256, self.unk_id, dtype=np.int64)
        vocab = tokenizer.get_vocab()
        for tok, idx in vocab.items():
            letter = tok[1:] if tok.startswith("\u2581") else tok
            if len(letter) == 1 and letter.isalpha() and letter.isupper():
                if tok.startswith("\u2581") or table[ord(letter)] == self.unk_id:
                    table[ord(letter)] = idx
        x_id = table[ord("X")]
        for r in RARE:
            table[ord(r)] = x_id
        for c in range(ord("a"), ord("z") + 1):
            table[c] = table[c - 32]
        self._table = table

    @staticmethod
    def model_input(seq: str) -> str:
        """The text the model card feeds the tokenizer: rare residues -> X, space-separated."""
        up = seq.upper()
        for r in RARE:
            up = up.replace(r, "X")
        return " ".join(up)

    def encode(self, seq: str) -> np.ndarray:
        raw = np.frombuffer(seq.encode("ascii", errors="replace"), dtype=np.uint8)
        return self._table[raw]

    def forward(self, sequences: list[str]) -> list[np.ndarray]:
        torch = self._torch
        if not sequences:
            return []
        lengths = [len(s) for s in sequences]
        width = max(lengths) + 1
        ids = np.full((len(sequences), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(sequences), width), dtype=np.int64)
        for i, s in enumerate(sequences):
            ids[i, : len(s)] = self.encode(s)
            ids[i, len(s)] = self.eos_id
            mask[i, : len(s) + 1] = 1
        input_ids = torch.from_numpy(ids).to(self.device)
        attention_mask = None if min(lengths) == max(lengths) else torch.from_numpy(mask).to(self.device)
        self.n_sequences_run += len(sequences)
        with torch.inference_mode():
            out = self.model(input_ids=input_ids, attention_mask=attention_mask)
            hidden = out.last_hidden_state.float().cpu().numpy()
        return [np.ascontiguousarray(hidden[i, :n]) for i, n in enumerate(lengths)]


def load(
    model: str,
    *,
    revision: str = "main",
    layer: int = -1,
    dtype: str = "auto",
    device: str = "auto",
    models_dir: str | os.PathLike = "resources/models",
) -> ProtT5Embedder:
    """ProtT5 from a hub id or a local directory; never downloads."""
    path, rid = locate(model, revision, models_dir, label=LABEL)
    try:
        return ProtT5Embedder(path, model_id=model, revision=revision, layer=layer, dtype=dtype,
                              device=device, revision_id=rid)
    except OSError as exc:
        if rid is not None:
            raise
        raise ModelNotAvailableError(missing_message(model, revision, models_dir, exc, LABEL)) from None


def create(cfg) -> ProtT5Embedder:
    """Registry factory: the featurizer for the embedding settings (an EmbedConfig)."""
    return load(cfg.model, revision=cfg.revision, layer=cfg.layer, dtype=cfg.dtype,
                device=cfg.device, models_dir=cfg.models_dir)


def download(model: str, revision: str = "main", models_dir: str | os.PathLike = "resources/models") -> Path:
    """Fetch a ProtT5 hub model (weights, config, sentencepiece tokenizer) into <models_dir>/<tag>/."""
    return download_model(model, revision, models_dir, patterns=DOWNLOAD_PATTERNS)


register(
    claims,
    create,
    name=NAME,
    kind=LANGUAGE_MODEL,
    needs_download=needs_download,
    download=download,
)
