"""Software deployment: the lock, the files generated from it (conda environments, Dockerfile),
what the rules import, no PATH override, and README and docs naming only Snakemake flags that exist."""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from esm_schnet.core import deploy
from esm_schnet.cli import COMMANDS

REPO = Path(__file__).resolve().parents[2]
ENVS = REPO / "envs"


def _load_generator():
    spec = importlib.util.spec_from_file_location("envs_generate", ENVS / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _load_generator()
LOCK_TEXT = gen.LOCK.read_text()
PINS, REQUIRES = gen.read_lock(LOCK_TEXT)


def _pins(env: dict) -> dict[str, str]:
    pins = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for line in dep["pip"]:
                name, _, version = line.partition("==")
                pins[gen.norm(name)] = version
    return pins


def test_env_files_parse_and_each_has_its_post_deploy_script():
    files = sorted(ENVS.glob("*.yaml"))
    assert files
    used = {str(env) for _, env, _ in gen.rules_with_conda()}
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


def test_lock_pins_the_whole_closure_once():
    """Every line of the lock is an exact pin of its own distribution, and every dependency the
    `# via` annotations name is itself pinned: the closure is complete."""
    names = [gen.norm(m) for m in re.findall(r"^([A-Za-z0-9][\w.-]*)==", LOCK_TEXT, re.M)]
    assert len(names) == len(set(names)) > 50
    assert not re.search(r"^[A-Za-z0-9][\w.-]*\s*(>=|<=|~=|>|<)", LOCK_TEXT, re.M)
    assert PINS["torch"][1].endswith("+cpu"), "the lock must name torch's CPU build"
    for parent, deps in REQUIRES.items():
        assert parent in PINS and deps <= set(PINS), parent


def test_generated_files_are_those_of_the_lock():
    """envs/*.yaml and envs/Dockerfile are exactly what envs/generate.py writes from the lock: an
    edit by hand, or a lock changed without `make envs`, fails here."""
    generated = gen.generate()
    assert set(generated) == {*(p.resolve() for p in ENVS.glob("*.yaml")), gen.DOCKERFILE}
    stale = [p.name for p, text in generated.items() if p.read_text() != text]
    assert not stale, f"{stale} differ from requirements.lock: run `make envs`"
    for text in generated.values():
        assert text.startswith(gen.HEADER)


def test_one_pin_changed_in_the_lock_changes_every_generated_copy():
    numpy = PINS["numpy"][1]
    edited = re.sub(rf"^numpy=={re.escape(numpy)}$", "numpy==1.0.0", LOCK_TEXT, flags=re.M)
    assert edited != LOCK_TEXT
    for path, text in gen.generate(edited).items():
        assert "numpy==1.0.0" in text and f"numpy=={numpy}" not in text, path.name
        assert text != path.read_text()


def test_an_env_file_edited_by_hand_is_caught(tmp_path, monkeypatch):
    target = ENVS / "train.yaml"
    copy = tmp_path / "train.yaml"
    copy.write_text(target.read_text().replace(f"numpy=={PINS['numpy'][1]}", "numpy==1.0.0"))
    generated = gen.generate()[target.resolve()]
    assert copy.read_text() != generated
    # the command-line check names it too
    monkeypatch.setattr(gen, "generate", lambda: {copy: generated})
    assert gen.main(["--check"]) == 1
    assert copy.read_text() != generated  # --check writes nothing


def test_closure_and_companions():
    pins, requires = gen.read_lock(
        "a==1\n    # via esm-schnet (pyproject.toml)\nb==2\n    # via\n    #   a\n    #   c\n"
        "c==3+cpu\n    # via a\nd==4\n    # via esm-schnet (pyproject.toml)\n"
    )
    assert pins == {"a": ("a", "1"), "b": ("b", "2"), "c": ("c", "3+cpu"), "d": ("d", "4")}
    assert gen.closure(["a"], requires) == {"a", "b", "c"}
    assert gen.closure(["c"], requires) == {"c", "b"}
    assert gen.pip_lines({"a", "c"}, pins) == ["a==1", "c==3"]
    assert gen.pip_lines({"c"}, pins, public=False) == ["c==3+cpu"]


@pytest.mark.parametrize("rule,env_file,command", gen.rules_with_conda())
def test_conda_env_has_what_the_rule_imports(rule, env_file, command):
    """Each rule's env pins every distribution its code imports, at the lock's version."""
    module = COMMANDS[command][0].split(":")[0]
    pins = _pins(yaml.safe_load(Path(env_file).read_text()))
    dists = md.packages_distributions()
    for name in sorted(gen.third_party_imports(module)):
        assert name in dists, f"{rule}: {module} imports {name}, not installed here"
        dist = gen.norm(dists[name][0])
        assert dist in pins, f"{rule}: {module} imports {name} ({dist}), missing in {env_file}"
        assert pins[dist] == PINS[dist][1].split("+")[0], f"{env_file}: {dist} is not the lock's"


def test_no_path_override_and_no_warning_under_conda():
    common = (gen.RULES / "common.smk").read_text()
    code = "\n".join(line for line in common.splitlines() if not line.lstrip().startswith("#"))
    assert "shell.prefix" not in code and "PATH" not in code
    assert deploy.console_script_problem({"conda"}, which=lambda _: None) is None
    assert deploy.console_script_problem(set(), which=lambda _: "/x/esm-schnet") is None
    assert "not on PATH" in deploy.console_script_problem(set(), which=lambda _: None)

    class Settings:  # Snakemake's DeploymentSettings.deployment_method holds enum members
        deployment_method = {type("M", (), {"value": "conda"})()}

    assert deploy.deployment_methods(type("W", (), {"deployment_settings": Settings})()) == {"conda"}
    assert deploy.deployment_methods(object()) == set()


def _docs_snakemake_flags() -> set[str]:
    """Snakemake flags named in README.md and the documentation pages (docs/*.md)."""
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    text = "\n".join(page.read_text() for page in pages)
    flags = set()
    for line in text.splitlines():
        for chunk in re.findall(r"snakemake[^`\n|]*", line):
            chunk = re.sub(r"'[^']*'|\"[^\"]*\"", "", chunk)
            flags |= set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", chunk))
    return flags


def test_docs_name_only_snakemake_flags_that_exist():
    snakemake = Path(sys.executable).parent / "snakemake"
    if not snakemake.exists():
        pytest.skip("no snakemake next to the interpreter")
    help_text = subprocess.run(
        [str(snakemake), "--help"], capture_output=True, text=True, check=True
    ).stdout
    known = set(re.findall(r"(--[a-z][a-z0-9-]*)", help_text))
    flags = _docs_snakemake_flags()
    assert "--software-deployment-method" in flags
    assert not (flags - known), f"the docs name snakemake flags that do not exist: {flags - known}"
