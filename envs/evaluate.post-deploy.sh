#!/usr/bin/env bash
# Snakemake runs this once, inside the new conda environment of envs/evaluate.yaml, right after
# creating it. It installs the esm_schnet package from the workflow's own source (not a copy of
# the env file's directory: Snakemake copies env files under .snakemake/conda/), without
# dependencies (the env file lists them). workflow/rules/common.smk sets ESM_SCHNET_SOURCE to
# the workflow's source directory (works when the workflow is used as a module, too).
set -euo pipefail
: "${ESM_SCHNET_SOURCE:?is set by the esm-schnet workflow (workflow/rules/common.smk)}"
python -m pip install --no-deps --no-build-isolation --no-input "$ESM_SCHNET_SOURCE"
