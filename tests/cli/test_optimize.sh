#!/usr/bin/env bash
# `edgeopt optimize` end to end: a classifier on Fashion-MNIST (a subset) and a compare task on a
# folder of .npy inputs. Checks the report files, the package, the verdict logic (a floor that
# forces REJECTED), that the source model is untouched and that a non-empty OUTDIR is refused.
# No timing thresholds.
# usage: test_optimize.sh EDGEOPT
set -u
. "$(dirname "$0")/lib.sh"  # cli_setup, pass/fail counters, check, expect, json_check
cli_setup "$1"
fmnist=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
[ -f "$fmnist" ] || { echo "missing $fmnist"; exit 1; }

# work on copies so the sources' folder stays clean, and hash them independently
cp "$root/examples/classifier.onnx" "$root/examples/tiny_cnn.onnx" "$work/"
cls="$work/classifier.onnx"
sha_cls=$(sha256sum "$cls" | cut -d' ' -f1)

# --- argument errors
expect 0 "Usage: edgeopt optimize" "$eo" optimize --help
expect 2 "--data DATA is required" "$eo" optimize "$cls" -o "$work/x"
expect 2 "no output folder" "$eo" optimize "$cls" --data "$fmnist"
expect 2 "--floor: expected" "$eo" optimize "$cls" --data "$fmnist" -o "$work/x" --floor 3
expect 1 "source model's folder" "$eo" optimize "$cls" --data "$fmnist" -o "$work" --task classify --force
mkdir -p "$work/full"; echo keep > "$work/full/user.txt"
expect 1 "is not empty" "$eo" optimize "$cls" --data "$fmnist" -o "$work/full" --task classify
check "user file kept" "$([ "$(cat "$work/full/user.txt")" = keep ]; echo $?)"

# --- classify run with a generous floor
out="$work/cls"
"$eo" optimize "$cls" --data "$fmnist" --task classify --limit 300 --calib-limit 32 --iters 10 --warmup 2 \
  --candidates fp16,dynamic-int8,weight-int8,int8-percentile,int8-entropy,int8-mixed,int4 \
  --floor 5pt -o "$out" > "$work/cls.txt" 2> "$work/cls.err"
rc=$?
check "classify run exits 0 (rc $rc: $(tail -3 "$work/cls.err"))" $rc
for f in report.md report.json report.html state.json package/metadata.json package/preprocess.yaml candidates/weight-int8.onnx candidates/int8-mixed.onnx candidates/dynamic-int8.onnx \
         candidates/int8-percentile.onnx candidates/int4.onnx; do
  check "$out/$f exists" "$([ -s "$out/$f" ]; echo $?)"
