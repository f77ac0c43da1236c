#!/usr/bin/env bash
# The esol benchmark (the science result in docs/performance.md and README): the whole workflow on
# ../shared/data/esol (406 E. coli proteins, measured solubility), onehot features, defaults.
#   bench/esol.sh DIR kfold|group [more --config items]      e.g. bench/esol.sh /tmp/esol kfold
# kfold: 10 random folds; group: whole MMseqs2 clusters at 30% identity dealt into 10 folds.
# DIR is created empty and holds the sample table, results/ and logs/. Prints the wall time, then
# the evaluate summary: every model with RMSE, MAE, Pearson, Spearman and R2 and their 95%
# bootstrap intervals, and SchNet's paired differences against every baseline. Needs
# ../shared/data/esol (or $ESM_SCHNET_ESOL); without it, says so and exits 0.
set -euo pipefail
R=$(cd "$(dirname "$0")/.." && pwd)
E=${ESM_SCHNET_ESOL:-$R/../shared/data/esol}
dir=${1:?usage: bench/esol.sh DIR kfold|group [--config items]} scheme=${2:?kfold or group}
shift 2
case $scheme in
  kfold) cv="cv={scheme: kfold, k: 10}" ;;
  group) cv="cv={scheme: group, k: 10, identity: 0.3}" ;;
  *) echo "scheme must be kfold or group, not '$scheme'" >&2; exit 2 ;;
esac
[[ -f $E/labels.tsv ]] || { echo "no esol data at $E: skipped"; exit 0; }
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
awk -v d="$E/pdb" 'BEGIN{OFS="\t"} NR==1{print "id","structure","solubility"; next} {print $1, d"/"$1".pdb.gz", $2}' \
  "$E/labels.tsv" > samples.tsv
start=$(date +%s)
PATH="$R/.venv/bin:$PATH" snakemake --snakefile "$R/Snakefile" --configfile "$R/config.yaml" --cores 2 \
  --config samples=samples.tsv 'labels=[solubility]' 'embedding={model: onehot}' "$cv" "$@" > run.log 2>&1 \
  || { tail -40 run.log >&2; exit 1; }
echo "wall seconds: $(( $(date +%s) - start ))"
"$R/bench/evaluate_summary.sh" logs/evaluate/evaluate.log
