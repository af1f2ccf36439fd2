#!/usr/bin/env python3
"""Op-coverage fixtures for the TFLite writer (tests/cli/test_tflite_ops.sh).

usage: /usr/bin/python3 scripts/gen_tflite_op_fixtures.py OUTDIR

For each op family the writer maps (Slice/StridedSlice, Gather, Exp, LeakyRelu, PRelu, HardSwish and
HardSigmoid, ConvTranspose, MatMul of two activations) it writes, from one description:
  OUTDIR/<fx>.onnx       the float model (several outputs, each exercising one form of the op)
  OUTDIR/<fx>.qdq.onnx   a static-INT8 QDQ model of the single-op outputs, as ONNX Runtime's
                         quantizer lays them out: uint8 activations (Q -> DQ after the input and after
                         each op), int8 weights (per output channel for ConvTranspose), int32 bias
                         with scale s_in * s_w; parameters from the min/max of the test input and of
                         each op's numpy/torch output on it
  OUTDIR/<fx>.<input>.npy / .nhwc.npy      the test input (NCHW for edgeopt, NHWC for TFLite)
  OUTDIR/<fx>.<input>.q.npy / .q.nhwc.npy  the same snapped to the QDQ input's grid (so the QDQ
                                           model's QuantizeLinear and TFLite's QUANTIZE agree)
  OUTDIR/<fx>.qdq.scales  "output scale" lines: each QDQ output's quantization step
  OUTDIR/fixtures.txt     "<fx> <input,input...> <1: has a QDQ model, 0: float only>" lines
Everything is generated (seeded), nothing is committed.
"""
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(2026)


def uniform(shape, lo, hi):
    return rng.uniform(lo, hi, shape).astype(np.float32)


class Fixture:
    """Graph inputs, then ops: (onnx op, activation inputs, constants, attrs, output, numpy reference,
    in_qdq). A constant is (name, array, kind): 'int' (indices, bounds: as is), 'float' (int8
    per-tensor in the QDQ model), 'weight1' (int8 per channel on axis 1), 'bias' (int32)."""

    def __init__(self, name, opset=13):
        self.name, self.opset = name, opset
        self.inputs = {}
        self.ops = []

    def input(self, name, x):
        self.inputs[name] = x

    def op(self, op_type, acts, consts, out, ref, qdq=True, pre=None, graph_out=True, **attrs):
        self.ops.append(dict(op=op_type, acts=acts, consts=consts, out=out, ref=ref, qdq=qdq, pre=pre,
                             graph_out=graph_out, attrs=attrs))


def qparams_u8(a):
    lo, hi = min(float(a.min()), 0.0), max(float(a.max()), 0.0)
    s = (hi - lo) / 255.0 if hi > lo else 1.0
    z = int(np.clip(np.rint(-lo / s), 0, 255))
    return np.float32(s), np.uint8(z)


def snap(x, s, z):
    q = np.clip(np.rint(x / s) + int(z), 0, 255)
    return ((q - int(z)) * s).astype(np.float32)


def nhwc(a):
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)) if a.ndim == 4 else a


def vi(name, a, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, list(a.shape))


