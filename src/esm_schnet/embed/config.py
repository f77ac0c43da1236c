"""The embedding settings (`EmbedConfig`, the `embedding:` config section as the embed code uses
it): the featurizer registry and the shard job both take it, so it lives apart from either."""

from __future__ import annotations

from dataclasses import dataclass, fields

from esm_schnet.core.errors import EsmSchnetError


@dataclass
class EmbedConfig:
    """The `embedding:` config section. Every field is required: build it with `from_dict`, which
    fills defaults from the config schema (the one place defaults live) and refuses keys the
    schema does not know (keys of the section that are not embedding-job settings, such as
    `shards`, are accepted and not kept)."""

    model: str
    revision: str
    layer: int
    dtype: str
    device: str
    window: int
    overlap: int
    max_tokens: int
    storage_dtype: str
    cache: str  # "" (falsy): no cache
    models_dir: str

    @classmethod
    def from_dict(cls, d: dict | None) -> "EmbedConfig":
        from esm_schnet.core.settings import section

        import os

        # Paths given from Python (os.PathLike) are strings in the config's terms.
        d = {k: os.fspath(v) if isinstance(v, os.PathLike) else v for k, v in (d or {}).items()}
        values = section("embedding", d)  # defaults filled, unknown keys a ConfigError
        return cls(**{f.name: values[f.name] for f in fields(cls)})

    def check(self) -> None:
        if not 0 <= self.overlap < self.window:
            raise EsmSchnetError(
                f"embedding.overlap ({self.overlap}) must be >= 0 and < embedding.window ({self.window})"
            )
        if self.storage_dtype not in {"float16", "float32"}:
            raise EsmSchnetError(f"embedding.storage_dtype must be float16 or float32, not {self.storage_dtype!r}")
        if self.max_tokens < 1:
            raise EsmSchnetError("embedding.max_tokens must be positive")
