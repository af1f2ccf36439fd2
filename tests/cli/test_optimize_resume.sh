#!/usr/bin/env bash
# `edgeopt optimize --resume`: a run stopped after one candidate (test hook EO_OPTIMIZE_STOP_AFTER)
# and resumed ends with the same candidates, metrics and files as a straight run, without recomputing
# the finished ones (log lines, file mtimes); a changed candidate file is recomputed; a changed
# source is refused; Ctrl-C (SIGINT) stops after the current step and leaves only recorded files.
# usage: test_optimize_resume.sh EDGEOPT
set -u
. "$(dirname "$0")/lib.sh"  # cli_setup, pass/fail counters, check, expect, json_check
cli_setup "$1"
fmnist=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
[ -f "$fmnist" ] || { echo "missing $fmnist"; exit 1; }
mkdir -p "$work/src"
cp "$root/examples/classifier.onnx" "$work/src/"
cls="$work/src/classifier.onnx"
args=(--data "$fmnist" --task classify --limit 200 --calib-limit 16 --iters 4 --warmup 1 --floor 5pt
      --candidates weight-int8,int8-percentile,int4)

# --- the straight run
"$eo" optimize "$cls" "${args[@]}" -o "$work/a" > "$work/a.txt" 2>&1
check "straight run exits 0 ($(tail -2 "$work/a.txt"))" $?

# --- stopped after one candidate
EO_OPTIMIZE_STOP_AFTER=1 "$eo" optimize "$cls" "${args[@]}" -o "$work/b" > "$work/b1.txt" 2>&1
rc=$?
check "stopped run exits 1 (rc $rc)" "$([ $rc -eq 1 ]; echo $?)"
check "stop message" "$(grep -q 'stopped after 1 candidates (test hook' "$work/b1.txt"; echo $?)"
check "only the finished candidate's file: $(ls "$work/b/candidates" | tr '\n' ' ')" \
  "$([ "$(ls "$work/b/candidates")" = "weight-int8.onnx" ]; echo $?)"
check "no report yet" "$([ ! -e "$work/b/report.json" ]; echo $?)"
json_check "$work/b/state.json" \
  "j['schema_version'] == 1 and j['phase'] == 'optimize' and j['candidates_planned'] == 3" \
  "[c['name'] for c in j['candidates']] == ['baseline', 'weight-int8']" \
  "j['candidates'][1]['file_sha256'] == __import__('hashlib').sha256(open('$work/b/candidates/weight-int8.onnx', 'rb').read()).hexdigest()" \
  "j['source']['sha256'] == __import__('hashlib').sha256(open('$cls', 'rb').read()).hexdigest()" \
  "j['best'] in (None, 'weight-int8')" \
  "len(j['candidates'][1]['latency_samples_ms']) == 4"
check "a non-empty OUTDIR without --resume is refused" \
  "$("$eo" optimize "$cls" "${args[@]}" -o "$work/b" --quiet > /dev/null 2>&1; [ $? -eq 1 ]; echo $?)"
mtime=$(stat -c %.9Y "$work/b/candidates/weight-int8.onnx")
sleep 1

# --- resumed
"$eo" optimize --resume "$work/b" > "$work/b2.txt" 2> "$work/b2.err"
rc=$?
check "resume exits 0 (rc $rc: $(tail -2 "$work/b2.err"))" $rc
check "baseline and weight-int8 not recomputed (log)" \
  "$(grep -q 'baseline: finished before' "$work/b2.err" && grep -q 'weight-int8: finished before (ACCEPTED\|weight-int8: finished before (REJECTED' "$work/b2.err" && ! grep -q 'OPTIMIZE weight-int8' "$work/b2.err" && ! grep -q 'benchmark baseline' "$work/b2.err"; echo $?)"
