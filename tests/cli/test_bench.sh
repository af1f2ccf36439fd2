#!/usr/bin/env bash
# `edgeopt bench` as a smoke test: the report and the JSON carry every figure, the figures are
# consistent with each other and with the samples, outputs are checked against ONNX Runtime (a
# disagreeing peer stops the timing), and bad arguments give clear messages and exit codes.
# No timing thresholds: speed is measured by bench/run_suite.sh, never asserted.
# usage: test_bench.sh EDGEOPT
set -u
eo=$1
[ -x "$eo" ] || { echo "test_bench.sh: no edgeopt binary at '$eo'"; exit 1; }
root="$(cd "$(dirname "$0")/../.." && pwd)"
py=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export TMPDIR="$work/tmp"  # bench's own temporary folders go here, and must be gone at the end
mkdir -p "$TMPDIR"
. "$root/tests/cli/lib.sh"  # pass/fail counters, check, expect, json_check
model="$root/examples/tiny_cnn.onnx"

# --- help and argument errors
expect 0 "Usage: edgeopt bench" "$eo" bench --help
expect 0 "bench" "$eo" --help
expect 2 "unknown option '--bogus'" "$eo" bench "$model" --bogus 1
expect 2 "missing MODEL" "$eo" bench
expect 2 "--iters 0: expected a positive integer" "$eo" bench "$model" --iters 0
expect 2 "--threads x: expected a non-negative integer" "$eo" bench "$model" --threads x
expect 2 "the only peer is 'ort'" "$eo" bench "$model" --peer tflite
expect 2 "--gap-ms 10001: expected an ms count from 0 to 10000" "$eo" bench "$model" --gap-ms 10001
expect 2 "--gap-ms -1: expected an ms count" "$eo" bench "$model" --gap-ms -1
expect 2 "expected NAME=1x3x224x224" "$eo" bench "$model" --shape 1x3x32x32
expect 2 "every dim >= 1" "$eo" bench "$model" --shape input=1x3xAx32
expect 2 "no input 'nope'" "$eo" bench "$model" --shape nope=1x3x32x32 --iters 1 --warmup 0
expect 1 "cannot open" "$eo" bench "$work/none.onnx"
expect 2 "--tol" "$eo" bench "$model" --tol 2
expect 2 "--tol" "$eo" bench "$model" --tol x

# --- the real thing: tiny_cnn against ONNX Runtime, two threads
out=$("$eo" bench "$model" --iters 3 --warmup 1 --threads 2 --peer ort --json "$work/b.json" 2>"$work/err"); rc=$?
check "bench --peer ort exits 0 (got $rc: $(tail -3 "$work/err"))" $rc
for needle in "host estimate (not target hardware)" "p50" "p95" "p99" "throughput" "peak RSS" "planned arena" \
              "packed weights" "constants" "edgeopt/ORT" "check output: agree"; do
  [[ "$out" == *"$needle"* ]]; check "report shows '$needle'" $?