def save_model(fx, nodes, inits, outs, path):
    g = helper.make_graph(nodes, fx.name, [vi(n, x) for n, x in fx.inputs.items()], outs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", fx.opset)])
    m.ir_version = 7
    onnx.checker.check_model(m)
    onnx.save(m, path)


def write(fx, out):
    # float model
    nodes, inits, outs, seen = [], [], [], set()
    for o in fx.ops:
        ins = list(o["acts"])
        if o["pre"]:  # a float-only producer (a Conv) in front of the op
            pre_op, pre_in, pre_consts, pre_out, pre_attrs = o["pre"]
            for cn, ca, _ in pre_consts:
                if cn not in seen:
                    inits.append(numpy_helper.from_array(ca, cn)), seen.add(cn)
            nodes.append(helper.make_node(pre_op, pre_in + [c[0] for c in pre_consts], [pre_out], name=pre_out + "_node",
                                          **pre_attrs))
            ins = [pre_out]
        for cn, ca, _ in o["consts"]:  # named after the op's output: fixtures reuse constant names
            inits.append(numpy_helper.from_array(ca, f"{o['out']}_{cn}"))
        nodes.append(helper.make_node(o["op"], ins + [f"{o['out']}_{c[0]}" if c else "" for c in o["consts"]],
                                      [o["out"]], name=o["out"] + "_node", **o["attrs"]))
        if o["graph_out"]:
            outs.append(vi(o["out"], o["ref"]))
    save_model(fx, nodes, inits, outs, f"{out}/{fx.name}.onnx")
    for n, x in fx.inputs.items():
        np.save(f"{out}/{fx.name}.{n}.npy", x)
        np.save(f"{out}/{fx.name}.{n}.nhwc.npy", nhwc(x))
    # QDQ model of the single-op outputs (ranges from the float outputs: the test input is the
    # calibration set)
    qops = [o for o in fx.ops if o["qdq"]]
    if not qops:
        return f"{fx.name} {','.join(fx.inputs)} 0"
    nodes, inits, outs, scales = [], [], [], []
    inq = {}
    for n, x in fx.inputs.items():
        s, z = qparams_u8(x)
        inq[n] = (s, z)
        inits += [numpy_helper.from_array(np.array(s), f"{n}_scale"), numpy_helper.from_array(np.array(z), f"{n}_zp")]
        nodes += [helper.make_node("QuantizeLinear", [n, f"{n}_scale", f"{n}_zp"], [f"{n}_q"], name=f"{n}_Q"),
                  helper.make_node("DequantizeLinear", [f"{n}_q", f"{n}_scale", f"{n}_zp"], [f"{n}_dq"], name=f"{n}_DQ")]
        xq = snap(x, s, z)
        np.save(f"{out}/{fx.name}.{n}.q.npy", xq)
        np.save(f"{out}/{fx.name}.{n}.q.nhwc.npy", nhwc(xq))
    for o in qops:
        # the op's reference on the snapped inputs sets its output range
        ins = [f"{a}_dq" for a in o["acts"]]
        s_in = inq[o["acts"][0]][0]
        w_scales = None
        for c in o["consts"]:
            if not c:
                ins.append("")
                continue
            cn, ca, kind = c
            if kind == "int":
                inits.append(numpy_helper.from_array(ca, f"{o['out']}_{cn}"))
                ins.append(f"{o['out']}_{cn}")
                continue
            if kind == "float":
                ws = np.float32(max(float(np.abs(ca).max()), 1e-8) / 127.0)
                qa, sc, zp, axis = np.clip(np.rint(ca / ws), -127, 127).astype(np.int8), np.array(ws), np.array(np.int8(0)), None
            elif kind == "weight1":
                ws = np.maximum(np.abs(ca).max(axis=(0, 2, 3)), 1e-8).astype(np.float32) / 127.0
                w_scales = ws
                qa = np.clip(np.rint(ca / ws[None, :, None, None]), -127, 127).astype(np.int8)
                sc, zp, axis = ws, np.zeros(len(ws), np.int8), 1
            else:  # bias: int32 at s_in * s_w
                bs = (s_in * w_scales).astype(np.float32)
                qa, sc, zp, axis = np.rint(ca / bs).astype(np.int32), bs, np.zeros(len(bs), np.int32), 0
            base = f"{o['out']}_{cn}"
            inits += [numpy_helper.from_array(qa, f"{base}_q"), numpy_helper.from_array(sc, f"{base}_scale"),
                      numpy_helper.from_array(zp, f"{base}_zp")]
            kw = {"axis": axis} if axis is not None else {}
            nodes.append(helper.make_node("DequantizeLinear", [f"{base}_q", f"{base}_scale", f"{base}_zp"], [base],
                                          name=f"{base}_DQ", **kw))
            ins.append(base)
        s, z = qparams_u8(o["ref"])
        scales.append(f"{o['out']} {s!r}")
        f = f"{o['out']}_f"
        inits += [numpy_helper.from_array(np.array(s), f"{f}_scale"), numpy_helper.from_array(np.array(z), f"{f}_zp")]
        nodes += [helper.make_node(o["op"], ins, [f], name=o["out"] + "_node", **o["attrs"]),
                  helper.make_node("QuantizeLinear", [f, f"{f}_scale", f"{f}_zp"], [f"{f}_q"], name=f"{f}_Q"),
                  helper.make_node("DequantizeLinear", [f"{f}_q", f"{f}_scale", f"{f}_zp"], [o["out"]], name=f"{f}_DQ")]
        outs.append(vi(o["out"], o["ref"]))
    save_model(fx, nodes, inits, outs, f"{out}/{fx.name}.qdq.onnx")
    with open(f"{out}/{fx.name}.qdq.scales", "w") as fh:
        fh.write("\n".join(scales) + "\n")
    return f"{fx.name} {','.join(fx.inputs)} 1"


def conv_pre(x, cout, name, k=3):
    """A float-only Conv in front of an op (so FP32/FP16 fuse the activation into it)."""
    w = uniform((cout, x.shape[1], k, k), -0.3, 0.3)
    b = uniform((cout,), -0.2, 0.2)
    y = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), padding=k // 2).numpy()
    return ("Conv", ["x"], [(f"{name}_w", w, "float"), (f"{name}_b", b, "float")], f"{name}_conv", {"pads": [k // 2] * 4}), y


def fixtures():
    fxs = []
    i64 = lambda v: np.array(v, np.int64)

    fx = Fixture("slice")  # SLICE (unit steps) and STRIDED_SLICE (steps 2, 3 and -2 past index 0)
    x = uniform((1, 6, 10, 12), -2, 2)
    fx.input("x", x)
    fx.op("Slice", ["x"], [("starts", i64([1, 2, 3]), "int"), ("ends", i64([5, 9, 12]), "int"),
                           ("axes", i64([1, 2, 3]), "int")], "y_slice", x[:, 1:5, 2:9, 3:12])
    fx.op("Slice", ["x"], [("starts", i64([1, 2, -1]), "int"), ("ends", i64([6, 9, -100]), "int"),
                           ("axes", i64([1, 2, 3]), "int"), ("steps", i64([2, 3, -2]), "int")],
          "y_strided", x[:, 1:6:2, 2:9:3, -1:-100:-2])
    fxs.append(fx)

    fx = Fixture("gather")  # channel axis (rank 4 -> 4), a scalar index (-> rank 3), 2-D indices (-> rank 5)
    x = uniform((1, 6, 10, 12), -2, 2)
    fx.input("x", x)
    fx.op("Gather", ["x"], [("idx", i64([4, 0, -1]), "int")], "y_channels", np.take(x, [4, 0, 5], axis=1), axis=1)
    fx.op("Gather", ["x"], [("idx", np.array(2, np.int64), "int")], "y_row", np.take(x, 2, axis=2), axis=2)
    fx.op("Gather", ["x"], [("idx", i64([[0, 1], [3, 2]]), "int")], "y_cols", np.take(x, [[0, 1], [3, 2]], axis=3),
          axis=3)
    fxs.append(fx)

    fx = Fixture("exp")
    x = uniform((1, 4, 6, 6), -3, 1.5)
    fx.input("x", x)
    fx.op("Exp", ["x"], [], "y_exp", np.exp(x))
    fxs.append(fx)

    fx = Fixture("leakyrelu")  # standalone LEAKY_RELU, and one fused into a Conv by the FP32 passes
    x = uniform((1, 4, 8, 8), -2, 2)
    fx.input("x", x)
    lrelu = lambda v, a: np.where(v > 0, v, a * v).astype(np.float32)
    fx.op("LeakyRelu", ["x"], [], "y_lrelu", lrelu(x, 0.1), alpha=0.1)
    pre, c = conv_pre(x, 6, "lr")
    fx.op("LeakyRelu", ["x"], [], "y_conv_lrelu", lrelu(c, 0.2), qdq=False, pre=pre, alpha=0.2)
    fxs.append(fx)

    fx = Fixture("prelu")  # per-channel slope [C,1,1] (negative ones too)
    x = uniform((1, 5, 6, 7), -2, 2)
    slope = uniform((5, 1, 1), -0.5, 0.5)
    fx.input("x", x)
    fx.op("PRelu", ["x"], [("slope", slope, "float")], "y_prelu", np.where(x > 0, x, slope * x).astype(np.float32))
    fxs.append(fx)

    fx = Fixture("hardswish", opset=14)  # HardSwish; HardSigmoid*x; HardSigmoid fused into a Conv; HardSigmoid
    x = uniform((1, 4, 8, 8), -5, 5)
    fx.input("x", x)
    hsig = lambda v, a, b: np.clip(a * v + b, 0, 1).astype(np.float32)
    fx.op("HardSwish", ["x"], [], "y_hswish", (x * hsig(x, 1 / 6, 0.5)).astype(np.float32))
    fx.op("HardSigmoid", ["x"], [], "y_hsig", hsig(x, 0.2, 0.5), alpha=0.2, beta=0.5)
    pre, c = conv_pre(x, 6, "hs")
    fx.op("HardSigmoid", ["x"], [], "y_conv_hsig", hsig(c, 0.25, 0.4), qdq=False, pre=pre, alpha=0.25, beta=0.4)
    fxs.append(fx)
    # x * HardSigmoid(x, 1/6, 1/2): nn.Hardswish below opset 14 (one HARD_SWISH in TFLite)
    fx2 = Fixture("hardswish13")
    fx2.input("x", x)
    fx2.op("HardSigmoid", ["x"], [], "gate", hsig(x, 1 / 6, 0.5), qdq=False, graph_out=False, alpha=1 / 6, beta=0.5)
    fx2.op("Mul", ["x", "gate"], [], "y_hswish13", (x * hsig(x, 1 / 6, 0.5)).astype(np.float32), qdq=False)
    fxs.append(fx2)

    fx = Fixture("convtranspose")  # VALID + crop (pads 1, output_padding 1), SAME (pads 1, k 4), VALID
    x = uniform((1, 4, 7, 9), -1, 1)
    fx.input("x", x)
    tx = torch.from_numpy(x)
    for name, cout, k, pads, opad, bias in (("y_crop", 6, 3, 1, 1, True), ("y_same", 3, 4, 1, 0, False),
                                            ("y_valid", 5, 2, 0, 0, True)):
        w = uniform((4, cout, k, k), -0.4, 0.4)
        b = uniform((cout,), -0.3, 0.3) if bias else None
        ref = F.conv_transpose2d(tx, torch.from_numpy(w), torch.from_numpy(b) if bias else None, stride=2,
                                 padding=pads, output_padding=opad).numpy()
        consts = [("w", w, "weight1")] + ([("b", b, "bias")] if bias else [])
        attrs = dict(strides=[2, 2], pads=[pads] * 4, kernel_shape=[k, k])
        if opad:
            attrs["output_padding"] = [opad, opad]
        fx.op("ConvTranspose", ["x"], consts, name, ref, **attrs)
    fxs.append(fx)

    fx = Fixture("matmul")  # two activations: rank 4 (through NCHW transposes) and rank 3 x rank 2 (broadcast)
    a, b = uniform((2, 3, 5, 8), -1, 1), uniform((2, 3, 8, 4), -1, 1)
    c, d = uniform((3, 5, 8), -1, 1), uniform((8, 6), -1, 1)
    for n, v in (("a", a), ("b", b), ("c", c), ("d", d)):
        fx.input(n, v)
    fx.op("MatMul", ["a", "b"], [], "y_mm4", np.matmul(a, b))
    fx.op("MatMul", ["c", "d"], [], "y_mm3", np.matmul(c, d))
    fxs.append(fx)
    return fxs


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    lines = [write(fx, out) for fx in fixtures()]
    with open(f"{out}/fixtures.txt", "w") as fh:
        fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
