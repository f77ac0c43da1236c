"""The multi-task head: how the encoder's outputs map to every label, and the masked loss.

The encoder returns one row of outputs per protein ([B, K]; [B] when K = 1): one column per
regression label, then one logit per class of each classification label, in the order of the
`labels:` setting (`LabelSpec.width` columns each).

- regression: the label's own TargetScaler (esm_schnet.encoders.model; the size-line offset fitted on the
  training fold's proteins that have this label); loss = that scaler's standardised MSE.
- classification: logits = log training-class frequencies + output (divided by the training
  fold's mean residue count under readout `add`, so a sum over residues stays O(1)); an
  untrained network (output 0) predicts the class prior. Loss = cross-entropy, weighted by
  `class_weights: balanced` (n / (classes x count) on the training fold) when asked.

A missing label (NaN target) contributes nothing: each label's loss is the mean over the proteins
of the batch that have it (0 when none does), and the total is the sum over labels. With the one
default regression label the loss is exactly TargetScaler.loss.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import Tensor

from esm_schnet.core.labels import LabelSpec
from esm_schnet.encoders.model import TargetScaler


@dataclass
class Head:
    """One label's part of the output: its spec, columns and target transform."""

    spec: LabelSpec
    start: int
    scaler: TargetScaler | None = None  # regression
    log_prior: tuple[float, ...] = ()  # classification: log class frequencies (training fold)
    weights: tuple[float, ...] = ()  # classification: per-class loss weights (all 1 for none)
    logit_scale: float = 1.0  # classification: outputs divided by this (mean N under `add`)

    @property
    def stop(self) -> int:
        return self.start + self.spec.width

    def as_dict(self) -> dict:
        return {
            "spec": self.spec.as_dict(),
            "start": self.start,
            "scaler": asdict(self.scaler) if self.scaler is not None else None,
            "log_prior": [float(v) for v in self.log_prior],  # plain floats: weights_only load
            "weights": [float(v) for v in self.weights],
            "logit_scale": float(self.logit_scale),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Head":
        scaler = data.get("scaler")
        return cls(
            spec=LabelSpec.from_dict(data["spec"]),
            start=int(data["start"]),
            scaler=TargetScaler.from_dict(scaler) if scaler is not None else None,
            log_prior=tuple(float(v) for v in data.get("log_prior", ())),
            weights=tuple(float(v) for v in data.get("weights", ())),
            logit_scale=float(data.get("logit_scale", 1.0)),
        )


def _as_matrix(out: Tensor, n_rows: int) -> Tensor:
    return out.reshape(n_rows, -1)


def _targets(y: Tensor) -> Tensor:
    return y.reshape(y.shape[0], -1)


class LabelHeads:
    """Every label's head; fitted on a training fold, stored in model.pt."""

    def __init__(self, heads: Sequence[Head]):
        self.heads = list(heads)

    @property
    def specs(self) -> list[LabelSpec]:
        return [h.spec for h in self.heads]

    @property
    def width(self) -> int:
        return sum(h.spec.width for h in self.heads)

    @classmethod
    def fit(cls, specs: Sequence[LabelSpec], readout: str, y, n) -> "LabelHeads":
        """Fit every head on the training proteins: y [n, labels] (NaN = missing; class index
        for classification), n [n] residue counts."""
        y = np.asarray(y, dtype=np.float64).reshape(len(n), -1)
        n = np.asarray(n, dtype=np.float64)
        if y.shape[1] != len(specs):
            raise ValueError(f"{y.shape[1]} target columns for {len(specs)} labels")
        heads, start = [], 0
        for j, spec in enumerate(specs):
            have = np.isfinite(y[:, j])
            if not have.any():
                from esm_schnet.core.errors import EsmSchnetError

                raise EsmSchnetError(f"no training protein has the label {spec.name!r}")
            if spec.is_classification:
                counts = np.bincount(y[have, j].astype(int), minlength=spec.width).astype(float)
                prior = (counts + 0.5) / (counts.sum() + 0.5 * spec.width)  # never log(0)
                if spec.class_weights == "balanced":
                    weights = [float(counts.sum() / (spec.width * c)) if c > 0 else 0.0
                               for c in counts]
                else:
                    weights = [1.0] * spec.width
                scale = float(n[have].mean()) if readout == "add" else 1.0
                heads.append(Head(spec, start, log_prior=tuple(np.log(prior).tolist()),
                                  weights=tuple(weights), logit_scale=scale))
            else:
                heads.append(Head(spec, start,
                                  scaler=TargetScaler.fit(readout, y[have, j], n[have])))
            start += spec.width
        return cls(heads)

    # -- outputs -> labels ------------------------------------------------------------------

    def logits(self, head: Head, out: Tensor) -> Tensor:
        prior = torch.tensor(head.log_prior, dtype=out.dtype, device=out.device)
        return prior + out[:, head.start : head.stop] / head.logit_scale

    def to_outputs(self, out: Tensor, n: Tensor) -> list[Tensor]:
        """Per label: the predicted value [B] (regression) or class probabilities [B, C]."""
        out = _as_matrix(out, n.shape[0])
        res = []
        for h in self.heads:
            if h.spec.is_classification:
                res.append(torch.softmax(self.logits(h, out), dim=1))
            else:
                res.append(h.scaler.to_label(out[:, h.start], n))
        return res

    # -- loss ---------------------------------------------------------------------------------

    def loss(self, out: Tensor, y: Tensor, n: Tensor) -> Tensor:
        """Sum over labels of each label's mean loss over the proteins that have it."""
        out = _as_matrix(out, n.shape[0])
        y = _targets(y)
        total = out.sum() * 0.0
        for j, h in enumerate(self.heads):
            have = torch.isfinite(y[:, j])
            if not bool(have.any()):
                continue
            if h.spec.is_classification:
                target = y[have, j].long()
                ce = torch.nn.functional.cross_entropy(
                    self.logits(h, out)[have], target, reduction="none"
                )
                w = torch.tensor(h.weights, dtype=ce.dtype, device=ce.device)[target]
                total = total + torch.mean(w * ce)
            else:
                total = total + h.scaler.loss(out[have, h.start], y[have, j], n[have])
        return total

    def reference_output(self, batches) -> Tensor:
        """The constant output of the mean predictor ([K]): the mean standardised target of
        each regression label over the proteins that have it, 0 (the class prior) for logits."""
        const = torch.zeros(self.width, dtype=torch.float64)
        for j, h in enumerate(self.heads):
            if h.spec.is_classification:
                continue
            ts = []
            for b in batches:
                y = _targets(b.y)[:, j]
                have = torch.isfinite(y)
                if bool(have.any()):
                    ts.append(h.scaler.standardise(y[have], b.num_nodes[have]))
            if ts:
                const[h.start] = float(torch.cat(ts).mean())
        return const

    # -- storage ------------------------------------------------------------------------------

    def as_dict(self) -> list[dict]:
        return [h.as_dict() for h in self.heads]

    @classmethod
    def from_dict(cls, data: Sequence[dict]) -> "LabelHeads":
        return cls([Head.from_dict(d) for d in data])

    @classmethod
    def single(cls, scaler: TargetScaler) -> "LabelHeads":
        """The one default regression label (checkpoints before format 4)."""
        spec = LabelSpec(name="label", task="regression", class_weights="none")
        return cls([Head(spec, 0, scaler=scaler)])

    def first_scaler(self) -> TargetScaler | None:
        return next((h.scaler for h in self.heads if h.scaler is not None), None)

