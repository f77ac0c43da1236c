"""`snakemake predict` (or results/predict/predictions.tsv) without predict.samples says what to
set instead of Snakemake's MissingRuleException."""

from __future__ import annotations

import re

import pytest


@pytest.mark.slow
@pytest.mark.parametrize("target", ["predict", "results/predict/predictions.tsv"])
def test_predict_without_samples_says_what_to_set(
    target, tmp_path, run_snakemake, sample_table, tiny_config
):
    sample_table(tmp_path)
    res = run_snakemake(tmp_path, target, config=tiny_config())
    assert res.returncode != 0
    assert "MissingRule" not in res.output and "MissingInput" not in res.output
    assert res.output.count("predict.samples is not set") == 1, res.output[-3000:]
    assert "--config 'predict={samples: new.tsv}'" in res.output
    assert not re.search(r'File ".*", line \d+', res.output)
    assert not (tmp_path / "results" / "predict" / "predictions.tsv").exists()
