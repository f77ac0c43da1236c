"""esm-schnet: predict a protein property from structure with ESM2 embeddings and SchNet.

Public Python API (imports torch only when called, so `import esm_schnet` stays light):

    import esm_schnet
    model = esm_schnet.load_model("results/final/model.pt")
    table = esm_schnet.predict(model, ["a.pdb", "b.cif.gz"])          # a pandas.DataFrame
    table = esm_schnet.predict(["results/final/model.pt",              # several: an ensemble
                                "results/cv/loocv/fold-0/model.pt"], "a.pdb")
"""

__version__ = "0.1.0"

__all__ = ["__version__", "load_model", "predict"]


def load_model(path, device: str = "cpu"):
    """Load a model.pt written by the workflow (esm_schnet.train.checkpoint.TrainedModel): the network,
    its settings, and the featurizer settings its embeddings were made with (`.embedding`)."""
    from esm_schnet.prediction.load import load_model as _load_model

    return _load_model(path, device=device)


def predict(model_or_models, structures, **options):
    """Score PDB/mmCIF files (plain or .gz; one path or several) with a model or several (paths
    or `load_model` results; several = an ensemble). Parses, embeds with the featurizer and
    settings recorded in the model (reusing the embedding cache) and returns a pandas.DataFrame:
    id, structure, prediction (mean over the models), prediction_std (ddof=1, NaN with one
    model), n_models, status, reason. Options: ids, device, cache, models_dir, max_tokens
    (esm_schnet.prediction.one_step.predict_structures)."""
    from esm_schnet.prediction.one_step import predict_structures

    return predict_structures(model_or_models, structures, **options)
