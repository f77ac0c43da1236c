# parse stage: one job per protein (structure file -> results/structures/<id>.h5 + QC row), then
# one local job that gathers the QC rows. All logic lives in esm_schnet.structure.
# `parse` is a shell: rule on purpose: on Linux Snakemake runs every run: job in a new Snakemake
# process that re-reads the whole workflow (measured: 12 proteins, --cores 2, 62 s as run: vs
# 18 s as this shell: rule), and a bad structure is reported as one line
# ("esm-schnet parse: error: sample 'x': reason") instead of a RuleException with a traceback.
from esm_schnet.structure import collect_qc

# Size of one parse job: config resources.parse (mem_mb, runtime in minutes, threads).
# Measured: ~80 MB peak RSS and ~1 s for a 16,000-atom PDB file (1a5u, 2,076 residues).
PARSE_RESOURCES = config["resources"].get("parse") or {}


rule parse:
    input:
        structure_of,
    output:
        h5="results/structures/{id}.h5",
        qc="results/qc/parse/{id}.tsv",
    params:
        on_error=config["parse"]["on_error"],
    log:
        "logs/parse/{id}.log",
    benchmark:
        "benchmarks/parse/{id}.tsv"
    threads: PARSE_RESOURCES.get("threads", 1)
    resources:
        mem_mb=PARSE_RESOURCES.get("mem_mb", 1000),
        runtime=PARSE_RESOURCES.get("runtime", 1),
        slurm_partition=config["resources"]["partition"],
    conda:
        "../../envs/parse.yaml"
    shell:
        "esm-schnet parse {input:q} --id {wildcards.id:q} --out {output.h5:q} --qc {output.qc:q}"
        " --on-error {params.on_error:q} --log {log:q}"


rule qc:
    input:
        expand("results/qc/parse/{id}.tsv", id=IDS),
    output:
        structures="results/qc/structures.tsv",
        skipped="results/qc/skipped.tsv",
    log:
        "logs/qc/structures.log",
    localrule: True
    run:
        collect_qc(input, output.structures, output.skipped, log[0])
