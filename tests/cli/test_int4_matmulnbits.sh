#!/usr/bin/env bash
# `edgeopt quantize --mode int4 --int4-format matmulnbits`: MatMul / Gemm weights as ONNX Runtime's
# com.microsoft MatMulNBits. Bars (fixed before measuring, never widened):
#   - an MLP fixture (opset 13: Gemm transB=1 + bias, Gemm transB=0 without bias, MatMul on a rank-3
#     input; K = 40 is off the block size 32): the file keeps opset 13, has 3 MatMulNBits nodes and
#     no DequantizeLinear, passes onnx.checker (Debian's onnx 1.12: no opset 21 needed); ORT 1.30
#     runs it; edgeopt agrees with ORT within 1e-4 * max|ORT|; numpy applying the MatMulNBits
#     formula to the file's own initializers agrees with ORT within 1e-4 * max|ORT|; the int4 values
#     and scales equal those of the default DequantizeLinear form of the same model (the DQ file's
#     int4 tensors read back by numpy);
#   - the example classifier (Conv + 2 Gemm): Gemms become MatMulNBits + Add, Convs keep
#     DequantizeLinear; ORT runs it and edgeopt agrees within 1e-4 * max|ORT|; top-1 on the first
#     300 Fashion-MNIST test images equal with both formats;
#   - bad arguments: an unknown format, the flag without --mode int4.
# usage: test_int4_matmulnbits.sh EDGEOPT
set -u
. "$(dirname "$0")/lib.sh"  # cli_setup, pass/fail counters, check, expect, json_check
cli_setup "$1" tmpdir

# ---------------------------------------------------------------- MLP fixture
$py - "$work" <<'PY'
import sys, numpy as np, onnx
from onnx import helper, TensorProto, numpy_helper
w = sys.argv[1]
rng = np.random.default_rng(11)
W1 = rng.standard_normal((24, 40)).astype(np.float32)   # Gemm transB=1: [N, K]
b1 = rng.standard_normal(24).astype(np.float32)
W2 = rng.standard_normal((24, 16)).astype(np.float32)   # Gemm: [K, N], no C
W3 = rng.standard_normal((16, 8)).astype(np.float32)    # MatMul [K, N]
nodes = [
    helper.make_node("Gemm", ["x", "W1", "b1"], ["h1"], name="fc1", transB=1),
    helper.make_node("Relu", ["h1"], ["r1"], name="relu1"),
    helper.make_node("Gemm", ["r1", "W2"], ["h2"], name="fc2"),
    helper.make_node("Reshape", ["h2", "shape"], ["h3"], name="reshape"),
    helper.make_node("MatMul", ["h3", "W3"], ["y"], name="fc3"),
]
inits = [numpy_helper.from_array(W1, "W1"), numpy_helper.from_array(b1, "b1"), numpy_helper.from_array(W2, "W2"),
         numpy_helper.from_array(W3, "W3"), numpy_helper.from_array(np.array([2, 2, 16], np.int64), "shape")]
g = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 40])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 2, 8])], inits)
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=7)
onnx.checker.check_model(m)
onnx.save(m, f"{w}/mlp.onnx")
np.save(f"{w}/x.npy", rng.standard_normal((4, 40)).astype(np.float32))
PY
check "MLP fixture" $?

