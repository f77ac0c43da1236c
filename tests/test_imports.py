"""Imports that cost seconds per job or per planning run: PyG without `transformers` (which
stays importable), esm_schnet.report.plots without matplotlib."""

import subprocess
import sys

CHECK = """
import sys
import esm_schnet.encoders
from esm_schnet.encoders import build_encoder
print("after encoders:", "transformers" in sys.modules)
import torch_geometric
print("pyg loaded:", "torch_geometric.nn.models.schnet" in sys.modules)
import transformers
print("transformers importable:", bool(transformers.__version__))
"""


def test_encoders_load_pyg_without_transformers_and_leave_it_importable():
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True,
                         check=True).stdout
    assert "after encoders: False" in out
    assert "pyg loaded: True" in out
    assert "transformers importable: True" in out


def test_an_already_imported_transformers_is_left_alone():
    code = ("import sys, transformers; before = sys.modules['transformers']\n"
            "import esm_schnet.encoders\n"
            "print(sys.modules['transformers'] is before)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "True"


def test_plots_module_does_not_import_matplotlib():
    # report.smk imports esm_schnet.report.plots while Snakemake plans every run
    code = "import sys, esm_schnet.report.plots; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


def _console(*args, tmp_path):
    return subprocess.run([sys.executable, "-m", "esm_schnet.cli", *args], capture_output=True,
                          text=True, cwd=tmp_path)


def test_console_ends_at_once_with_its_status_output_and_log_complete(tmp_path):
    # the console script skips the interpreter's teardown (os._exit): piped output, the exit
    # status and the job log must still be all there
    ok = _console("--version", tmp_path=tmp_path)
    assert ok.returncode == 0 and ok.stdout.strip()
    bad = _console("nope", tmp_path=tmp_path)
    assert bad.returncode == 2 and "unknown command 'nope'" in bad.stderr
    log = tmp_path / "folds.log"
    err = _console("folds", "--samples", str(tmp_path / "missing.tsv"), "--structures", "x.h5",
                   "--out", str(tmp_path / "folds.tsv"), "--log", str(log), tmp_path=tmp_path)
    assert err.returncode == 1
    assert err.stderr.startswith("esm-schnet folds: error:") and "missing.tsv" in err.stderr
    assert "missing.tsv" in log.read_text()
