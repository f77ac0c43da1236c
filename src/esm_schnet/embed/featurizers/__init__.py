"""Featurizer registry: `embedding.model` -> what computes the per-residue features.

One module per featurizer (`esm2`: ESM2 through transformers from a hub id or a local
checkpoint directory; `onehot`: the built-in one-hot residues, no weights); each registers
itself here with `register(name_or_predicate, factory, ...)`, exactly as a plugin does. The
shared embed code (batching, windows, cache, shard) only sees the `Featurizer` protocol
(`base.py`); every other module asks this registry about a model id instead of testing names.

Lookup of a model id: exact names first (`onehot`, a plugin's `toy`), then predicates, newest
registration first, so a later module can claim ids the ESM2 catch-all would take (e.g. a
ProtT5 module registering `lambda m: m.startswith("Rostlab/prot_t5")`). ESM2 is registered as
the catch-all: any other id is a hub id or a local directory.

Plugins: a package of yours adds featurizers through the entry-point group
`esm_schnet.featurizers` (pyproject.toml: `[project.entry-points."esm_schnet.featurizers"]`,
`mine = "my_package.featurizer"`). Each entry point is loaded once, at the first lookup: a
module is imported (its import calls `register`), a function (`"my_package.featurizer:setup"`)
is called with no arguments. A plugin that fails to load is an error naming it.

Nothing here imports torch or loads weights: `featurizer_kind`, `needs_download` and the others
answer from the registration alone (the Snakefile uses them while building the DAG).
"""

from esm_schnet.embed.featurizers.registry import (  # noqa: F401
    ENTRY_POINT_GROUP,
    LANGUAGE_MODEL,
    Featurizer,
    Registration,
    describe,
    download,
    featurizer_kind,
    featurizer_name,
    get_featurizer,
    is_language_model,
    load_plugins,
    lookup,
    needs_download,
    register,
    registrations,
    load_builtins,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "LANGUAGE_MODEL",
    "Featurizer",
    "Registration",
    "describe",
    "download",
    "featurizer_kind",
    "featurizer_name",
    "get_featurizer",
    "is_language_model",
    "load_plugins",
    "lookup",
    "needs_download",
    "register",
    "registrations",
]
