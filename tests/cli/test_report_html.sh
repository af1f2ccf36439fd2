#!/usr/bin/env bash
# `edgeopt report`: report.json -> report.html, checked in headless Chromium. A fixture report.json
# (REJECTED, NOT MEASURED and FAILED candidates, nulls, text needing escaping, layer SQNR, latency
# samples) and the report.json of a real `edgeopt optimize` run on the tiny example are rendered;
# Chromium takes a screenshot (must be a real picture: not one colour, with the status colours of
# the badges and plots on it) and dumps the DOM it parsed (key text present, escaped text stays
# text, three SVG plots with their elements). Also the CLI's errors. No timing.
# usage: test_report_html.sh EDGEOPT
set -u
. "$(dirname "$0")/lib.sh"  # cli_setup, pass/fail counters, check, expect, json_check
cli_setup "$1"
chrome=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chrome" ] || { echo "test_report_html.sh: chromium not found (scripts/install-deps.sh installs it)"; exit 1; }
# a private profile so nothing is read from or written to the user's; all network off
chrome_run() {
  timeout 60 "$chrome" --headless --no-sandbox --disable-gpu --user-data-dir="$work/chrome" --no-first-run \
    --disable-extensions --disable-background-networking --hide-scrollbars "$@" 2>>"$work/chrome.log"
}

# --- fixture
$py - "$work/report.json" <<'EOF'
import json, sys
lat = lambda mean, p50, p95, p99, lo, hi: {"label": "host estimate (edgeopt runtime on this machine, not target hardware)",
    "mean": mean, "p50": p50, "p95": p95, "p99": p99, "min": lo, "max": hi}
nolat = {k: None for k in ("mean", "p50", "p95", "p99", "min", "max")}
j = {
  "schema_version": 1, "edgeopt_version": "0.1.0", "date": "2026-11-23T12:00:00Z",
  "command_line": "edgeopt optimize det.onnx --data d --floor 1% -o out",
  "source": {"path": "models/det.onnx", "sha256": "5eed" * 16, "unchanged": True},
  "target": "cpu-generic", "task": "detect", "data": "data/detect", "limit": 100, "metric": "mAP@0.5",
  "floor": {"value": 1, "kind": "relative_percent"},
  "benchmark": {"label": "host estimate (edgeopt runtime on this machine, not target hardware)", "warmup": 5, "iterations": 30},
  "peak_rss_bytes": 67805184,
  "candidates": [
    {"name": "baseline", "precision": "FP32", "file": "models/det.onnx", "status": "BASELINE", "note": None,
     "file_bytes": 2986780, "measured": True, "metric": 0.953, "drop": 0, "sqnr_db": None,
     "latency_ms": lat(10.0, 9.7, 15.2, 15.5, 3.8, 15.5), "throughput_per_s": 99.7,
     "arena_bytes": 1228864, "constant_bytes": 2944804},
    {"name": "fp16", "precision": "FP16", "file": "out/fp16.onnx", "status": "NOT MEASURED",
     "note": "not measured in edgeopt (X/W/B float16, expected float32)", "file_bytes": 1514120, "measured": False,
     "metric": None, "drop": None, "sqnr_db": None, "latency_ms": nolat, "throughput_per_s": None,
     "arena_bytes": None, "constant_bytes": None},
    {"name": "weight-int8", "precision": "INT8 weights, FP32 activations", "file": "out/weight-int8.onnx",
     "status": "ACCEPTED", "note": "meets the floor", "runtime": "ONNX Runtime CPU", "format": "onnx",
     "file_bytes": 830467, "measured": True, "metric": 0.956, "drop": -0.306, "sqnr_db": None,
     "latency_ms": lat(9.6, 9.2, 14.4, 14.75, 3.4, 14.8), "throughput_per_s": 104.0,
     "latency_samples_ms": [3.4, 5, 7.5, 8, 9, 9.2, 9.3, 9.5, 10, 11, 12, 14.4, 14.8],
     "arena_bytes": 1228864, "constant_bytes": 3689324},
    {"name": "int8-percentile", "precision": "INT8 W8A8", "file": "out/int8-percentile.onnx", "status": "REJECTED",
     "note": "drop 10.925% exceeds the floor 1%; try next: <b>QAT</b> & \"mixed\" precision",
     "file_bytes": 1019593, "measured": True, "metric": 0.849, "drop": 10.925, "sqnr_db": 38.38,
     "latency_ms": lat(51.1, 57.4, 68.2, 73.7, 31.9, 75.9), "throughput_per_s": 19.6,
     "arena_bytes": 1228864, "constant_bytes": 767494,
     "layer_sqnr": [{"node": "/head/conv<1>", "op": "Conv", "sqnr_db": 14.5},
                    {"node": "/b0/conv", "op": "Conv", "sqnr_db": None},
                    {"node": "/b1/conv", "op": "Conv", "sqnr_db": 35.2}]},
    {"name": "int4", "status": "FAILED", "note": "quantization failed: block size", "file_bytes": None}
  ],
  "recommended": "weight-int8", "verdict": "PASS",
  "recommended_reason": "lowest median latency among accepted candidates",
  "next_steps": ["deploy package/weight-int8.onnx with ONNX Runtime", "try QAT for the <INT8> candidate"]
}
json.dump(j, open(sys.argv[1], "w"), indent=1)
EOF

