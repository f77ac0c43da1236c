"""ESM2 embedding stage: model loading, one-hot featurizer, batching, windows, cache, shard job.

Modules (this package file imports nothing heavy, so the Snakefile can use `source`):
- `source`   what `embedding.model` names (hub id, local directory, onehot) and where hub weights
             are downloaded to; no torch import.
- `model`    loading ESM2 through transformers (`EsmModel`, SDPA), the one-hot featurizer, the
             `download-model` CLI.
- `batching` length-sorted token-budget batches (BOS/EOS and padding counted exactly), CUDA OOM
             back-off.
- `windows`  overlapping windows for chains longer than the model window, and stitching.
- `cache`    content-addressed per-sequence cache (one .npy per sequence).
- `shard`    the shard job (`esm-schnet embed`): structures -> HDF5 shard (esm_schnet.store).
"""
