"""Embedding stage: featurizers behind one registry, batching, windows, cache, shard job.

Modules (this package file imports nothing heavy, so the Snakefile can use `source`):
- `featurizers` the registry (`get_featurizer(embedding_cfg)`, `featurizer_kind(model_id)`,
             `needs_download(model_id)`, plugins via the `esm_schnet.featurizers` entry points),
             the `Featurizer` protocol (`base`), and one module per featurizer: `esm2` (ESM2
             through transformers, `EsmModel`, SDPA), `onehot` (no weights).
- `source`   where downloaded weights live; what the Snakefile asks about `embedding.model`.
- `download` the `download-model` CLI (dispatched through the registry).
- `batching` length-sorted token-budget batches (BOS/EOS and padding counted exactly), CUDA OOM
             back-off.
- `windows`  overlapping windows for chains longer than the featurizer's window, and stitching.
- `cache`    content-addressed per-sequence cache (one .npy per sequence).
- `shard`    the shard job (`esm-schnet embed`): structures -> HDF5 shard (esm_schnet.core.store).
"""
