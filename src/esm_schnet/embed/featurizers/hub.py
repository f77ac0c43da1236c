"""What the transformers featurizers (ESM2, ProtT5) share: `HubFeaturizer`.

A `HubFeaturizer` loads a checkpoint with `from_pretrained` (SDPA attention, never remote code,
offline unless asked), resolves `embedding.device`/`embedding.dtype`, resolves and checks
`embedding.layer` (hidden-state index, 0 = token embeddings, n_layers or -1 = last), cuts the model
after that layer, tokenises through a per-character lookup table built from the tokenizer's own
vocabulary, and runs one batch (`forward`) as `[prefix] residues <eos> <pad>...` under
`torch.inference_mode`, returning the hidden states of the residue positions.

A subclass says only what is specific to its model: `load_pretrained` (model + tokenizer classes),
`truncate` (how to drop the blocks after layer k), `compute_dtype` (what `auto` means), the config
attributes holding the layer count and the width, `prefix_ids` (tokens before the residues) and
`token_table` (character -> token id). Where the weights come from (`esm2.locate`) is not here.
Imports nothing heavy at module level.
"""

from __future__ import annotations

import contextlib
import os
import threading

import numpy as np

from esm_schnet.core.device import resolve_device
from esm_schnet.core.errors import EsmSchnetError
from esm_schnet.embed.featurizers.base import LANGUAGE_MODEL, Featurizer


def pretrained_kwargs(path, revision: str, local_files_only: bool, dtype) -> tuple[dict, dict]:
    """Keyword arguments of `from_pretrained` for the model and its tokenizer: SDPA attention,
    never remote code, offline unless asked, the revision only for hub ids (a local directory
    is what it is)."""
    model = dict(attn_implementation="sdpa", trust_remote_code=False,
                 local_files_only=local_files_only, dtype=dtype)
    tokenizer = {"local_files_only": local_files_only, "trust_remote_code": False}
    if revision and not os.path.isdir(path):
        model["revision"] = tokenizer["revision"] = revision
    return model, tokenizer


def resolve_layer(layer: int, n_layers: int, model_id: str) -> int:
    """`embedding.layer` as a hidden-state index 0..n_layers (negative: counted from the end)."""
    k = layer if layer >= 0 else n_layers + 1 + layer
    if not 0 <= k <= n_layers:
        raise EsmSchnetError(
            f"embedding.layer {layer} is out of range for {model_id!r} "
            f"({n_layers} layers: use 0..{n_layers} or -1..-{n_layers + 1})"
        )
    return k


class HubFeaturizer(Featurizer):
    """A transformers encoder returning one hidden layer per residue (see the module docstring)."""

    kind = LANGUAGE_MODEL
    special_tokens = 1  # len(prefix_ids) + <eos>
    # model.config attributes holding the number of blocks and the hidden width
    layers_attr = "num_hidden_layers"
    dim_attr = "hidden_size"
    window_size: int | None = None

    def __init__(
        self,
        path: str | os.PathLike,
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

        self.id = model_id
        self.device = str(resolve_device(device, setting="embedding.device"))
        tdtype = self.compute_dtype(dtype, self.device)
        self.dtype = str(tdtype).replace("torch.", "")
        kwargs, tok_kwargs = pretrained_kwargs(path, revision, local_files_only, tdtype)
        model, tokenizer = self.load_pretrained(str(path), kwargs, tok_kwargs)
        n_layers = getattr(model.config, self.layers_attr)
        k = resolve_layer(layer, n_layers, model_id)
        if k < n_layers:
            self.truncate(model, k)
        self.layer = k
        self.n_layers = n_layers
        self.dim = getattr(model.config, self.dim_attr)
        self.revision = revision_id or getattr(model.config, "_commit_hash", None) or revision
        self.window = self.window_size
        self.cacheable = True
        self.n_sequences_run = 0
        self._count_lock = threading.Lock()  # forward may run in several threads (batch_workers)
        self.model = model.to(self.device).eval()
        self._torch = torch
        self.tokenizer = tokenizer
        self.eos_id = tokenizer.eos_token_id
        self.pad_id = tokenizer.pad_token_id
        self.unk_id = tokenizer.unk_token_id
        self._table = self.token_table(tokenizer)

    # --- what a subclass provides ---------------------------------------------------------------

    @staticmethod
    def compute_dtype(dtype: str, device: str) -> "torch.dtype":  # noqa: F821
        raise NotImplementedError

    def load_pretrained(self, path: str, kwargs: dict, tok_kwargs: dict):
        """(model, tokenizer) from `path` with the `from_pretrained` keyword arguments given."""
        raise NotImplementedError

    def truncate(self, model, k: int) -> None:
        """Drop the blocks after block k (hidden state k = block k's output, before the final
        LayerNorm); called only for k < n_layers."""
        raise NotImplementedError

    @property
    def prefix_ids(self) -> tuple[int, ...]:
        """Token ids put before the residues (ESM2: <cls>; ProtT5: none)."""
        return ()

    def token_table(self, tokenizer) -> np.ndarray:
        """int64[256]: token id of each (ASCII) character."""
        raise NotImplementedError

    # --- shared -----------------------------------------------------------------------------------

    def encode(self, seq: str) -> np.ndarray:
        raw = np.frombuffer(seq.encode("ascii", errors="replace"), dtype=np.uint8)
        return self._table[raw]

    @contextlib.contextmanager
    def batch_workers(self):
        """How many batches to run at once (`run_batches(workers=...)`). On CPU: one per torch
        thread, each single-threaded (torch's thread count is set to 1 inside the block and
        restored after it), so the cores never wait for each other at intra-op barriers; the
        results do not depend on the thread count. Elsewhere (CUDA, MPS): 1."""
        torch = self._torch
        n = torch.get_num_threads()
        if self.device != "cpu" or n <= 1:
            yield 1
            return
        torch.set_num_threads(1)
        try:
            yield n
        finally:
            torch.set_num_threads(n)

    def forward(self, sequences: list[str]) -> list[np.ndarray]:
        torch = self._torch
        if not sequences:
            return []
        prefix = self.prefix_ids
        p = len(prefix)
        lengths = [len(s) for s in sequences]
        width = max(lengths) + p + 1
        ids = np.full((len(sequences), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(sequences), width), dtype=np.int64)
        for i, s in enumerate(sequences):
            ids[i, :p] = prefix
            ids[i, p : p + len(s)] = self.encode(s)
            ids[i, p + len(s)] = self.eos_id
            mask[i, : p + len(s) + 1] = 1
        input_ids = torch.from_numpy(ids).to(self.device)
        attention_mask = None if min(lengths) == max(lengths) else torch.from_numpy(mask).to(self.device)
        with self._count_lock:
            self.n_sequences_run += len(sequences)
        with torch.inference_mode():
            out = self.model(input_ids=input_ids, attention_mask=attention_mask)
            hidden = out.last_hidden_state.float().cpu().numpy()
        return [np.ascontiguousarray(hidden[i, p : p + n]) for i, n in enumerate(lengths)]
