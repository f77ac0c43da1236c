"""LICENSE, the workflow catalog file and the config key documentation."""

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def _keys(props, prefix=""):
    for k, v in props.items():
        yield prefix + k
        yield from _keys(v.get("properties", {}), prefix + k + ".")


def test_every_schema_key_is_documented():
    schema = yaml.safe_load((REPO / "src/esm_schnet/core/schemas/config.schema.yaml").read_text())
    doc = (REPO / "workflow/schemas/config.md").read_text()
    missing = [k for k in _keys(schema["properties"]) if f"| `{k}` |" not in doc]
    assert not missing, f"undocumented config keys in workflow/schemas/config.md: {missing}"
    assert "workflow/schemas/config.md" in (REPO / "docs/configuration.md").read_text()


def test_config_doc_is_generated_from_the_schema():
    """Defaults and descriptions in config.md are the schema's (regenerate with
    `python -m esm_schnet.core.settings > workflow/schemas/config.md`)."""
    from esm_schnet.core.settings import config_markdown

    assert (REPO / "workflow/schemas/config.md").read_text() == config_markdown()


def test_license_and_catalog_file():
    assert "MIT License" in (REPO / "LICENSE").read_text()
    assert 'license = "MIT"' in (REPO / "pyproject.toml").read_text()  # SPDX (PEP 639)
    usage = yaml.safe_load((REPO / ".snakemake-workflow-catalog.yml").read_text())["usage"]
    assert set(usage) == {"mandatory-flags", "software-stack-deployment", "report"}
    assert usage["report"] is True and usage["software-stack-deployment"]["conda"] is True
