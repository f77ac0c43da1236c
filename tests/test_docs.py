"""The documentation: README stays short and its links resolve; the mkdocs site (docs/,
mkdocs.yml) builds in strict mode, so a broken link or anchor, or a page left out of the
navigation, fails the suite; the configuration page lists every key of the config schema."""

from __future__ import annotations

import html
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
SCHEMA = REPO / "src" / "esm_schnet" / "core" / "schemas" / "config.schema.yaml"
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def _schema_keys(props: dict, prefix: str = ""):
    """Every dotted key of the schema, list items of mappings as `key[].sub`."""
    for key, sub in props.items():
        yield prefix + key
        yield from _schema_keys(sub.get("properties", {}), f"{prefix}{key}.")
        for option in sub.get("items", {}).get("anyOf", []):
            yield from _schema_keys(option.get("properties", {}), f"{prefix}{key}[].")


def _github_anchors(markdown: str) -> set[str]:
    """The heading anchors GitHub makes for a Markdown file (outside code fences)."""
    anchors, fence = set(), False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fence = not fence
        elif not fence and re.match(r"#{1,6} ", line):
            title = line.lstrip("#").strip().lower()
            title = re.sub(r"[^\w\- ]", "", title)
            anchors.add(title.replace(" ", "-"))
    return anchors


def test_readme_is_short_and_keeps_the_entry_points():
    text = README.read_text()
    assert len(text.splitlines()) <= 200, "README.md over 200 lines: move the detail to docs/"
    assert "make test" in text and "make install" in text


def test_readme_relative_links_resolve():
    text = README.read_text()
    links = LINK.findall(text)
    assert any(link.startswith("docs/") for link in links)
    broken = []
    for link in links:
        if re.match(r"[a-z]+:", link):  # https:, mailto:
            continue
        path, _, anchor = link.partition("#")
        target = (README.parent / path).resolve() if path else README
        if not target.exists():
            broken.append(link)
        elif anchor and target.suffix == ".md" and anchor not in _github_anchors(target.read_text()):
            broken.append(link)
    assert not broken, f"README links that do not resolve: {broken}"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    for module in ("mkdocs", "material"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed (the `docs` extra)")
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    res = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
         str(REPO / "mkdocs.yml"), "--site-dir", str(out)],
        cwd=REPO, capture_output=True, text=True, env=env, timeout=300,
    )
    assert res.returncode == 0, f"mkdocs build --strict failed:\n{res.stdout}\n{res.stderr}"
    return out


def test_docs_build_strict_with_every_page(site):
    pages = {p.stem for p in (REPO / "docs").glob("*.md")}
    built = {p.parent.name for p in site.glob("*/index.html")} | {"index"}
    assert pages <= built, f"pages not built: {pages - built}"


def test_configuration_page_lists_every_schema_key(site):
    page = (site / "configuration" / "index.html").read_text()
    keys = list(_schema_keys(yaml.safe_load(SCHEMA.read_text())["properties"]))
    assert "training.epochs" in keys and "labels[].task" in keys
    missing = [k for k in keys if f"<code>{html.escape(k)}</code>" not in page]
    assert not missing, f"schema keys missing from the configuration page: {missing}"
