"""A toy encoder, as a user's own package would ship it (used by the tests only): `residue_mlp`,
a per-residue MLP of the node features summed (readout `add`) or averaged (`mean`) over each
protein. It sees no graph: the smallest module that keeps the encoder contract
(esm_schnet.encoders): built from keyword arguments, the settings every encoder receives and its
own section `model.residue_mlp` (`hidden`, `layers`); `forward(batch) -> [B]` ([B, K] for K
outputs) in standardised target units.

Registering it is the only step (`register_encoder`); a config names it and gives its section:

    model: {encoder: residue_mlp, centroid: false, linear: false, residue_mlp: {hidden: 8}}

The test installs it by writing a `*.dist-info/entry_points.txt` beside it (see
`plugin_helpers.install_plugin`), the same entry point a pyproject.toml declares:

    [project.entry-points."esm_schnet.encoders"]
    residue_mlp = "toy_encoder"
"""

from __future__ import annotations

import torch
from torch import nn

from esm_schnet.core.errors import ConfigError
from esm_schnet.encoders import register_encoder


class ResidueMLP(nn.Module):
    def __init__(self, *, in_channels, out_channels, cutoff, max_neighbors, readout, layer_norm,
                 centroid, linear, dropout, hidden=16, layers=1):
        super().__init__()
        if centroid or linear:  # what this toy does not implement is refused, not ignored
            raise ConfigError("encoder residue_mlp: set model.centroid and model.linear to false")
        self.readout, self.out_channels = readout, int(out_channels)
        width, blocks = in_channels, []
        for _ in range(int(layers)):
            blocks += [nn.Linear(width, hidden), nn.SiLU()]
            width = hidden
        if layer_norm:
            blocks.append(nn.LayerNorm(width))
        if dropout:
            blocks.append(nn.Dropout(dropout))
        self.body = nn.Sequential(*blocks)
        self.out = nn.Linear(width, self.out_channels)

    def forward(self, batch):
        h = self.out(self.body(batch.x))  # [N, K]
        n_graphs = len(batch.ids)
        pooled = torch.zeros(n_graphs, self.out_channels, dtype=h.dtype, device=h.device)
        pooled.index_add_(0, batch.batch, h)
        if self.readout == "mean":
            pooled = pooled / batch.num_nodes.to(h.dtype).view(-1, 1)
        return pooled.view(-1) if self.out_channels == 1 else pooled


register_encoder("residue_mlp", ResidueMLP)
