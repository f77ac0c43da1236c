"""SchNet of one workflow run against SchNet of another on the same proteins and folds.

    .venv/bin/python bench/compare_runs.py RUN_A RUN_B

RUN_A, RUN_B: run folders (each with results/predictions.tsv and results/metrics.json, e.g. two
`bench/jclinic.sh` folders of the same scheme with different settings). Prints one JSON object:
SchNet RMSE and MAE of A minus those of B with a 95% paired bootstrap interval and a verdict,
from esm_schnet.tasks.regression.metrics.paired_difference; the resampling units are what the runs' own intervals
resample (whole clusters of results/cv/group/folds.tsv under `cv.scheme: group`, else proteins).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


def schnet(run: Path) -> pd.DataFrame:
    """SchNet's rows of a one-label run's predictions table, by protein id."""
    p = pd.read_csv(run / "results" / "predictions.tsv", sep="\t")
    if "target" in p.columns and p["target"].nunique() > 1:
        raise SystemExit(f"compare_runs: {run} predicts several labels; this compares one")
    return p[p["model"] == "schnet"].set_index("id").sort_index()


def main() -> int:
    from esm_schnet.evaluate.tables import resampling_units
    from esm_schnet.tasks.regression.metrics import paired_difference

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_a", type=Path)
    ap.add_argument("run_b", type=Path)
    a = ap.parse_args()
    schemes = [json.loads((r / "results" / "metrics.json").read_text()).get("cv_scheme")
               for r in (a.run_a, a.run_b)]
    pa, pb = schnet(a.run_a), schnet(a.run_b)
    if schemes[0] != schemes[1] or list(pa.index) != list(pb.index) \
            or not (pa["fold"] == pb["fold"]).all() or not (pa["label"] == pb["label"]).all():
        print(f"compare_runs: the runs differ in scheme, proteins, folds or labels ({schemes})",
              file=sys.stderr)
        return 1
    # the units of the runs' own paired intervals (the evaluate stage's rule)
    folds = pd.read_csv(a.run_a / "results" / "cv" / str(schemes[0]) / "folds.tsv", sep="\t")
    unit, of_protein = resampling_units(folds, schemes[0])
    units = None if unit == "protein" else pd.Series(of_protein, index=folds["id"])[pa.index]
    diff = paired_difference(pa["label"], pa["prediction"], pb["prediction"], units)
    out = {"a": str(a.run_a), "b": str(a.run_b), "cv_scheme": schemes[0],
           "proteins": len(pa), "resampled": f"{unit}s",
           "a_minus_b": {m: {k: (round(v, 4) if isinstance(v, float) else v)
                             for k, v in d.items()} for m, d in diff.items()}}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
