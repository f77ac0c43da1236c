"""What an encoder hands its submodules for one forward call, explicitly and scoped.

PyG's SchNet calls `interaction_graph(pos, batch)` and each `conv(x, edge_index, edge_weight,
edge_attr)` with fixed signatures, so per-call inputs that those modules need (the batch's
precomputed graph, its EdgeOperators, filter tables shared by one optimizer step) cannot travel
as arguments. Instead the encoder owns one `ForwardContext`, gives it to those submodules when it
builds them, and sets its fields only inside `with context.graph(...)` / `with
context.shared_tables(...)`; outside those blocks every field is empty and the submodules compute
everything themselves.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from torch import Tensor


@dataclass
class ForwardContext:
    edges: tuple[Tensor, Tensor] | None = None  # (edge_index, dist) of the batch being encoded
    operators: object | None = None  # EdgeOperators of that graph (tabulated filter), or None
    tables: dict = field(default_factory=dict)  # conv module -> filter table shared by a step

    @contextlib.contextmanager
    def graph(self, edge_index: Tensor, dist: Tensor, operators=None):
        """The batch's precomputed graph (and operators) for the duration of one forward call."""
        previous = (self.edges, self.operators)
        self.edges, self.operators = (edge_index, dist), operators
        try:
            yield self
        finally:
            self.edges, self.operators = previous

    @contextlib.contextmanager
    def shared_tables(self, tables: dict):
        previous = self.tables
        self.tables = {**previous, **tables}
        try:
            yield self
        finally:
            self.tables = previous
