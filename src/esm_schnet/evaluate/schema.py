"""Names shared by the evaluate modules: model names and order, their descriptions, the
columns of the predictions, comparisons and convergence tables, and the embedding's kind."""

from __future__ import annotations

MODEL_NAME = "schnet"
PRED_COLUMNS = ["id", "label", "prediction", "fold", "model"]
MODEL_ORDER = ["schnet", "ridge_seq", "ridge_pooled", "size_linear", "mean"]
MODEL_DESCRIPTIONS = {
    "schnet": "SchNet on the C-alpha graph with per-residue embeddings",
    "ridge_seq": "ridge regression on mean- and sum-pooled embeddings and the residue count, "
    "alpha and standardisation by inner CV on the training fold (size and sequence, no "
    "structure)",
    "ridge_pooled": "ridge regression on mean-pooled embeddings (mean composition only: cannot "
    "express size-extensive labels; no structure)",
    "size_linear": "linear regression on the residue count (size only)",
    "mean": "mean label of the training fold (sees nothing)",
}
COMPARISON_COLUMNS = [
    "baseline", "metric", "difference", "lo", "hi", "verdict", "resampling_unit", "n_units",
    "schnet_value", "baseline_value",
]
CONVERGENCE_COLUMNS = [
    "fold", "status", "converged", "ratio", "final_train_loss", "mean_predictor_loss",
    "threshold", "hint",
]


def embedding_kind(model_id: str) -> str:
    """The featurizer's kind (`language model`, `onehot`, ...), from the featurizer registry."""
    from ..embed.featurizers import featurizer_kind

    return featurizer_kind(model_id)