done
check "progress per phase" "$(grep -q '\[1/5\] PROFILE' "$work/cls.err" && grep -q '\[5/5\] PACKAGE' "$work/cls.err"; echo $?)"
check "source hash unchanged" "$([ "$(sha256sum "$cls" | cut -d' ' -f1)" = "$sha_cls" ]; echo $?)"
check "nothing new next to the source: $(ls "$work")" "$([ "$(ls "$work" | LC_ALL=C sort | tr '\n' ' ')" = "classifier.onnx cls cls.err cls.txt full tiny_cnn.onnx " ]; echo $?)"
# the baseline top-1 recomputed independently with onnx + numpy on the same seeded subset is out of scope
# here (eval's own tests cover it); check the report is self-consistent and the floor logic holds
json_check "$out/report.json" \
  "j['schema_version'] == 1" \
  "j['source']['sha256'] == '$sha_cls'" \
  "j['task'] == 'classify' and j['metric'] == 'top-1'" \
  "j['floor'] == {'value': 5, 'kind': 'absolute_points'}" \
  "j['candidates'][0]['name'] == 'baseline' and j['candidates'][0]['status'] == 'BASELINE'" \
  "0.5 < j['candidates'][0]['metric'] <= 1" \
  "all(c['latency_ms']['label'].startswith('host estimate') for c in j['candidates'])" \
  "[c['name'] for c in j['candidates']] == ['baseline', 'fp16', 'dynamic-int8', 'weight-int8', 'int8-percentile', 'int8-entropy', 'int8-mixed', 'int4']" \
  "all(c['format'] == 'onnx' and c['runtime'] for c in j['candidates'])" \
  "all(c['runtime'] == 'ONNX Runtime (CPU EP)' for c in j['candidates'] if c['name'] not in ('baseline', 'fp16'))" \
  "all(len(c['latency_samples_ms']) == 10 and abs(sorted(c['latency_samples_ms'])[0] - c['latency_ms']['min']) < 1e-9 for c in j['candidates'] if c['measured'])" \
  "all(c['latency_samples_ms'] == [] for c in j['candidates'] if not c['measured'])" \
  "j['candidates'][4]['name'] == 'int8-percentile' and len(j['candidates'][4]['layer_sqnr']) > 0 and all(set(e) == {'node', 'op', 'sqnr_db'} for e in j['candidates'][4]['layer_sqnr'])" \
  "(lambda v: v == sorted(v))([float(e['sqnr_db']) for e in j['candidates'][4]['layer_sqnr']])" \
  "j['candidates'][0]['layer_sqnr'] == []" \
  "isinstance(j['recommended_reason'], str) and j['recommended_reason'].startswith(j['recommended'] if j['verdict'] == 'PASS' else 'no optimized')" \
  "isinstance(j['next_steps'], list) and len(j['next_steps']) >= 1 and all(isinstance(x, str) for x in j['next_steps'])" \
  "j['warnings'] == []" \
  "all(abs(c['drop'] - (j['candidates'][0]['metric'] - c['metric']) * 100) < 1e-9 for c in j['candidates'] if c['measured'])" \
  "all((c['status'] == 'ACCEPTED') == (c['drop'] <= 5 + 1e-12) for c in j['candidates'][1:] if c['measured'])" \
  "all(c['status'] in ('NOT MEASURED', 'FAILED') and c['note'] for c in j['candidates'][1:] if not c['measured'])" \
  "all(c['latency_ms']['p50'] <= c['latency_ms']['p95'] <= c['latency_ms']['p99'] <= c['latency_ms']['max'] for c in j['candidates'] if c['measured'])" \
  "j['verdict'] == ('PASS' if any(c['status'] == 'ACCEPTED' and c['latency_ms']['p50'] <= 1.5 * j['candidates'][0]['latency_ms']['p50'] for c in j['candidates']) else 'FAIL')" \
  "(lambda el: j['recommended'] == (max([c for c in el if c['latency_ms']['p50'] <= 1.03 * min(e['latency_ms']['p50'] for e in el)], key=lambda c: (c['metric'], -c['latency_ms']['p50']))['name'] if el else 'baseline'))([c for c in j['candidates'] if c['status'] == 'ACCEPTED' and c['latency_ms']['p50'] <= 1.5 * j['candidates'][0]['latency_ms']['p50']])"
json_check "$out/state.json" \
  "j['schema_version'] == 1 and j['phase'] == 'done'" \
  "j['source']['sha256'] == '$sha_cls'" \
  "[c['name'] for c in j['candidates']] == [c['name'] for c in json.load(open('$out/report.json'))['candidates']]" \
  "all(c['file_sha256'] == __import__('hashlib').sha256(open(c['file'], 'rb').read()).hexdigest() for c in j['candidates'] if c['file_sha256'])" \
  "j['options']['floor'] == 5 and j['options']['floor_absolute'] and j['options']['limit'] == 300"
json_check "$out/report.json" "__import__('os').path.getsize(j['candidates'][2]['file']) == j['candidates'][2]['file_bytes']"
rec=$($py -c "import json;j=json.load(open('$out/report.json'));print(j['recommended'])")
json_check "$out/package/metadata.json" \
  "j['source']['sha256'] == '$sha_cls' and j['source']['path'] == '$cls'" \
  "j['candidate'] == '$rec' and j['edgeopt_version']" \
  "j['target'] == 'cpu-generic' and 'optimize' in j['command_line']" \
  "j['inputs'][0]['name'] == 'input' and j['inputs'][0]['dtype'] == 'float32' and j['inputs'][0]['shape'][1:] == [1, 28, 28]" \
  "len(j['outputs']) == 1 and j['outputs'][0]['shape'][-1] == 10" \
  "j['benchmark']['label'].startswith('host estimate') and j['benchmark']['latency_ms']['mean'] > 0" \
  "isinstance(j['preprocessing'], dict) and j['preprocessing']" \
  "j['metrics']['name'] == 'top-1'"
