"""A toy CV scheme, as a user's own package would ship it (used by the tests only): `alternate`,
the n-th usable protein (sample-table order) into fold n mod cv.k, no shuffling.

Registering it is the only step (esm_schnet.cv.schemes.register_scheme); a config names it in
`cv: {scheme: alternate, k: 3}`. The test installs it by writing a
`*.dist-info/entry_points.txt` beside it (see `plugin_helpers.install_plugin`), the same entry
point a pyproject.toml declares:

    [project.entry-points."esm_schnet.cv_schemes"]
    alternate = "toy_cv_scheme"
"""

from __future__ import annotations

from esm_schnet.core.errors import ConfigError
from esm_schnet.cv.schemes import register_scheme


def alternate(ids, clusters, *, k, seed):
    """{id: fold}: ids in order dealt round-robin into k folds (clusters and seed unused)."""
    if k > len(ids):
        raise ConfigError(f"cv.k = {k} is larger than the number of proteins ({len(ids)})")
    return {pid: n % k for n, pid in enumerate(ids)}


register_scheme("alternate", alternate)
