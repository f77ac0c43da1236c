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
  C-alpha contacts between residue types could learn;
- `+potentials`: `+structure` with six solubility-dependent statistical potentials in the manner
  of SOLart (Hou et al. 2020), learnt inside every training fold: for each family of structural
  elements (residue type by accessibility bin, by secondary structure, by backbone torsion
  region, and residue-type pairs at C-alpha distances < 6, 6-8 and 8-10 A), the log ratio of
  the elements' frequency in proteins weighted by their solubility to that in proteins weighted
  by its complement; a protein's feature is the mean potential of its elements. The training
  proteins' own features come from potentials learnt without them (5 inner folds), so a model
  never sees a feature made from its own label.

Each feature set is fitted by ridge (standardised, penalty by scikit-learn's efficient LOO), a
random forest, gradient-boosted trees (HistGradientBoostingRegressor at hgb_struct's first grid
setting), an RBF support-vector regression (C by an inner 3-fold grid search) and a small
neural network (one hidden layer of 32, early stopping on 15% of the training fold, L2 penalty
by an inner 3-fold grid search: what a network trained like the workflow's reaches on pooled
inputs) on each training fold and scored on its test fold; `average` is the mean of the five
models' predictions, and `all/average` the mean over every feature set and model (an ensemble
chosen before seeing any score). Prints one JSON object: per feature set and model, the
out-of-fold RMSE and Pearson r over every protein of the folds (a protein the parse stage
skipped is left out; `proteins` says how many were scored), and each potential's own out-of-fold
Pearson r with the label.
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

CONTACT = 8.0  # Angstrom, C-alpha (within DIST_BINS[-1])
MIN_SEPARATION = 3  # residues apart in sequence (i, i+1, i+2 are backbone neighbours)
RSA_BINS = (0.1, 0.25, 0.5)  # relative accessibility bin edges
DIST_BINS = (6.0, 8.0, 10.0)  # C-alpha distance bins of the pair potentials, Angstrom
POTENTIALS = ("acc", "ss", "torsion", "pair_6", "pair_8", "pair_10")
INNER = 5  # inner folds that make the training proteins' own potential features


def torsion_region(phi: np.ndarray, psi: np.ndarray) -> np.ndarray:
    """0 right-handed helix, 1 beta/polyproline, 2 left-handed (phi > 0), 3 the rest, per
    residue from phi and psi in degrees."""
    region = np.full(len(phi), 3)
    left = phi > 0
    region[~left & (psi > -100) & (psi < 45)] = 0
    region[~left & ((psi >= 45) | (psi < -150))] = 1
    region[left] = 2
    return region


def _fractions(index: np.ndarray, size: int) -> np.ndarray:
    counts = np.bincount(index, minlength=size).astype(np.float64)
    return counts / counts.sum() if counts.sum() else counts


def protein_features(protein) -> dict:
    """{name: vector} of one parsed protein (esm_schnet.parse.read_structure_h5); "elements":
    {potential family: element frequencies}."""
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
    # every pair of standard residues once, not backbone neighbours, within the widest bin;
    # `kind`: its unordered residue-type pair (the 210 of np.triu_indices(20), in that order)
    i, j = np.nonzero((d < DIST_BINS[-1]) & far & ok[:, None] & ok[None, :]
                      & (pos[:, None] < pos[None]))
    upper = np.triu_indices(20)
    pair_index = np.full((20, 20), -1)
    pair_index[upper] = np.arange(len(upper[0]))
    kind = pair_index[np.minimum(t[i], t[j]), np.maximum(t[i], t[j])]
    dist = d[i, j]
    contacts = np.bincount(kind[dist < CONTACT], minlength=len(upper[0])) / n
    # element frequencies of the statistical potentials (each family sums to 1 over its elements)
    desc = np.asarray(protein.descriptors, np.float64)
    col = {c: desc[:, k] for k, c in enumerate(DESCRIPTOR_COLUMNS)}
    el = {}
    sel = ok & (col["rsa_ok"] > 0.5)
    el["acc"] = _fractions(t[sel] * 4 + np.searchsorted(RSA_BINS, col["rsa"][sel]), 80)
    sel = ok & (col["ss_ok"] > 0.5)
    ss = np.argmax(np.c_[col["ss_H"], col["ss_E"], col["ss_C"]][sel], axis=1)
    el["ss"] = _fractions(t[sel] * 3 + ss, 60)
    sel = ok & (col["phi_ok"] > 0.5) & (col["psi_ok"] > 0.5)
    phi = np.degrees(np.arctan2(col["phi_sin"], col["phi_cos"]))[sel]
    psi = np.degrees(np.arctan2(col["psi_sin"], col["psi_cos"]))[sel]
    el["torsion"] = _fractions(t[sel] * 4 + torsion_region(phi, psi), 80)
    lo = 0.0
    for hi in DIST_BINS:
        el[f"pair_{hi:.0f}"] = _fractions(kind[(dist >= lo) & (dist < hi)], len(upper[0]))
        lo = hi
    return {"composition": np.r_[comp, np.log(n)], "structure": pooled, "surface": surface,
            "contacts": contacts, "elements": el}


