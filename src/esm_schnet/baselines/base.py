"""What a baseline is: a small estimator over one fold's proteins (in the spirit of
scikit-learn's `dummy.py`), and the per-protein feature bundle it fits and predicts on.

`Proteins` holds what every baseline may see of a set of proteins: ids, residue counts, mean-
and sum-pooled per-residue features, the inner-CV groups (clusters under `cv.scheme: group`,
else None), the structure summaries where read (`structure`, `surface`), and, for a training
set only, the labels (regression: floats; classification: class
indices 0..K-1 with `n_classes` = K) and the outer fold being held out (`fold`, which seeds an
inner CV). A test set carries no labels.

A `Baseline` subclass declares `name`, `task` (the name of the task it serves, registered in
esm_schnet.tasks: `regression`, `classification` or a plugin's; a task runs the baselines
registered under its name, Task.baselines_of), `description` and `sees` (for the metrics tables and the report), a plot
`style`, and implements `fit(train) -> self` and `predict(test)` ([n] values; classification
[n, K] class probabilities). One fresh instance is fitted per fold. Optional: `chosen_` (what
fit chose, e.g. a penalty; collected per fold into metrics.json under `info_key`), `summary`
(one log line from those choices) and `single_thread` (BLAS on one thread while it runs).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np


@dataclass(frozen=True)
class Style:
    """How a model is drawn in the plots: marker colour, legend label and marker."""

    color: str
    label: str
    marker: str = "o"


@dataclass(frozen=True, eq=False)
class Proteins:
    """Per-protein features of one set of proteins (all arrays in the order of `ids`)."""

    ids: tuple[str, ...]
    n_residues: np.ndarray  # [n] float64
    mean: np.ndarray  # [n, D] float64, mean-pooled per-residue features
    summed: np.ndarray  # [n, D] float64, sum-pooled
    groups: np.ndarray | None = None  # [n] inner-CV groups, None: every protein its own
    labels: np.ndarray | None = None  # [n]; None on a test set
    n_classes: int | None = None  # classification: K
    fold: int | None = None  # on a training set: the outer fold it leaves out
    # structure summaries (esm_schnet.baselines.structure), None where not read
    structure: np.ndarray | None = None  # [n, S] pooled structural descriptors
    surface: np.ndarray | None = None  # [n, 40] composition of exposed and of buried residues

    @classmethod
    def from_arrays(cls, ids, n_residues, pooled, summed=None, groups=None, labels=None,
                    n_classes: int | None = None) -> Proteins:
        """Checked float64 arrays; `summed` defaults to pooled times the residue count."""
        n_res = np.asarray(n_residues, dtype=np.float64).reshape(-1)
        mean = np.asarray(pooled, dtype=np.float64)
        if mean.ndim != 2:
            raise ValueError(f"features must be 2-D [proteins, dims], got {mean.shape}")
        summed = mean * n_res[:, None] if summed is None else np.asarray(summed, np.float64)
        ids = tuple(str(i) for i in ids)
        if summed.shape != mean.shape or not n_res.shape[0] == mean.shape[0] == len(ids):
            raise ValueError(f"{len(ids)} ids, mean {mean.shape}, sum {summed.shape}, counts "
                             f"{n_res.shape} do not match")
        g = None if groups is None else np.asarray(groups)
        if g is not None and g.shape != (len(ids),):
            raise ValueError(f"groups has {g.size} values, proteins {len(ids)}")
        p = cls(ids, n_res, mean, summed, g)
        return p if labels is None else p.with_labels(labels, n_classes)

    def with_labels(self, labels, n_classes: int | None = None) -> Proteins:
        y = np.asarray(labels)
        if y.shape != (len(self),):
            raise ValueError(f"{y.size} labels for {len(self)} proteins")
        if not np.all(np.isfinite(y.astype(np.float64))):
            raise ValueError("baselines need finite labels")
        return replace(self, labels=y, n_classes=n_classes)

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, mask, *, fold: int | None = None, labels: bool = True) -> Proteins:
        """The proteins where `mask` is true (labels dropped with labels=False)."""
        mask = np.asarray(mask)
        return Proteins(
            ids=tuple(i for i, m in zip(self.ids, mask) if m), n_residues=self.n_residues[mask],
            mean=self.mean[mask], summed=self.summed[mask],
            groups=None if self.groups is None else self.groups[mask],
            labels=self.labels[mask] if labels and self.labels is not None else None,
            n_classes=self.n_classes, fold=fold,
            structure=None if self.structure is None else self.structure[mask],
            surface=None if self.surface is None else self.surface[mask],
        )

    def with_structure(self, structure, surface) -> Proteins:
        """The same proteins with their structure summaries ([n, S] and [n, 40])."""
        s, f = np.asarray(structure, np.float64), np.asarray(surface, np.float64)
        if s.ndim != 2 or f.ndim != 2 or not len(s) == len(f) == len(self):
            raise ValueError(f"structure {s.shape} and surface {f.shape} for {len(self)} proteins")
        return replace(self, structure=s, surface=f)


class Baseline:
    """A baseline: fitted on one fold's training proteins, predicts its held-out ones."""

    name: ClassVar[str] = ""
    task: ClassVar[str] = "regression"
    description: ClassVar[str] = ""
    sees: ClassVar[str] = ""
    style: ClassVar[Style | None] = None  # None: a grey marker labelled with the name
    info_key: ClassVar[str | None] = None  # metrics.json key of chosen_ per fold
    single_thread: ClassVar[bool] = False
    # Proteins fields it cannot do without (e.g. "structure"): skipped, with a log line, where
    # the evaluate job has none of them
    needs: ClassVar[tuple[str, ...]] = ()
    chosen_: object = None

    def fit(self, train: Proteins) -> Baseline:
        raise NotImplementedError

    def predict(self, test: Proteins) -> np.ndarray:
        raise NotImplementedError

    @classmethod
    def summary(cls, choices: dict, proteins: Proteins) -> str | None:
        """One log line about the choices made per fold (None: nothing to say)."""
        return None

    @classmethod
    def plot_style(cls) -> Style:
        return cls.style or Style(color="#555555", label=cls.name)
