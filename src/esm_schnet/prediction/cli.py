"""`esm-schnet predict`: the one-step mode (structure files) and the workflow mode (--samples,
parsed structures and embedding shards given)."""

from __future__ import annotations

import argparse
from pathlib import Path

from esm_schnet.core.errors import ConfigError


def cli(argv: list[str]) -> int:
    from esm_schnet.core.log import job_log
    from esm_schnet.core.pathlist import add_path_arguments, paths_from_args
    from esm_schnet.core.settings import default

    ap = argparse.ArgumentParser(
        prog="esm-schnet predict",
        description="Score structures with trained models. One step: `esm-schnet predict --model "
        "results/final/model.pt a.pdb b.cif.gz` parses, embeds (with the featurizer recorded in "
        "the model) and prints the table (or writes --out). Several --model = an ensemble (mean, "
        "standard deviation, count). With --samples: the workflow's scoring step (parsed "
        "structures and embedding shards given).",
    )
    ap.add_argument("files", nargs="*", metavar="FILE", help="PDB/mmCIF files (plain or .gz)")
    ap.add_argument("--model", action="append", default=[], metavar="MODEL",
                    help="model.pt (results/final/model.pt, results/cv/<scheme>/fold-<k>/model.pt); "
                    "repeat for an ensemble")
    ap.add_argument("--models", action="extend", nargs="+", dest="model", metavar="MODEL",
                    help="several models at once (the workflow's form; put FILEs before it)")
    ap.add_argument("--out", default=None, help="output TSV (one-step mode: default stdout)")
    ap.add_argument("--device", default=None,
                    help="one-step: featurizer and model device (default: embedding.device's "
                    f"default, {default('embedding.device')}); workflow mode: model device (cpu)")
    ap.add_argument("--cache", default=default("embedding.cache"),
                    help="embedding cache directory ('' = none; default %(default)s)")
    ap.add_argument("--models-dir", default=default("embedding.models_dir"),
                    help="downloaded weights (default %(default)s)")
    ap.add_argument("--max-tokens", type=int, default=default("embedding.max_tokens"),
                    help="token budget of one embedding batch (default %(default)s)")
    ap.add_argument("--samples", default=None, help="workflow mode: prediction sample table")
    add_path_arguments(ap, "--structures", required=False,
                       help="workflow mode: parsed structures (results/predict/structures/<id>.h5)")
    ap.add_argument("--shards", nargs="*", default=[], metavar="H5",
                    help="workflow mode: embedding shard(s) of the prediction set")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--log", default=None)
    a = ap.parse_args(argv)
    if not a.model:
        ap.error("give the model(s): --model results/final/model.pt (repeat for an ensemble)")
    workflow = a.samples is not None
    structures = paths_from_args(a, "structures")
    if workflow and (a.files or not structures or not a.out):
        ap.error("with --samples give --structures and --out, and no FILE")
    if not workflow and (structures or a.shards):
        ap.error("--structures/--shards belong to the workflow mode (with --samples)")
    if not workflow and not a.files:
        ap.error("give one or more structure files (or --samples ... for the workflow mode)")
    for p in [*a.model, *a.shards]:
        if not Path(p).is_file():
            raise ConfigError(f"{p} does not exist")
    with job_log(a.log, echo=a.log is None):
        if a.threads:
            import torch

            torch.set_num_threads(a.threads)
        if workflow:
            from esm_schnet.prediction.score import run

            run(a.samples, structures, a.shards, a.model, a.out, device=a.device or "cpu")
            return 0
        from esm_schnet.prediction.one_step import predict_structures

        table = predict_structures(a.model, a.files, device=a.device, cache=a.cache,
                                   models_dir=a.models_dir, max_tokens=a.max_tokens)
    from esm_schnet.evaluate import tsv_text, write_tsv

    if a.out:
        write_tsv(table, a.out)
    else:
        print(tsv_text(table), end="")
    return 0
