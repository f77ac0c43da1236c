"""Entry-point plugins: the one loader the registries (featurizers, encoders, tasks, baselines, CV schemes) share.

A registry calls `load_entry_points(group, what, use)` once per process: every entry point of
`group` found on sys.path is loaded once (a distribution seen twice on sys.path counts once) and
handed to `use`; a plugin that fails to load or to register is one EsmSchnetError naming it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from esm_schnet.core.errors import EsmSchnetError

log = logging.getLogger("esm_schnet.core.plugins")


def call_setup(obj) -> None:
    """What a loaded entry point does by default: a module registered its plugins when it was
    imported; a function (`"package.module:setup"`) registers them when called."""
    import inspect

    if callable(obj) and not inspect.ismodule(obj):
        obj()


def load_entry_points(group: str, what: str, use: Callable[[object], None] = call_setup) -> None:
    """Load every entry point of `group` and pass the loaded object to `use` (default
    `call_setup`); `what` names the kind of plugin in messages (e.g. "featurizer")."""
    from importlib.metadata import entry_points

    seen = set()
    for ep in entry_points(group=group):
        if (ep.name, ep.value) in seen:  # the same distribution found twice on sys.path
            continue
        seen.add((ep.name, ep.value))
        try:
            use(ep.load())
        except Exception as exc:  # noqa: BLE001 - any failure of third-party code
            raise EsmSchnetError(
                f"{what} plugin {ep.name!r} ({ep.value}, entry point group {group}) failed to "
                f"load: {type(exc).__name__}: {exc}"
            ) from exc
        log.debug("loaded %s plugin %s (%s)", what, ep.name, ep.value)
