"""`esm-schnet train-fold` (one cross-validation fold) and `esm-schnet train-final` (every
labelled protein). Settings come from `--config-file`: the train stage's resolved settings the
workflow writes (esm_schnet.core.resolved: graph, model, training and the label specs with their
classes), or a config YAML of your own (what is missing filled from the schema, an unknown key
an error); built once, here, into typed settings."""

from __future__ import annotations

import argparse

from esm_schnet.train.job import run_training_job


def _common_args(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--shards", nargs="+", required=True, help="embedding shards (HDF5)")
    ap.add_argument("--samples", required=True, help="sample table (labels)")
    ap.add_argument("--config-file", default=None,
                    help="the train stage's resolved settings (results of the workflow), or a "
                         "config YAML (graph, model, training, labels; the schema fills the "
                         "rest; none: every default)")
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--data", choices=("auto", "stream", "memory"), default="auto",
                    help="stream: read proteins from the shards as batches need them, memory "
                         "bounded by the batch; memory: load every protein first (the reference "
                         "path, same predictions, faster epochs); auto (default): memory when the "
                         "job's estimated size is under 1 GB, else stream")
    ap.add_argument("--log", default=None, help="log file (default: stderr)")


def _settings(path):
    """The job's typed settings, built once (esm_schnet.core.resolved.JobSettings)."""
    from esm_schnet.core.resolved import JobSettings

    if path is None:
        return JobSettings.from_config({})
    return JobSettings.from_file(path).need("graph", "model", "training")


def cli_fold(argv: list[str]) -> int:
    from esm_schnet.core.errors import InputError
    from esm_schnet.core.log import job_log
    from esm_schnet.core.pathlist import add_path_arguments, paths_from_args
    from esm_schnet.cv import is_grouped, read_folds

    ap = argparse.ArgumentParser(prog="esm-schnet train-fold",
                                 description="Train SchNet on one fold and predict its test set.")
    _common_args(ap)
    ap.add_argument("--folds", required=True, help="results/cv/<scheme>/folds.tsv")
    ap.add_argument("--fold", type=int, required=True)
    ap.add_argument("--scheme", default=None,
                    help="the folds' cv.scheme; with `group` or `logo` the clusters also group "
                         "the inner CV of the linear term's ridge start")
    add_path_arguments(ap, "--structures", required=False,
                       help="results/structures/<id>.h5: the structural descriptors of "
                            "model.node_features (needed only when it is set)")
    a = ap.parse_args(argv)
    with job_log(a.log):
        folds = read_folds(a.folds)
        test = [i for i, (f, _) in folds.items() if f == a.fold]
        if not test:
            raise InputError(None, f"fold {a.fold} is not in {a.folds}")
        train = [i for i, (f, _) in folds.items() if f != a.fold]
        clusters = {i: c for i, (_, c) in folds.items()}
        run_training_job(
            shards=a.shards, samples=a.samples, train_ids=train, test_ids=test,
            outdir=a.outdir, settings=_settings(a.config_file), fold=a.fold, threads=a.threads,
            extra_provenance={"folds": str(a.folds), "clusters": clusters},
            groups=clusters if a.scheme and is_grouped(a.scheme) else None, data=a.data,
            structures=paths_from_args(a, "structures"),
        )
    return 0


def cli_final(argv: list[str]) -> int:
    from esm_schnet.core.log import job_log
    from esm_schnet.core.pathlist import add_path_arguments, paths_from_args

    ap = argparse.ArgumentParser(prog="esm-schnet train-final",
                                 description="Train the final model on every labelled protein.")
    _common_args(ap)
    add_path_arguments(ap, "--structures", help="results/structures/<id>.h5 (proteins that "
                       "parsed and have a label are used)")
    a = ap.parse_args(argv)
    with job_log(a.log):
        from esm_schnet.cv import usable_proteins

        settings = _settings(a.config_file)
        structures = paths_from_args(a, "structures")
        _, ids, _ = usable_proteins(a.samples, structures, settings.labels)
        run_training_job(
            shards=a.shards, samples=a.samples, train_ids=ids, test_ids=[], outdir=a.outdir,
            settings=settings, fold=None, threads=a.threads, data=a.data, structures=structures,
        )
    return 0
