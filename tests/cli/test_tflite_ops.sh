#!/usr/bin/env bash
# TFLite writer op coverage: Slice (SLICE / STRIDED_SLICE), Gather, Exp, LeakyRelu, PRelu, HardSwish
# (and HardSigmoid, HardSigmoid*x), ConvTranspose (TRANSPOSE_CONV), MatMul of two activations
# (BATCH_MATMUL). Fixtures come from scripts/gen_tflite_op_fixtures.py (generated here, seeded).
# Each file runs in the TensorFlow Lite interpreter (WASM, scripts/tflite_run.js) and is held against
# edgeopt's run of the ONNX model. Bars (fixed before measuring):
#   fp32 and dynamic: max|diff| <= 1e-5 * max|ONNX output| per output (the new ops stay float in
#     dynamic range; the outputs behind a Conv whose weights the dynamic mode makes int8 -- names
#     with "conv" -- get 3e-2: 8-bit weights and 8-bit run-time activations on 36-term sums)
#   fp16: max|diff| <= 1e-3 * max|ONNX output|
#   int8 (the fixture's QDQ model, --mode int8): within 1 output quantization step of edgeopt's run
#     of the QDQ model on >= 99.9% of elements, and the op itself runs on int8 tensors in the file
# Also: OperatorCode versions and min_runtime_version as the TFLite converter sets them, and a
# non-constant Gather index refused with the node named, nothing written.
# usage: test_tflite_ops.sh EDGEOPT
set -u
. "$(dirname "$0")/lib.sh"  # cli_setup, pass/fail counters, check, expect, json_check
cli_setup "$1"
cli_need_tflite
fx="$work/fx"
$py "$root/scripts/gen_tflite_op_fixtures.py" "$fx"
check "fixtures generated" $?

compare() {  # compare REFDIR GOTDIR TOL CONV_TOL LABEL: every output in REFDIR
  $py - "$@" <<'PY'
import glob, os, sys, numpy as np
refdir, gotdir, tol, conv_tol, label = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
ok, files = True, sorted(glob.glob(f"{refdir}/*.npy"))
for f in files:
    b = os.path.basename(f)
    ref = np.load(f)
    got = np.load(f"{gotdir}/{b}") if os.path.exists(f"{gotdir}/{b}") else None
    if ref.ndim == 4: ref = ref.transpose(0, 2, 3, 1)
    bar = conv_tol if "conv" in b else tol
    err = np.abs(got - ref).max() / np.abs(ref).max() if got is not None and got.shape == ref.shape else float("inf")
    print(f"  {label} {b[:-4]}: max|diff|/max|ref| = {err:.3g} (bar {bar:g})")
    ok &= bool(err <= bar)
sys.exit(0 if ok and files else 1)
PY
}

qcompare() {  # qcompare REFDIR GOTDIR SCALES LABEL
  $py - "$@" <<'PY'
import sys, numpy as np
refdir, gotdir, scales, label = sys.argv[1:5]
ok, n = True, 0
for line in open(scales):
    name, s = line.split()
    s = float(s)
    ref, got = np.load(f"{refdir}/{name}.npy"), np.load(f"{gotdir}/{name}.npy")
    if ref.ndim == 4: ref = ref.transpose(0, 2, 3, 1)
    steps = np.abs(got - ref) / s if got.shape == ref.shape else np.full(1, np.inf)
    within = (steps <= 1 + 1e-4).mean()
    print(f"  {label} {name}: max {steps.max():.2f} steps, {100 * within:.2f}% within 1 step, "
          f"{100 * (steps < 1e-4).mean():.2f}% identical (bar 99.9% within 1)")
    ok &= bool(within >= 0.999)
    n += 1
sys.exit(0 if ok and n else 1)
PY
}

# opinfo FILE.tflite: prints "OP version input0-type" per operator and "min_runtime X".
opinfo() {
  $py - "$1" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
u32 = lambda o: struct.unpack_from("<I", b, o)[0]
i32 = lambda o: struct.unpack_from("<i", b, o)[0]
def table(t):
    vt = t - i32(t); vs = struct.unpack_from("<H", b, vt)[0]
    def field(i):
        if 4 + 2 * i >= vs: return None
        off = struct.unpack_from("<H", b, vt + 4 + 2 * i)[0]
        return t + off if off else None
    return field
ref = lambda f: f + u32(f)
vec = lambda v: [v + 4 + 4 * i for i in range(u32(v))]
m = table(u32(0))
codes = []
for e in vec(ref(m(1))):
    c = table(ref(e))
    code = i32(c(3)) if c(3) else (b[c(0)] if c(0) else 0)  # older files: deprecated_builtin_code only
    codes.append((max(code, b[c(0)] if c(0) else 0), i32(c(2)) if c(2) else 1))
sg = table(ref(vec(ref(m(2)))[0]))
tensors = [table(ref(e)) for e in vec(ref(sg(0)))]
ttype = lambda t: b[tensors[t](1)] if tensors[t](1) else 0
for e in vec(ref(sg(3))):
    o = table(ref(e))
    code, ver = codes[u32(o(0)) if o(0) else 0]
    ins = [i32(x) for x in vec(ref(o(1)))]
    types = ",".join(str(ttype(t)) if t >= 0 else "-" for t in ins)
    print(code, ver, types)
bufs = [table(ref(e)) for e in vec(ref(m(4)))]
for e in (vec(ref(m(6))) if m(6) else []):
    md = table(ref(e))
    name = ref(md(0))
    if b[name + 4:name + 4 + u32(name)] == b"min_runtime_version" and md(1):
        d = ref(bufs[u32(md(1))](0))
        print("min_runtime", b[d + 4:d + 4 + u32(d)].rstrip(b"\0").decode())
PY
}

