"""Install a plugin module of tests/plugins (toy_featurizer.py, toy_baseline.py): copy it into
`directory` with a `*.dist-info` (METADATA + entry_points.txt), which is what `pip install` of a
package declaring the entry point (`esm_schnet.featurizers`, `esm_schnet.baselines`) leaves in
site-packages. Put `directory` on PYTHONPATH (or sys.path) and importlib.metadata finds it."""

from __future__ import annotations

import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent


def install_toy_plugin(directory) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(HERE / "toy_featurizer.py", directory / "toy_featurizer.py")
    info = directory / "toy_featurizer-0.1.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-featurizer\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[esm_schnet.featurizers]\ntoy = toy_featurizer\n")
    return directory


def install_plugin(directory, module: str, group: str, name: str) -> Path:
    """Install tests/plugins/<module>.py under entry point `name` of `group` in `directory`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(HERE / f"{module}.py", directory / f"{module}.py")
    info = directory / f"{module}-0.1.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {module.replace('_', '-')}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{group}]\n{name} = {module}\n")
    return directory
