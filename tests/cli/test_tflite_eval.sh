#!/usr/bin/env bash
# Accuracy of a .tflite file measured in the TensorFlow Lite interpreter (WASM, npm @tensorflow/tfjs-tflite,
# scripts/tflite_run.js --rows) through edgeopt's own decoder, NMS and metrics: `edgeopt eval --dump-inputs`
# writes the preprocessed inputs exactly as fed to the model, the interpreter runs them, `edgeopt eval
# --outputs-from` scores its raw outputs.
# Fast part (the example classifier, full INT8 .tflite, float32 I/O, the first 500 Fashion-MNIST test images
# as an IDX file):
#   - the dumped inputs are the images / 255 in the file's NHWC shape (max |diff| <= 1e-6, numpy);
#   - --outputs-from on logits built in numpy (argmax = the label for exactly 123 rows) gives top-1 123/500;
#   - the interpreter's top-1 through --outputs-from equals numpy's argmax count on the same outputs, and
#     equals edgeopt's eval of the same .tflite file (the issue's bar: equal);
#   - row-count, missing-file and shape mismatches are refused with messages.
# Slow part ("slow", ctest label slow): the issue's bar on the example detector. Its default-recipe INT8
# QDQ model exported as a full INT8 .tflite (float32 I/O), run over the 300 val images: the interpreter's
# mAP@0.5 and mAP@0.5:0.95 equal edgeopt's eval of the same .tflite file to the printed 4 decimals (fixed
# before measuring); the QDQ .onnx and FP32 figures are printed beside them.
# usage: test_tflite_eval.sh EDGEOPT [slow]
set -u
. "$(dirname "$0")/lib.sh"
cli_setup "$1"
cli_need_tflite
slow=${2:-}
fm=/usr/share/datasets/fashion-mnist

# ---- classifier ----
$py - "$work" "$fm" <<'PY'
import gzip, os, sys, numpy as np
work, fm = sys.argv[1], sys.argv[2]
with gzip.open(f"{fm}/train-images-idx3-ubyte.gz") as f:
    tr = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
os.makedirs(f"{work}/cal")
for i in range(64): np.save(f"{work}/cal/{i}.npy", (tr[i * 900:i * 900 + 1] / 255.0).astype(np.float32))
with gzip.open(f"{fm}/t10k-images-idx3-ubyte.gz") as f: img = f.read()
with gzip.open(f"{fm}/t10k-labels-idx1-ubyte.gz") as f: lab = f.read()
n = 500
open(f"{work}/t500-images-idx3-ubyte", "wb").write(b"\0\0\x08\x03" + n.to_bytes(4, "big") + img[8:16] + img[16:16 + n * 784])
open(f"{work}/t500-labels-idx1-ubyte", "wb").write(b"\0\0\x08\x01" + n.to_bytes(4, "big") + lab[8:8 + n])
PY
check "classifier fixtures" $?
data="$work/t500-images-idx3-ubyte"
"$eo" quantize "$root/examples/classifier.onnx" --mode int8 --calib "$work/cal" -o "$work/cls.qdq.onnx" >/dev/null 2>&1 &&
  "$eo" export "$work/cls.qdq.onnx" --format tflite --mode int8 -o "$work/cls.tflite" >/dev/null
check "classifier int8 .tflite (float32 I/O)" $?

"$eo" eval "$work/cls.tflite" --data "$data" --task classify --dump-inputs "$work/cin" --json "$work/c_eo.json" \
  --quiet >"$work/c_eo.txt" 2>&1
