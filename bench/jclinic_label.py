"""What the jclinic label counts: a check of the label against the PDB files themselves.

    .venv/bin/python bench/jclinic_label.py [--data ../shared/data/jclinic]

Prints one JSON object. For every protein it compares 42 x label with the number of lines of its
PDB file (ATOM/HETATM, TER and REMARK records), and counts the file's hydrogen atoms and the
heavy atoms a complete copy of its residues would have (standard residue compositions, plus one
terminal OXT per chain segment). A modified residue counts as its parent (1a2t's CME has 4 more
heavy atoms than the cysteine it stands for, hence its negative `heavy_atoms_missing`).
The summary gives the largest |42 x label - lines| over the 42 proteins, and what a
residue-level model (residue types and C-alpha coordinates, which is all esm-schnet sees) cannot
see: the label's deviation from the complete heavy-atom count of its sequence, i.e. hydrogens
present in the file and atoms missing from it. Skips (exit 0, JSON note) without the data.

With `--predictions DIR/results/predictions.tsv` (a jclinic run, e.g. from bench/jclinic.sh) it
adds each model's RMSE on the proteins whose files list hydrogens and on the others, and
SchNet minus each baseline there with a 95% paired interval; and, on the same folds, the RMSE
of a chemistry oracle (`chemistry_oracle`): each protein's complete heavy-atom count / 42 (its
residues' standard compositions, known exactly instead of learned) plus one constant fitted on
the training fold (the mean of label - count / 42 over the proteins outside the held-out fold).
It is the best a model can do that knows each residue's atoms perfectly but, like a
residue-level model, cannot see whether a file lists hydrogens or lacks atoms.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

# heavy atoms of each standard residue within a chain (N, CA, C, O and the side chain)
HEAVY = {"G": 4, "A": 5, "S": 6, "C": 6, "V": 7, "T": 7, "P": 7, "I": 8, "L": 8, "D": 8,
         "N": 8, "M": 8, "E": 9, "Q": 9, "K": 9, "H": 10, "F": 11, "R": 11, "Y": 12, "W": 14}


def _element(line: str) -> str:
    """Element of an ATOM/HETATM record: columns 77-78, else the atom name's first letter
    (old files: a blank element, names such as ' HB2' or '1HB ' with a leading digit)."""
    element = line[76:78].strip()
    if element:
        return element.upper()
    return line[12:16].strip().lstrip("0123456789")[:1].upper()


def count_records(path: Path) -> dict[str, int]:
    lines = path.read_text().splitlines()
    atoms = [ln for ln in lines if ln.startswith(("ATOM  ", "HETATM"))]
    hydrogens = sum(1 for ln in atoms if _element(ln) in ("H", "D"))
    return {"lines": len(lines), "atoms": len(atoms), "hydrogens": hydrogens,
            "ter": sum(1 for ln in lines if ln.startswith("TER"))}


MIN_UNITS = 10  # fewer resampling units than this: no bootstrap interval


def rmse_by_hydrogens(predictions: Path, with_h: set[str]) -> dict:
    """Per model, on the proteins whose files list hydrogens and on the others: RMSE, and
    SchNet minus the model in RMSE with its 95% paired bootstrap interval
    (esm_schnet.tasks.regression.metrics.paired_difference). The resampling units are those of the run's own
    intervals: whole clusters (its folds.tsv) under cv.scheme group, proteins otherwise; with
    fewer than MIN_UNITS units in a subset no interval is given."""
    import pandas as pd

    from esm_schnet.cv import is_grouped, read_folds
    from esm_schnet.tasks.regression.metrics import paired_difference

    results = predictions.parent
    p = pd.read_csv(predictions, sep="\t")
    if "target" in p and p["target"].nunique() > 1:
        names = ", ".join(map(str, p["target"].unique()))
        raise SystemExit(f"{predictions}: several labels ({names}); this split is for the "
                         "one-label jclinic run")
    scheme = json.loads((results / "metrics.json").read_text()).get("cv_scheme") \
        if (results / "metrics.json").is_file() else None
    units: dict = {}
    if is_grouped(scheme):
        units = {i: c for i, (_, c) in read_folds(results / "cv" / scheme / "folds.tsv").items()}
    wide = p.pivot(index=["id", "label"], columns="model", values="prediction").reset_index()
    out: dict = {"cv_scheme": scheme, "resampled": "clusters" if units else "proteins"}
    for subset, mask in (("with_hydrogens", wide["id"].isin(with_h)),
                         ("without", ~wide["id"].isin(with_h))):
        w = wide[mask]
        u = [units.get(i, i) for i in w["id"]]
        n_units = len(set(u))
        res: dict = {"proteins": int(mask.sum()), "units": n_units}
        for model in [c for c in wide.columns if c not in ("id", "label")]:
            rmse = rmse_of(w, model)
            res[str(model)] = {"rmse": round(rmse, 3)}
            if model == "schnet" or "schnet" not in w:
                continue
            if n_units < MIN_UNITS:
                res[str(model)]["schnet_minus"] = [
                    round(rmse_of(w, "schnet") - rmse, 3), None, None,
                    f"no interval: {n_units} resampling units"]
                continue
            d = paired_difference(w["label"], w["schnet"], w[model], units=u)["rmse"]
            res[str(model)]["schnet_minus"] = [round(d["difference"], 3), round(d["lo"], 3),
                                               round(d["hi"], 3), d["verdict"]]
        out[subset] = res
    return out


def chemistry_oracle(predictions: Path, complete: dict[str, float], label: dict[str, float],
                     with_h: set[str]) -> dict:
    """RMSE of complete[id] / 42 + c_fold on the run's folds (the `fold` column of its
    predictions), c_fold the mean of label - complete / 42 over the proteins of the other
    folds: overall, on the files with hydrogens and on the others."""
    import pandas as pd

    p = pd.read_csv(predictions, sep="\t", dtype={"id": str})
    fold = p.drop_duplicates("id").set_index("id")["fold"]
    ids = [i for i in fold.index if i in complete]
    base = np.array([complete[i] / 42 for i in ids])
    y = np.array([label[i] for i in ids])
    f = fold.loc[ids].to_numpy()
    pred = np.empty_like(y)
    for k in np.unique(f):
        held = f == k
        pred[held] = base[held] + float(np.mean((y - base)[~held]))
    err = pred - y
    h = np.array([i in with_h for i in ids])

    def rms(m):
        return round(float(np.sqrt(np.mean(err[m] ** 2))), 3) if m.any() else None

    return {"what": "complete heavy atoms / 42 + a constant fitted on the training fold",
            "rmse": rms(np.ones(len(ids), bool)), "with_hydrogens": rms(h), "without": rms(~h)}


def rmse_of(table, model: str) -> float:
    return float(np.sqrt(np.mean((table[model] - table["label"]) ** 2)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "jclinic"))
    ap.add_argument("--predictions", default=None,
                    help="a jclinic run's results/predictions.tsv: RMSE split by hydrogens")
    a = ap.parse_args()
    data = Path(a.data)
    if not (data / "labels.tsv").is_file():
        print(json.dumps({"skipped": f"no jclinic data at {data}"}))
        return 0
    from esm_schnet.parse import parse_structure

    rows = []
    for line in (data / "labels.tsv").read_text().splitlines()[1:]:
        pid, label = line.split("\t")[:2]
        path = data / "pdb" / f"{pid}.pdb"
        rec = count_records(path)
        prot = parse_structure(path, pid)
        complete = sum(HEAVY.get(r, 0) for s in prot.sequences for r in s) + len(prot.sequences)
        heavy = rec["atoms"] - rec["hydrogens"]
        rows.append({"id": pid, "label": float(label), "lines": rec["lines"],
                     "label_x42_minus_lines": round(42 * float(label) - rec["lines"], 3),
                     "residues": int(prot.n_residues), "hydrogens": rec["hydrogens"],
                     "heavy_atoms": heavy, "heavy_atoms_missing": complete - heavy})
    diff = np.array([r["label_x42_minus_lines"] for r in rows])
    unseen = np.array([(r["hydrogens"] - r["heavy_atoms_missing"]) / 42 for r in rows])
    summary: dict = {}
    if a.predictions:
        with_h = {r["id"] for r in rows if r["hydrogens"]}
        summary["rmse_by_hydrogens"] = rmse_by_hydrogens(Path(a.predictions), with_h)
        summary["chemistry_oracle"] = chemistry_oracle(
            Path(a.predictions), {r["id"]: r["heavy_atoms"] + r["heavy_atoms_missing"]
                                  for r in rows},
            {r["id"]: r["label"] for r in rows}, with_h)
    print(json.dumps({
        **summary,
        "proteins": len(rows),
        "max_abs_label_x42_minus_lines": round(float(np.abs(diff).max()), 3),
        "with_hydrogens": [r["id"] for r in rows if r["hydrogens"]],
        "unseen_by_residue_types": {
            "what": "(hydrogens - missing heavy atoms) / 42, label units",
            "rms": round(float(np.sqrt(np.mean(unseen**2))), 3),
            "max": round(float(np.abs(unseen).max()), 3)},
        "proteins_detail": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
