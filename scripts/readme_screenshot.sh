#!/usr/bin/env bash
# Regenerates docs/report.png, the README's picture of report.html: a headless Chromium screenshot of
# the report that `bash scripts/demo.sh` writes (build/demo-optimize/report.html by default).
# usage: scripts/readme_screenshot.sh [REPORT.html] [OUT.png]
set -euo pipefail
cd "$(dirname "$0")/.."
html=$(realpath "${1:-build/demo-optimize/report.html}")
out=${2:-docs/report.png}
[ -f "$html" ] || { echo "readme_screenshot.sh: no report at $html (run bash scripts/demo.sh first)" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$tmp/profile" \
  --window-size=1280,2200 --screenshot="$tmp/shot.png" "file://$html" >/dev/null 2>&1
mv "$tmp/shot.png" "$out"
echo "wrote $out from $html"
