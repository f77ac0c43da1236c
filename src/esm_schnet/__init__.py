"""esm-schnet: predict a protein property from structure with ESM2 embeddings and SchNet."""

__version__ = "0.1.0"
