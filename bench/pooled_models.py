"""What per-protein (pooled) features support on a run's own folds: scikit-learn models outside the
workflow, as a ceiling for what the workflow's models can reach from the same inputs.

    .venv/bin/python bench/pooled_models.py RUN [--scheme kfold] [--label NAME] [--trees 500]

RUN: a finished workflow run (e.g. `bench/esol.sh DIR kfold`): its sample table (samples.tsv),
results/structures/*.h5 and results/cv/SCHEME/folds.tsv. For every protein it computes, from the
parsed structure file:

- `composition`: the 20 amino-acid fractions and log residue count (ridge_seq's information);
- `+structure`: with the pooled structural descriptors of the evaluate stage's structure-aware
  baselines (esm_schnet.baselines.structure: mean accessibility, exposed fraction, helix /
  strand / coil fractions, contact counts, half-sphere exposure);
- `+surface`: with the composition of exposed and of buried residues (ridge_surface's);
- `+contacts`: `+structure` with residue-type pair contact counts (C-alpha pairs within 8 A, more
  than 2 apart in sequence; 210 unordered type pairs, divided by the residue count): the raw
  counts from which statistical contact potentials are made, i.e. what a graph model of
  C-alpha contacts between residue types could learn.

Each feature set is fitted by ridge (standardised, penalty by scikit-learn's efficient LOO), a
random forest, gradient-boosted trees (HistGradientBoostingRegressor at hgb_struct's first grid
setting) and an RBF support-vector regression (C by an inner 3-fold grid search) on each
training fold and scored on its test fold. Prints one JSON object: per feature set and model,
the out-of-fold RMSE and Pearson r over every protein of the folds (a protein the parse stage
skipped is left out; `proteins` says how many were scored).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from esm_schnet.baselines.structure import AMINO_ACIDS  # noqa: E402  (after the src path)

CONTACT = 8.0  # Angstrom, C-alpha
MIN_SEPARATION = 3  # residues apart in sequence (i, i+1, i+2 are backbone neighbours)


def protein_features(protein) -> dict[str, np.ndarray]:
    """{name: vector} of one parsed protein (esm_schnet.parse.read_structure_h5)."""
    from esm_schnet.baselines.structure import structure_summary
    from esm_schnet.parse import DESCRIPTOR_COLUMNS

    seq = "".join(c.sequence for c in protein.chains)
    pooled, surface = structure_summary(seq, protein.descriptors, DESCRIPTOR_COLUMNS)
    idx = {a: i for i, a in enumerate(AMINO_ACIDS)}
    t = np.array([idx.get(a, -1) for a in seq])
    n = len(seq)
    comp = np.array([(t == k).sum() / n for k in range(20)])
    ca = np.asarray(protein.ca, dtype=np.float64)
    # chain index of every residue: residues of different chains are never "backbone neighbours"
    chain = np.asarray(protein.chain_index)
    pos = np.arange(n)
    d = np.sqrt(((ca[:, None, :] - ca[None, :, :]) ** 2).sum(-1))
    far = (np.abs(pos[:, None] - pos[None, :]) >= MIN_SEPARATION) | (chain[:, None] != chain[None])
    ok = t >= 0
    i, j = np.nonzero((d < CONTACT) & far & ok[:, None] & ok[None, :] & (pos[:, None] < pos[None]))
    pair = np.zeros((20, 20))
    np.add.at(pair, (np.minimum(t[i], t[j]), np.maximum(t[i], t[j])), 1.0)
    contacts = pair[np.triu_indices(20)] / n
    return {"composition": np.r_[comp, np.log(n)], "structure": pooled, "surface": surface,
            "contacts": contacts}


def feature_sets(rows: list[dict]) -> dict[str, np.ndarray]:
    get = lambda key: np.array([r[key] for r in rows])  # noqa: E731
    comp = get("composition")
    struct = np.hstack([comp, get("structure")])
    return {"composition": comp, "+structure": struct,
            "+surface": np.hstack([struct, get("surface")]),
            "+contacts": np.hstack([struct, get("contacts")])}


def models(trees: int, seed: int = 0) -> dict:
    from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVR

    return {
        "ridge": lambda: make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-2, 4, 25))),
        "random_forest": lambda: RandomForestRegressor(
            trees, min_samples_leaf=3, max_features=0.33, n_jobs=1, random_state=seed),
        "boosted_trees": lambda: HistGradientBoostingRegressor(
            learning_rate=0.05, max_leaf_nodes=7, max_iter=200, min_samples_leaf=10,
            random_state=seed),
        "svr_rbf": lambda: make_pipeline(StandardScaler(), GridSearchCV(
            SVR(epsilon=5.0), {"C": [10.0, 30.0, 100.0]}, cv=3)),
    }


def out_of_fold(make, x, y, fold) -> np.ndarray:
    pred = np.full(len(y), np.nan)
    for f in np.unique(fold):
        test = fold == f
        pred[test] = make().fit(x[~test], y[~test]).predict(x[test])
    return pred


def main() -> int:
    from esm_schnet.cv import read_folds
    from esm_schnet.parse import read_structure_h5

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--scheme", default="kfold")
    ap.add_argument("--label", default=None, help="label column (default: the table's third)")
    ap.add_argument("--trees", type=int, default=500)
    a = ap.parse_args()
    run = a.run.resolve()
    samples = pd.read_csv(run / "samples.tsv", sep="\t", dtype={"id": str})
    label = a.label or samples.columns[2]
    folds = read_folds(run / "results" / "cv" / a.scheme / "folds.tsv")
    ids, rows = [], []
    for i in (i for i in samples["id"] if i in folds):
        protein = read_structure_h5(run / "results" / "structures" / f"{i}.h5")
        if protein.error is None and protein.chains:  # a skipped protein has no features
            ids.append(i)
            rows.append(protein_features(protein))
    y = samples.set_index("id").loc[ids, label].to_numpy(dtype=float)
    fold = np.array([folds[i][0] for i in ids])
    out = {"run": str(run), "scheme": a.scheme, "label": label, "proteins": len(ids),
           "folds": int(len(np.unique(fold))), "models": {}}
    for name, x in feature_sets(rows).items():
        for model, make in models(a.trees).items():
            p = out_of_fold(make, x, y, fold)
            out["models"][f"{name}/{model}"] = {
                "features": int(x.shape[1]),
                "rmse": round(float(np.sqrt(np.mean((p - y) ** 2))), 3),
                "pearson": round(float(np.corrcoef(p, y)[0, 1]), 3)}
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