check "the others computed" "$(grep -q 'OPTIMIZE int8-percentile' "$work/b2.err" && grep -q 'OPTIMIZE int4' "$work/b2.err"; echo $?)"
check "weight-int8.onnx untouched (mtime)" "$([ "$(stat -c %.9Y "$work/b/candidates/weight-int8.onnx")" = "$mtime" ]; echo $?)"
check "summary marks resumed rows" "$(grep -q '^weight-int8 .*\[resumed\]' "$work/b2.txt"; echo $?)"
same="[(c['name'], c['status'], c['metric'], c['file_sha256']) for c in j['candidates']] == [(c['name'], c['status'], c['metric'], c['file_sha256']) for c in json.load(open('$work/a/report.json'))['candidates']]"
json_check "$work/b/report.json" "$same" \
  "[c['resumed'] for c in j['candidates']] == [True, True, False, False]" \
  "j['command_line'] == json.load(open('$work/a/report.json'))['command_line'].replace('$work/a', '$work/b')" \
  "j['floor'] == {'value': 5, 'kind': 'absolute_points'} and j['limit'] == 200"
json_check "$work/b/state.json" "j['phase'] == 'done' and len(j['candidates']) == 4"

# --- a candidate file changed after it was recorded: recomputed, the rest kept
printf 'x' >> "$work/b/candidates/int4.onnx"
"$eo" optimize --resume "$work/b" > /dev/null 2> "$work/b3.err"
check "resume after tampering exits 0" $?
check "int4 recomputed, weight-int8 kept" \
  "$(grep -q 'int4: .* changed since it was recorded' "$work/b3.err" && grep -q 'OPTIMIZE int4' "$work/b3.err" && ! grep -q 'OPTIMIZE weight-int8' "$work/b3.err"; echo $?)"
json_check "$work/b/report.json" "$same"

# --- a changed source is refused
printf 'x' >> "$cls"
"$eo" optimize --resume "$work/b" > /dev/null 2> "$work/b4.err"
check "changed source refused (rc 1)" "$([ $? -eq 1 ] && grep -q 'changed since the run began' "$work/b4.err"; echo $?)"
cp "$root/examples/classifier.onnx" "$cls"

# --- argument errors
expect 2 "takes the model and options from" "$eo" optimize "$cls" --resume "$work/b"
mkdir -p "$work/empty"
expect 1 "no state.json" "$eo" optimize --resume "$work/empty"

# --- Ctrl-C: stops after the current step; every file under its final name is recorded and intact
"$eo" optimize "$cls" --data "$fmnist" --task classify --limit 200 --calib-limit 16 --iters 300 --warmup 1 \
  --floor 5pt --candidates weight-int8,int8-percentile,int4 -o "$work/c" > "$work/c1.txt" 2> "$work/c1.err" &
pid=$!
for _ in $(seq 1 600); do  # until the baseline is recorded (at most 60 s)
  [ -s "$work/c/state.json" ] && break
  sleep 0.1
done
kill -INT $pid
wait $pid
rc=$?
check "SIGINT run ends with 1 (interrupted) or 0 (had finished) (rc $rc)" "$([ $rc -eq 1 ] || [ $rc -eq 0 ]; echo $?)"
[ $rc -eq 1 ] && check "interrupted message" "$(grep -q 'interrupted after .*--resume' "$work/c1.err"; echo $?)"
check "no temporary or unrecorded candidate files" "$($py - "$work/c" <<'EOF'
import hashlib, json, os, sys
d = sys.argv[1]
j = json.load(open(os.path.join(d, 'state.json')))
rec = {os.path.basename(c['file']): c['file_sha256'] for c in j['candidates'] if c['file_sha256']}
bad = [f for f in os.listdir(os.path.join(d, 'candidates'))
       if f not in rec or hashlib.sha256(open(os.path.join(d, 'candidates', f), 'rb').read()).hexdigest() != rec[f]]
print(bad, file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
echo $?)"
"$eo" optimize --resume "$work/c" --quiet > /dev/null 2> "$work/c2.err"
check "resume after SIGINT exits 0 ($(tail -1 "$work/c2.err"))" $?
json_check "$work/c/report.json" \
  "[c['name'] for c in j['candidates']] == ['baseline', 'weight-int8', 'int8-percentile', 'int4']"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
