"""What a featurizer is: the interface the shared embed code (batching, windows, cache, shard)
drives. Imports nothing heavy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np

# `kind` of featurizers whose features come from a protein language model. Any other kind
# (onehot, physico-chemical scales, ...) is reported as an ablation without a language model.
LANGUAGE_MODEL = "language model"


@runtime_checkable
class Featurizer(Protocol):
    """Per-residue features for a batch of sequences.

    - `id`: the model as configured (`embedding.model`); `revision`: what identifies the weights
      (a hub commit, `sha256:<hash>` of local weight files, `builtin` for a weightless one).
      Both go into the cache key and the shard's attributes.
    - `kind`: a short descriptive string used by reports and metrics (`language model`, `onehot`,
      ...); `dim`: feature width D.
    - `window`: the most residues one pass may take (longer chains are cut into overlapping
      windows of `embedding.window` residues and stitched), or None: no limit, never windowed.
    - `cacheable`: whether results go through the content-addressed cache (False when computing
      is cheaper than reading a file).
    - `layer`, `dtype`, `device`: provenance (and cache key) for models with layers and a compute
      dtype; the defaults suit featurizers without them (subclass `Featurizer` to inherit them).
    - `special_tokens`: tokens the model adds to every sequence (ESM2: BOS + EOS = 2; ProtT5:
      EOS = 1; 0 for featurizers without a tokenizer); the token budget of a batch counts them.
    - `batch_workers()` (optional): a context manager yielding how many batches may run at once
      in threads (`forward` then must be thread-safe); the transformers featurizers yield one per
      torch thread on CPU (each single-threaded inside the block), 1 elsewhere. Without it: 1.
    - `forward(sequences)`: one float32 array [len(s), dim] per sequence, for ONE batch (the
      caller sorts, batches and windows; every sequence is non-empty).
    """

    id: str
    revision: str
    kind: str
    dim: int
    window: int | None
    cacheable: bool
    layer: int = 0
    dtype: str = "float32"
    device: str = "cpu"
    special_tokens: int = 0

    def forward(self, sequences: list[str]) -> list[np.ndarray]: ...
