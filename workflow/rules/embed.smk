# embed stage: per-residue features from the featurizer that embedding.model names (ESM2, onehot,
# a plugin), one job per shard, into HDF5 shards
# (results/embeddings/<tag>/shard-NNN.h5) plus a manifest id -> shard. All logic lives in
# esm_schnet.embed and esm_schnet.core.store.
import json

from esm_schnet.embed.featurizers import needs_download
from esm_schnet.embed.source import marker_path, models_dir_of
from esm_schnet.core.store import manifest_job

EMB = config["embedding"]
EMBED_JOB = job_resources("embed")
EMBED_DIR = f"results/embeddings/{MODEL_TAG}"
MODEL_MARKER = str(marker_path(EMB["model"], EMB["models_dir"]))
# Settings that change the embeddings (a change reruns the shards). max_tokens, cache and
# models_dir change speed or locations, not results (a rerun after changing them reads the
# cache and writes identical shards).
EMBED_SETTINGS = json.dumps(
    {
        k: EMB[k]
        for k in (
            "model",
            "revision",
            "layer",
            "dtype",
            "device",
            "window",
            "overlap",
            "storage_dtype",
        )
    },
    sort_keys=True,
)


# The downloaded weights, when the featurizer registry says the model needs them (ESM2 hub ids;
# onehot and local directories need none).
MODEL_INPUT = [MODEL_MARKER] if needs_download(EMB["model"]) else []


# Local rule: on a cluster the login node (which has the network) downloads, compute nodes read
# the weights from disk.
rule download_model:
    output:
        MODEL_MARKER,
    log:
        f"logs/download_model/{MODEL_TAG}.log",
    localrule: True
    conda:
        "../../envs/embed.yaml"
    params:
        model=EMB["model"],
        revision=EMB["revision"],
        # <models_dir> of <models_dir>/<tag>/download.json
        models_dir=lambda wildcards, output: models_dir_of(output[0], EMB["models_dir"]),
    shell:
        "esm-schnet download-model --model {params.model:q} --revision {params.revision:q}"
        " --models-dir {params.models_dir:q} --log {log:q}"


rule embed:
    input:
        structures=lambda w: parsed_h5(ids_in_shard(w.shard)),
        # the same paths through a file (parse.smk, structure_list): no command line grows
        # with the number of proteins
        listed="results/lists/structures-shard-{shard}.txt",
        model=MODEL_INPUT,
    output:
        f"{EMBED_DIR}/shard-{{shard}}.h5",
    log:
        f"logs/embed/{MODEL_TAG}/shard-{{shard}}.log",
    benchmark:
        f"benchmarks/embed/{MODEL_TAG}/shard-{{shard}}.tsv"
    conda:
        "../../envs/embed.yaml"
    # torch intra-op threads of one shard job (config resources.embed; capped at --cores).
    threads: EMBED_JOB["threads"]
    resources:
        **EMBED_JOB["resources"],
    params:
        settings=EMBED_SETTINGS,
        max_tokens=EMB["max_tokens"],
        cache=EMB["cache"],
        models_dir=lambda w, input: models_dir_of(input.model, EMB["models_dir"]),
    message:
        "embed[shard={wildcards.shard}]: -> {output} (threads: {threads}, mem_mb={resources.mem_mb},"
        " runtime={resources.runtime}, gpu={resources.gpu},"
        " slurm_partition={resources.slurm_partition})"
    shell:
        "esm-schnet embed --structures-from {input.listed:q} --out {output:q}"
        " --settings {params.settings:q}"
        " --max-tokens {params.max_tokens:q} --cache={params.cache:q}"
        " --models-dir {params.models_dir:q}"
        " --threads {threads} --log {log:q}"


rule manifest:
    input:
        expand(f"{EMBED_DIR}/shard-{{shard}}.h5", shard=SHARDS),
    output:
        f"{EMBED_DIR}/manifest.tsv",
    log:
        f"logs/manifest/{MODEL_TAG}.log",
    localrule: True
    message:
        "manifest: which shard holds each protein -> {output}"
    run:
        manifest_job(input, output[0], log[0])