# int8 kernels: the mapped op (by builtin code) must read an int8 tensor (TFLite type 9) at the
# given input position in the int8 file.
# (Exp stays float in int8 files: the interpreter, like TFLite before 2.9, has no int8 EXP.)
declare -A int8_op=([slice]="65:0 45:0" [gather]="36:0" [exp]="" [leakyrelu]="98:0" [prelu]="54:0"
                    [hardswish]="117:0" [convtranspose]="67:2" [matmul]="126:0")

exec 3< "$fx/fixtures.txt"
while read -r -u 3 name inputs hasq; do
  fin=() tin=() qfin=() qtin=()
  for i in ${inputs//,/ }; do
    fin+=(--input "$i=$fx/$name.$i.npy") tin+=(--input "$i=$fx/$name.$i.nhwc.npy")
    qfin+=(--input "$i=$fx/$name.$i.q.npy") qtin+=(--input "$i=$fx/$name.$i.q.nhwc.npy")
  done
  "$eo" run "$fx/$name.onnx" "${fin[@]}" --output-dir "$work/ref_$name" >/dev/null 2>&1
  check "edgeopt run $name" $?
  for mode in fp32 fp16 dynamic; do
    tol=1e-5 ctol=1e-5
    [ $mode = fp16 ] && tol=1e-3 ctol=1e-3
    [ $mode = dynamic ] && ctol=3e-2
    f="$work/$name.$mode.tflite"
    "$eo" export "$fx/$name.onnx" --format tflite --mode $mode -o "$f" >/dev/null
    check "export $name $mode" $?
    $run_tfl "$f" "${tin[@]}" --output-dir "$work/tfl_${name}_$mode"
    check "interpreter runs $name $mode" $?
    compare "$work/ref_$name" "$work/tfl_${name}_$mode" $tol $ctol "$name $mode"
    check "$name $mode within $tol" $?
  done
  [ "$hasq" = 1 ] || continue
  "$eo" run "$fx/$name.qdq.onnx" "${qfin[@]}" --output-dir "$work/qref_$name" >/dev/null 2>&1
  check "edgeopt run $name QDQ" $?
  f="$work/$name.int8.tflite"
  "$eo" export "$fx/$name.qdq.onnx" --format tflite --mode int8 -o "$f" >/dev/null
  check "export $name int8" $?
  $run_tfl "$f" "${qtin[@]}" --output-dir "$work/qtfl_$name"
  check "interpreter runs $name int8" $?
  qcompare "$work/qref_$name" "$work/qtfl_$name" "$fx/$name.qdq.scales" "$name int8"
  check "$name int8 within 1 step" $?
  info=$(opinfo "$f")
  for spec in ${int8_op[$name]}; do
    code=${spec%%:*} pos=${spec##*:}
    echo "$info" | awk -v c="$code" -v p="$pos" '$1 == c { split($3, t, ","); if (t[p + 1] != 9) bad = 1; n++ }
                                                  END { exit !(n > 0 && !bad) }'
    check "$name int8: op $code runs on int8 input $pos ($(echo "$info" | awk -v c="$code" '$1 == c' | head -1))" $?
  done
done
exec 3<&-

# OperatorCode versions and min_runtime_version, by the converter's rules (op_version.cc,
# runtime_version.cc), written here independently: "code version" pairs expected in each file.
versions_have() {  # versions_have FILE RUNTIME "code:version ..."
  local info; info=$(opinfo "$1")
  local ok=0 spec
  for spec in $3; do
    echo "$info" | awk -v c="${spec%%:*}" -v v="${spec##*:}" '$1 == c && $2 == v { f = 1 } $1 == c && $2 != v { bad = 1 }
                                                              END { exit !(f && !bad) }' || { echo "  $1: want op ${spec%%:*} version ${spec##*:}"; ok=1; }
  done
  echo "$info" | grep -qx "min_runtime $2" || { echo "  $1: want min_runtime $2, got $(echo "$info" | grep min_runtime)"; ok=1; }
  return $ok
}
# int8: TRANSPOSE_CONV with bias 3, QUANTIZE 1, DEQUANTIZE 2 (int8 in) -> runtime 2.3.0
versions_have "$work/convtranspose.int8.tflite" 2.3.0 "67:3 114:1 6:2 65:2"
check "convtranspose int8 versions" $?
# fp32: BATCH_MATMUL 1 (2.3.0), TRANSPOSE 1
versions_have "$work/matmul.fp32.tflite" 2.3.0 "126:1 39:1"
check "matmul fp32 versions" $?
# int8 BATCH_MATMUL 2, TRANSPOSE 2 (int8)
versions_have "$work/matmul.int8.tflite" 2.3.0 "126:2 39:2"
check "matmul int8 versions" $?
# fp16: DEQUANTIZE of float16 is version 3 (1.15.0); HARD_SWISH 1 (1.15.0); CONV_2D 1
versions_have "$work/hardswish.fp16.tflite" 1.15.0 "6:3 117:1 3:1"
check "hardswish fp16 versions" $?
# int8 file: EXP in float (1, 1.7.0) between DEQUANTIZE 2 and QUANTIZE 1 (1.14.0); GATHER 2, SLICE 2,
# STRIDED_SLICE 2
versions_have "$work/exp.int8.tflite" 1.14.0 "47:1 6:2 114:1"
check "exp int8 versions" $?
versions_have "$work/gather.int8.tflite" 1.14.0 "36:2 39:2"
check "gather int8 versions" $?
versions_have "$work/slice.int8.tflite" 1.14.0 "65:2 45:2"
check "slice int8 versions" $?
# The example tiny_cnn as full int8 (CONV_2D 3, FULLY_CONNECTED 4, MAX_POOL 2, MEAN 2) and as dynamic
# range (per-channel hybrid CONV_2D 5 -> runtime 2.4.0; FULLY_CONNECTED with asymmetric inputs 9).
mkdir -p "$work/cal" && $py -c "
import numpy as np
rng = np.random.default_rng(4)
for i in range(8): np.save('$work/cal/%d.npy' % i, rng.standard_normal((1, 3, 32, 32)).astype(np.float32))"
"$eo" quantize "$root/examples/tiny_cnn.onnx" --mode int8 --calib "$work/cal" -o "$work/tiny.qdq.onnx" >/dev/null &&
  "$eo" export "$work/tiny.qdq.onnx" --format tflite --mode int8 -o "$work/tiny.int8.tflite" >/dev/null &&
  "$eo" export "$root/examples/tiny_cnn.onnx" --format tflite --mode dynamic -o "$work/tiny.dyn.tflite" >/dev/null
check "tiny_cnn int8 and dynamic exports" $?
versions_have "$work/tiny.int8.tflite" 1.14.0 "3:3 9:4 40:2 114:1 6:2"
check "tiny_cnn int8 versions" $?
versions_have "$work/tiny.dyn.tflite" 2.4.0 "3:5 9:9"
check "tiny_cnn dynamic versions" $?
$py -c "
import numpy as np
x = np.load('$root/examples/tiny_cnn_input.npy'); np.save('$work/tiny_nhwc.npy', np.ascontiguousarray(x.transpose(0, 2, 3, 1)))" &&
  $run_tfl "$work/tiny.dyn.tflite" --input "$work/tiny_nhwc.npy" --output-dir "$work/tiny_dyn" &&
  $run_tfl "$work/tiny.int8.tflite" --input "$work/tiny_nhwc.npy" --output-dir "$work/tiny_int8"
check "the interpreter accepts the versioned int8 and dynamic-range files" $?

# Unmappable: a Gather whose indices are computed (ArgMax) is listed by node name and op, with the
# ArgMax; the Exp after it is not; nothing written.
$py - "$work/bad_gather.onnx" <<'PY'
import sys, onnx
from onnx import helper, TensorProto
g = helper.make_graph([helper.make_node("ArgMax", ["v"], ["i"], name="argmax0", axis=0, keepdims=1),
                       helper.make_node("Gather", ["x", "i"], ["y"], name="gather_dyn", axis=1),
                       helper.make_node("Exp", ["y"], ["z"], name="exp_ok")], "bad",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 5, 5]),
                       helper.make_tensor_value_info("v", TensorProto.FLOAT, [3, 2])],
                      [helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 1, 2, 5, 5])])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), sys.argv[1])
PY
out=$("$eo" export "$work/bad_gather.onnx" --format tflite -o "$work/bad_gather.tflite" 2>&1); rc=$?
[ $rc -ne 0 ] && [[ "$out" == *"'gather_dyn' (Gather): indices must be a constant"* ]] && [[ "$out" == *"'argmax0' (ArgMax)"* ]] &&
  [[ "$out" != *"exp_ok"* ]] &&
  [ -z "$(ls "$work" | grep bad_gather.tflite)" ]
check "non-constant Gather indices refused by name, nothing written (exit $rc: $out)" $?

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