"$eo" quantize "$work/mlp.onnx" --mode int4 --int4-format matmulnbits -o "$work/mlp_nb.onnx" >"$work/q.txt" 2>&1
check "quantize --int4-format matmulnbits: $(head -c 400 "$work/q.txt")" $?
grep -q "3/4 tensors quantized" "$work/q.txt"
check "summary: the 3 weights of 4 float tensors quantized: $(grep -i tensors "$work/q.txt")" $?
"$eo" quantize "$work/mlp.onnx" --mode int4 -o "$work/mlp_dq.onnx" >/dev/null 2>&1
check "quantize --mode int4 (dq)" $?
node "$root/scripts/ort_run.js" "$work/mlp_nb.onnx" --input "x=$work/x.npy" --output-dir "$work/ort" >"$work/ort.txt" 2>&1
check "ORT runs the MatMulNBits file: $(head -c 400 "$work/ort.txt")" $?
"$eo" run "$work/mlp_nb.onnx" --input "x=$work/x.npy" --output-dir "$work/eo" >"$work/eo.txt" 2>&1
check "edgeopt runs the MatMulNBits file: $(head -c 400 "$work/eo.txt")" $?
$py - "$work" <<'PY'
import sys, numpy as np, onnx
from onnx import numpy_helper
w = sys.argv[1]
m = onnx.load(f"{w}/mlp_nb.onnx")
onnx.checker.check_model(m)
ops = [n.op_type for n in m.graph.node]
opset = {o.domain: o.version for o in m.opset_import}
ok = True
def req(c, msg):
    global ok
    if not c:
        print("  false:", msg); ok = False
req(opset.get("", opset.get("ai.onnx")) == 13 and "com.microsoft" in opset, f"opsets {opset}")
req(ops.count("MatMulNBits") == 3 and "DequantizeLinear" not in ops and "Gemm" not in ops and "MatMul" not in ops, f"ops {ops}")
req(all(n.domain == "com.microsoft" for n in m.graph.node if n.op_type == "MatMulNBits"), "domain")
ort = np.load(f"{w}/ort/y.npy").astype(np.float64); eo = np.load(f"{w}/eo/y.npy").astype(np.float64)
scale = np.abs(ort).max()
d = np.abs(eo - ort).max()
print(f"MLP: edgeopt vs ORT max|diff| {d:.3g} = {d / scale:.3g} of max|ORT|")
req(eo.shape == ort.shape == (2, 2, 8) and d <= 1e-4 * scale, "edgeopt vs ORT")
# numpy: the MatMulNBits formula on the file's initializers, node by node
I = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
vals = {"x": np.load(f"{w}/x.npy").astype(np.float64)}
def attr(n, k): return next(a.i for a in n.attribute if a.name == k)
nb_weights = {}
for n in m.graph.node:
    x = [vals[i] if i in vals else I[i] for i in n.input]
    if n.op_type == "MatMulNBits":
        K, N, bits, bs = (attr(n, k) for k in ("K", "N", "bits", "block_size"))
        B, S = x[1], x[2].astype(np.float64).reshape(N, -1)
        q = np.stack([B & 15, B >> 4], axis=-1).reshape(N, -1).astype(np.float64)
        Wt = ((q - 8) * np.repeat(S, bs, axis=1))[:, :K]       # [N, K]
        nb_weights[n.name] = (q[:, :K] - 8, S)
        y = x[0] @ Wt.T
    elif n.op_type == "Add": y = x[0] + x[1]
    elif n.op_type == "Relu": y = np.maximum(x[0], 0)
    elif n.op_type == "Reshape": y = x[0].reshape(x[1])
    else: raise SystemExit(f"unexpected op {n.op_type}")
    vals[n.output[0]] = y
d = np.abs(vals["y"] - ort).max()
print(f"MLP: numpy formula vs ORT max|diff| {d:.3g}")
req(d <= 1e-4 * scale, "numpy vs ORT")
# the same int4 values and scales as the DequantizeLinear form
dq = onnx.load(f"{w}/mlp_dq.onnx")
DI = {t.name: t for t in dq.graph.initializer}
def int4(t):  # raw int4, two per byte, low nibble first
    raw = np.frombuffer(t.raw_data, np.uint8)
    v = np.stack([raw & 15, raw >> 4], axis=-1).reshape(-1)[: int(np.prod(t.dims))].astype(np.int64)
    return np.where(v >= 8, v - 16, v).reshape(tuple(t.dims))
