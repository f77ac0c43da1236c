"""The public model loader (`esm_schnet.load_model`): a model.pt read by
esm_schnet.train.checkpoint.load_model, with the file's path recorded in its meta (the
prediction tables name the model they came from)."""

from __future__ import annotations


def load_model(path, device: str = "cpu"):
    """Load a model.pt written by the workflow (esm_schnet.train.checkpoint.TrainedModel): the
    network, its settings, and the featurizer settings its embeddings were made with
    (`.embedding`)."""
    from esm_schnet.train.checkpoint import load_model as _load_model

    model = _load_model(path, device=device)
    model.meta.setdefault("path", str(path))
    return model
