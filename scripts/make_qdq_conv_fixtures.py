"""QDQ Conv fixtures for tests/cli/test_int8_vs_ort.sh: small models in the form `edgeopt quantize`
and ONNX Runtime's quantizer emit (Q -> DQ -> Conv [-> Relu/Clip] -> Q -> DQ), covering uint8 and int8
activations, per-channel and per-tensor int8 weights, a uint8 weight with a zero point, groups and
depthwise, strides/pads/dilations, no bias, a redundant Relu/Clip (fused by ORT and edgeopt) and a
Clip narrower than Q's range (not fused). Scales come from a float run of the same layers so the
outputs span their ranges. usage: make_qdq_conv_fixtures.py OUT_DIR"""
import sys, numpy as np, torch, onnx
from onnx import helper, TensorProto, numpy_helper

out = sys.argv[1]
rng = np.random.default_rng(3)

def qparams(lo, hi, signed):
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if signed:
        s = max(abs(lo), abs(hi)) / 127.0
        return np.float32(s), np.int8(0)
    s = (hi - lo) / 255.0
    return np.float32(s), np.uint8(np.clip(round(-lo / s), 0, 255))

def build(name, signed, layers, bias_scale_mult=1.0):
    """layers: (cout, k, stride, pad, dil, group, act, bias, wmode) with act None/'relu'/'clip6'/'clip1',
    wmode 'perch'/'pertensor'/'u8'"""
    x = rng.standard_normal((1, 8, 14, 14)).astype(np.float32)
    nodes, inits = [], []
    def const(n, a):
        inits.append(numpy_helper.from_array(np.asarray(a), n)); return n
    dt = TensorProto.INT8 if signed else TensorProto.UINT8
    cur = torch.from_numpy(x)
    s, z = qparams(float(x.min()), float(x.max()), signed)
    const("in_s", s); const("in_z", z)
    nodes += [helper.make_node("QuantizeLinear", ["input", "in_s", "in_z"], ["q0"]),
              helper.make_node("DequantizeLinear", ["q0", "in_s", "in_z"], ["d0"])]
    prev, cin = "d0", 8
    for i, (cout, k, st, pad, dil, grp, act, bias, wmode) in enumerate(layers):
        w = (rng.standard_normal((cout, cin // grp, k, k)) * 0.3).astype(np.float32)
        if wmode == "perch":
            ws = (np.abs(w).reshape(cout, -1).max(1) / 127).astype(np.float32)
            wq = np.clip(np.round(w / ws[:, None, None, None]), -127, 127).astype(np.int8)
            const(f"w{i}", wq); const(f"ws{i}", ws); const(f"wz{i}", np.zeros(cout, np.int8))
            nodes.append(helper.make_node("DequantizeLinear", [f"w{i}", f"ws{i}", f"wz{i}"], [f"wd{i}"], axis=0))
            wf = wq.astype(np.float32) * ws[:, None, None, None]
        elif wmode == "pertensor":
            ws = np.float32(np.abs(w).max() / 127)
            wq = np.clip(np.round(w / ws), -127, 127).astype(np.int8)
            const(f"w{i}", wq); const(f"ws{i}", ws)
            nodes.append(helper.make_node("DequantizeLinear", [f"w{i}", f"ws{i}"], [f"wd{i}"]))
            wf = wq.astype(np.float32) * ws
        else:  # uint8 weights with a zero point
            ws, wz = qparams(float(w.min()), float(w.max()), False)
            wq = np.clip(np.round(w / ws) + wz, 0, 255).astype(np.uint8)
            const(f"w{i}", wq); const(f"ws{i}", ws); const(f"wz{i}", wz)
            nodes.append(helper.make_node("DequantizeLinear", [f"w{i}", f"ws{i}", f"wz{i}"], [f"wd{i}"]))
            wf = (wq.astype(np.float32) - float(wz)) * ws
        conv_in = [prev, f"wd{i}"]
        bf = None
        if bias:
            in_s = numpy_helper.to_array([t for t in inits if t.name == ("in_s" if i == 0 else f"ys{i-1}")][0])
            bsc = (in_s * (ws if np.ndim(ws) else np.full(cout, ws))).astype(np.float32)
            bq = np.round(rng.standard_normal(cout).astype(np.float32) * 0.5 / bsc).astype(np.int32)
            bsc = (bsc * np.float32(bias_scale_mult)).astype(np.float32)
            const(f"b{i}", bq); const(f"bs{i}", bsc)
            nodes.append(helper.make_node("DequantizeLinear", [f"b{i}", f"bs{i}"], [f"bd{i}"], axis=0))
            conv_in.append(f"bd{i}")
            bf = torch.from_numpy(bq.astype(np.float32) * bsc)
        nodes.append(helper.make_node("Conv", conv_in, [f"c{i}"], kernel_shape=[k, k], strides=[st, st],
                                      pads=[pad] * 4, dilations=[dil, dil], group=grp))
        y = torch.nn.functional.conv2d(cur, torch.from_numpy(wf), bf, st, pad, dil, grp)
        t = f"c{i}"
        if act == "relu":
            nodes.append(helper.make_node("Relu", [t], [f"a{i}"])); y = y.clamp(min=0); t = f"a{i}"
        elif act in ("clip6", "clip1"):
            hi = 6.0 if act == "clip6" else 1.0
            const(f"lo{i}", np.float32(0)); const(f"hi{i}", np.float32(hi))
            nodes.append(helper.make_node("Clip", [t, f"lo{i}", f"hi{i}"], [f"a{i}"])); y = y.clamp(0, hi); t = f"a{i}"
        lo, hi = float(y.min()), float(y.max())
        if act == "clip1": hi = 2.0  # Q's range wider than the Clip's: the Clip must stay
        s, z = qparams(lo, hi, signed and act is None)
        if act is not None and signed: s, z = np.float32(hi / 255.0), np.int8(-128)
        const(f"ys{i}", s); const(f"yz{i}", z)
        nodes += [helper.make_node("QuantizeLinear", [t, f"ys{i}", f"yz{i}"], [f"q{i+1}"]),
                  helper.make_node("DequantizeLinear", [f"q{i+1}", f"ys{i}", f"yz{i}"], [f"d{i+1}"])]
        prev, cin, cur = f"d{i+1}", cout, y
    nodes[-1].output[0] = "output"
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 8, 14, 14])],
                          [helper.make_tensor_value_info("output", TensorProto.FLOAT, list(cur.shape))], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_qdq_conv_fixtures")
    m.ir_version = 7
    onnx.checker.check_model(m)
    onnx.save(m, f"{out}/{name}.onnx")
    np.save(f"{out}/{name}_input.npy", x)

L = [(16, 3, 1, 1, 1, 1, "relu", True, "perch"), (16, 3, 2, 1, 1, 16, "clip6", True, "perch"),
     (24, 1, 1, 0, 1, 1, None, False, "pertensor"), (24, 3, 1, 2, 2, 4, None, True, "perch"),
     (12, 3, 1, 1, 1, 1, "clip1", True, "perch"), (8, 1, 1, 0, 1, 1, None, True, "perch")]
build("qdq_u8", False, L)
build("qdq_s8", True, L)
# ORT feeds the int32 bias to the integer kernel as is (at scale x_scale * w_scale): a bias DQ with
# another scale tells a fused run (ORT, edgeopt with fuse_qdq) from float math between Q and DQ
build("qdq_bias_scale", False, L, bias_scale_mult=8.0)
build("qdq_u8w", False, [(16, 3, 1, 1, 1, 1, "relu", True, "u8"), (8, 3, 1, 0, 1, 2, None, False, "u8")])
