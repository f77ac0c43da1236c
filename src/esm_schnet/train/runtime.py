"""Process set-up of a training job: glibc malloc tuning, seeds, library versions."""

from __future__ import annotations

import ctypes
import os
import platform
import random
import sys

import numpy as np


def tune_malloc() -> bool:
    """Keep freed memory in glibc's heap instead of returning it to the OS.

    Training allocates and frees the same large per-edge tensors thousands of times; with glibc's
    defaults each large block is a fresh mmap whose pages fault in again, which we measured to
    double the time per epoch. Returns True when applied (glibc only; harmless elsewhere).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_MAX = -1, -2, -4
        ok = libc.mallopt(M_MMAP_MAX, 0) == 1
        ok &= libc.mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1
        ok &= libc.mallopt(M_TOP_PAD, 64 << 20) == 1
        return bool(ok)
    except (OSError, AttributeError):
        return False


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    # cuBLAS is deterministic only with a fixed workspace; it reads this when its first handle
    # is made, i.e. before the first CUDA matmul, which comes after this call. A value the user
    # set is kept.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    # warn_only: a CUDA op without a deterministic implementation (index_add_ in the tabulated
    # filter's message) warns instead of failing; every op used on CPU is deterministic.
    torch.use_deterministic_algorithms(True, warn_only=True)


def library_versions() -> dict:
    import h5py
    import torch
    import torch_geometric

    from esm_schnet import __version__

    return {
        "esm_schnet": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_geometric": torch_geometric.__version__,
        "numpy": np.__version__,
        "h5py": h5py.__version__,
    }


