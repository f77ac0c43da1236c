# train stage: cross-validation folds (a checkpoint: they depend on the parsed sequences), one
# SchNet training job per fold, and the final model on every labelled protein. All logic lives in
# esm_schnet.cv and esm_schnet.train (job sizes: job_resources in common.smk).
import os

from esm_schnet.cv import plan_problem

CV = config["cv"]
TRAIN_SHARDS = expand(
    f"results/embeddings/{MODEL_TAG}/shard-{{shard}}.h5", shard=SHARDS
)
FOLD_FILES = ("predictions.tsv", "history.tsv", "model.pt", "provenance.json")
# Settings that change a trained model (graph, model, training, labels) and the folds' (cv,
# training.seed, labels): each stage's resolved file (common.smk), a param, so changing one
# reruns the jobs.
TRAIN_SETTINGS = SETTINGS_FILES["train"]
FOLDS_SETTINGS = SETTINGS_FILES["folds"]
# Job sizes: config resources.train / resources.folds (mem_mb, runtime in minutes, threads).
TRAIN_JOB = job_resources("train")
FOLDS_JOB = job_resources("folds")
# Every parsed structure, through a file (parse.smk, structure_list): no command line grows with
# the number of proteins.
ALL_STRUCTURES = "results/lists/structures-all.txt"
# An unknown cv.scheme (esm_schnet.cv.schemes registry), or a loocv plan with more folds
# (training jobs) than esm_schnet.cv.MAX_FOLDS, stops here, before any job, with one line (logo's
# clusters are only known once the folds checkpoint ran: that job refuses in the same words).
# cv.allow_many_folds lifts the limit.
try:
    _problem = plan_problem(SCHEME, len(IDS), CV["allow_many_folds"])
except ConfigError as exc:
    sys.exit(f"Error validating config file: {exc}")
if _problem:
    sys.exit(f"esm-schnet: {_problem}")


wildcard_constraints:
    scheme=r"[A-Za-z][A-Za-z0-9_-]*",


checkpoint folds:
    input:
        structures=lambda w: PARSED_H5,
        listed=ALL_STRUCTURES,
        samples=local(config["samples"]),
    output:
        "results/cv/{scheme}/folds.tsv",
    log:
        "logs/folds/{scheme}.log",
    benchmark:
        "benchmarks/folds/{scheme}.tsv"
    conda:
        "../../envs/train.yaml"
    threads: FOLDS_JOB["threads"]
    resources:
        **FOLDS_JOB["resources"],
    params:
        settings=FOLDS_SETTINGS,
    message:
        "folds[scheme={wildcards.scheme}]: the folds of the parsed proteins -> {output}"
    shell:
        "esm-schnet folds --samples {input.samples:q} --structures-from {input.listed:q}"
        " --scheme {wildcards.scheme:q} --config-file {params.settings:q}"
        " --threads {threads}"
        " --out {output:q} --log {log:q}"


rule train_fold:
    input:
        shards=TRAIN_SHARDS,
        folds="results/cv/{scheme}/folds.tsv",
        samples=local(config["samples"]),
        # the parsed structures: model.node_features reads their descriptors
        structures=lambda w: PARSED_H5,
        listed=ALL_STRUCTURES,
    output:
        **{
            f.split(".")[0]: f"results/cv/{{scheme}}/fold-{{fold}}/{f}"
            for f in FOLD_FILES
        },
    log:
        "logs/train_fold/{scheme}/fold-{fold}.log",
    benchmark:
        "benchmarks/train_fold/{scheme}/fold-{fold}.tsv"
    conda:
        "../../envs/train.yaml"
    # torch threads of one fold (default 1: `--cores N` runs N folds side by side, which is
    # faster than N threads on one fold for these sparse, memory-bound kernels).
    threads: TRAIN_JOB["threads"]
    resources:
        **TRAIN_JOB["resources"],
    params:
        settings=TRAIN_SETTINGS,
        outdir=lambda w, output: os.path.dirname(output.model),
    shell:
        "esm-schnet train-fold --shards {input.shards:q} --samples {input.samples:q}"
        " --folds {input.folds:q} --fold {wildcards.fold:q} --scheme {wildcards.scheme:q}"
        " --structures-from {input.listed:q}"
        " --config-file {params.settings:q} --outdir {params.outdir:q} --threads {threads:q}"
        " --log {log:q}"


rule train_final:
    input:
        shards=TRAIN_SHARDS,
        structures=lambda w: PARSED_H5,
        listed=ALL_STRUCTURES,
        samples=local(config["samples"]),
    output:
        model="results/final/model.pt",
        provenance="results/final/provenance.json",
        history="results/final/history.tsv",
    log:
        "logs/train_final/train_final.log",
    benchmark:
        "benchmarks/train_final/train_final.tsv"
    conda:
        "../../envs/train.yaml"
    threads: TRAIN_JOB["threads"]
    resources:
        **TRAIN_JOB["resources"],
    params:
        settings=TRAIN_SETTINGS,
        outdir=lambda w, output: os.path.dirname(output.model),
    message:
        "train_final: the final model on every labelled protein -> {output.model}"
    shell:
        "esm-schnet train-final --shards {input.shards:q} --samples {input.samples:q}"
        " --structures-from {input.listed:q}"
        " --config-file {params.settings:q} --outdir {params.outdir:q} --threads {threads:q}"
        " --log {log:q}"