pkg_model=$($py -c "import json;print(json.load(open('$out/package/metadata.json'))['model_file'])")
check "packaged model is the recommended file" "$(cmp -s "$out/package/$pkg_model" "$($py -c "import json;j=json.load(open('$out/report.json'));print([c['file'] for c in j['candidates'] if c['name']==j['recommended']][0])")"; echo $?)"
$py -c "import onnx; m = onnx.load('$out/package/$pkg_model'); assert [i.name for i in m.graph.input] == ['input']"
check "packaged model loads in onnx" $?
for needle in "## Model Optimization Report: classifier.onnx" "### Baseline vs Optimized" "### Verdict" \
              "## Optimization Tradeoff Analysis" "| weight-int8 |" "host estimate"; do
  check "report.md has '$needle'" "$(grep -qF -- "$needle" "$out/report.md"; echo $?)"
done
check "report.md verdict matches JSON" "$(grep -q "^$($py -c "import json;print(json.load(open('$out/report.json'))['verdict'])"):" "$out/report.md"; echo $?)"
check "terminal summary" "$(grep -q '^verdict: ' "$work/cls.txt" && grep -q '^baseline ' "$work/cls.txt"; echo $?)"
check "summary names report.html" "$(grep -q "^verdict: .*$out/report.html" "$work/cls.txt"; echo $?)"
check "report.html has the recommended candidate and the verdict" \
  "$(grep -q "$rec" "$out/report.html" && grep -q "$($py -c "import json;print(json.load(open('$out/report.json'))['verdict'])")" "$out/report.html"; echo $?)"

# --- a zero floor: on these 1000 images weight-int8 / int4 / int8-percentile each lose a few images
# (deterministic: seeded subsets, kernels identical for every thread count), so they are REJECTED
"$eo" optimize "$cls" --data "$fmnist" --task classify --limit 1000 --calib-limit 64 --iters 3 --warmup 1 \
  --floor 0pt --candidates weight-int8,int8-percentile,int4 --force -o "$out" --quiet > "$work/rej.txt" 2>&1
check "zero-floor run exits 0" $?
json_check "$out/report.json" \
  "all(c['status'] == 'REJECTED' and 'try next' in c['note'] for c in j['candidates'][1:] if c['measured'] and c['drop'] > 0)" \
  "all(c['status'] == 'ACCEPTED' for c in j['candidates'][1:] if c['measured'] and c['drop'] <= 0)" \
  "any(c['status'] == 'REJECTED' for c in j['candidates'])" \
  "j['verdict'] == ('PASS' if any(c['status'] == 'ACCEPTED' and c['latency_ms']['p50'] <= 1.5 * j['candidates'][0]['latency_ms']['p50'] for c in j['candidates']) else 'FAIL')" \
  "all(any(n.startswith(c['name'] + ' (rejected') for n in j['next_steps']) for c in j['candidates'] if c['status'] == 'REJECTED')"
check "REJECTED rows in report.md" "$(grep -q 'REJECTED' "$out/report.md" && grep -q 'try next' "$out/report.md"; echo $?)"
check "--quiet prints no progress" "$(! grep -q '\[1/5\]' "$work/rej.txt"; echo $?)"
check "source hash unchanged after two runs" "$([ "$(sha256sum "$cls" | cut -d' ' -f1)" = "$sha_cls" ]; echo $?)"

# --- compare task on a folder of .npy inputs (no labels)
mkdir -p "$work/npy"
$py -c "
import numpy as np
rng = np.random.default_rng(3)
for i in range(6): np.save('$work/npy/x%d.npy' % i, rng.standard_normal((1, 3, 32, 32)).astype(np.float32))
"
sha_tiny=$(sha256sum "$work/tiny_cnn.onnx" | cut -d' ' -f1)
"$eo" optimize "$work/tiny_cnn.onnx" --data "$work/npy" --task compare --floor 1% --iters 5 --warmup 1 \
  -o "$work/cmp" > "$work/cmp.txt" 2> "$work/cmp.err"
rc=$?
check "compare run exits 0 (rc $rc: $(tail -3 "$work/cmp.err"))" $rc
json_check "$work/cmp/report.json" \
  "j['task'] == 'compare'" \
  "j['candidates'][0]['metric'] == 1" \
  "j['floor']['kind'] == 'relative_percent'" \
  "all(abs(c['drop'] - (1 - c['metric']) * 100) < 1e-9 for c in j['candidates'] if c['measured'])"
check "compare package" "$([ -s "$work/cmp/package/metadata.json" ] && [ -s "$work/cmp/package/preprocess.yaml" ]; echo $?)"
check "tiny_cnn unchanged" "$([ "$(sha256sum "$work/tiny_cnn.onnx" | cut -d' ' -f1)" = "$sha_tiny" ]; echo $?)"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
