"""Safety (issue 7, item 5): each promise checked by a test that fails when it is broken.

- no user value reaches a shell command unquoted: every `{...}` placeholder of every `shell:`
  command in workflow/rules/*.smk carries `:q` (except {threads} and {resources.*}, numbers
  Snakemake computes); no shell=True / os.system in the package (the end-to-end run with spaces
  and `$(touch PWNED)` in paths is in test_reruns.py);
- ids are validated before they become paths or arguments: unsafe ids are refused, and the
  `id` wildcard of the rules allows no more than the sample-table reader;
- every torch.load in src/ passes weights_only=True, and a model.pt carrying a pickle payload is
  refused by the loader without running it;
- no trust_remote_code=True anywhere, and the ESM2 loader passes trust_remote_code=False;
- nothing reaches eval/exec: no eval/exec/compile/__import__ calls, no unsafe YAML or pickle
  loading in src/ or the workflow.
"""

from __future__ import annotations

import ast
import re
import string
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src" / "esm_schnet"
RULES = sorted((REPO / "workflow" / "rules").glob("*.smk"))
WORKFLOW_FILES = [REPO / "Snakefile", *RULES]
PY_FILES = sorted(SRC.rglob("*.py"))


# ---------------------------------------------------------------- shell commands


def shell_commands(text: str):
    """(line, command) of every `shell:` directive: the indented string literals after it,
    concatenated as Python does."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)shell:\s*(.*)$", line)
        if not m:
            continue
        indent = len(m.group(1))
        body = [m.group(2)]
        j = i + 1
        while j < len(lines) and (
            not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > indent
        ):
            body.append(lines[j])
            j += 1
        yield i + 1, ast.literal_eval("(\n" + "\n".join(body) + "\n)")


def unquoted_placeholders(command: str) -> list[str]:
    bad = []
    for _, field, spec, conversion in string.Formatter().parse(command):
        if field is None:
            continue
        if field == "threads" or field.startswith("resources."):
            continue
        if spec != "q" or conversion:
            conv = f"!{conversion}" if conversion else ""
            bad.append("{" + field + conv + (f":{spec}" if spec else "") + "}")
    return bad


def test_scanner_catches_an_unquoted_placeholder():
    text = (
        'rule x:\n    shell:\n        "tool {input:q}"\n'
        '        " --out {output} {params.a!r} --n {threads}"\n'
    )
    ((line, cmd),) = shell_commands(text)
    assert line == 2 and cmd == "tool {input:q} --out {output} {params.a!r} --n {threads}"
    assert unquoted_placeholders(cmd) == ["{output}", "{params.a!r}"]


def test_every_shell_placeholder_is_quoted():
    found = 0
    problems = []
    for path in RULES:
        text = path.read_text()
        cmds = list(shell_commands(text))
        # every `shell:` directive was parsed (none hidden from the scan)
        assert len(cmds) == len(re.findall(r"^\s*shell:", text, flags=re.M)), path
        for line, cmd in cmds:
            found += 1
            assert "{" in cmd, f"{path.name}:{line}: a shell command without any input?"
            for ph in unquoted_placeholders(cmd):
                problems.append(f"{path.name}:{line}: {ph}")
    assert found >= 8  # parse, download_model, embed, folds, train_fold, train_final, evaluate, ...
    assert problems == [], "unquoted in shell commands:\n" + "\n".join(problems)


def test_no_shell_from_python_code():
    bad = []
    for path in PY_FILES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            name = ast.unparse(node.func)
            where = f"{path.relative_to(REPO)}:{node.lineno}"
            if name in {"os.system", "os.popen", "subprocess.getoutput",
                        "subprocess.getstatusoutput"}:  # fmt: skip
                bad.append(f"{where}: {name}")
            for kw in node.keywords:
                value = kw.value
                if kw.arg == "shell" and not (isinstance(value, ast.Constant) and not value.value):
                    bad.append(f"{where}: shell={ast.unparse(value)}")
    for path in WORKFLOW_FILES:  # no shell() calls hidden in run: blocks
        for k, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"(?<![\w.])shell\s*\(", line):
                bad.append(f"{path.relative_to(REPO)}:{k}: {line.strip()}")
    assert bad == []


# ---------------------------------------------------------------- ids


@pytest.mark.parametrize(
    "bad_id", ["-x", "--help", ".hidden", "a;b", "$(touch x)", "a b", "x/../y", "..", "é"]
)
def test_unsafe_ids_are_refused(tmp_path, bad_id):
    from esm_schnet.core.errors import SampleTableError
    from esm_schnet.core.samples import read_sample_table

    (tmp_path / "a.pdb").write_text("ATOM\n")
    (tmp_path / "s.tsv").write_text(f"id\tstructure\tlabel\n{bad_id}\ta.pdb\t1\n")
    with pytest.raises(SampleTableError) as err:
        read_sample_table(tmp_path / "s.tsv")
    assert err.value.problems == [
        f"line 2, column 'id': id {bad_id!r} is not file-name safe (allowed: letters, digits, "
        "'.', '_', '-'; the first a letter or digit)"
    ]


def test_id_wildcard_is_no_wider_than_the_reader():
    from esm_schnet.core.samples import ID_PATTERN

    common = (REPO / "workflow/rules/common.smk").read_text()
    (wildcard,) = re.findall(r'^\s*id=r"([^"]+)",', common, flags=re.M)
    assert f"^{wildcard}$" == ID_PATTERN.pattern


# ---------------------------------------------------------------- torch.load, pickles


def _calls(paths, pred):
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and pred(node):
                yield path, node


def test_every_torch_load_is_weights_only():
    loads = list(_calls(PY_FILES, lambda n: ast.unparse(n.func) == "torch.load"))
    assert loads, "no torch.load found: the scan looks at the wrong files"
    for path, node in loads:
        kw = {k.arg: k.value for k in node.keywords}
        value = kw.get("weights_only")
        assert isinstance(value, ast.Constant) and value.value is True, f"{path}:{node.lineno}"
    # no other spelling that the scan above would miss
    for path in PY_FILES:
        text = path.read_text()
        assert not re.search(r"from\s+torch\s+import\s+[^\n]*\bload\b", text), path
        assert not re.search(r"import\s+torch\s+as\b", text), path
        assert not re.search(r"(?<!torch)\.load\(.*weights_only\s*=\s*False", text), path


def test_no_unsafe_deserialisation():
    bad = []
    for path, node in _calls(PY_FILES, lambda n: True):
        name = ast.unparse(node.func)
        kw = {k.arg: k.value for k in node.keywords}
        if name in {"pickle.load", "pickle.loads", "joblib.load", "dill.load", "yaml.unsafe_load",
                    "yaml.full_load", "marshal.loads"}:  # fmt: skip
            bad.append(f"{path.name}:{node.lineno}: {name}")
        if name == "yaml.load" and "safe" not in ast.unparse(node).lower():
            bad.append(f"{path.name}:{node.lineno}: {name} without SafeLoader")
        if name.endswith(("np.load", "numpy.load")) and not (
            isinstance(kw.get("allow_pickle"), ast.Constant) and kw["allow_pickle"].value is False
        ):
            bad.append(f"{path.name}:{node.lineno}: {name} without allow_pickle=False")
    assert bad == []


class _Payload:
    """Unpickling this creates a directory: the stand-in for arbitrary code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import os

        return (os.mkdir, (self.marker,))


