"""Names shared by the evaluate modules: model names and order, their descriptions, the
columns of the predictions, comparisons and convergence tables, and the embedding's kind.

The models of a label are SchNet and the baselines registered for its task (esm_schnet.baselines;
the task name here is the one its baselines are registered under, Task.baselines_of):
`model_order`, `model_descriptions` and `model_sees` ask the registry each time, so a baseline
registered by a plugin is listed everywhere."""

from __future__ import annotations

from esm_schnet import baselines

MODEL_NAME = "schnet"
PRED_COLUMNS = ["id", "label", "prediction", "fold", "model"]
SCHNET_DESCRIPTION = "SchNet on the C-alpha graph with per-residue embeddings"
SCHNET_SEES = "structure (the C-alpha graph) and the per-residue embeddings"


def model_order(task: str = "regression") -> list[str]:
    """SchNet, then the task's baselines as tables show them (strongest built-in first)."""
    return [MODEL_NAME, *baselines.display_order(task)]


def model_descriptions(task: str = "regression", schnet: str = SCHNET_DESCRIPTION
                       ) -> dict[str, str]:
    """Each model's description: SchNet's as its task words it (Task.schnet_description), each
    baseline's from its registration."""
    return {MODEL_NAME: schnet, **baselines.descriptions(task)}


def model_sees(task: str = "regression") -> dict[str, str]:
    """What each model can see (the report's column next to the description)."""
    return {MODEL_NAME: SCHNET_SEES, **baselines.sees(task)}

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
    from esm_schnet.embed.featurizers import featurizer_kind

    return featurizer_kind(model_id)
