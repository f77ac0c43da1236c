# esm-schnet: protein property prediction from structure (ESM2 embeddings + SchNet).
# This file is the table of contents; every stage lives in workflow/rules/<stage>.smk and all
# logic in the esm_schnet package (src/esm_schnet).
from snakemake.utils import min_version, validate

from esm_schnet.config import coerce_overrides

min_version("9.0")


configfile: "config.yaml"


coerce_overrides(config, f"{workflow.basedir}/workflow/schemas/config.schema.yaml")
validate(config, "workflow/schemas/config.schema.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/parse.smk"
include: "workflow/rules/embed.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/predict.smk"


rule all:
    input:
        all_targets(),
    default_target: True
