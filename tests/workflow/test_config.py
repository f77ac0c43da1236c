"""The config is validated against workflow/schemas/config.schema.yaml before any job runs.

Each refusal is asserted on `snakemake -n`: a non-zero exit, a message that names the offending
key (or value), and no results/ directory.
"""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        # unknown top-level key (a typo of `samples`)
        ({"sample": "x.tsv"}, ["'sample' was unexpected"]),
        # unknown nested key: training.epoch instead of training.epochs
        ({"training": {"epoch": 3}}, ["'epoch' was unexpected", "training"]),
        # a value outside the enum, named together with the allowed values
        ({"cv": {"scheme": "loo"}}, ["'loo' is not one of", "loocv", "cv"]),
        # a wrong type
        ({"training": {"epochs": "ten"}}, ["'ten' is not of type 'integer'", "epochs"]),
    ],
    ids=["unknown-top-level", "unknown-nested", "bad-enum", "bad-type"],
)
def test_bad_config_stops_before_any_job(
    tmp_path, run_snakemake, sample_table, tiny_config, overrides, expected
):
    sample_table(tmp_path)
    res = run_snakemake(tmp_path, "-n", config=tiny_config(**overrides))
    assert res.returncode != 0
    assert "Error validating config file" in res.output
    for text in expected:
        assert text in res.output, f"{text!r} missing from:\n{res.output[-3000:]}"
    assert not (tmp_path / "results").exists()


def test_defaults_fill_in_a_config_with_only_samples(
    tmp_path, run_snakemake, sample_table, tiny_config
):
    sample_table(tmp_path)
    config = tiny_config()
    assert list(config) == ["samples"]
    res = run_snakemake(tmp_path, "-n", "-p", "results/qc/structures.tsv", config=config)
    assert res.returncode == 0, res.output[-3000:]
    # the parse jobs get the schema's default parse.on_error
    assert res.output.count("--on-error fail") == 3
    # and the default target resolves too (every stage's defaults are complete)
    res = run_snakemake(tmp_path, "-n")
    assert res.returncode == 0, res.output[-3000:]
    assert not (tmp_path / "results").exists()


def test_command_line_override_is_validated_too(
    tmp_path, run_snakemake, sample_table, tiny_config
):
    sample_table(tmp_path)
    res = run_snakemake(
        tmp_path, "-n", "--config", "parse={'on_error': 'ignore'}", config=tiny_config()
    )
    assert res.returncode != 0
    assert "'ignore' is not one of ['fail', 'skip']" in res.output