done
grep -q "iteration 3/3" "$work/err"; check "progress on stderr" $?
json_check "$work/b.json" \
  'j["schema_version"] == 1 and j["label"] == "host estimate (not target hardware)"' \
  'j["model"]["path"].endswith("tiny_cnn.onnx") and j["model"]["file_bytes"] > 0' \
  'j["model"]["inputs"] == [{"name": "input", "dtype": "float32", "shape": [1, 3, 32, 32], "source": "random"}]' \
  'j["config"]["threads"] == 2 and j["config"]["iters"] == 3 and j["config"]["warmup"] == 1 and j["config"]["peer"] == "ort"' \
  'j["host"]["cores"] >= 1 and len(j["host"]["cpu_model"]) > 0 and j["host"]["load_avg_1m_start"] >= 0' \
  'j["timed"] is True and j["check"]["outputs_agree"] is True and j["check"]["tolerance"] == 1e-4 and j["check"]["tolerance_reason"] == "float model"' \
  'all(o["agree"] and o["max_abs_diff"] <= 1e-4 * o["max_abs_ort"] for o in j["check"]["outputs"])' \
  '[o["name"] for o in j["check"]["outputs"]] == ["output"] and j["check"]["outputs"][0]["max_abs_ort"] > 0' \
  'j["ort"]["version"] == "1.30.0" and j["ort"]["engine"] == "onnxruntime-node"' \
  'all(len(j[e]["samples_ms"]) == 3 and min(j[e]["samples_ms"]) > 0 for e in ("edgeopt", "ort"))' \
  'all(abs(j[e]["latency_ms"]["min"] - min(j[e]["samples_ms"])) < 1e-9 and abs(j[e]["latency_ms"]["max"] - max(j[e]["samples_ms"])) < 1e-9 for e in ("edgeopt", "ort"))' \
  'all(abs(j[e]["latency_ms"]["p50"] - sorted(j[e]["samples_ms"])[1]) < 1e-9 for e in ("edgeopt", "ort"))' \
  'all(abs(j[e]["latency_ms"]["mean"] - sum(j[e]["samples_ms"]) / 3) < 1e-9 for e in ("edgeopt", "ort"))' \
  'all(j[e]["latency_ms"]["min"] <= j[e]["latency_ms"]["p50"] <= j[e]["latency_ms"]["p95"] <= j[e]["latency_ms"]["p99"] <= j[e]["latency_ms"]["max"] for e in ("edgeopt", "ort"))' \
  'all(abs(j[e]["throughput_per_s"] - 1000 / j[e]["latency_ms"]["mean"]) < 1e-6 * j[e]["throughput_per_s"] for e in ("edgeopt", "ort"))' \
  'all(abs(j["ratios"][k] - j["edgeopt"]["latency_ms"][k] / j["ort"]["latency_ms"][k]) < 1e-9 * j["ratios"][k] for k in ("mean", "p50", "p95", "p99", "min", "max"))' \
  'abs(j["ratios"]["peak_rss"] - j["edgeopt"]["peak_rss_bytes"] / j["ort"]["peak_rss_bytes"]) < 1e-9' \
  'j["edgeopt"]["peak_rss_bytes"] >= j["edgeopt"]["end_rss_bytes"] > 0 and j["ort"]["peak_rss_bytes"] > j["ort"]["baseline_rss_bytes"] > 0' \
  'j["edgeopt"]["arena_bytes"] > 0 and j["edgeopt"]["constant_bytes"] > 0 and j["edgeopt"]["num_steps"] > 0' \
  'j["edgeopt"]["packed_bytes"] > 0 and j["edgeopt"]["freed_constant_bytes"] >= 0' \
  'j["edgeopt"]["settle"]["timeouts"] >= 0 and j["ort"]["settle"]["wait_ms_per_run"] >= 0' \
  'all((j["host"][k] is None) if j["host"]["cores"] < 2 else j["host"][k] > 0 for k in ("core_roundtrip_ns_start", "core_roundtrip_ns_end"))'
[[ "$out" == *"a cache line between two CPUs and back took"* ]]; check "2-thread report shows the core-to-core round trip" $?

# --- batch 2 binds the symbolic batch dim on both sides; without a peer there is no ORT section
"$eo" bench "$model" --iters 2 --warmup 0 --threads 1 --batch 2 --peer ort --json "$work/b2.json" >/dev/null 2>&1
check "bench --batch 2 --peer ort exits 0" $?
json_check "$work/b2.json" 'j["model"]["inputs"][0]["shape"] == [2, 3, 32, 32] and j["check"]["outputs_agree"]' \
  'j["config"]["batch"] == 2 and abs(j["edgeopt"]["throughput_per_s"] - 2000 / j["edgeopt"]["latency_ms"]["mean"]) < 1e-6 * j["edgeopt"]["throughput_per_s"]' \
  'j["host"]["core_roundtrip_ns_start"] is None and j["host"]["parallel_slowdown_start"] is None'
"$eo" bench "$model" --iters 2 --warmup 0 --json "$work/solo.json" >/dev/null 2>&1
check "bench without a peer exits 0" $?
json_check "$work/solo.json" '"ort" not in j and "ratios" not in j and j["config"]["peer"] is None and j["timed"]' \
  'j["config"]["threads"] == j["host"]["cores"]'
