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
        ({"sample": "x.tsv"}, ["unknown setting sample (did you mean samples?)"]),
        # unknown nested key: training.epoch instead of training.epochs
        ({"training": {"epoch": 3}}, ["unknown setting training.epoch (did you mean training.epochs?)"]),
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
    # the default target resolves (every stage's defaults are complete)
    res = run_snakemake(tmp_path, "-n", config=config)
    assert res.returncode == 0, res.output[-3000:]
    assert "parse" in res.output and "embed" in res.output
    assert not (tmp_path / "results").exists()
    # and the parse jobs get the schema's default parse.on_error (fail): a broken sample stops
    # the run with its name, the good samples are still parsed, nothing is marked skipped
    sample_table(tmp_path, broken=("junk",))
    res = run_snakemake(tmp_path, "results/qc/structures.tsv", config=config)
    assert res.returncode != 0
    assert "sample 'junk'" in res.output, res.output[-3000:]
    for sid in ("ex20", "ex12", "ex11"):
        assert (tmp_path / "results" / "structures" / f"{sid}.h5").exists()
    assert not (tmp_path / "results" / "qc" / "skipped.tsv").exists()


def test_command_line_override_is_validated_too(
    tmp_path, run_snakemake, sample_table, tiny_config
):
    sample_table(tmp_path)
    res = run_snakemake(
        tmp_path, "-n", "--config", "parse={'on_error': 'ignore'}", config=tiny_config()
    )
    assert res.returncode != 0
    assert "'ignore' is not one of ['fail', 'skip']" in res.output
