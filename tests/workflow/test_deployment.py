"""Software deployment: conda environment files, what the rules import, no PATH override, and
README naming only Snakemake flags that exist."""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from esm_schnet import deploy
from esm_schnet.cli import COMMANDS

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "workflow" / "rules"
ENVS = REPO / "envs"
SRC = REPO / "src"


def _rules_with_conda() -> list[tuple[str, str, str]]:
    """(rule, env file, esm-schnet subcommand) of every rule with a conda: directive."""
    out = []
    for smk in sorted(RULES.glob("*.smk")):
        text = smk.read_text()
        for block in re.split(r"\n\s*(?=(?:rule|checkpoint) \w+:)", text):
            head = re.match(r"\s*(?:rule|checkpoint) (\w+):", block)
            env = re.search(r'conda:\s*\n\s*"([^"]+)"', block)
            cmd = re.search(r'shell:\s*\n\s*"esm-schnet ([\w-]+)', block)
            if head and env:
                assert cmd, f"{head.group(1)}: conda rule without an `esm-schnet` shell command"
                env_file = (smk.parent / env.group(1)).resolve()
                out.append((head.group(1), str(env_file), cmd.group(1)))
    return out


def _module_file(name: str) -> Path:
    p = SRC / Path(*name.split("."))
    return p / "__init__.py" if (p / "__init__.py").exists() else p.with_suffix(".py")


def third_party_imports(root: str) -> set[str]:
    """Top-level names of every non-stdlib module that `root` or any esm_schnet module it
    imports (anywhere, also inside functions) imports: what a job running it can need."""
    seen, todo, out = set(), [root], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        f = _module_file(name)
        if not f.exists():
            continue
        pkg = name if f.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = pkg.split(".")
                    mod = ".".join(parts[: len(parts) - node.level + 1] + [node.module or ""]).rstrip(".")
                else:
                    mod = node.module
                names = [mod] + [f"{mod}.{a.name}" for a in node.names]
            else:
                continue
            for n in names:
                if n.startswith("esm_schnet"):
                    todo.append(n)
                elif n.split(".")[0] not in sys.stdlib_module_names:
                    out.add(n.split(".")[0])
    return out


def _norm(dist: str) -> str:
    return re.sub(r"[-_.]+", "-", dist).lower()


def _pins(env: dict) -> dict[str, str]:
    pins = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for line in dep["pip"]:
                name, _, version = line.partition("==")
                pins[_norm(name)] = version
    return pins


def test_env_files_parse_and_each_has_its_post_deploy_script():
    files = sorted(ENVS.glob("*.yaml"))
    assert files
    used = {env for _, env, _ in _rules_with_conda()}
    for f in files:
        env = yaml.safe_load(f.read_text())
        assert set(env) == {"channels", "dependencies"}, f
        assert str(f.resolve()) in used, f"{f.name} is used by no rule"
        script = f.with_suffix(".post-deploy.sh")
        assert script.exists(), script
        text = script.read_text()
        assert deploy.SOURCE_ENV in text and "--no-deps" in text and "-e " not in text
        # no `-e ..`: Snakemake copies env files under .snakemake/conda/, relative paths break
        assert not any(".." in str(p) for p in _pins(env)), f
    assert all(Path(e).exists() for e in used)


@pytest.mark.parametrize("rule,env_file,command", _rules_with_conda())
def test_conda_env_has_what_the_rule_imports(rule, env_file, command):
    module = COMMANDS[command][0].split(":")[0]
    pins = _pins(yaml.safe_load(Path(env_file).read_text()))
    dists = md.packages_distributions()
    for name in sorted(third_party_imports(module)):
        assert name in dists, f"{rule}: {module} imports {name}, not installed here"
        dist = _norm(dists[name][0])
        assert dist in pins, f"{rule}: {module} imports {name} ({dist}), missing in {env_file}"
        tested = md.version(dist).split("+")[0]
        assert pins[dist] == tested, f"{env_file}: {dist}=={pins[dist]}, tested {tested}"


def test_no_path_override_and_no_warning_under_conda():
    common = (RULES / "common.smk").read_text()
    code = "\n".join(line for line in common.splitlines() if not line.lstrip().startswith("#"))
    assert "shell.prefix" not in code and "PATH" not in code
    assert deploy.console_script_problem({"conda"}, which=lambda _: None) is None
    assert deploy.console_script_problem(set(), which=lambda _: "/x/esm-schnet") is None
    assert "not on PATH" in deploy.console_script_problem(set(), which=lambda _: None)

    class Settings:  # Snakemake's DeploymentSettings.deployment_method holds enum members
        deployment_method = {type("M", (), {"value": "conda"})()}

    assert deploy.deployment_methods(type("W", (), {"deployment_settings": Settings})()) == {"conda"}
    assert deploy.deployment_methods(object()) == set()


def _readme_snakemake_flags() -> set[str]:
    text = (REPO / "README.md").read_text()
    flags = set()
    for line in text.splitlines():
        for chunk in re.findall(r"snakemake[^`\n|]*", line):
            chunk = re.sub(r"'[^']*'|\"[^\"]*\"", "", chunk)
            flags |= set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", chunk))
    return flags


def test_readme_names_only_snakemake_flags_that_exist():
    snakemake = Path(sys.executable).parent / "snakemake"
    if not snakemake.exists():
        pytest.skip("no snakemake next to the interpreter")
    help_text = subprocess.run(
        [str(snakemake), "--help"], capture_output=True, text=True, check=True
    ).stdout
    known = set(re.findall(r"(--[a-z][a-z0-9-]*)", help_text))
    flags = _readme_snakemake_flags()
    assert "--software-deployment-method" in flags
    assert not (flags - known), f"README names snakemake flags that do not exist: {flags - known}"
