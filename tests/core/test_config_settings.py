"""esm_schnet.core.settings: defaults from the packaged schema only, unknown keys a short error."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
import yaml

from esm_schnet.core.errors import ConfigError
from esm_schnet.core.settings import (
    GraphSettings,
    TrainingSettings,
    check_workflow_config,
    default,
    load_schema,
    schema_path,
    section,
    validate,
)

REPO = Path(__file__).resolve().parents[2]


def test_schema_ships_inside_the_package_and_workflow_schemas_links_to_it():
    assert schema_path().is_file() and "esm_schnet" in schema_path().parts
    link = REPO / "workflow" / "schemas" / "config.schema.yaml"
    assert link.is_symlink() and not os.path.isabs(os.readlink(link))
    assert link.resolve() == (REPO / "src/esm_schnet/core/schemas/config.schema.yaml").resolve()


def test_config_yaml_repeats_exactly_the_schema_defaults():
    """config.yaml documents every setting; its values are the schema's defaults."""
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    assert validate(yaml.safe_load((REPO / "config.yaml").read_text())) == validate({}) == cfg


@pytest.mark.parametrize(("values", "message"), [
    ({"training": {"epoch": 3}}, "unknown setting training.epoch (did you mean training.epochs?)"),
    ({"trainig": {}}, "unknown setting trainig (did you mean training?)"),
    ({"resources": {"train": {"mem": 1}}},
     "unknown setting resources.train.mem (did you mean resources.train.mem_mb?)"),
    ({"graph": {"zzz": 1}}, "unknown setting graph.zzz"),
    # `--config embedding={model:onehot}`: YAML reads one key 'model:onehot'
    ({"embedding": {"model:onehot": None}},
     "write 'embedding={model: onehot}' with a space after the colon"),
    # ... or, without braces, a string where a mapping belongs
    ({"embedding": "model:onehot"}, "write 'embedding={model: onehot}' with a space after the colon"),
    ({"cv": {"cluster_method": "blast"}}, "setting cv.cluster_method: 'blast' is not one of ['mmseqs', 'align']"),
])
def test_bad_settings_give_one_short_line(values, message):
    with pytest.raises(ConfigError) as err:
        validate(values)
    text = str(err.value)
    assert message in text and "\n" not in text and len(text) < 200, text


def test_snakefile_check_types_command_line_strings_and_fills_defaults():
    cfg = {"training": {"epochs": "3"}, "embedding": {"model": "onehot"}}
    check_workflow_config(cfg)
    assert cfg["training"]["epochs"] == 3 and cfg["training"]["lr"] == default("training.lr")
    assert cfg["cv"]["scheme"] == "loocv" and cfg["resources"]["train"]["threads"] == 1
    with pytest.raises(ConfigError, match="training.epoch "):
        check_workflow_config({"training": {"epoch": "3"}})


def test_typed_settings_have_no_defaults_of_their_own_and_come_from_the_schema():
    for cls in (GraphSettings, TrainingSettings):
        for f in dataclasses.fields(cls):
            assert f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    schema = load_schema()["properties"]
    graph = GraphSettings.from_dict(None)
    assert graph.cutoff == schema["graph"]["properties"]["cutoff"]["default"]
    training = TrainingSettings.from_dict({"epochs": 5})
    assert training.epochs == 5 and training.seed == schema["training"]["properties"]["seed"]["default"]
    assert set(training.as_dict()) == set(schema["training"]["properties"])
    with pytest.raises(ConfigError, match=r"unknown setting training.epoch \(did you mean"):
        TrainingSettings.from_dict({"epoch": 5})
    model = section("model", {"schnet": {"hidden_channels": 8}})
    assert model["encoder"] == "schnet" and model["schnet"]["hidden_channels"] == 8
    assert model["schnet"]["num_filters"] == schema["model"]["properties"]["schnet"][
        "properties"]["num_filters"]["default"]


def test_embed_config_defaults_from_the_schema_and_unknown_keys_refused():
    from esm_schnet.embed.config import EmbedConfig

    cfg = EmbedConfig.from_dict({})
    for f in dataclasses.fields(EmbedConfig):
        assert getattr(cfg, f.name) == default(f"embedding.{f.name}"), f.name
    # the embedding section as the workflow hands it over (with `shards`) is accepted
    assert EmbedConfig.from_dict({"model": "onehot", "shards": 2}).model == "onehot"
    with pytest.raises(ConfigError, match=r"unknown setting embedding.windw \(did you mean "
                                          r"embedding.window\?\)"):
        EmbedConfig.from_dict({"windw": 64})


def test_no_second_copy_of_the_defaults_in_the_package():
    src = REPO / "src" / "esm_schnet"
    text = "\n".join(p.read_text() for p in src.rglob("*.py"))
    for name in ("GRAPH_DEFAULTS", "MODEL_DEFAULTS", "TRAINING_DEFAULTS", "def resolve("):
        assert name not in text, name