def test_pickle_bearing_model_is_refused_without_running_it(tmp_path):
    import torch

    from esm_schnet.core.errors import CorruptFileError
    from esm_schnet.train.checkpoint import MODEL_FORMAT, load_model

    marker = tmp_path / "payload-ran"
    evil = tmp_path / "model.pt"
    torch.save({"format": MODEL_FORMAT, "state_dict": {"w": torch.zeros(2)},
                "meta": _Payload(marker)}, evil)  # fmt: skip
    # the payload is live: an unsafe load runs it
    torch.load(evil, weights_only=False)
    assert marker.is_dir()
    marker.rmdir()
    with pytest.raises(CorruptFileError) as err:
        load_model(evil)
    assert not marker.exists()
    assert str(evil) in str(err.value) and "delete it and rerun" in str(err.value)


# ---------------------------------------------------------------- remote code


def test_no_trust_remote_code_true_anywhere():
    for path in PY_FILES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.keyword) and node.arg == "trust_remote_code":
                assert isinstance(node.value, ast.Constant) and node.value.value is False, (
                    f"{path}:{node.value.lineno}"
                )
            if isinstance(node, ast.Dict):
                for k, v in zip(node.keys, node.values):
                    if isinstance(k, ast.Constant) and k.value == "trust_remote_code":
                        where = f"{path}:{k.lineno}"
                        assert isinstance(v, ast.Constant) and v.value is False, where
    others = [*WORKFLOW_FILES, *sorted((REPO / "bench").glob("*.py")), REPO / "config.yaml",
              REPO / "workflow/schemas/config.schema.yaml"]  # fmt: skip
    for path in others:
        if path.is_file():
            assert not re.search(r"trust_remote_code\s*[=:]\s*True", path.read_text()), path


