"""Training: SchNet (or another registered encoder) on one cross-validation fold or on every
labelled protein.

- runtime.py: process set-up (malloc tuning, seeds, library versions)
- loop.py: `train_model`, the optimisation loop
- dataset.py: the proteins read from the shards batch by batch (`JobProteins`, `ProteinDataset`)
- job.py: `run_training_job` (load, graphs, train, predict, write outputs + provenance)
- cli.py: `esm-schnet train-fold` / `train-final`
"""

from esm_schnet.train.cli import cli_final, cli_fold
from esm_schnet.train.job import edge_stats, make_graphs, run_training_job
from esm_schnet.train.loop import train_model
from esm_schnet.train.runtime import library_versions, seed_everything, tune_malloc

__all__ = [
    "cli_final",
    "cli_fold",
    "edge_stats",
    "library_versions",
    "make_graphs",
    "run_training_job",
    "seed_everything",
    "train_model",
    "tune_malloc",
]