check "edgeopt eval of the .tflite with --dump-inputs: $(tail -3 "$work/c_eo.txt")" $?
cin=$(ls "$work"/cin/*.npy 2>/dev/null | head -1)
[ -n "$cin" ] && [ "$(ls "$work/cin" | wc -l)" -eq 1 ]
check "one input file dumped ($(ls "$work/cin" 2>/dev/null))" $?
$py - "$cin" "$data" <<'PY'
import sys, numpy as np
x = np.load(sys.argv[1])
img = np.frombuffer(open(sys.argv[2], "rb").read(), np.uint8, offset=16).reshape(500, 1, 28, 28, 1)
want = img.astype(np.float64) / 255.0
err = np.abs(x - want).max() if x.shape == want.shape else np.inf
print(f"  dumped inputs {x.shape} {x.dtype}: max|diff| from images/255 = {err:.3g} (bar 1e-6)")
sys.exit(0 if x.dtype == np.float32 and err <= 1e-6 else 1)
PY
check "dumped inputs are the images / 255, [500, 1, 28, 28, 1] float32" $?

# --outputs-from on known logits: argmax = label on rows 0..122, label + 1 elsewhere.
mkdir -p "$work/known"
$py - "$work" "$data" <<'PY'
import sys, numpy as np
work, data = sys.argv[1], sys.argv[2]
y = np.frombuffer(open(data.replace("images-idx3", "labels-idx1"), "rb").read(), np.uint8, offset=8).astype(int)
pred = np.where(np.arange(500) < 123, y, (y + 1) % 10)
z = np.random.default_rng(4).standard_normal((500, 1, 10)).astype(np.float32)
z[np.arange(500), 0, pred] = 10.0
np.save(f"{work}/known/logits.npy", z)
np.save(f"{work}/known_bad_shape.npy", z[:, :, :9])
PY
check "known logits" $?
"$eo" eval "$work/cls.tflite" --data "$data" --task classify --outputs-from "$work/known" --json "$work/c_known.json" \
  --quiet >"$work/c_known.txt" 2>&1
check "eval --outputs-from known logits: $(tail -3 "$work/c_known.txt")" $?
json_check "$work/c_known.json" "j['classification']['num_samples'] == 500" \
  "round(j['classification']['top1'] * 500) == 123"
grep -q "the model was not run" "$work/c_known.txt"
check "--outputs-from says the model was not run" $?

# The interpreter over the dumped inputs.
$run_tfl "$work/cls.tflite" --rows --input "$cin" --output-dir "$work/cout"
check "interpreter runs the 500 rows" $?
"$eo" eval "$work/cls.tflite" --data "$data" --task classify --outputs-from "$work/cout" --json "$work/c_tfl.json" \
  --quiet >"$work/c_tfl.txt" 2>&1
check "eval --outputs-from the interpreter's outputs: $(tail -3 "$work/c_tfl.txt")" $?
np_top1=$($py -c "
import numpy as np
y = np.frombuffer(open('$data'.replace('images-idx3', 'labels-idx1'), 'rb').read(), np.uint8, offset=8)
z = np.load('$work/cout/logits.npy')
print(int((z.reshape(500, 10).argmax(1) == y).sum()) if z.shape == (500, 1, 10) else -1)")
read -r eo_top1 tfl_top1 <<<"$($py -c "
import json
f = lambda p: round(json.load(open(p))['classification']['top1'] * 500)
print(f('$work/c_eo.json'), f('$work/c_tfl.json'))")"
echo "  classifier int8 .tflite, 500 test images: top-1 edgeopt $eo_top1, interpreter $tfl_top1 (numpy on its outputs: $np_top1)"
[ "$tfl_top1" = "$np_top1" ]
check "--outputs-from top-1 equals numpy's on the interpreter's outputs ($tfl_top1 vs $np_top1)" $?
[ -n "$eo_top1" ] && [ "$eo_top1" = "$tfl_top1" ]
check "classifier: the interpreter's top-1 equals edgeopt's eval of the same .tflite ($tfl_top1 vs $eo_top1)" $?

# Refusals.
expect 1 "holds 500 rows but 100 items were evaluated" "$eo" eval "$work/cls.tflite" --data "$data" --task classify \
  --outputs-from "$work/cout" --limit 100 --quiet
mkdir -p "$work/empty" "$work/badshape"
expect 1 "$work/empty/logits.npy" "$eo" eval "$work/cls.tflite" --data "$data" --task classify --outputs-from "$work/empty" --quiet
mv "$work/known_bad_shape.npy" "$work/badshape/logits.npy"
expect 1 "do not fit output 'logits'" "$eo" eval "$work/cls.tflite" --data "$data" --task classify \
  --outputs-from "$work/badshape" --quiet
expect 2 "--dump-inputs needs a value" "$eo" eval "$work/cls.tflite" --data "$data" --task classify --dump-inputs
"$eo" eval --help | grep -q -- "--outputs-from DIR"
check "eval --help lists --outputs-from" $?

# ---- the example detector (slow) ----
if [ "$slow" = slow ]; then
  det="$root/examples/detector.onnx" ddata="$root/examples/data/detect/data.yaml"
  "$eo" quantize "$det" --mode int8 --calib "$ddata" -o "$work/det.qdq.onnx" >/dev/null 2>&1 &&
    "$eo" export "$work/det.qdq.onnx" --format tflite --mode int8 -o "$work/det.tflite" >/dev/null
  check "detector: default-recipe INT8 QDQ -> full INT8 .tflite (float32 I/O)" $?
  maps() { $py -c "
import json; d = json.load(open('$1'))['detection']; print('%.4f %.4f %d' % (d['map50'], d['map'], d['num_images']))"; }
  "$eo" eval "$work/det.tflite" --data "$ddata" --task detect --dump-inputs "$work/din" --dump-dir "$work/ddump_eo" --json "$work/d_eo.json" \
    --quiet >"$work/d_eo.txt" 2>&1
  check "edgeopt eval of the detector .tflite with --dump-inputs: $(tail -3 "$work/d_eo.txt")" $?
  din=$(ls "$work"/din/*.npy 2>/dev/null | head -1)
  $run_tfl "$work/det.tflite" --rows --input "$din" --output-dir "$work/dout"
  check "interpreter runs the detector over the val inputs" $?
  "$eo" eval "$work/det.tflite" --data "$ddata" --task detect --outputs-from "$work/dout" --dump-dir "$work/ddump_tfl" --json "$work/d_tfl.json" \
    --quiet >"$work/d_tfl.txt" 2>&1
  check "eval --outputs-from the interpreter's detector outputs: $(tail -3 "$work/d_tfl.txt")" $?
  "$eo" eval "$work/det.qdq.onnx" --data "$ddata" --task detect --json "$work/d_qdq.json" --quiet >/dev/null 2>&1 &&
    "$eo" eval "$det" --data "$ddata" --task detect --json "$work/d_fp32.json" --quiet >/dev/null 2>&1
  check "edgeopt eval of the QDQ and FP32 detectors" $?
  read -r e50 e5095 en <<<"$(maps "$work/d_eo.json")"
  read -r t50 t5095 tn <<<"$(maps "$work/d_tfl.json")"
  read -r q50 q5095 _ <<<"$(maps "$work/d_qdq.json")"
  read -r f50 f5095 _ <<<"$(maps "$work/d_fp32.json")"
  echo "  detector val ($tn images), mAP@0.5 / mAP@0.5:0.95: INT8 .tflite in the TFLite interpreter $t50 / $t5095," \
    "in edgeopt $e50 / $e5095; QDQ .onnx in edgeopt $q50 / $q5095; FP32 $f50 / $f5095"
  $py - "$work/ddump_eo/dets.npy" "$work/ddump_tfl/dets.npy" <<'PY'
import sys, numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
same = a.shape == b.shape and np.array_equal(a[:, :2], b[:, :2])
d = np.abs(a[:, 2:] - b[:, 2:]).max(0) if same else None
print(f"  detections (reported, no bar): edgeopt {len(a)}, interpreter {len(b)}"
      + (f"; same images and classes in the same order, max |diff| score {d[0]:.3g}, box {d[1:].max():.3g} px" if same else ""))
PY
  [ "$tn" = 300 ] && [ "$en" = 300 ]
  check "detector: 300 val images in both ($tn, $en)" $?
  [ -n "$t50" ] && [ "$t50" = "$e50" ] && [ "$t5095" = "$e5095" ]
  check "detector: the interpreter's mAP equals edgeopt's eval of the same .tflite ($t50/$t5095 vs $e50/$e5095)" $?
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