# --gap-ms: idle before every run (3 runs of 40 ms gaps take at least 120 ms; a lower bound, no speed)
t0=$(date +%s%N)
"$eo" bench "$model" --iters 2 --warmup 1 --gap-ms 40 --json "$work/gap.json" >"$work/gap.out" 2>&1
check "bench --gap-ms 40 exits 0" $?
[ $(( ($(date +%s%N) - t0) / 1000000 )) -ge 120 ]; check "bench --gap-ms 40 idles before each of its 3 runs" $?
grep -q "40 ms idle before every run" "$work/gap.out"; check "report names the gap" $?
json_check "$work/gap.json" 'j["config"]["gap_ms"] == 40 and j["timed"]' \
  '"ort" not in j and len(j["edgeopt"]["samples_ms"]) == 2'
json_check "$work/solo.json" 'j["config"]["gap_ms"] == 0'

# --- symbolic dims other than batch must be given, and are named when they are not
$py - "$work/sym.onnx" <<'EOF'
import sys, onnx
from onnx import TensorProto, helper
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3, "H", "W"])
g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "sym", [x], [y])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), sys.argv[1])
EOF
expect 1 "symbolic dim 2 ('H') in [N,3,H,W]" "$eo" bench "$work/sym.onnx" --iters 1
expect 1 "--shape x=1x3x224x224" "$eo" bench "$work/sym.onnx" --iters 1
expect 1 "input 'x' has shape [N,3,H,W]" "$eo" bench "$work/sym.onnx" --shape x=1x4x8x8 --iters 1
expect 0 "x: float32 [1x3x8x8]" "$eo" bench "$work/sym.onnx" --shape x=1x3x8x8 --iters 2 --warmup 0
expect 2 "no input left with a symbolic first dimension" "$eo" bench "$work/sym.onnx" --shape x=1x3x8x8 --batch 3

# --- data from a file: used as given (and checked against the model)
$py -c "import numpy as np; np.save('$work/x.npy', np.ones((1,3,32,32), np.float32)); np.save('$work/bad.npy', np.ones((1,3,16,16), np.float32))"
"$eo" bench "$model" --input "input=$work/x.npy" --iters 1 --warmup 0 --peer ort --json "$work/f.json" >/dev/null 2>&1
check "bench --input FILE exits 0" $?
json_check "$work/f.json" 'j["model"]["inputs"][0]["source"].endswith("x.npy") and j["check"]["outputs_agree"]'
expect 1 "expects float32 [batch,3,32,32], the file holds float32 [1,3,16,16]" "$eo" bench "$model" --input "input=$work/bad.npy"
expect 2 "both --shape and --input" "$eo" bench "$model" --input "input=$work/x.npy" --shape input=1x3x32x32

# --- the agreement check: a peer whose outputs are wrong stops the timing (exit 1, JSON says why)
cat >"$work/wrong_peer.js" <<'EOF'
// Answers like scripts/ort_bench_peer.js but writes an output of all 7s ([1,10], or [1,N] with WRONG_N=N).
const fs = require('fs');
const a = process.argv.slice(2);
const dir = a[a.indexOf('--output-dir') + 1];
const n = Number(process.env.WRONG_N || 10);
fs.mkdirSync(dir, { recursive: true });
let h = `{'descr': '<f4', 'fortran_order': False, 'shape': (1, ${n}), }`;
h = h.padEnd(117, ' ') + '\n';
const pre = Buffer.alloc(10); pre.write('\x93NUMPY', 0, 'latin1'); pre[6] = 1; pre.writeUInt16LE(h.length, 8);
fs.writeFileSync(dir + '/0.npy', Buffer.concat([pre, Buffer.from(h, 'latin1'), Buffer.from(new Float32Array(n).fill(7).buffer)]));
process.stdout.write('ready {"version":"fake","load_ms":1,"baseline_rss_kib":1}\n');
require('readline').createInterface({ input: process.stdin }).on('line', (l) => { if (l === 'run') process.stdout.write('1000\n'); });
EOF
EDGEOPT_ORT_PEER="$work/wrong_peer.js" expect 1 "DISAGREE" "$eo" bench "$model" --iters 2 --warmup 0 --peer ort --json "$work/w.json"
json_check "$work/w.json" 'j["timed"] is False and j["check"]["outputs_agree"] is False' \
  'j["check"]["outputs"][0]["max_abs_ort"] == 7 and not j["check"]["outputs"][0]["agree"] and "latency_ms" not in j["edgeopt"]'