# --- the CLI
expect 0 "Usage: edgeopt report" "$eo" report --help
expect 0 "report" "$eo" --help
expect 2 "no report.json given" "$eo" report -o "$work/x.html"
expect 2 "-o report.html is required" "$eo" report "$work/report.json"
expect 2 "unknown option '--bogus'" "$eo" report "$work/report.json" -o "$work/x.html" --bogus
expect 1 "no-such.json" "$eo" report "$work/no-such.json" -o "$work/x.html"
echo '{"schema_version":1,"candidates":[{"name":"a","status":"BASELINE","latency_ms":{"p95":"fast"}}]}' > "$work/bad.json"
expect 1 "candidates[0].latency_ms.p95" "$eo" report "$work/bad.json" -o "$work/x.html"
check "no html after a failure" "$([ ! -e "$work/x.html" ]; echo $?)"
html="$work/report.html"
expect 0 "wrote $html" "$eo" report "$work/report.json" -o "$html"
expect 1 "exists; pass --force" "$eo" report "$work/report.json" -o "$html"
expect 0 "wrote $html" "$eo" report "$work/report.json" -o "$html" --force
check "no temporary files left" "$([ "$(ls "$work" | grep -c tmp)" -eq 0 ]; echo $?)"
# self-contained: no scripts, nothing fetched (the only URL is the SVG namespace)
check "no external resources" "$(! grep -Eq '<script|<link|<img|src=|href=|url\(|@import|https://' "$html"; echo $?)"

# --- Chromium: screenshot and parsed DOM. Bars decided up front: the page is a real picture with
# the badge/plot colours on it (>= 200 pixels each of green #16a34a and red #dc2626, of the 2.56 M).
shot_check() {  # shot_check NAME PNG
  $py - "$2" <<'EOF'
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB")
ok = True
if im.size != (1280, 2000): print("  size", im.size); ok = False
colors = im.getcolors(1 << 24)
if len(colors) < 50: print("  only", len(colors), "colours"); ok = False
def near(c, t): return all(abs(a - b) <= 12 for a, b in zip(c, t))
px = im.getdata()
green = sum(1 for c in px if near(c, (0x16, 0xa3, 0x4a)))
red = sum(1 for c in px if near(c, (0xdc, 0x26, 0x26)))
if green < 200 or red < 200: print("  green", green, "red", red); ok = False
sys.exit(0 if ok else 1)
EOF
  check "$1: screenshot is a rendered page" $?
}
nesting_check() {  # nesting_check NAME HTML: every non-void element closed in order (the file as written, not Chromium's repair)
  $py - "$2" <<'EOF'
import sys
from html.parser import HTMLParser
void = {"meta", "br", "hr", "img", "input", "link", "line", "rect", "circle", "path"}
class P(HTMLParser):
    def __init__(s): super().__init__(); s.st = []; s.bad = []
    def handle_starttag(s, t, a):
        if t not in void: s.st.append(t)
    def handle_endtag(s, t):
        if t in void: return
        if s.st and s.st[-1] == t: s.st.pop()
        else: s.bad.append((t, s.st[-3:], s.getpos()))
p = P(); p.feed(open(sys.argv[1]).read()); p.close()
if p.st or p.bad: print("  unclosed", p.st, "misnested", p.bad[:3])
sys.exit(0 if not p.st and not p.bad else 1)
EOF
  check "$1: well-formed nesting" $?
}
dom_check() {  # dom_check NAME DOM NEEDLE...
  local name=$1 dom=$2; shift 2
  local n
  for n in "$@"; do check "$name: DOM has '$n'" "$(grep -qF -- "$n" "$dom"; echo $?)"; done
}