for node, wname, trans in (("fc1", "W1", True), ("fc2", "W2", False), ("fc3", "W3", False)):
    qv, S = nb_weights[node]
    qd = int4(DI[wname + "_int4"]); sd = numpy_helper.to_array(DI[wname + "_scale"]).astype(np.float64)
    if not trans: qd, sd = qd.T, sd.T                      # to [N, K] / [N, blocks]
    req(np.array_equal(qv, qd) and np.array_equal(S, sd), f"{node}: int4 values / scales differ from the DQ form")
sys.exit(0 if ok else 1)
PY
check "MLP MatMulNBits file: checker, ops, edgeopt vs ORT, numpy vs ORT, same int4 as DQ" $?

# ---------------------------------------------------------------- the example classifier
cls="$root/examples/classifier.onnx"
fm=/usr/share/datasets/fashion-mnist
"$eo" quantize "$cls" --mode int4 --int4-format matmulnbits -o "$work/cls_nb.onnx" >/dev/null 2>&1
check "classifier matmulnbits" $?
"$eo" quantize "$cls" --mode int4 -o "$work/cls_dq.onnx" >/dev/null 2>&1
check "classifier dq" $?
$py - "$work" <<'PY'
import sys, numpy as np, onnx
w = sys.argv[1]
m = onnx.load(f"{w}/cls_nb.onnx")
ops = [n.op_type for n in m.graph.node]
print("classifier ops:", sorted(set(ops)))
np.save(f"{w}/cx.npy", np.random.default_rng(3).uniform(-1, 1, (1, 1, 28, 28)).astype(np.float32))
sys.exit(0 if ops.count("MatMulNBits") == 2 and ops.count("Add") == 2 and "Gemm" not in ops and "Conv" in ops
         and "DequantizeLinear" in ops else 1)
PY
check "classifier: 2 Gemm -> MatMulNBits + Add, Conv keeps DequantizeLinear" $?
in_name=$($py -c "import onnx,sys; print(onnx.load(sys.argv[1]).graph.input[0].name)" "$cls")
node "$root/scripts/ort_run.js" "$work/cls_nb.onnx" --input "$in_name=$work/cx.npy" --output-dir "$work/cort" >/dev/null 2>&1
check "ORT runs the classifier's MatMulNBits file" $?
"$eo" run "$work/cls_nb.onnx" --input "$in_name=$work/cx.npy" --output-dir "$work/ceo" >/dev/null 2>&1
check "edgeopt runs the classifier's MatMulNBits file" $?
$py - "$work" <<'PY'
import sys, glob, numpy as np
w = sys.argv[1]
ort = np.load(glob.glob(f"{w}/cort/*.npy")[0]).astype(np.float64); eo = np.load(glob.glob(f"{w}/ceo/*.npy")[0]).astype(np.float64)
d = np.abs(eo - ort).max(); s = np.abs(ort).max()
print(f"classifier: edgeopt vs ORT max|diff| {d:.3g} = {d / s:.3g} of max|ORT|")
sys.exit(0 if eo.shape == ort.shape and d <= 1e-4 * s else 1)
PY
check "classifier MatMulNBits: edgeopt vs ORT within 1e-4 of max|ORT|" $?
top1() { "$eo" eval "$1" --data "$fm/t10k-images-idx3-ubyte.gz" --limit 300 --task classify 2>&1 | awk '/top-1/{print $2; exit}'; }
t_nb=$(top1 "$work/cls_nb.onnx") t_dq=$(top1 "$work/cls_dq.onnx")
echo "classifier top-1 (first 300 test images): matmulnbits $t_nb, dq $t_dq"
[ -n "$t_nb" ] && [ "$t_nb" = "$t_dq" ]
check "classifier top-1 equal with both formats ($t_nb vs $t_dq)" $?

# ---------------------------------------------------------------- bad arguments
expect 2 "unknown --int4-format" "$eo" quantize "$work/mlp.onnx" --mode int4 --int4-format qdq -o "$work/z.onnx"
expect 2 "goes with --mode int4" "$eo" quantize "$work/mlp.onnx" --mode weight-int8 --int4-format matmulnbits -o "$work/z.onnx"
[ ! -e "$work/z.onnx" ]
check "nothing written by refused runs" $?

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
