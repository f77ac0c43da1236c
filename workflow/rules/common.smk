# Sample-table loading, path helpers and wildcard constraints. Nothing else lives here.
import json
import os
import sys

from esm_schnet import deploy, paths
from esm_schnet.errors import ConfigError, SampleTableError
from esm_schnet.labels import parse_labels
from esm_schnet.samples import read_sample_table, shard_of

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
LABELS_JSON = json.dumps(config["labels"])

IDS = list(SAMPLES.index)
N_SHARDS = config["embedding"]["shards"]
SHARDS = [f"{i:03d}" for i in range(N_SHARDS)]
MODEL_TAG = paths.model_tag(config["embedding"]["model"])
SCHEME = config["cv"]["scheme"]


wildcard_constraints:
    id=r"[A-Za-z0-9][A-Za-z0-9._-]*",
    shard=r"\d{3}",
    fold=r"\d+",


def structure_of(wildcards, table=None):
    # The structure file of a protein of `table` (default: the training sample table).
    # Relative to the working directory when the file lies inside it: Snakemake records each
    # job's input paths, and an absolute one would rerun every parse (and all downstream) after
    # the project folder is moved or copied. (Absolute when outside, or when the relative path
    # would start with "-" and read as an option on the command line.)
    path = (SAMPLES if table is None else table).loc[wildcards.id, "structure"]
    rel = os.path.relpath(path)
    outside = rel == ".." or rel.startswith(".." + os.sep)
    # local(): a user's input file, never moved under a module's `prefix:` (see README, Modules).
    return local(path if outside or rel.startswith("-") else rel)


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
    from esm_schnet.plots import plot_kind

    return report(
        f"results/plots/{name}.png",
        caption=f"../report/{plot_kind(name)}.rst",
        category="1. Plots",
    )


def ids_in_shard(shard):
    return [i for i in IDS if shard_of(i, N_SHARDS) == int(shard)]


# Fold outputs of the train stage: the folds come from the `folds` checkpoint (train.smk).
def fold_numbers(scheme):
    """Fold numbers of a scheme, read from its folds.tsv once the checkpoint has run."""
    from esm_schnet.folds import read_folds

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
    from esm_schnet.plots import plot_names

    targets += [f"results/plots/{p}.png" for p in plot_names(LABEL_SPECS)]
    if config["predict"][
        "samples"
    ]:  # predict stage, only when a prediction table is set
        targets.append("results/predict/predictions.tsv")
    return targets
