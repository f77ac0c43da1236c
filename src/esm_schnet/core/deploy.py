"""Software deployment helpers of the workflow (workflow/rules/common.smk calls them).

`shell:` rules call the `esm-schnet` console script by name. Without a software deployment
method it must be on PATH (an activated venv, `make run`, a conda env of the whole package);
with `--software-deployment-method conda` each rule's environment (envs/*.yaml) provides it and
puts it first on the job's PATH. The workflow never changes PATH or `shell.prefix` itself: both
are global to the Snakemake process and would leak into a host workflow using it as a module.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable

SCRIPT = "esm-schnet"
# Environment variable the envs/*.post-deploy.sh scripts read: the workflow's source directory.
SOURCE_ENV = "ESM_SCHNET_SOURCE"


def method_names(methods: Iterable | None) -> set[str]:
    """Lower-case names of deployment methods (Snakemake DeploymentMethod members or strings)."""
    return {str(getattr(m, "value", m)).lower() for m in (methods or ())}


def deployment_methods(workflow) -> set[str]:
    """Active software deployment methods of a Snakemake workflow object
    (`workflow.deployment_settings.deployment_method` in Snakemake >= 8)."""
    settings = getattr(workflow, "deployment_settings", None)
    return method_names(getattr(settings, "deployment_method", None))


def console_script_problem(methods: Iterable | None, which=shutil.which) -> str | None:
    """A warning when `shell:` jobs would not find `esm-schnet`, else None.

    Under conda the rule environments provide it; otherwise it must be on PATH.
    """
    if "conda" in method_names(methods) or which(SCRIPT):
        return None
    return (
        f"esm-schnet: the `{SCRIPT}` console script is not on PATH, so the workflow's shell jobs "
        "would fail. Activate the environment that has the package (`source .venv/bin/activate`, "
        "or `make run`), or run with `--software-deployment-method conda` (see docs/install.md, "
        "'Software environment')."
    )
