#!/usr/bin/env bash
# edgeopt reads and runs full-INT8 .tflite files with TFLite's integer arithmetic (the Tfl* ops):
# each model is quantized (`edgeopt quantize --mode int8`), exported as full INT8 (`edgeopt export
# --format tflite --mode int8 --io ...`), and the same .tflite file is run by `edgeopt run` and by
# the TensorFlow Lite interpreter (WASM, npm @tensorflow/tfjs-tflite, scripts/tflite_run.js).
# Bar (the issue's, fixed before measuring): per output, >= 99.9% of elements agree within one
# quantization step (int8/uint8 outputs: 1 integer; float32 outputs written by DEQUANTIZE: the scale
# of the dequantized tensor; float32 outputs computed by float ops after the last DEQUANTIZE (the
# detector's decode): max|interpreter output| / 127, one int8 step of the output's own range).
# Models: the example classifier and tiny_cnn (--io float32, int8, uint8), the example detector
# and BlazeFace (float32: their outputs are computed in float after the last DEQUANTIZE, so the
# exporter refuses int8/uint8 I/O for them), ResNet-18 and MobileNetV2 (float32, uint8; torchvision,
# seeded random weights, build/models or generated).
# Also: a refusal lists the operator, its index and the activation type.
# usage: test_tflite_int8_read.sh EDGEOPT
set -u
eo=$1
[ -x "$eo" ] || { echo "test_tflite_int8_read.sh: no edgeopt binary at '$eo'"; exit 1; }
root="$(cd "$(dirname "$0")/../.." && pwd)"
py=/usr/bin/python3
run_tfl="node $root/scripts/tflite_run.js"
[ -d "$root/.peers/node_modules/@tensorflow/tfjs-tflite" ] || { echo "FAIL: TFLite interpreter missing: run scripts/install-deps.sh"; exit 1; }
bf="$root/.peers/blazeface/package/ONNX/face_detection_front_128x128_barracuda.onnx"
[ -f "$bf" ] || { echo "FAIL: BlazeFace missing: run scripts/install-deps.sh"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$root/tests/cli/lib.sh"  # pass/fail counters, check, expect

# A small reader of the .tflite fields the test needs (tensors, quantization, operators).
cat > "$work/tfl.py" <<'PY'
import struct
def u32(b, o): return struct.unpack_from("<I", b, o)[0]
def i32(b, o): return struct.unpack_from("<i", b, o)[0]
def table(b, t):
    vt = t - i32(b, t)
    vs = struct.unpack_from("<H", b, vt)[0]
    def field(i):
        off = struct.unpack_from("<H", b, vt + 4 + 2 * i)[0] if 4 + 2 * i < vs else 0
        return t + off if off else None
    return field
def ref(b, f): return f + u32(b, f)
def vec(b, v): return [v + 4 + 4 * i for i in range(u32(b, v))]
def string(b, s): return b[s + 4:s + 4 + u32(b, s)].decode()
class Model:
    def __init__(self, path):
        b = self.b = open(path, "rb").read()
        m = table(b, u32(b, 0))
        sg = table(b, ref(b, vec(b, ref(b, m(2)))[0]))
        self.tensors = []
        for e in vec(b, ref(b, sg(0))):
            t = table(b, ref(b, e))
            q = table(b, ref(b, t(4))) if t(4) else None
            scale = [struct.unpack_from("<f", b, x)[0] for x in vec(b, ref(b, q(2)))] if q and q(2) else []
            zp = [struct.unpack_from("<q", b, ref(b, q(3)) + 4 + 8 * i)[0] for i in range(u32(b, ref(b, q(3))))] if q and q(3) else []
            self.tensors.append(dict(name=string(b, ref(b, t(3))), type=b[t(1)] if t(1) else 0, scale=scale, zp=zp))
        self.inputs = [i32(b, x) for x in vec(b, ref(b, sg(1)))]
        self.outputs = [i32(b, x) for x in vec(b, ref(b, sg(2)))]
        codes = []
        for e in vec(b, ref(b, m(1))):
            c = table(b, ref(b, e))
            dep = struct.unpack_from("<b", b, c(0))[0] if c(0) else 0
            codes.append(max(dep, i32(b, c(3)) if c(3) else 0))
        self.ops = []
        for e in vec(b, ref(b, sg(3))):
            o = table(b, ref(b, e))
            ins = [i32(b, x) for x in vec(b, ref(b, o(1)))] if o(1) else []
            outs = [i32(b, x) for x in vec(b, ref(b, o(2)))] if o(2) else []
            self.ops.append((codes[u32(b, o(0)) if o(0) else 0], ins, outs))
        self.producer = {y: k for k, (_, _, outs) in enumerate(self.ops) for y in outs}
PY

# qfeed MODEL.tflite FLOAT_NHWC.npy OUT.npy: the input for the file's input type (float32 as is,
# int8/uint8 quantized with the input tensor's parameters, as a device's preprocessing would).
qfeed() {
  $py - "$work" "$@" <<'PY'
import sys, numpy as np
sys.path.insert(0, sys.argv[1]); from tfl import Model
m = Model(sys.argv[2]); t = m.tensors[m.inputs[0]]
x = np.load(sys.argv[3]).astype(np.float32)
if t["type"] == 0: np.save(sys.argv[4], x); sys.exit(0)
lo, hi, dt = (-128, 127, np.int8) if t["type"] == 9 else (0, 255, np.uint8)
np.save(sys.argv[4], np.clip(np.rint(x / t["scale"][0]) + t["zp"][0], lo, hi).astype(dt))
PY
}

# agree MODEL.tflite TFL_DIR EO_DIR LABEL: every output against the 1-step bar (steps as above).
agree() {
  $py - "$work" "$@" <<'PY'
import re, sys, numpy as np
sys.path.insert(0, sys.argv[1]); from tfl import Model
m = Model(sys.argv[2]); ok = True
DEQUANTIZE = 6
for k in m.outputs:
    t = m.tensors[k]; fn = re.sub(r"[^A-Za-z0-9._-]", "_", t["name"])
    a, b = np.load(f"{sys.argv[3]}/{fn}.npy"), np.load(f"{sys.argv[4]}/{fn}.npy")
    if a.shape != b.shape or a.dtype != b.dtype:
        print(f"  {sys.argv[5]} {t['name']}: interpreter {a.dtype}{a.shape} vs edgeopt {b.dtype}{b.shape}"); ok = False; continue
    note = ""
    if t["type"] in (3, 9): step = 1.0
    else:
        # walk back to the DEQUANTIZE feeding this output
        y, hops = k, 0
        while y in m.producer and m.ops[m.producer[y]][0] != DEQUANTIZE and hops < 64:
            ins = [i for i in m.ops[m.producer[y]][1] if i >= 0]
            y = next((i for i in ins if i in m.producer), ins[0]); hops += 1
        if y not in m.producer:
            print(f"  {sys.argv[5]} {t['name']}: no DEQUANTIZE on the path"); ok = False; continue
        step = m.tensors[m.ops[m.producer[y]][1][0]]["scale"][0]
        if hops:  # float ops after the DEQUANTIZE: one int8 step of the output's own range
            step = max(float(np.abs(a).max()), 1e-30) / 127
            note = f" (float tail of {hops} ops after DEQUANTIZE: step max|output|/127 = {step:.3g})"
    d = np.abs(a.astype(np.float64) - b.astype(np.float64))
    within = float((d <= step * (1 + 1e-4)).mean()); same = float((d == 0).mean())
    print(f"  {sys.argv[5]} {t['name']}: {100 * within:.3f}% within 1 step, {100 * same:.3f}% identical, "
          f"max {d.max() / step:.2f} steps, n={d.size}{note} (bar 99.9%)")
    ok &= within >= 0.999
sys.exit(0 if ok else 1)
PY
}

# ---- fixtures: calibration sets and inputs (float, NHWC for the interpreter) ----
$py - "$root" "$work" <<'PY'
import gzip, os, sys, numpy as np
root, work = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(21)
nhwc = lambda a: np.ascontiguousarray(a.transpose(0, 2, 3, 1)).astype(np.float32)
with gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") as f:
    imgs = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
for d in ("cal_cls", "cal_tiny", "cal_224", "cal_bf"): os.makedirs(f"{work}/{d}")
for i in range(32): np.save(f"{work}/cal_cls/{i}.npy", (imgs[6000 + i:6001 + i] / 255.0).astype(np.float32))
for i in range(16): np.save(f"{work}/cal_tiny/{i}.npy", rng.standard_normal((1, 3, 32, 32)).astype(np.float32))
for i in range(4): np.save(f"{work}/cal_224/{i}.npy", rng.standard_normal((1, 3, 224, 224)).astype(np.float32))
for i in range(8): np.save(f"{work}/cal_bf/{i}.npy", rng.uniform(-1, 1, (1, 128, 128, 3)).astype(np.float32))
for i in range(3): np.save(f"{work}/classifier_{i}.npy", nhwc(imgs[i * 311:i * 311 + 1] / 255.0))
np.save(f"{work}/tiny_cnn_0.npy", nhwc(np.load(f"{root}/examples/tiny_cnn_input.npy")))
for i in range(1, 3): np.save(f"{work}/tiny_cnn_{i}.npy", nhwc(rng.standard_normal((1, 3, 32, 32))))
for i in range(2): np.save(f"{work}/detector_{i}.npy", nhwc(rng.random((1, 3, 160, 160))))
for i in range(2): np.save(f"{work}/blazeface_{i}.npy", rng.uniform(-1, 1, (1, 128, 128, 3)).astype(np.float32))
PY
check "fixtures" $?

zoo="$root/build/models"
if [ ! -f "$zoo/resnet18/resnet18.onnx" ] || [ ! -f "$zoo/mobilenet_v2/mobilenet_v2.onnx" ]; then
  zoo="$work/zoo"
  $py "$root/scripts/gen_models.py" --out "$zoo" --only resnet18,mobilenet_v2 --tiny '' >/dev/null
  check "torchvision models generated" $?
fi
for m in resnet18 mobilenet_v2; do
  $py -c "
import numpy as np
x = np.load('$zoo/$m/input_0.npy'); np.save('$work/${m}_0.npy', np.ascontiguousarray(x.transpose(0, 2, 3, 1)))"
done

# ---- per model: quantize, export, run both, compare ----
# NAME FP32_MODEL CALIBRATION INPUTS IO_TYPES
specs=("classifier $root/examples/classifier.onnx $work/cal_cls 2 float32,int8,uint8"
       "tiny_cnn $root/examples/tiny_cnn.onnx $work/cal_tiny 2 float32,int8,uint8"
       "detector $root/examples/detector.onnx $root/examples/data/detect/data.yaml 2 float32"
       "blazeface $bf $work/cal_bf 2 float32"
       "resnet18 $zoo/resnet18/resnet18.onnx $work/cal_224 1 float32,uint8"
       "mobilenet_v2 $zoo/mobilenet_v2/mobilenet_v2.onnx $work/cal_224 1 float32,uint8")
for spec in "${specs[@]}"; do
  set -- $spec
  name=$1 fp32=$2 cal=$3 n_in=$4 ios=$5
  "$eo" quantize "$fp32" --mode int8 --calib "$cal" --calib-limit 8 -o "$work/$name.qdq.onnx" >/dev/null
  check "quantize $name int8" $?
  for io in ${ios//,/ }; do
    f="$work/$name.$io.tflite"
    "$eo" export "$work/$name.qdq.onnx" --format tflite --mode int8 --io $io -o "$f" >/dev/null
    check "export $name int8 --io $io" $?
    for ((i = 0; i < n_in; i++)); do
      qfeed "$f" "$work/${name}_$i.npy" "$work/feed_$name$io$i.npy"
      check "$name --io $io input $i" $?
      $run_tfl "$f" --input "$work/feed_$name$io$i.npy" --output-dir "$work/tfl_$name$io$i"
      check "interpreter runs $name --io $io input $i" $?
      out=$("$eo" run "$f" --input "$work/feed_$name$io$i.npy" --output-dir "$work/eo_$name$io$i" 2>&1)
      check "edgeopt runs $name --io $io input $i: ${out:0:300}" $?
      agree "$f" "$work/tfl_$name$io$i" "$work/eo_$name$io$i" "$name int8 --io $io input $i"
      check "$name int8 --io $io input $i: >= 99.9% within 1 step" $?
    done
  done
done

# ---- refusal: an int8 operator the reader has no integer kernel for is named with its index and type ----
$py - "$work/bad.onnx" <<'PY'
import sys, numpy as np, onnx
from onnx import helper, TensorProto, numpy_helper
i = [numpy_helper.from_array(np.array(0.05, np.float32), "s"), numpy_helper.from_array(np.array(0, np.int8), "z"),
     numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")]
n = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["xq"]), helper.make_node("DequantizeLinear", ["xq", "s", "z"], ["xd"]),
     helper.make_node("Resize", ["xd", "", "scales"], ["r"], mode="linear", coordinate_transformation_mode="half_pixel"),
     helper.make_node("QuantizeLinear", ["r", "s", "z"], ["rq"]), helper.make_node("DequantizeLinear", ["rq", "s", "z"], ["y"])]
g = helper.make_graph(n, "rs", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 8, 8])], i)
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), sys.argv[1])
PY
"$eo" export "$work/bad.onnx" --format tflite --mode int8 -o "$work/bad.tflite" >/dev/null 2>&1
check "export an int8 RESIZE_BILINEAR model" $?
$py -c "import numpy as np; np.save('$work/bad_in.npy', np.zeros((1, 4, 4, 2), np.float32))"
expect 1 "RESIZE_BILINEAR (int8 activations)" "$eo" run "$work/bad.tflite" --input "$work/bad_in.npy" --output-dir "$work/never"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