def test_esm_loader_passes_trust_remote_code_false(tmp_path, monkeypatch):
    pytest.importorskip("transformers")
    import transformers

    from embed_helpers import write_tiny_esm

    from esm_schnet.embed.featurizers import get_featurizer

    ckpt = write_tiny_esm(tmp_path / "tiny")
    seen = []
    for cls in (transformers.EsmModel, transformers.AutoTokenizer):
        original = cls.from_pretrained

        def spy(*args, _original=original, _name=cls.__name__, **kwargs):
            seen.append((_name, kwargs))
            return _original(*args, **kwargs)

        monkeypatch.setattr(cls, "from_pretrained", spy)
    get_featurizer(dict(model=ckpt, dtype="float32", device="cpu"))
    assert {name for name, _ in seen} == {"EsmModel", "AutoTokenizer"}
    for name, kwargs in seen:
        assert kwargs.get("trust_remote_code") is False, name
        assert kwargs.get("local_files_only") is True, name  # never the network


# ---------------------------------------------------------------- eval / exec


def test_nothing_reaches_eval_or_exec():
    bad = []
    for path, node in _calls(PY_FILES, lambda n: isinstance(n.func, ast.Name)):
        if node.func.id in {"eval", "exec", "compile", "__import__"}:
            bad.append(f"{path.relative_to(REPO)}:{node.lineno}: {node.func.id}")
    for path, node in _calls(PY_FILES, lambda n: isinstance(n.func, ast.Attribute)):
        name = ast.unparse(node.func)
        if name == "importlib.import_module" and path.name == "cli.py":
            continue  # the CLI's fixed command table: checked below
        if name in {"builtins.eval", "builtins.exec", "importlib.import_module"}:
            bad.append(f"{path.relative_to(REPO)}:{node.lineno}: {name}")
    for path in WORKFLOW_FILES:  # .smk is not plain Python: a textual scan
        for k, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"(?<![\w.])(eval|exec|compile|__import__)\s*\(", line):
                bad.append(f"{path.relative_to(REPO)}:{k}: {line.strip()}")
    assert bad == []


def test_cli_imports_only_its_own_command_table():
    from esm_schnet import cli

    assert all(t.startswith("esm_schnet.") for t, _ in cli.COMMANDS.values())
    # a name outside the table is refused before anything is imported
    assert cli.main(["os:system"]) == 2
    assert cli.main(["__import__('os')"]) == 2
