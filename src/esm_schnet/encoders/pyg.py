"""PyTorch Geometric, imported once for the encoders without importing `transformers`.

`import torch_geometric` loads all of PyG, including its LLM and text-dataset helpers, which
import `transformers` when it is installed (every such import guarded by `except ImportError`;
nothing the encoders use needs it). That was ~0.8 s of every training and predict job
(`python -X importtime`, bench/jobcost.py). While PyG loads, `transformers` is marked absent
(`sys.modules[name] = None`, Python's own way to block an import); the mark is removed right
after, so a later `import transformers` (the embed stage) works as usual. When `transformers` is
already imported there is nothing to save and nothing is blocked.

esm_schnet.encoders imports this module first, so every later `import torch_geometric...` in the
package finds PyG already loaded.
"""

from __future__ import annotations

import sys

SKIPPED = ("transformers",)


def import_pyg():
    """Import torch_geometric (and its SchNet module) with SKIPPED blocked; returns the package."""
    blocked = [name for name in SKIPPED if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        import torch_geometric
        import torch_geometric.nn.models.schnet  # noqa: F401
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
    return torch_geometric


import_pyg()
