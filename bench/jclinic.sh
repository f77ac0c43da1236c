#!/usr/bin/env bash
# The jclinic runs behind docs/jclinic.md's tables: the whole workflow, onehot features, default settings.
#   bench/jclinic.sh DIR SCHEME [more --config items]     e.g. bench/jclinic.sh /tmp/jl loocv
# DIR is created empty and holds the sample table, results/ and logs/; prints the wall time and
# the evaluate summary (the tables in docs/jclinic.md). Needs ../shared/data/jclinic (or $ESM_SCHNET_JCLINIC).
set -euo pipefail
R=$(cd "$(dirname "$0")/.." && pwd)
J=${ESM_SCHNET_JCLINIC:-$R/../shared/data/jclinic}
dir=$1 scheme=$2
shift 2
[[ -f $J/labels.tsv ]] || { echo "no jclinic data at $J" >&2; exit 0; }
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
awk -v d="$J/pdb" 'BEGIN{OFS="\t"} NR==1{print "id","structure","label"; next} {print $1, d"/"$1".pdb", $2}' \
  "$J/labels.tsv" > samples.tsv
start=$(date +%s)
PATH="$R/.venv/bin:$PATH" snakemake --snakefile "$R/Snakefile" --configfile "$R/config.yaml" --cores 2 \
  --config samples=samples.tsv 'embedding={model: onehot}' "cv={scheme: $scheme}" "$@" > run.log 2>&1
echo "wall seconds: $(( $(date +%s) - start ))"
"$R/bench/evaluate_summary.sh" logs/evaluate/evaluate.log
