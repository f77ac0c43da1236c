"""The console at the end of a run, and esm-schnet used as a module by a host workflow."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
FAST = {"embedding": {"model": "onehot"}, "training": {"epochs": 2}, "evaluate": {"bootstrap": 50}}

pytestmark = pytest.mark.slow


def test_console_has_no_none_commands_and_ends_with_the_results_block(
    tmp_path, run_snakemake, sample_table, tiny_config
):
    sample_table(tmp_path)
    res = run_snakemake(tmp_path, "results/metrics.tsv", config=tiny_config(**FAST), check=True)
    out = res.output
    assert "Shell command: None" not in out
    assert "steps (100%) done" in res.stderr
    # the block is printed (stdout) after Snakemake's progress (stderr) and is the last thing on stdout
    stdout = res.stdout.rstrip()
    block = stdout[stdout.index("esm-schnet: results"):]
    assert stdout.endswith("=" * 72) and block.count("=" * 72) == 2
    for needle in ("results/metrics.tsv", "results/comparisons.tsv", "results/predictions.tsv",
                   "RMSE [95% CI]", "schnet", "SchNet vs the best baseline",
                   "Report: snakemake --report results/report.html"):
        assert needle in block, needle


def test_used_as_a_module_with_a_prefix(tmp_path, run_snakemake, sample_table, tiny_config):
    sample_table(tmp_path)
    host = tmp_path / "Snakefile"
    host.write_text(
        "configfile: 'host.yaml'\n\n\n"
        "module esm:\n"
        f"    snakefile:\n        {str(REPO / 'Snakefile')!r}\n"
        "    config:\n        config['esm']\n"
        "    prefix:\n        'esm'\n\n\n"
        "use rule * from esm as esm_*\n\n\n"
        "rule host_all:\n    input:\n        'esm/results/metrics.tsv',\n    default_target: True\n"
    )
    (tmp_path / "host.yaml").write_text(yaml.safe_dump({"esm": tiny_config(**FAST)}))
    res = run_snakemake(tmp_path, "--snakefile", str(host), check=True)
    assert (tmp_path / "esm/results/metrics.tsv").exists()
    assert (tmp_path / "esm/results/cv/loocv/folds.tsv").exists()  # checkpoint under the prefix
    assert not (tmp_path / "results").exists()
    # the module's onsuccess handler is not the host's
    assert "esm-schnet: results" not in res.output
