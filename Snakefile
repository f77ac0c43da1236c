# esm-schnet: protein property prediction from structure (ESM2 embeddings + SchNet).
# This file is the table of contents; every stage lives in workflow/rules/<stage>.smk and all
# logic in the esm_schnet package (src/esm_schnet).
import sys

from snakemake.utils import min_version, validate

from esm_schnet.core.errors import ConfigError
from esm_schnet.core.settings import check_workflow_config, schema_path

min_version("9.0")


configfile: "config.yaml"


# The schema (with every default) ships inside the package. An unknown or mistyped setting stops
# here with one short line (e.g. "unknown setting training.epoch (did you mean training.epochs?)").
try:
    check_workflow_config(config)
except ConfigError as exc:
    sys.exit(f"Error validating config file: {exc}")
validate(config, str(schema_path()))


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/parse.smk"
include: "workflow/rules/embed.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/predict.smk"
include: "workflow/rules/console.smk"


rule all:
    default_target: True
    input:
        all_targets(),
    message:
        "all: every output of the run is up to date"
