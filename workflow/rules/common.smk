# Sample-table loading (and the settings files it completes), path helpers and wildcard
# constraints. Nothing else lives here.
import os
import sys

from esm_schnet.core import deploy
from esm_schnet.core import paths
from esm_schnet.core.errors import ConfigError, SampleTableError
from esm_schnet.core.labels import parse_labels
from esm_schnet.core.paths import job_input_path
from esm_schnet.core.resolved import write_stage_files
from esm_schnet.core.samples import ids_by_shard, read_sample_table

# Software: shell rules call the `esm-schnet` console script by name, from PATH (the activated
# environment) or, with --software-deployment-method conda, from their envs/*.yaml environment.
# No shell.prefix and no PATH change here: both are global to Snakemake and would leak into a
# host workflow that uses this one as a module. (Snakemake's bash prefix is `set -euo pipefail`.)
if _problem := deploy.console_script_problem(deploy.deployment_methods(workflow)):
    logger.warning(_problem)
# The workflow's own source directory (holds pyproject.toml), also when used as a module: the
# envs/*.post-deploy.sh scripts install the package from it into each new conda environment.
os.environ.setdefault(
    deploy.SOURCE_ENV,
    os.path.normpath(os.path.join(str(workflow.current_basedir), "..", "..")),
)

# The labels one model predicts (config `labels:`); a label column whose values do not fit its
# task stops the run here, before any job, naming the line and the column.
try:
    LABEL_SPECS = parse_labels(config["labels"])
    SAMPLES = read_sample_table(
        config["samples"], require_labels=True, labels=LABEL_SPECS
    )
except SampleTableError as exc:
    sys.exit(f"esm-schnet: {exc}")
except ConfigError as exc:
    sys.exit(f"Error validating config file: {exc}")
LABEL_SPECS = SAMPLES.attrs["labels"]  # with the classes found in the table
# Config once: each stage's settings (its sections of the validated config and the label specs
# with their classes) in one file its jobs read with --config-file (esm_schnet.core.resolved).
# A file's name is its content's digest: a rule carries it as a param, so a stage's jobs rerun
# exactly when its settings change.
SETTINGS_FILES = write_stage_files(config, LABEL_SPECS)

IDS = list(SAMPLES.index)
N_SHARDS = config["embedding"]["shards"]
SHARDS = [f"{i:03d}" for i in range(N_SHARDS)]
MODEL_TAG = paths.model_tag(config["embedding"]["model"])
SCHEME = config["cv"]["scheme"]


wildcard_constraints:
    id=r"[A-Za-z0-9][A-Za-z0-9._-]*",
    shard=r"\d{3}",
    fold=r"\d+",


# Per-protein lookups are built once, here: an input function runs once per job, and a pandas
# lookup per parse job plus a scan of every id per embed job were the workflow's own largest
# planning costs at 10,000 proteins (bench/scale.py, docs/cluster.md, Scale).
def structure_paths(table):
    # id -> structure file of a sample table, as a job input (esm_schnet.core.paths.job_input_path:
    # relative inside the working directory, so moving the project folder reruns nothing).
    return {pid: job_input_path(path) for pid, path in table["structure"].items()}


STRUCTURES = structure_paths(SAMPLES)
SHARD_IDS = {f"{s:03d}": ids for s, ids in ids_by_shard(IDS, N_SHARDS).items()}


def structure_of(wildcards, structures=STRUCTURES):
    # The structure file of a protein (default: of the training sample table). local(): a
    # user's input file, never moved under a module's `prefix:` (see docs/usage.md, Use as a module).
    return local(structures[wildcards.id])


# Job sizes of a stage from config resources.<stage> (the schema fills every default):
# {"threads": n, "resources": {mem_mb, runtime, slurm_partition[, gpu]}}; a rule uses
# `threads: JOB["threads"]` and `resources: **JOB["resources"]`.
GPU_STAGES = ("embed", "train", "predict")


def job_resources(stage):
    res = config["resources"]
    own = res[stage]
    resources = {"mem_mb": own["mem_mb"], "runtime": own["runtime"]}
    partition = res["partition"]
    if stage in GPU_STAGES:
        resources["gpu"] = 1 if res["gpu"] else 0
        if res["gpu"]:
            partition = res["gpu_partition"] or res["partition"]
    resources["slurm_partition"] = partition
    return {"threads": own["threads"], "resources": resources}


def plot_output(name):
    # results/plots/<name>.png for the report, captioned by workflow/report/<kind>.rst
    from esm_schnet.report.plots import plot_kind

    return report(
        f"results/plots/{name}.png",
        caption=f"../report/{plot_kind(name)}.rst",
        category="1. Plots",
    )


def ids_in_shard(shard):
    return SHARD_IDS.get(shard, [])


def parsed_h5(ids):
    # parse's output of each id (a plain list: expand() costs ~20x more per path)
    return [f"results/structures/{i}.h5" for i in ids]


# Every parsed protein: an input of `folds` and `train_final` through an input function
# (`lambda w: PARSED_H5`), so a run that does not reach them (e.g. parse + embed only) never
# turns these 10,000s of paths into the rules' input files while it plans.
PARSED_H5 = parsed_h5(IDS)


def structure_list_inputs(wildcards):
    # inputs of parse.smk's structure_list: every parsed protein (part "all") or one embedding
    # shard's ("shard-NNN")
    if wildcards.part == "all":
        return PARSED_H5
    return parsed_h5(ids_in_shard(wildcards.part.removeprefix("shard-")))


# Fold outputs of the train stage: the folds come from the `folds` checkpoint (train.smk).
def fold_numbers(scheme):
    """Fold numbers of a scheme, read from its folds.tsv once the checkpoint has run."""
    from esm_schnet.cv import read_folds

    path = checkpoints.folds.get(scheme=scheme).output[0]
    return sorted({fold for fold, _ in read_folds(path).values()})


def fold_outputs(wildcards, name="predictions.tsv", scheme=None):
    """Every fold's `name` (predictions.tsv, history.tsv, model.pt or provenance.json) of the
    configured scheme: an input function, e.g. `lambda w: fold_outputs(w, "history.tsv")`.
    """
    scheme = scheme or SCHEME
    return [f"results/cv/{scheme}/fold-{k}/{name}" for k in fold_numbers(scheme)]


def predict_models(wildcards):
    """The model files that score the prediction set (config predict.models): the final model
    first, then the folds of the configured scheme in fold order (known once the folds
    checkpoint ran)."""
    which = config["predict"]["models"]
    models = ["results/final/model.pt"] if which in ("final", "both") else []
    if which in ("folds", "both"):
        models += fold_outputs(wildcards, "model.pt")
    return models


def all_targets():
    targets = ["results/qc/structures.tsv"]
    targets.append(f"results/embeddings/{MODEL_TAG}/manifest.tsv")
    targets.append(
        "results/final/model.pt"
    )  # train stage (fold outputs come in via evaluate)
    # evaluate + report stages: metrics tables and every plot
    targets += ["results/metrics.tsv", "results/metrics.json"]
    from esm_schnet.report.plots import plot_names

    targets += [f"results/plots/{p}.png" for p in plot_names(LABEL_SPECS)]
    if config["predict"][
        "samples"
    ]:  # predict stage, only when a prediction table is set
        targets.append("results/predict/predictions.tsv")
        targets += (
            PREDICT_TEST_TARGETS  # predict.smk: a labelled prediction table is scored
        )
    return targets
