#!/usr/bin/env bash
# Static INT8 (QDQ) models run in edgeopt and in ONNX Runtime 1.30 on the same file and input.
# Bar (ARCHITECTURE.md, issue 6; fixed before measuring, never widened): edgeopt's output within 1
# quantization step (the scale of the DequantizeLinear writing the output) of ORT's on >= 99.9% of
# the elements, for every model:
#   - the QDQ Conv fixtures of scripts/make_qdq_conv_fixtures.py (u8/s8 activations, per-channel and
#     per-tensor weights, u8 weights with zero points, groups, Relu/Clip fused or not, odd bias scales)
#   - the tiny example quantized by `edgeopt quantize --mode int8`
#   - with --models-dir DIR: torchvision resnet18 and mobilenet_v2 from DIR (scripts/gen_models.py),
#     quantized the same way (before the fuse_qdq pass mobilenet_v2 measured 51.6-59% here), and the
#     example classifier, the example detector and BlazeFace; an output kept in float (the detector's
#     output tail) has no step: >= 99.9% of its elements within 1e-3 * max|ORT| instead
# and (issue 7) edgeopt's fast kernels give exactly the outputs of its reference kernels
# (EO_FORCE_REF=1) on every model (an output kept in float: within 1e-5 relative, issue 7's FP32 rule).
# usage: test_int8_vs_ort.sh EDGEOPT [--models-dir DIR]
set -u
models_dir=""
[ "${2:-}" = "--models-dir" ] && models_dir=${3:?--models-dir needs a folder}
. "$(dirname "$0")/lib.sh"  # cli_setup, pass/fail counters, check, expect, json_check
cli_setup "$1"

# compare NAME MODEL INPUT_NAME INPUT_NPY: both runtimes, then the bar
compare() {
  local name=$1 model=$2 iname=$3 x=$4
  node "$root/scripts/ort_run.js" "$model" --input "$iname=$x" --output-dir "$work/ort_$name" >/dev/null 2>&1
  check "ORT runs $name" $?
  "$eo" run "$model" --input "$iname=$x" --output-dir "$work/eo_$name" >/dev/null 2>&1
  check "edgeopt runs $name" $?
  local res
  res=$($py - "$model" "$work/ort_$name" "$work/eo_$name" <<'PY'
import sys, glob, os, numpy as np, onnx
from onnx import numpy_helper
m = onnx.load(sys.argv[1]); g = m.graph
init = {i.name: numpy_helper.to_array(i) for i in g.initializer}
prod = {o: n for n in g.node for o in n.output}
worst = 100.0
for out in g.output:
    dq = prod.get(out.name)
    f = "".join(c if c.isalnum() or c in "._-" else "_" for c in out.name) + ".npy"
    a = np.load(os.path.join(sys.argv[2], f)).astype(np.float64)
    b = np.load(os.path.join(sys.argv[3], f)).astype(np.float64)
    if a.shape != b.shape: print(f"{out.name}: shapes {a.shape} vs {b.shape}"); sys.exit(1)
    if dq is None or dq.op_type != "DequantizeLinear":
        # a float output (the output tail kept in float): no step; within 1e-3 * max|ORT| instead
        m = max(float(np.abs(a).max()), 1e-30)
        d = np.abs(a - b)
        pct = 100.0 * np.mean(d <= 1e-3 * m)
        print(f"{out.name} (float): {pct:.3f}% within 1e-3 * max|ORT|, max|diff|/max|ORT| {d.max() / m:.3e}, {d.size} elements")
        worst = min(worst, pct)
        continue
    s = float(init[dq.input[1]].reshape(-1)[0])
    d = np.abs(a - b) / s
    pct = 100.0 * np.mean(d <= 1.0 + 1e-3)
    print(f"{out.name}: {pct:.3f}% within 1 LSB, {100.0 * np.mean(d < 1e-3):.3f}% exact, max {d.max():.1f} LSB, {d.size} elements")
    worst = min(worst, pct)
sys.exit(0 if worst >= 99.9 else 1)
PY
)
  local rc=$?
  echo "$name: $res"
  check "$name within 1 LSB of ORT on >= 99.9%: $res" $rc
  EO_FORCE_REF=1 "$eo" run "$model" --input "$iname=$x" --output-dir "$work/ref_$name" >/dev/null 2>&1
  check "edgeopt runs $name with EO_FORCE_REF=1" $?
  $py - "$work/eo_$name" "$work/ref_$name" "$model" <<'PY'
import sys, glob, os, numpy as np, onnx
# quantized outputs (written by a DequantizeLinear) must be identical; a float output of the output
# tail follows issue 7's FP32 rule instead: within 1e-5 * max|reference|
g = onnx.load(sys.argv[3]).graph
prod = {o: n.op_type for n in g.node for o in n.output}
san = lambda s: "".join(c if c.isalnum() or c in "._-" else "_" for c in s)
bad, worst = [], 0.0
for o in g.output:
    f = san(o.name) + ".npy"
    a, r = np.load(os.path.join(sys.argv[1], f)), np.load(os.path.join(sys.argv[2], f))
    if prod.get(o.name) == "DequantizeLinear":
        ok = np.array_equal(a, r)
    else:
        rel = float(np.abs(a.astype(np.float64) - r).max() / max(float(np.abs(r).max()), 1e-30))
        worst = max(worst, rel)
        ok = rel <= 1e-5
    if not ok: bad.append(o.name)
print(f"fast vs reference kernels: {len(g.output) - len(bad)} of {len(g.output)} outputs agree {bad}"
      f" (float outputs: max rel {worst:.2e})")
sys.exit(0 if g.output and not bad else 1)
PY
  check "$name: fast kernels == EO_FORCE_REF=1 (exactly; float outputs within 1e-5 relative)" $?
}

