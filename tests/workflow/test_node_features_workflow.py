"""Workflow: `model: {node_features: [rsa, ss]}` end to end on four example proteins (onehot, 2
folds, the final model, predict): the fold and final models read 21 + 6 features and record the
groups, the predict target scores new structures with them; then, on the finished project,
switching the setting back to [] plans the training and what follows it, never parse or embed
(Snakemake's dry run)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "example" / "structures"
TARGETS = ["results/metrics.tsv", "results/final/model.pt", "results/predict/predictions.tsv"]


def test_node_features_end_to_end(tmp_path, run_snakemake, sample_table, tiny_config):
    wd = tmp_path / "wd"
    sample_table(wd, ids=["ex20", "ex12", "ex11", "ex10"])
    shutil.copyfile(EXAMPLE / "ex05.pdb", wd / "structures" / "ex05.pdb")
    (wd / "new.tsv").write_text("id\tstructure\nnew5\tstructures/ex05.pdb\n")
    cfg = tiny_config(
        embedding={"model": "onehot", "shards": 1, "device": "cpu", "cache": "cache"},
        model={"node_features": ["rsa", "ss"],
               "schnet": {"hidden_channels": 8, "num_filters": 8, "num_interactions": 1,
                          "num_gaussians": 10}},
        training={"epochs": 2, "device": "cpu"},
        cv={"scheme": "kfold", "k": 2},
        evaluate={"bootstrap": 20},
        plots={"dpi": 60},
        predict={"samples": "new.tsv", "models": "final"},
    )
    run_snakemake(wd, *TARGETS, config=cfg, check=True, timeout=900)
    res = wd / "results"
    for fold in (0, 1):
        prov = json.loads((res / f"cv/kfold/fold-{fold}/provenance.json").read_text())
        assert prov["model_config"]["in_channels"] == 21 + 6
        assert prov["model_config"]["node_features"] == ["rsa", "ss"]
        assert prov["config"]["model"]["node_features"] == ["rsa", "ss"]
        # the linear term's ridge start weighs the descriptors as a group of their own
        assert "node_features" in json.dumps(prov["training"])
    import esm_schnet

    final = esm_schnet.load_model(res / "final/model.pt")
    assert final.config.node_features == ["rsa", "ss"] and final.config.embedding_width == 21
    metrics = pd.read_csv(res / "metrics.tsv", sep="\t").set_index("model")
    assert metrics.loc["schnet", "rmse"] > 0
    pred = pd.read_csv(res / "predict/predictions.tsv", sep="\t")
    assert list(pred["status"]) == ["ok"] and pred["prediction"].notna().all()

    # back to the default: training and what follows it rerun, parse and embed do not
    cfg["model"]["node_features"] = []
    (wd / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    dry = run_snakemake(wd, "-n", *TARGETS, check=True)
    rules = set()
    for line in dry.output.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and parts[0] not in ("total", "job"):
            rules.add(parts[0])  # the job-stats table: `rule count`
    assert {"train_fold", "train_final", "evaluate", "predict"} <= rules, dry.output[-3000:]
    assert not rules & {"parse", "embed", "predict_parse", "predict_embed", "manifest",
                        "structure_list", "folds"}, rules


def test_settings_file_holds_node_features_of_the_train_stage_only():
    """The resolved settings: model.node_features reaches the train stage's file (so it reruns
    training) and no other stage's (parse and embed never see it)."""
    from esm_schnet.core.resolved import STAGES, stage_settings
    from esm_schnet.core.settings import validate

    a = validate({"model": {"node_features": []}})
    b = validate({"model": {"node_features": ["rsa", "ss"]}})
    changed = {s for s in STAGES if stage_settings(a, (), s) != stage_settings(b, (), s)}
    assert changed == {"train"}
