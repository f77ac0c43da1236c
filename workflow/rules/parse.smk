# parse stage: one job per protein (structure file -> results/structures/<id>.h5 + QC row), then
# one local job that gathers the QC rows. All logic lives in esm_schnet.parse.
# `parse` is a run: rule that calls one package function in-process. profiles/default (loaded by
# Snakemake on every run) sets `force-use-threads`, so it runs in a thread of the Snakemake
# process; without it Snakemake 9 starts a whole new Snakemake process per run: job. Measured
# (bench/parse_overhead.py, 200 tiny proteins, --cores 2, 2-core EPYC under load): 71 ms per
# job in-process vs 1,005 ms as a shell: `esm-schnet parse` job vs 5,772 ms as a spawned run: job.
# A bad structure fails the job with "sample 'x': reason" (parse.on_error=fail): one line in the
# job log and one on the console, no stack frames (esm_schnet.core.log.rule_job).
from esm_schnet.core.log import rule_job
from esm_schnet.parse import collect_qc, parse_job
from esm_schnet.core.pathlist import path_list_job

# Size of one parse job: config resources.parse (mem_mb, runtime in minutes, threads).
# Measured: ~80 MB peak RSS and ~1 s for a 16,000-atom PDB file (1a5u, 2,076 residues).
PARSE_JOB = job_resources("parse")
# Snakemake prints a failed job's log itself (--show-failed-logs): then the error is not repeated.
LOG_SHOWN = workflow.output_settings.show_failed_logs


rule parse:
    input:
        structure_of,
    output:
        h5="results/structures/{id}.h5",
        qc="results/qc/parse/{id}.tsv",
    log:
        "logs/parse/{id}.log",
    benchmark:
        "benchmarks/parse/{id}.tsv"
    threads: PARSE_JOB["threads"]
    resources:
        **PARSE_JOB["resources"],
    params:
        on_error=config["parse"]["on_error"],
    run:
        rule_job(
            parse_job,
            input[0],
            wildcards.id,
            output.h5,
            output.qc,
            params.on_error,
            log[0],
            log_shown=LOG_SHOWN,
        )


rule qc:
    input:
        expand("results/qc/parse/{id}.tsv", id=IDS),
    output:
        structures="results/qc/structures.tsv",
        skipped="results/qc/skipped.tsv",
    log:
        "logs/qc/structures.log",
    localrule: True
    message:
        "qc: the parse QC of {n} proteins -> {{output.structures}}".format(n=len(IDS))
    run:
        rule_job(
            collect_qc,
            input,
            output.structures,
            output.skipped,
            log[0],
            log_shown=LOG_SHOWN,
        )


# Lists of parsed structures, written from the rule's inputs (results/lists/structures-all.txt:
# every protein, for folds and train_final; structures-shard-NNN.txt: one embedding shard's).
# Jobs read them with --structures-from (esm_schnet.core.pathlist), so no command line grows with the
# number of proteins: Linux refuses one argument over 128 KiB, about 4,500 paths.
rule structure_list:
    input:
        structure_list_inputs,
    output:
        "results/lists/structures-{part}.txt",
    log:
        "logs/structure_list/{part}.log",
    wildcard_constraints:
        part=r"all|shard-\d{3}",
    localrule: True
    message:
        "structure_list[part={wildcards.part}]: the parsed structures -> {output}"
    run:
        rule_job(path_list_job, input, output[0], log[0], log_shown=LOG_SHOWN)