def potential(freq: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Solubility-dependent potential of every element from training proteins' element
    frequencies [P, E] and labels [P]: log of the frequency among proteins weighted by y - min(y)
    over that among proteins weighted by max(y) - y, with the family's mean frequency as
    pseudocount (a rare element's potential stays near 0)."""
    high, low = y - y.min(), y.max() - y
    f_high = high @ freq / high.sum()
    f_low = low @ freq / low.sum()
    pseudo = freq.mean()
    return np.log((f_high + pseudo) / (f_low + pseudo))


def potential_features(families: dict[str, np.ndarray], train: np.ndarray, y: np.ndarray,
                       seed: int = 0) -> np.ndarray:
    """[P, len(families)]: every protein's mean element potential per family, the potentials
    learnt on the `train` proteins only; a training protein's own row from potentials learnt on
    the other training proteins (INNER folds), so no row is made from its own label."""
    out = np.zeros((len(train), len(families)))
    tr = np.flatnonzero(train)
    inner = np.random.default_rng(seed).permutation(len(tr)) % INNER
    for k, freq in enumerate(families.values()):
        out[~train, k] = freq[~train] @ potential(freq[tr], y[tr])
        for f in range(INNER):
            fit, held = tr[inner != f], tr[inner == f]
            out[held, k] = freq[held] @ potential(freq[fit], y[fit])
    return out


def feature_sets(rows: list[dict]) -> dict:
    """{name: features [P, F]}, or for a set learnt from labels a function (train mask, y) ->
    features [P, F] that learns only from the training proteins."""
    get = lambda key: np.array([r[key] for r in rows])  # noqa: E731
    comp = get("composition")
    struct = np.hstack([comp, get("structure")])
    families = {f: np.array([r["elements"][f] for r in rows]) for f in POTENTIALS}
    return {"composition": comp, "+structure": struct,
            "+surface": np.hstack([struct, get("surface")]),
            "+contacts": np.hstack([struct, get("contacts")]),
            "+potentials": lambda train, y: np.hstack(
                [struct, potential_features(families, train, y)])}


def models(trees: int, seed: int = 0) -> dict:
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import GridSearchCV
    from sklearn.neural_network import MLPRegressor
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
        "mlp": lambda: TransformedTargetRegressor(make_pipeline(StandardScaler(), GridSearchCV(
            MLPRegressor(hidden_layer_sizes=(32,), early_stopping=True, validation_fraction=0.15,
                         max_iter=2000, random_state=seed), {"alpha": [1.0, 10.0]}, cv=3)),
            transformer=StandardScaler()),
    }


def out_of_fold(make, per_fold: list[np.ndarray], tests: list[np.ndarray], y) -> np.ndarray:
    """Out-of-fold predictions: for every fold (its test mask), a model fitted on its training
    proteins' rows of that fold's features and scored on its test rows."""
    pred = np.full(len(y), np.nan)
    for x, test in zip(per_fold, tests):
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
    score = lambda p, width: {  # noqa: E731
        "features": int(width), "rmse": round(float(np.sqrt(np.mean((p - y) ** 2))), 3),
        "pearson": round(float(np.corrcoef(p, y)[0, 1]), 3)}
    tests = [fold == f for f in np.unique(fold)]
    every = []
    for name, x in feature_sets(rows).items():
        # one matrix per fold: a set learnt from labels is made once per fold, from its training
        # proteins only, and shared by every model
        per_fold = [x(~test, y) if callable(x) else x for test in tests]
        width = per_fold[0].shape[1]
        preds = []
        for model, make in models(a.trees).items():
            p = out_of_fold(make, per_fold, tests, y)
            out["models"][f"{name}/{model}"] = score(p, width)
            preds.append(p)
        out["models"][f"{name}/average"] = score(np.mean(preds, axis=0), width)
        every += preds
        if name == "+potentials":  # each potential alone: its test proteins' feature (the
            # potentials of their fold's training proteins) against their label, every fold
            alone = np.zeros((len(y), len(POTENTIALS)))
            for xf, test in zip(per_fold, tests):
                alone[test] = xf[test, -len(POTENTIALS):]
            out["potential_alone_pearson"] = {
                f: round(float(np.corrcoef(alone[:, k], y)[0, 1]), 3)
                for k, f in enumerate(POTENTIALS)}
    out["models"]["all/average"] = score(np.mean(every, axis=0), 0)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