WRONG_N=5 EDGEOPT_ORT_PEER="$work/wrong_peer.js" expect 1 "DISAGREE: edgeopt float32 [1,10], ORT float32 [1,5]" \
  "$eo" bench "$model" --iters 2 --warmup 0 --peer ort
EDGEOPT_ORT_PEER="$work/none.js" expect 1 "cannot find scripts/ort_bench_peer.js" "$eo" bench "$model" --iters 1 --peer ort
EDGEOPT_NODE="$work/no-node" expect 1 "cannot run" "$eo" bench "$model" --iters 1 --peer ort
# --- the agreement tolerance follows the model kind (ORT's integer and float16 kernels round
# differently from edgeopt's), and --tol overrides it
"$eo" quantize "$model" --mode weight-int8 -o "$work/w8.onnx" >/dev/null 2>&1; check "weight-int8 tiny_cnn written" $?
"$eo" quantize "$model" --mode fp16 -o "$work/f16.onnx" >/dev/null 2>&1; check "fp16 tiny_cnn written" $?
bench_kind() {  # MODEL TOLERANCE_AS_PRINTED TOLERANCE REASON
  "$eo" bench "$work/$1.onnx" --iters 2 --warmup 0 --peer ort --json "$work/t$1.json" >"$work/t$1.out" 2>&1
  check "bench --peer ort on the $1 model exits 0: $(tail -2 "$work/t$1.out")" $?
  grep -q "tolerance $2: $4)" "$work/t$1.out"; check "$1: tolerance $2 ($4) printed" $?
  json_check "$work/t$1.json" "j['check']['tolerance'] == $3 and j['check']['tolerance_reason'] == '$4'"
}
bench_kind w8 5e-02 5e-2 "quantized model"
bench_kind f16 1e-02 1e-2 "float16 weights"
"$eo" bench "$work/w8.onnx" --iters 2 --warmup 0 --peer ort --tol 1e-3 --json "$work/tt.json" >/dev/null 2>&1
json_check "$work/tt.json" 'j["check"]["tolerance"] == 1e-3 and j["check"]["tolerance_reason"] == "--tol"'
# --- the suite runs each model's precisions back to back and gives every int8 speed-up the core
# round trips of both runs (a 2-thread run's host placement)
printf 'tiny fp32 %s\ntiny int8 %s\n' "$model" "$work/w8.onnx" >"$work/models.txt"
bash "$root/bench/run_suite.sh" --edgeopt "$eo" --models "$work/models.txt" --threads "1 2" --warmup 1 --iters 3 \
  --out "$work/suite" >"$work/suite.out" 2>&1
check "run_suite.sh exits 0: $(tail -2 "$work/suite.out")" $?
order=$(cut -f2,4 "$work/suite/raw/manifest.tsv" | tail -n +2 | paste -sd' ')
[ "$order" = "fp32	1 int8	1 fp32	2 int8	2" ]; check "suite order: each model's precisions back to back (got '$order')" $?
json_check "$work/suite/suite.json" 'len(j["int8_speedup"]) == 2' \
  '[(s["threads"], s["fp32_c2c_ns"] is None, s["int8_c2c_ns"] is None) for s in j["int8_speedup"]] == [(1, True, True), (2, False, False)]' \
  'all(isinstance(s["placement_differs"], bool) and s["edgeopt_speedup_p50"] > 0 for s in j["int8_speedup"])'
grep -q "c2c fp32 / int8 ns" "$work/suite/suite.md"; check "suite.md: the speed-up table gives both runs' c2c" $?
[ -z "$(ls -A "$TMPDIR")" ]; check "temporary folders removed: $(ls "$TMPDIR")" $?

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
