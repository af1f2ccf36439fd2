#!/usr/bin/env bash
# The TFLite reader's SLICE, STRIDED_SLICE (unit and non-unit strides, a negative stride running past
# index 0) and GATHER (a channel list, a scalar index dropping a dim, 2-D indices adding one), in FP32
# files and on int8 tensors in full-INT8 files, int8 LEAKY_RELU (XNNPACK's integer kernel, or TFLite's
# own outside XNNPACK's scale range), int8 HARD_SWISH and PRELU (per-channel slope; TFLite's kernels),
# as 256-entry tables, on the fixture's input and on an input running through every level: the
# op-coverage fixtures of the
# TFLite writer (scripts/gen_tflite_op_fixtures.py) exported by edgeopt, each .tflite run by
# `edgeopt run` and by the TFLite interpreter (WASM, scripts/tflite_run.js).
# Bars (fixed before measuring):
#   SLICE / STRIDED_SLICE / GATHER: every output identical (max|diff| = 0). These ops move values; the
#     int8 files quantize inputs that lie on the grid of the file's QUANTIZE and dequantize the moved
#     integers, so nothing is rounded differently.
#   int8 LEAKY_RELU / HARD_SWISH / PRELU: the issue's full-INT8 bar, >= 99.9% of elements within one output
#     step (the step read from the fixture's .qdq.scales); the share identical is reported.
# usage: test_tflite_ops_read.sh EDGEOPT
set -u
. "$(dirname "$0")/lib.sh"  # cli_setup, pass/fail counters, check, expect
cli_setup "$1"
cli_need_tflite
fx="$work/fx"
$py "$root/scripts/gen_tflite_op_fixtures.py" "$fx" >/dev/null
check "fixtures generated" $?

same() {  # same TFL_DIR EO_DIR LABEL
  $py - "$@" <<'PY'
import glob, os, sys, numpy as np
tdir, edir, label = sys.argv[1:4]
files, ok = sorted(glob.glob(f"{tdir}/*.npy")), True
if not files: print(f"  {label}: no interpreter outputs"); sys.exit(1)
for f in files:
    b = os.path.basename(f); a = np.load(f)
    if not os.path.exists(f"{edir}/{b}"): print(f"  {label} {b}: edgeopt wrote no such output"); ok = False; continue
    e = np.load(f"{edir}/{b}")
    if a.shape != e.shape or a.dtype != e.dtype:
        print(f"  {label} {b}: interpreter {a.dtype}{a.shape} vs edgeopt {e.dtype}{e.shape}"); ok = False; continue
    d = float(np.abs(a.astype(np.float64) - e.astype(np.float64)).max()) if a.size else 0.0
    print(f"  {label} {b[:-4]} {a.shape}: max|diff| = {d:g} (bar 0)")
    ok &= d == 0
sys.exit(0 if ok else 1)
PY
}

within_step() {  # within_step TFL_DIR EO_DIR SCALES LABEL
  $py - "$@" <<'PY'
import glob, os, sys, numpy as np
tdir, edir, scales, label = sys.argv[1:5]
steps = dict((l.split()[0], float(l.split()[1])) for l in open(scales) if l.strip())
files, ok = sorted(glob.glob(f"{tdir}/*.npy")), True
if not files: print(f"  {label}: no interpreter outputs"); sys.exit(1)
for f in files:
    b = os.path.basename(f)[:-4]; a = np.load(f)
    if b not in steps or not os.path.exists(f"{edir}/{b}.npy"): print(f"  {label} {b}: no step or no edgeopt output"); ok = False; continue
    e = np.load(f"{edir}/{b}.npy")
    if a.shape != e.shape: print(f"  {label} {b}: shapes {a.shape} vs {e.shape}"); ok = False; continue
    d = np.abs(a.astype(np.float64) - e.astype(np.float64))
    w, same = float((d <= steps[b] * (1 + 1e-4)).mean()), float((d == 0).mean())
    print(f"  {label} {b}: {100 * w:.3f}% within 1 step, {100 * same:.3f}% identical, n={d.size} (bar 99.9%)")
    ok &= w >= 0.999
sys.exit(0 if ok else 1)
PY
}

# levels FIXTURE: an input of the fixture's NHWC shape running through the levels of the QDQ input's
# grid (element i holds level 37 i mod 256: any 256 consecutive elements hold every level), as
# $work/FIXTURE.levels.npy.
levels() {
  $py - "$fx/$1.qdq.onnx" "$fx/$1.x.q.nhwc.npy" "$work/$1.levels.npy" <<'PY'
import sys, numpy as np, onnx
from onnx import numpy_helper
m = onnx.load(sys.argv[1]); init = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
q = next(n for n in m.graph.node if n.op_type == "QuantizeLinear" and n.input[0] == "x")
s, z = float(init[q.input[1]]), int(init[q.input[2]])
lo = -128 if init[q.input[2]].dtype == np.int8 else 0
shape = np.load(sys.argv[2]).shape
x = ((np.arange(np.prod(shape)) * 37 % 256 + lo - z) * s).astype(np.float32).reshape(shape)
np.save(sys.argv[3], x)
PY
}

