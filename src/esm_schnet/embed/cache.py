"""Content-addressed embedding cache: a sequence is embedded once, ever.

Layout: `<root>/<model-key>/<ab>/<sha256>.npy`, one small .npy file per sequence (float32, or
float16 when the model computes in bfloat16/float16 and the values fit), where
- model-key = `<tag>-<16 hex>` of sha256 over (model id, weights identity: hub commit or a sha256
  of the weight files, layer, compute dtype); `<root>/<model-key>/model.json` spells it out;
- the file name is the sha256 of the sequence, or, for a chain longer than the window, of the
  sequence plus the window and overlap (the stitched vectors depend on them);
- `<ab>` = the first two hex digits: 256 directories, so 10^6 sequences are ~4k files each.

One file per key keeps lookups O(1) (a stat and a read) however large the cache grows, and makes
concurrent shard jobs safe without locks: each file is written under a unique temporary name in
the same directory and renamed over the target (atomic on POSIX); two jobs writing the same key
write the same bytes. A file that cannot be read (truncated by a crash outside our atomic write,
disk trouble) is treated as a miss, logged, and rewritten.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import numpy as np

from esm_schnet.core.files import atomic_path, write_json
from esm_schnet.core.paths import model_tag

log = logging.getLogger("esm_schnet.embed.cache")

F16_MAX = float(np.finfo(np.float16).max)


def model_key(model_id: str, revision: str, layer: int, dtype: str) -> str:
    ident = json.dumps(
        {"model": model_id, "weights": revision, "layer": int(layer), "dtype": dtype},
        sort_keys=True,
    )
    return f"{model_tag(model_id)}-{hashlib.sha256(ident.encode()).hexdigest()[:16]}"


def sequence_key(seq: str, window: int | None = None, overlap: int | None = None) -> str:
    """sha256 of the sequence; windowed chains also hash the window settings."""
    text = seq if window is None else f"{seq}\x00window={window},overlap={overlap}"
    return hashlib.sha256(text.encode("ascii", errors="replace")).hexdigest()


class EmbeddingCache:
    def __init__(
        self,
        root: str | os.PathLike | None,
        *,
        model_id: str,
        revision: str,
        layer: int,
        dtype: str,
    ):
        self.enabled = root is not None
        self.key = model_key(model_id, revision, layer, dtype)
        self.half = dtype in {"bfloat16", "float16"}
        self.dir = Path(root) / self.key if root is not None else None
        self.hits = 0
        self.misses = 0
        self._ident = {
            "model": model_id,
            "weights": revision,
            "layer": int(layer),
            "dtype": dtype,
            "key": self.key,
        }

    def path(self, key: str) -> Path:
        assert self.dir is not None
        return self.dir / key[:2] / f"{key}.npy"

    def get(self, key: str, length: int | None = None) -> np.ndarray | None:
        if not self.enabled:
            return None
        p = self.path(key)
        try:
            arr = np.load(p, allow_pickle=False)
        except FileNotFoundError:
            self.misses += 1
            return None
        except (OSError, ValueError, EOFError) as exc:
            log.warning("unreadable cache file %s (%s): recomputing it", p, exc)
            self.misses += 1
            return None
        if arr.ndim != 2 or (length is not None and arr.shape[0] != length):
            log.warning("cache file %s has shape %s, expected %d rows: recomputing it", p, arr.shape, length)
            self.misses += 1
            return None
        self.hits += 1
        return arr.astype(np.float32, copy=False)

    def put(self, key: str, arr: np.ndarray) -> None:
        if not self.enabled:
            return
        p = self.path(key)
        p.parent.mkdir(parents=True, exist_ok=True)
        self._write_ident()
        data = np.asarray(arr, dtype=np.float32)
        if self.half and np.all(np.abs(data) <= F16_MAX):
            # bfloat16 -> float16 keeps every bit of the mantissa for normal-range values.
            data = data.astype(np.float16)
        with atomic_path(p) as tmp, open(tmp, "wb") as fh:
            np.save(fh, data, allow_pickle=False)

    def _write_ident(self) -> None:
        assert self.dir is not None
        ident = self.dir / "model.json"
        if ident.exists():
            return
        write_json(ident, self._ident)
