"""The baseline registry and the out-of-fold loop that runs every baseline of a task.

`register(cls)` (also as a class decorator) adds a `Baseline` subclass under its `name`; a name
registered again replaces the earlier one in place. Everything that lists baselines asks here:
the evaluate tables and comparisons (`display_order`), the descriptions and what each baseline
sees (metrics tables, metrics.json, the report) and the plot styles (parity, ROC/PR legends).

Order: baselines run in registration order (the regression predictions table keeps it); tables,
plots and comparisons show them newest registration first, so the built-ins, registered from
the one that sees least to the one that sees most, are shown strongest first.

Plugins: a package adds baselines through the entry-point group `esm_schnet.baselines`
(pyproject.toml: `[project.entry-points."esm_schnet.baselines"]`, `mine = "my_package.baseline"`),
loaded once at the first question to the registry, in Snakemake and in every job: a module is
imported (its import calls `register`), a function (`"module:setup"`) is called.
"""

from __future__ import annotations

import contextlib
import inspect
import logging

import numpy as np

from esm_schnet.core.errors import EsmSchnetError
from esm_schnet.baselines.base import Baseline, Proteins, Style

log = logging.getLogger("esm_schnet.baselines")

ENTRY_POINT_GROUP = "esm_schnet.baselines"
_REGISTRY: dict[str, type[Baseline]] = {}
_plugins_loaded = False


def register(cls: type[Baseline]) -> type[Baseline]:
    """Register a Baseline subclass (a class decorator too); returns it."""
    if not (inspect.isclass(cls) and issubclass(cls, Baseline)):
        raise TypeError(f"register() needs a Baseline subclass, got {cls!r}")
    missing = [a for a in ("name", "task", "description") if not getattr(cls, a)]
    if missing:
        raise TypeError(f"baseline {cls.__name__} has no {', '.join(missing)}")
    _REGISTRY[cls.name] = cls
    return cls


def unregister(name: str) -> None:
    """Remove a registered baseline (tests and plugins that replace one)."""
    _REGISTRY.pop(name, None)


def load_plugins() -> None:
    """Load the `esm_schnet.baselines` entry points (once per process): a class is registered,
    any other callable is called (it registers what it brings)."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    from esm_schnet.core.plugins import call_setup, load_entry_points

    def use(obj) -> None:
        if inspect.isclass(obj):
            register(obj)
        else:
            call_setup(obj)

    load_entry_points(ENTRY_POINT_GROUP, "baseline", use)


def registered(task: str) -> list[type[Baseline]]:
    """The baselines of a task kind, in registration order."""
    load_plugins()
    return [b for b in _REGISTRY.values() if b.task == task]


def lookup(name: str) -> type[Baseline]:
    load_plugins()
    if name not in _REGISTRY:
        raise EsmSchnetError(f"no baseline named {name!r} (registered: {', '.join(_REGISTRY)})")
    return _REGISTRY[name]


def display_order(task: str) -> list[str]:
    """Baseline names of a task as tables and plots show them: newest registration first."""
    return [b.name for b in reversed(registered(task))]


def descriptions(task: str) -> dict[str, str]:
    return {b.name: b.description for b in reversed(registered(task))}


def sees(task: str) -> dict[str, str]:
    return {b.name: b.sees for b in reversed(registered(task))}


def styles(task: str) -> dict[str, Style]:
    return {b.name: b.plot_style() for b in reversed(registered(task))}


def one_thread():
    """BLAS on one thread: these fits are tiny, and threaded BLAS made them ~10x slower."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def out_of_fold(cls: type[Baseline], proteins: Proteins, fold) -> tuple[np.ndarray, dict]:
    """Fit a fresh `cls()` on the proteins with fold != k and predict those with fold == k, for
    every fold k: ([n] or [n, K] out-of-fold predictions, {fold: chosen_} where fit chose)."""
    fold = np.asarray(fold)
    if fold.shape != (len(proteins),):
        raise ValueError(f"fold {fold.shape} and {len(proteins)} proteins do not match")
    if proteins.labels is None:
        raise ValueError("the proteins have no labels to fit on")
    pred = None
    choices: dict[int, object] = {}
    with one_thread() if cls.single_thread else contextlib.nullcontext():
        for k in np.unique(fold):
            test = fold == k
            train = ~test
            if not train.any():
                raise ValueError(f"fold {k} leaves no training proteins")
            est = cls()
            est.fit(proteins.take(train, fold=int(k)))
            p = np.asarray(est.predict(proteins.take(test, labels=False)), dtype=np.float64)
            if pred is None:
                pred = np.full((len(proteins), *p.shape[1:]), np.nan)
            pred[test] = p
            if est.chosen_ is not None:
                choices[int(k)] = est.chosen_
    return pred, choices


def run(task: str, proteins: Proteins, fold) -> tuple[dict[str, np.ndarray], dict]:
    """Every registered baseline of `task` on the same folds, in registration order:
    ({name: out-of-fold predictions}, info {info_key: {fold: choice}} of those that choose)."""
    preds, info = {}, {}
    for cls in registered(task):
        missing = [n for n in cls.needs if getattr(proteins, n) is None]
        if missing:
            log.info("%s: skipped (it needs %s, which this job was not given)", cls.name,
                     ", ".join(missing))
            continue
        preds[cls.name], choices = out_of_fold(cls, proteins, fold)
        if cls.info_key:
            info[cls.info_key] = choices
        line = cls.summary(choices, proteins) if choices else None
        if line:
            log.info("%s: %s", cls.name, line)
    return preds, info
