#!/usr/bin/env bash
# FP16 .tflite files (`export --format tflite --mode fp16`: float16 weights behind DEQUANTIZE, float
# compute): the issue's bar, fixed before measuring: the TensorFlow Lite interpreter (WASM,
# scripts/tflite_run.js) and edgeopt's run of the same file agree within 1e-3 relative
# (max|diff| / max|interpreter output|, every output) on mobilenet_v3_small (scripts/gen_models.py,
# seeded random weights), the example classifier, tiny_cnn and detector, and the real BlazeFace.
# mobilenet_v3_small's fp16 file is 1.76e-3 away from its FP32 model (printed): that is the float16
# rounding of its weights. Held (bar 1e-4, the fp32 export's): the interpreter's run of the fp16 file
# equals ONNX Runtime's run of the FP32 ONNX model with every float initializer rounded to float16 in
# numpy (ORT computes in float32), i.e. neither the writer nor the interpreter adds anything to it.
# usage: test_tflite_fp16.sh EDGEOPT
set -u
. "$(dirname "$0")/lib.sh"
cli_setup "$1"
cli_need_tflite
bf="$root/.peers/blazeface/package/ONNX/face_detection_front_128x128_barracuda.onnx"
[ -f "$bf" ]
check "BlazeFace present (scripts/install-deps.sh)" $?
$py "$root/scripts/gen_models.py" --out "$work/zoo" --only mobilenet_v3_small --tiny '' >/dev/null 2>&1
check "mobilenet_v3_small generated" $?
mv3="$work/zoo/mobilenet_v3_small/mobilenet_v3_small.onnx"
$py - "$work" "$root" <<'PY'
import gzip, sys, numpy as np
work, root = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(21)
nhwc = lambda x: np.ascontiguousarray(x.transpose(0, 2, 3, 1)).astype(np.float32)
np.save(f"{work}/mv3.npy", nhwc(np.load(f"{work}/zoo/mobilenet_v3_small/input_0.npy")))
with gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") as f:
    img = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
np.save(f"{work}/cls.npy", nhwc(img[7:8] / 255.0))
np.save(f"{work}/tiny.npy", nhwc(np.load(f"{root}/examples/tiny_cnn_input.npy")))
np.save(f"{work}/det.npy", nhwc(rng.random((1, 3, 160, 160))))
np.save(f"{work}/bf.npy", rng.uniform(-1, 1, (1, 128, 128, 3)).astype(np.float32))
PY
check "inputs" $?

compare() {  # compare REF_DIR GOT_DIR TOL|print LABEL: every .npy of REF_DIR; "print": the figure only
  $py - "$@" <<'PY'
import os, sys, numpy as np
ref_dir, got_dir, label = sys.argv[1], sys.argv[2], sys.argv[4]
tol = None if sys.argv[3] == "print" else float(sys.argv[3])
names = sorted(f for f in os.listdir(ref_dir) if f.endswith(".npy"))
ok = bool(names)
for n in names:
    ref = np.load(os.path.join(ref_dir, n)).astype(np.float64)
    p = os.path.join(got_dir, n)
    got = np.load(p).astype(np.float64) if os.path.exists(p) else None
    if got is None or got.shape != ref.shape:
        print(f"  {label} {n}: missing or shape {None if got is None else got.shape} vs {ref.shape}")
        ok = False
        continue
    err = np.abs(got - ref).max() / np.abs(ref).max()
    print(f"  {label} {n}: max|diff|/max|ref| = {err:.3g}" + ("" if tol is None else f" (bar {tol:g})"))
    ok = ok and np.abs(ref).max() > 0 and (tol is None or err <= tol)
sys.exit(0 if ok else 1)
PY
}

for spec in "mv3 $mv3" "cls $root/examples/classifier.onnx" "tiny $root/examples/tiny_cnn.onnx" \
            "det $root/examples/detector.onnx" "bf $bf"; do
  set -- $spec
  "$eo" export "$2" --format tflite --mode fp16 -o "$work/$1.fp16.tflite" >/dev/null
  check "export $1 fp16" $?
  $run_tfl "$work/$1.fp16.tflite" --input "$work/$1.npy" --output-dir "$work/tfl_$1"
  check "interpreter runs $1 fp16" $?
  "$eo" run "$work/$1.fp16.tflite" --input "$work/$1.npy" --output-dir "$work/eo_$1" --force >/dev/null 2>&1
  check "edgeopt runs $1.fp16.tflite" $?
  compare "$work/tfl_$1" "$work/eo_$1" 1e-3 "$1 fp16: edgeopt vs the interpreter, same file,"
  check "$1 fp16: edgeopt's run of the file within 1e-3 of the interpreter's" $?
done

# mobilenet_v3_small: where its 1.76e-3 from FP32 comes from.
$py - "$mv3" "$work/mv3_w16.onnx" <<'PY'
import sys, numpy as np, onnx
from onnx import numpy_helper
m = onnx.load(sys.argv[1])
for i in m.graph.initializer:
    if i.data_type == onnx.TensorProto.FLOAT:
        a = numpy_helper.to_array(i)
        i.CopyFrom(numpy_helper.from_array(a.astype(np.float16).astype(np.float32), i.name))
onnx.save(m, sys.argv[2])
PY
check "mobilenet_v3_small with float16-rounded weights" $?
x_nchw="$work/zoo/mobilenet_v3_small/input_0.npy"
node "$root/scripts/ort_run.js" "$work/mv3_w16.onnx" --input "$x_nchw" --output-dir "$work/ort_w16" >/dev/null 2>&1 &&
  node "$root/scripts/ort_run.js" "$mv3" --input "$x_nchw" --output-dir "$work/ort_fp32" >/dev/null 2>&1
check "ONNX Runtime runs mobilenet_v3_small FP32 and float16-rounded" $?
compare "$work/ort_fp32" "$work/tfl_mv3" print "mv3 fp16 file (interpreter) vs FP32 model (ORT), no bar:"
compare "$work/ort_fp32" "$work/ort_w16" print "mv3 FP32 model with float16-rounded weights (ORT) vs FP32 (ORT), no bar:"
compare "$work/ort_w16" "$work/tfl_mv3" 1e-4 "mv3 fp16 file (interpreter) vs float16-rounded weights (ORT)"
check "mv3: the fp16 file computes the FP32 model with float16-rounded weights (within 1e-4)" $?

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
