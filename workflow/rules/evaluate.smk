# evaluate stage: one job gathers every fold (SchNet's held-out predictions and each fold's
# convergence from its provenance.json), fits the baselines on the SAME folds and writes
# predictions, metrics (with bootstrap intervals), paired comparisons with every baseline and the
# small tables the plots read. All logic lives in esm_schnet.evaluate.

# Job size: config resources.evaluate (mem_mb, runtime in minutes, threads).
EVALUATE_JOB = job_resources("evaluate")


rule evaluate:
    input:
        predictions=lambda w: fold_outputs(w, "predictions.tsv"),
        histories=lambda w: fold_outputs(w, "history.tsv"),
        provenance=lambda w: fold_outputs(w, "provenance.json"),
        folds=f"results/cv/{SCHEME}/folds.tsv",
        shards=expand(
            "results/embeddings/{tag}/shard-{shard}.h5", tag=MODEL_TAG, shard=SHARDS
        ),
        samples=local(config["samples"]),
        # every parsed structure, through a file: the structure-aware baselines
        listed=ALL_STRUCTURES,
    output:
        predictions=report(
            "results/predictions.tsv",
            caption="../report/predictions.rst",
            category="2. Metrics",
        ),
        metrics=report(
            "results/metrics.tsv",
            caption="../report/metrics.rst",
            category="2. Metrics",
        ),
        comparisons=report(
            "results/comparisons.tsv",
            caption="../report/comparisons.rst",
            category="2. Metrics",
        ),
        html=report(
            "results/evaluate/metrics.html",
            caption="../report/metrics_html.rst",
            category="2. Metrics",
        ),
        json="results/metrics.json",
        lengths="results/evaluate/lengths.tsv",
        history="results/evaluate/history.tsv",
        convergence="results/evaluate/convergence.tsv",
    log:
        "logs/evaluate/evaluate.log",
    benchmark:
        "benchmarks/evaluate/evaluate.tsv"
    conda:
        "../../envs/evaluate.yaml"
    threads: EVALUATE_JOB["threads"]
    resources:
        **EVALUATE_JOB["resources"],
    params:
        # embedding.model, cv.scheme, evaluate and the label specs (common.smk)
        settings=SETTINGS_FILES["evaluate"],
    message:
        "evaluate: metrics, baselines and comparisons of every fold -> results/metrics.tsv"
    shell:
        "esm-schnet evaluate"
        " --fold-predictions {input.predictions:q}"
        " --histories {input.histories:q}"
        " --provenance {input.provenance:q}"
        " --folds {input.folds:q}"
        " --samples {input.samples:q}"
        " --shards {input.shards:q}"
        " --structures-from {input.listed:q}"
        " --config-file {params.settings:q}"
        " --out-predictions {output.predictions:q}"
        " --out-metrics {output.metrics:q}"
        " --out-json {output.json:q}"
        " --out-comparisons {output.comparisons:q}"
        " --out-lengths {output.lengths:q}"
        " --out-history {output.history:q}"
        " --out-convergence {output.convergence:q}"
        " --out-html {output.html:q}"
        " --log {log:q}"