# calib DIR NPY: eight noisy copies of NPY
calib() {
  mkdir -p "$1"
  $py - "$2" "$1" <<'PY'
import sys, numpy as np
x = np.load(sys.argv[1]); rng = np.random.default_rng(7)
for i in range(8):
    np.save(f"{sys.argv[2]}/c{i}.npy", (x * rng.uniform(0.8, 1.2) + 0.2 * rng.standard_normal(x.shape)).astype(np.float32))
PY
}

mkdir -p "$work/fx"
$py "$root/scripts/make_qdq_conv_fixtures.py" "$work/fx"
check "fixtures generated" $?
for m in qdq_u8 qdq_s8 qdq_bias_scale qdq_u8w; do
  compare "$m" "$work/fx/$m.onnx" input "$work/fx/${m}_input.npy"
done

calib "$work/calib_tiny" "$root/examples/tiny_cnn_input.npy"
"$eo" quantize "$root/examples/tiny_cnn.onnx" --mode int8 --calib "$work/calib_tiny" -o "$work/tiny_int8.onnx" >/dev/null 2>&1
check "quantize tiny_cnn" $?
compare tiny_cnn "$work/tiny_int8.onnx" input "$root/examples/tiny_cnn_input.npy"

if [ -n "$models_dir" ]; then
  # the examples and BlazeFace (issue 6's model list), each quantized from 8 noisy copies of its input;
  # the detector's output is float (output tail), held to 1e-3 * max|ORT| on >= 99.9% instead
  blaze="$root/.peers/blazeface/package/ONNX/face_detection_front_128x128_barracuda.onnx"
  for spec in "classifier|$root/examples/classifier.onnx" "detector|$root/examples/detector.onnx" "blazeface|$blaze"; do
    m=${spec%%|*} src=${spec#*|}
    [ -f "$src" ]
    check "$src exists" $?
    [ -f "$src" ] || continue
    iname=$(model_input "$work/$m.npy" "$src")
    calib "$work/calib_$m" "$work/$m.npy"
    "$eo" quantize "$src" --mode int8 --calib "$work/calib_$m" -o "$work/${m}_int8.onnx" >/dev/null 2>&1
    check "quantize $m" $?
    compare "$m" "$work/${m}_int8.onnx" "$iname" "$work/$m.npy"
  done
  for m in resnet18 mobilenet_v2; do
    src="$models_dir/$m/$m.onnx" x="$models_dir/$m/input_0.npy"
    [ -f "$src" ] && [ -f "$x" ]
    check "$src and $x exist (scripts/gen_models.py)" $?
    [ -f "$src" ] || continue
    calib "$work/calib_$m" "$x"
    "$eo" quantize "$src" --mode int8 --calib "$work/calib_$m" -o "$work/${m}_int8.onnx" >/dev/null 2>&1
    check "quantize $m" $?
    compare "$m" "$work/${m}_int8.onnx" input "$x"
  done
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
