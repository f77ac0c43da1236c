#!/usr/bin/env bash
# Screenshot of a Snakemake HTML report in headless Chromium (Debian: apt-get install -y chromium).
# Usage: bench/report_screenshot.sh [results/report.html] [out.png]
# Prints the PNG path; exits 0 without a screenshot (and says so) when chromium is absent.
set -euo pipefail
report=$(realpath "${1:-results/report.html}")
out=${2:-${report%.html}.png}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [[ -z "$browser" ]]; then
    echo "report_screenshot: no chromium on PATH (apt-get install -y chromium); skipped" >&2
    exit 0
fi
# --virtual-time-budget lets the report's JavaScript (it renders the page) finish first.
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,1800 \
    --virtual-time-budget=10000 --screenshot="$out" "file://$report" >/dev/null 2>&1
echo "$out"