# int8 LEAKY_RELU (XNNPACK's kernel), HARD_SWISH and PRELU (TFLite's): the fixture's input and levels.
for name in leakyrelu hardswish prelu; do
  f="$work/$name.int8.tflite"
  "$eo" export "$fx/$name.qdq.onnx" --format tflite --mode int8 -o "$f" >/dev/null
  check "export $name int8" $?
  levels $name
  check "$name levels input" $?
  for in in "$fx/$name.x.q.nhwc.npy" "$work/$name.levels.npy"; do
    tag=$(basename "$in" .npy)
    $run_tfl "$f" --input "x=$in" --output-dir "$work/tfl_$tag"
    check "interpreter runs $name int8 on $tag" $?
    out=$("$eo" run "$f" --input "x=$in" --output-dir "$work/eo_$tag" 2>&1)
    check "edgeopt runs $name int8 on $tag: ${out:0:300}" $?
    within_step "$work/tfl_$tag" "$work/eo_$tag" "$fx/$name.qdq.scales" "$name int8 ($tag)"
    check "$name int8 on $tag within 1 step" $?
  done
done

# LEAKY_RELU outside XNNPACK's range (alpha * sx/sy = 0.0015625 < 2^-8): TFLite's own kernel.
$py - "$work" <<'PY'
import sys, numpy as np, onnx
from onnx import helper, TensorProto, numpy_helper
w = sys.argv[1]
q = lambda n, s, z: [numpy_helper.from_array(np.array(s, np.float32), n + "_s"), numpy_helper.from_array(np.array(z, np.int8), n + "_z")]
nodes = [helper.make_node("QuantizeLinear", ["x", "a_s", "a_z"], ["xq"]), helper.make_node("DequantizeLinear", ["xq", "a_s", "a_z"], ["xd"]),
         helper.make_node("LeakyRelu", ["xd"], ["l"], alpha=0.001),
         helper.make_node("QuantizeLinear", ["l", "b_s", "b_z"], ["lq"]), helper.make_node("DequantizeLinear", ["lq", "b_s", "b_z"], ["y"])]
g = helper.make_graph(nodes, "lr", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 16, 8])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 16, 8])], q("a", 1 / 32, 3) + q("b", 1 / 50, -20))
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), f"{w}/lrb.qdq.onnx")
np.save(f"{w}/lrb_in.npy", ((np.arange(-128, 128, dtype=np.float32) - 3) / 32).reshape(1, 16, 8, 2))  # every int8 level
open(f"{w}/lrb.scales", "w").write(f"y {1 / 50}\n")
PY
"$eo" export "$work/lrb.qdq.onnx" --format tflite --mode int8 -o "$work/lrb.tflite" >/dev/null
check "export the builtin-range leakyrelu" $?
$run_tfl "$work/lrb.tflite" --input "$work/lrb_in.npy" --output-dir "$work/tfl_lrb"
check "interpreter runs the builtin-range leakyrelu" $?
out=$("$eo" run "$work/lrb.tflite" --input "$work/lrb_in.npy" --output-dir "$work/eo_lrb" 2>&1)
check "edgeopt runs the builtin-range leakyrelu: ${out:0:300}" $?
within_step "$work/tfl_lrb" "$work/eo_lrb" "$work/lrb.scales" "leakyrelu int8 (TFLite's kernel)"
check "builtin-range leakyrelu within 1 step" $?

for name in slice gather; do
  for mode in fp32 int8; do
    if [ $mode = fp32 ]; then src="$fx/$name.onnx" in="$fx/$name.x.nhwc.npy"; else src="$fx/$name.qdq.onnx" in="$fx/$name.x.q.nhwc.npy"; fi
    f="$work/$name.$mode.tflite"
    "$eo" export "$src" --format tflite --mode $mode -o "$f" >/dev/null
    check "export $name $mode" $?
    $run_tfl "$f" --input "x=$in" --output-dir "$work/tfl_$name$mode"
    check "interpreter runs $name $mode" $?
    out=$("$eo" run "$f" --input "x=$in" --output-dir "$work/eo_$name$mode" 2>&1)
    check "edgeopt runs $name $mode: ${out:0:300}" $?
    same "$work/tfl_$name$mode" "$work/eo_$name$mode" "$name $mode"
    check "$name $mode identical" $?
  done
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
