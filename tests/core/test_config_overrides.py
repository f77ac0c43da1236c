"""Command-line overrides get the types the schema asks for (esm_schnet.core.config)."""

from pathlib import Path

import pytest
import yaml
from snakemake.utils import validate

from esm_schnet.core.config import coerce_overrides
from esm_schnet.core.settings import schema_path

REPO = Path(__file__).resolve().parents[2]
SCHEMA = schema_path()  # the copy inside the package (workflow/schemas/ links to it)


def test_nested_strings_become_typed_values():
    cfg = {
        "training": {"epochs": "3", "lr": "0.002", "val_fraction": "0"},
        "graph": {"max_neighbors": "null", "cutoff": "12"},
        "resources": {"gpu": "true"},
        "embedding": {"model": "onehot", "revision": "1234"},
    }
    coerce_overrides(cfg, SCHEMA)
    assert cfg["training"] == {"epochs": 3, "lr": 0.002, "val_fraction": 0}
    assert cfg["graph"] == {"max_neighbors": None, "cutoff": 12}
    assert cfg["resources"]["gpu"] is True
    # string-typed keys stay strings, even when they look like numbers
    assert cfg["embedding"]["revision"] == "1234"
    validate(cfg, str(SCHEMA))
    assert cfg["cv"]["scheme"] == "loocv"  # defaults still fill in


def test_unparseable_value_is_left_for_validation_to_name():
    cfg = {"training": {"epochs": "many"}}
    coerce_overrides(cfg, SCHEMA)
    assert cfg["training"]["epochs"] == "many"
    with pytest.raises(Exception, match="many"):
        validate(cfg, str(SCHEMA))


def test_every_default_config_key_is_in_the_schema():
    schema = yaml.safe_load(SCHEMA.read_text())
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())

    def walk(c, s, where):
        for key, value in c.items():
            assert key in s["properties"], f"{where}{key} not in schema"
            if isinstance(value, dict):
                walk(value, s["properties"][key], f"{where}{key}.")

    walk(cfg, schema, "")
    validate(cfg, str(SCHEMA))
