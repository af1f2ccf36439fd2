#!/usr/bin/env bash
# edgeopt reads .tflite files: `edgeopt run` on a TFLite file against the TensorFlow Lite
# interpreter (WASM, npm @tensorflow/tfjs-tflite, scripts/tflite_run.js) on the same NHWC input.
# Bars (fixed before measuring):
#   real MediaPipe face detectors (npm @mediapipe/face_detection; float16 weights behind DEQUANTIZE):
#     max |diff| <= 1e-4 * max |interpreter output|, every output, 3 inputs each
#   an op-coverage model exported by edgeopt (Conv with fused Relu, depthwise, stride 2, max and
#     average pools, Add/Sub/Mul/Div, Sigmoid/Tanh/Relu6, Pad, Concat, Mean, Reshape, Gemm, Softmax,
#     Transpose): vs the interpreter the same 1e-4 bar; vs edgeopt's run of the ONNX original
#     max |diff| <= 1e-5 * max |output| (same kernels, layout only).
# Also `edgeopt inspect` on the detector, and clear errors for a sparse model and a truncated file.
# usage: test_tflite_read.sh EDGEOPT
set -u
eo=$1
[ -x "$eo" ] || { echo "test_tflite_read.sh: no edgeopt binary at '$eo'"; exit 1; }
root="$(cd "$(dirname "$0")/../.." && pwd)"
py=/usr/bin/python3
run_tfl="node $root/scripts/tflite_run.js"
mp="$root/.peers/mediapipe_face_detection/package"
[ -d "$root/.peers/node_modules/@tensorflow/tfjs-tflite" ] || { echo "FAIL: TFLite interpreter missing: run scripts/install-deps.sh"; exit 1; }
[ -f "$mp/face_detection_short_range.tflite" ] || { echo "FAIL: MediaPipe face detector missing: run scripts/install-deps.sh"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$root/tests/cli/lib.sh"  # pass/fail counters, check, expect

compare() {  # compare REF_DIR GOT_DIR REL_TOL LABEL: every .npy in REF_DIR
  $py - "$1" "$2" "$3" "$4" <<'PY'
import os, sys, numpy as np
ref_dir, got_dir, tol, label = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
names = sorted(f for f in os.listdir(ref_dir) if f.endswith(".npy"))
ok = bool(names)
for n in names:
    ref = np.load(os.path.join(ref_dir, n))
    got = np.load(os.path.join(got_dir, n)) if os.path.exists(os.path.join(got_dir, n)) else None
    if got is None or got.shape != ref.shape:
        print(f"  {label} {n}: missing or shape {None if got is None else got.shape} vs {ref.shape}")
        ok = False
        continue
    err = np.abs(got.astype(np.float64) - ref).max() / np.abs(ref).max()
    print(f"  {label} {n}: max|diff|/max|ref| = {err:.3g} (bar {tol:g})")
    ok = ok and np.abs(ref).max() > 0 and err <= tol
sys.exit(0 if ok else 1)
PY
}

# ---- real MediaPipe face detectors ----
for spec in "face_detection_short_range 128" "face_detection_full_range 192"; do
  set -- $spec
  name=$1 size=$2
  $py - "$work" "$name" "$size" <<'PY'
import sys, numpy as np
work, name, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = np.random.default_rng(11)
np.save(f"{work}/{name}_0.npy", rng.uniform(-1, 1, (1, size, size, 3)).astype(np.float32))
np.save(f"{work}/{name}_1.npy", rng.standard_normal((1, size, size, 3)).astype(np.float32) * 0.5)
# a smooth image (a bright disc on a gradient), closer to what the detector sees
y, x = np.mgrid[0:size, 0:size] / size
img = np.stack([x, y, 0.5 * (x + y)], -1) * 1.6 - 0.8
img[(x - 0.5) ** 2 + (y - 0.45) ** 2 < 0.06] = 0.7
np.save(f"{work}/{name}_2.npy", img[None].astype(np.float32))
PY
  check "$name inputs" $?
  for i in 0 1 2; do
    $run_tfl "$mp/$name.tflite" --input "$work/${name}_$i.npy" --output-dir "$work/tfl_${name}_$i" >/dev/null
    check "interpreter runs $name input $i" $?
    "$eo" run "$mp/$name.tflite" --input "$work/${name}_$i.npy" --output-dir "$work/eo_${name}_$i" >/dev/null
    check "edgeopt run $name input $i" $?
    compare "$work/tfl_${name}_$i" "$work/eo_${name}_$i" 1e-4 "$name input $i"
    check "$name input $i within 1e-4 of the interpreter" $?
  done
done

out=$("$eo" inspect "$mp/face_detection_short_range.tflite" 2>&1)
check "inspect the detector: $out" $?
for needle in "input    input" "[1,128,128,3]" "regressors" "[1,896,16]" "classificators" "[1,896,1]" "TFLite" "Conv"; do
  [[ "$out" == *"$needle"* ]]
  check "inspect shows '$needle'" $?
done

# ---- op coverage: a model edgeopt exports, read back ----
$py - "$work" <<'PY'
import sys, numpy as np, torch, torch.nn as nn, torch.nn.functional as F
work = sys.argv[1]
torch.manual_seed(0)
class M(nn.Module):
    def __init__(s):
        super().__init__()
        s.c1 = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        s.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        s.c2 = nn.Conv2d(8, 8, 1)
        s.c3 = nn.Conv2d(16, 12, 3, padding=0)
        s.fc = nn.Linear(12, 10)
    def forward(s, x):
        a = torch.relu(s.c1(x))
        b = torch.clamp(s.dw(a), 0, 6)
        c = torch.sigmoid(s.c2(b)) * b + a - b / (torch.tanh(a) + 2)
        d = torch.cat([F.max_pool2d(c, 2), F.avg_pool2d(F.pad(c, (0, 1, 0, 1)), 3, stride=2)], 1)
        e = s.c3(F.pad(d, (1, 0, 0, 1)))
        g = F.adaptive_avg_pool2d(e, 1).flatten(1)
        p = torch.softmax(s.fc(g), 1)
        t = e.reshape(1, 12, 49).transpose(1, 2)
        return p, t
m = M().eval()
x = torch.rand(1, 3, 32, 32) * 2 - 1
torch.onnx.export(m, x, f"{work}/ops.onnx", opset_version=13, input_names=["x"], output_names=["probs", "feat"])
rng = np.random.default_rng(5)
for i in range(2):
    v = rng.uniform(-1, 1, (1, 3, 32, 32)).astype(np.float32)
    np.save(f"{work}/ops_{i}.npy", v)
    np.save(f"{work}/ops_{i}_nhwc.npy", np.ascontiguousarray(v.transpose(0, 2, 3, 1)))
PY
check "op-coverage model" $?
"$eo" export "$work/ops.onnx" --format tflite -o "$work/ops.tflite" >/dev/null
check "export the op-coverage model" $?
for i in 0 1; do
  "$eo" run "$work/ops.onnx" --input "$work/ops_$i.npy" --output-dir "$work/onnx_ops_$i" >/dev/null
  check "edgeopt run ops.onnx $i" $?
  $run_tfl "$work/ops.tflite" --input "$work/ops_${i}_nhwc.npy" --output-dir "$work/tfl_ops_$i" >/dev/null
  check "interpreter runs ops.tflite $i" $?
  "$eo" run "$work/ops.tflite" --input "$work/ops_${i}_nhwc.npy" --output-dir "$work/eo_ops_$i" >/dev/null
  check "edgeopt run ops.tflite $i" $?
  compare "$work/tfl_ops_$i" "$work/eo_ops_$i" 1e-4 "ops.tflite vs interpreter, input $i"
  check "ops.tflite input $i within 1e-4 of the interpreter" $?
  compare "$work/onnx_ops_$i" "$work/eo_ops_$i" 1e-5 "ops.tflite vs ops.onnx, input $i"
  check "ops.tflite input $i within 1e-5 of the ONNX original" $?
done

# ---- bad input ----
expect 1 "stored sparse" "$eo" inspect "$mp/face_detection_full_range_sparse.tflite"
head -c 100000 "$mp/face_detection_short_range.tflite" > "$work/truncated.tflite"
expect 1 "malformed TFLite file" "$eo" run "$work/truncated.tflite" --input "$work/face_detection_short_range_0.npy" \
  --output-dir "$work/never"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
