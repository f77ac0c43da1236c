# predict stage (only when config predict.samples is set): score new structures with the final
# model and/or the cross-validation fold models (predict.models). Their ids live in their own
# namespace (results/predict/...), so they may repeat training ids. A structure that cannot be
# parsed is recorded (parse forced to on_error=skip; in-process like the parse rule) and reported
# in the predictions table; the others are embedded (reusing the embedding cache) and predicted.
from esm_schnet.tasks import task_of

PREDICT_TABLE = config["predict"]["samples"]
# Job size of the embed and scoring jobs: config resources.predict (mem_mb, runtime, threads).
PREDICT_JOB = job_resources("predict")
if PREDICT_TABLE:
    try:
        PREDICT = read_sample_table(
            PREDICT_TABLE, require_labels=False, labels=LABEL_SPECS
        )
    except SampleTableError as exc:
        sys.exit(f"esm-schnet: predict.samples: {exc}")
    PREDICT_IDS = list(PREDICT.index)
    PREDICT_STRUCTURES = structure_paths(PREDICT)

    rule predict_parse:
        input:
            lambda w: structure_of(w, PREDICT_STRUCTURES),
        output:
            h5="results/predict/structures/{id}.h5",
            qc="results/predict/qc/{id}.tsv",
        log:
            "logs/predict_parse/{id}.log",
        benchmark:
            "benchmarks/predict_parse/{id}.tsv"
        threads: PARSE_JOB["threads"]
        resources:
            **PARSE_JOB["resources"],
        run:
            parse_job(input[0], wildcards.id, output.h5, output.qc, "skip", log[0])

    # The parsed structures through a file (parse.smk, structure_list): no command line grows
    # with the number of proteins to score.
    use rule structure_list as predict_structure_list with:
        input:
            expand("results/predict/structures/{id}.h5", id=PREDICT_IDS),
        output:
            "results/predict/lists/structures.txt",
        log:
            "logs/predict_structure_list/structures.log",
        message:
            "predict_structure_list: the parsed structures to score -> {output}"

    # Same settings, cache and weights as the embed rule: a sequence already embedded for
    # training (or an earlier prediction) comes from the cache.
    rule predict_embed:
        input:
            structures=expand("results/predict/structures/{id}.h5", id=PREDICT_IDS),
            listed="results/predict/lists/structures.txt",
            model=MODEL_INPUT,
        output:
            f"results/predict/embeddings/{MODEL_TAG}/shard-000.h5",
        log:
            f"logs/predict_embed/{MODEL_TAG}.log",
        benchmark:
            f"benchmarks/predict_embed/{MODEL_TAG}.tsv"
        conda:
            "../../envs/embed.yaml"
        threads: PREDICT_JOB["threads"]
        resources:
            **PREDICT_JOB["resources"],
        params:
            settings=EMBED_SETTINGS,
            max_tokens=EMB["max_tokens"],
            cache=EMB["cache"],
            models_dir=EMB["models_dir"],
        shell:
            "esm-schnet embed --structures-from {input.listed:q} --out {output:q}"
            " --settings {params.settings:q}"
            " --max-tokens {params.max_tokens:q} --cache={params.cache:q}"
            " --models-dir {params.models_dir:q}"
            " --threads {threads:q} --log {log:q}"

    rule predict:
        input:
            samples=local(PREDICT_TABLE),
            models=predict_models,  # common.smk: predict.models
            structures=expand("results/predict/structures/{id}.h5", id=PREDICT_IDS),
            listed="results/predict/lists/structures.txt",
            shard=f"results/predict/embeddings/{MODEL_TAG}/shard-000.h5",
        output:
            report(
                "results/predict/predictions.tsv",
                caption="../report/predict.rst",
                category="3. Prediction",
            ),
        log:
            "logs/predict/predict.log",
        benchmark:
            "benchmarks/predict/predict.tsv"
        conda:
            "../../envs/evaluate.yaml"
        threads: PREDICT_JOB["threads"]
        resources:
            **PREDICT_JOB["resources"],
        shell:
            "esm-schnet predict --samples {input.samples:q}"
            " --structures-from {input.listed:q}"
            " --shards {input.shard:q} --models {input.models:q} --out {output:q}"
            " --threads {threads:q} --log {log:q}"

    # A labelled prediction table is a fixed test set: the trained model beside every baseline
    # refitted on all training proteins, metrics and paired comparisons
    # (esm_schnet.evaluate.testset).
    PREDICT_TEST_TARGETS = (
        ["results/predict/metrics.tsv", "results/predict/parity.png"]
        if any(
            s.name in PREDICT.columns and PREDICT[s.name].notna().any()
            for s in LABEL_SPECS
            if task_of(s).test_set
        )
        else []
    )

    rule score_test_set:
        input:
            predictions="results/predict/predictions.tsv",
            samples=local(config["samples"]),
            train_shards=TRAIN_SHARDS,
            test_shard=f"results/predict/embeddings/{MODEL_TAG}/shard-000.h5",
            train_listed=ALL_STRUCTURES,
            test_listed="results/predict/lists/structures.txt",
        output:
            metrics=report(
                "results/predict/metrics.tsv",
                caption="../report/predict_metrics.rst",
                category="3. Prediction",
            ),
            comparisons="results/predict/comparisons.tsv",
            predictions="results/predict/test_predictions.tsv",
            parity=report(
                "results/predict/parity.png",
                caption="../report/predict_parity.rst",
                category="3. Prediction",
            ),
            svg="results/predict/parity.svg",
        log:
            "logs/score_test_set/score_test_set.log",
        benchmark:
            "benchmarks/score_test_set/score_test_set.tsv"
        conda:
            "../../envs/evaluate.yaml"
        threads: EVALUATE_JOB["threads"]
        resources:
            **EVALUATE_JOB["resources"],
        params:
            # evaluate, plots.dpi and the label specs (common.smk)
            settings=SETTINGS_FILES["score_test_set"],
        message:
            "score_test_set: the labelled prediction set, the model beside every baseline"
            " -> {output.metrics}"
        shell:
            "esm-schnet score-test-set --predictions {input.predictions:q}"
            " --samples {input.samples:q} --train-shards {input.train_shards:q}"
            " --test-shards {input.test_shard:q}"
            " --train-structures-from {input.train_listed:q}"
            " --test-structures-from {input.test_listed:q}"
            " --config-file {params.settings:q}"
            " --out-metrics {output.metrics:q} --out-comparisons {output.comparisons:q}"
            " --out-predictions {output.predictions:q} --out-parity {output.parity:q}"
            " --log {log:q}"

else:
    PREDICT_TEST_TARGETS = []

    # `snakemake predict` (or its output as a target) without predict.samples: say what to set,
    # not Snakemake's "no rule to produce" (esm_schnet.prediction.score.not_configured).
    from esm_schnet.core.log import rule_job
    from esm_schnet.prediction.score import not_configured

    rule predict:
        output:
            "results/predict/predictions.tsv",
        log:
            "logs/predict/not_configured.log",
        localrule: True
        run:
            rule_job(
                not_configured,
                log[0],
                log_shown=workflow.output_settings.show_failed_logs,
            )
