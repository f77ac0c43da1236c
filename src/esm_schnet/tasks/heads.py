"""The multi-task head: how the encoder's outputs map to every label, and the masked loss.

The encoder returns one row of outputs per protein ([B, K]; [B] when K = 1): each label's
columns (`LabelSpec.width`: 1 for regression, one logit per class for classification) in the
order of the `labels:` setting.

What a label's head holds, how its outputs become predictions, its loss and the mean
predictor's output are its task's (esm_schnet.tasks: `fit_head`, `outputs`, `loss`,
`reference`; regression: a TargetScaler and its standardised MSE; classification: log class
priors, class weights and cross-entropy). `Head` stores every task's fields, so model.pt keeps
one format.

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
from esm_schnet.tasks import task_of
from esm_schnet.tasks.names import REGRESSION


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
            fields = task_of(spec).fit_head(spec, readout, y[have, j], n[have])
            heads.append(Head(spec, start, **fields))
            start += spec.width
        return cls(heads)

    # -- outputs -> labels ------------------------------------------------------------------

    def to_outputs(self, out: Tensor, n: Tensor) -> list[Tensor]:
        """Per label: the predicted value [B] (regression) or class probabilities [B, C]."""
        out = _as_matrix(out, n.shape[0])
        return [task_of(h.spec).outputs(h, out, n) for h in self.heads]

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
            total = total + task_of(h.spec).loss(h, out[have], y[have, j], n[have])
        return total

    def reference_output(self, batches) -> Tensor:
        """The constant output of the mean predictor ([K]): each label's task's (regression:
        the mean standardised target over the proteins that have it; 0, the class prior, for
        logits)."""
        const = torch.zeros(self.width, dtype=torch.float64)
        for j, h in enumerate(self.heads):
            value = task_of(h.spec).reference(h, batches, j)
            if value is not None:
                const[h.start] = value
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
        spec = LabelSpec(name="label", task=REGRESSION, class_weights="none")
        return cls([Head(spec, 0, scaler=scaler)])

    def first_scaler(self) -> TargetScaler | None:
        return next((h.scaler for h in self.heads if h.scaler is not None), None)

