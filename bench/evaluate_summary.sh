#!/usr/bin/env bash
# The evaluate log's summary tables without the log prefixes: every label's block ("summary
# (held-out ..." for the default label, "summary of label NAME (...) (held-out ..." for a named
# one) to the end of the log. Used by bench/esol.sh and bench/jclinic.sh.
#   bench/evaluate_summary.sh logs/evaluate/evaluate.log
set -euo pipefail
sed -n '/ summary.*(held-out/,$p' "${1:?usage: bench/evaluate_summary.sh EVALUATE_LOG}" \
  | sed -E 's/^[0-9-]+ [0-9:,]+ [A-Z]+ [A-Za-z0-9_.]+: //'