nesting_check fixture "$html"
chrome_run --screenshot="$work/shot.png" --window-size=1280,2000 "file://$html" > /dev/null
check "fixture: screenshot written (see $work/chrome.log)" "$([ -s "$work/shot.png" ]; echo $?)"
[ -s "$work/shot.png" ] && shot_check fixture "$work/shot.png"
chrome_run --dump-dom "file://$html" > "$work/dom.html"
dom_check fixture "$work/dom.html" "Model Optimization Report: det.onnx" ">PASS<" "Optimization Summary Report" \
  "Optimization Tradeoff Analysis" ">REJECTED<" ">NOT MEASURED<" ">FAILED<" "weight-int8" "3.60x compression" \
  "threshold 0.9435" "Per-layer SQNR" "/head/conv&lt;1&gt;" "try next: &lt;b&gt;QAT&lt;/b&gt; &amp; \"mixed\" precision" \
  "try QAT for the &lt;INT8&gt; candidate" "5eed5eed" "host estimate" "floor 0.9435"
check "fixture: injected markup stayed text" "$(! grep -q '<b>QAT</b>' "$work/dom.html"; echo $?)"
check "fixture: DOM has 3 svg plots" "$([ "$(grep -o '<svg' "$work/dom.html" | wc -l)" -eq 3 ]; echo $?)"
check "fixture: 3 scatter points" "$([ "$(grep -o '<circle class="point"' "$work/dom.html" | wc -l)" -eq 3 ]; echo $?)"
check "fixture: 4 size bars" "$([ "$(grep -o '<rect class="bar"' "$work/dom.html" | wc -l)" -eq 4 ]; echo $?)"
check "fixture: histogram of samples" "$(grep -q '<rect class="hist"' "$work/dom.html"; echo $?)"
check "fixture: no nan/inf printed" "$(! grep -Eiwq 'nan|inf|-nan' "$work/dom.html"; echo $?)"

# --- a real run: `edgeopt optimize` on the tiny example (compare task, 4 random inputs)
cp "$root/examples/tiny_cnn.onnx" "$work/"
mkdir -p "$work/npy"
$py -c "
import numpy as np
rng = np.random.default_rng(7)
for i in range(4): np.save('$work/npy/x%d.npy' % i, rng.standard_normal((1, 3, 32, 32)).astype(np.float32))
"
"$eo" optimize "$work/tiny_cnn.onnx" --data "$work/npy" --task compare --floor 1% --iters 5 --warmup 1 --quiet \
  -o "$work/run" > "$work/run.txt" 2>&1
check "optimize run exits 0 ($(tail -3 "$work/run.txt"))" $?
real="$work/real.html"
expect 0 "wrote $real" "$eo" report "$work/run/report.json" -o "$real"
nesting_check real "$real"
chrome_run --screenshot="$work/real.png" --window-size=1280,2000 "file://$real" > /dev/null
check "real: screenshot written" "$([ -s "$work/real.png" ]; echo $?)"
$py - "$work/real.png" <<'EOF'
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB")
sys.exit(0 if im.size == (1280, 2000) and len(im.getcolors(1 << 24)) >= 50 else 1)
EOF
check "real: screenshot is not blank" $?
chrome_run --dump-dom "file://$real" > "$work/real_dom.html"
verdict=$($py -c "import json,sys; print(json.load(open(sys.argv[1]))['verdict'])" "$work/run/report.json")
dom_check real "$work/real_dom.html" "Model Optimization Report: tiny_cnn.onnx" ">$verdict<" "Optimization Summary Report" \
  "Optimization Tradeoff Analysis" "$(sha256sum "$work/tiny_cnn.onnx" | cut -d' ' -f1)" \
  "Accuracy ($($py -c "import html,json,sys; print(html.escape(json.load(open(sys.argv[1]))['metric'], False))" "$work/run/report.json"))"
n_c=$($py -c "import json,sys; print(len(json.load(open(sys.argv[1]))['candidates']))" "$work/run/report.json")
check "real: one tradeoff row per candidate ($n_c)" \
  "$([ "$(grep -o '<span class="badge [a-z]*">' "$work/real_dom.html" | wc -l)" -ge "$n_c" ]; echo $?)"
check "real: 3 svg plots" "$([ "$(grep -o '<svg' "$work/real_dom.html" | wc -l)" -eq 3 ]; echo $?)"
check "real: no nan/inf printed" "$(! grep -Eiwq 'nan|inf' "$work/real_dom.html"; echo $?)"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
