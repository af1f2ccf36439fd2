#!/usr/bin/python3
"""QDQ models with the non-Conv groups ONNX Runtime fuses (tests/cli/test_qgroups_vs_ort.sh and
tests/ops/test_qlinear_fuse.c): per 8-bit dtype one model, qgroups_u8.onnx / qgroups_s8.onnx, whose
outputs each come from one group:
  add      DQ(a), DQ(b) -> Add -> Q                 (different scales and zero points)
  addb     Add with a broadcast constant [1, C, 1, 1] operand
  addrelu  Add -> Relu -> Q with Q's range at or above 0 (a Relu ORT drops)
  mul      DQ(a), DQ(b) -> Mul -> Q
  mulb     Mul with a broadcast scalar constant
  sig      DQ -> Sigmoid -> Q over all 256 codes, three scale pairs (sig0..sig2)
  cat      Concat of three tensors, one at the output's scale and zero point (copied), two requantized
  gap      GlobalAveragePool [1, 16, 7, 7]
  pool     MaxPool 3x3 stride 2 pad 1 with the same scale/zero point in and out (ORT drops the Q/DQ)
  rt       Reshape -> Transpose with the same parameters (Q/DQ dropped)
  sm, sml  Softmax on axis 1 and on the last axis (QLinearSoftmax)
  split0/1 Split with both outputs quantized at the input's parameters (Q/DQ dropped)
  gemm     Gemm with int8 per-channel weights and an int32 bias, quantized output (QGemm)
  notfused Add -> Q whose Add output is also read by a float Neg (two consumers: ORT keeps the group
           float, and so must edgeopt)
Inputs: x [1, 8, 16, 16] and x2 [1, 8, 16, 16] float32 (qgroups_<dt>_x.npy, _x2.npy), x7 [1, 16, 7, 7],
xg [2, 24], and codes [1, 3, 256] (every code for the Sigmoid models, _codes.npy). Every output is DequantizeLinear of the group's Q,
so a 1-step difference shows as one scale.
usage: make_qgroups_fixtures.py OUTDIR"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def build(dt):
    s8 = dt == "s8"
    qt = TensorProto.INT8 if s8 else TensorProto.UINT8
    npt = np.int8 if s8 else np.uint8
    nodes, inits, outputs = [], [], []
    rng = np.random.default_rng(11 if s8 else 7)

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def qparams(name, scale, zp):
        return const(name + "_s", np.float32(scale)), const(name + "_z", np.array(zp, dtype=npt))

    def q(x, name, scale, zp):
        s, z = qparams(name, scale, zp)
        nodes.append(helper.make_node("QuantizeLinear", [x, s, z], [name + "_q"], name=name + "_Q"))
        return name + "_q", s, z

    def dq(xq, s, z, name):
        nodes.append(helper.make_node("DequantizeLinear", [xq, s, z], [name + "_dq"], name=name + "_DQ"))
        return name + "_dq"

    def qdq(x, name, scale, zp):
        xq, s, z = q(x, name, scale, zp)
        return dq(xq, s, z, name)

    def output(y, name, scale, zp, shape):
        xq, s, z = q(y, name, scale, zp)
        nodes.append(helper.make_node("DequantizeLinear", [xq, s, z], [name], name=name + "_out"))
        outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))

    zA, zB, zC = (-3, 5, -10) if s8 else (120, 131, 118)
    shp = [1, 8, 16, 16]
    a = qdq("x", "a", 0.031, zA)
    b = qdq("x2", "b", 0.047, zB)
    nodes.append(helper.make_node("Add", [a, b], ["add_y"], name="add"))
    output("add_y", "add", 0.053, zC, shp)

    cb = rng.integers(-100 if s8 else 0, 100 if s8 else 255, size=(1, 8, 1, 1)).astype(npt)
    const("cb_q", cb)
    cs, cz = qparams("cb", 0.02, 7 if s8 else 90)
    bc = dq("cb_q", cs, cz, "cbd")
    nodes.append(helper.make_node("Add", [a, bc], ["addb_y"], name="addb"))
    output("addb_y", "addb", 0.04, zC, shp)

    nodes.append(helper.make_node("Add", [a, b], ["addr_y"], name="addrelu"))
    nodes.append(helper.make_node("Relu", ["addr_y"], ["addr_r"], name="addrelu_relu"))
    output("addr_r", "addrelu", 0.03, -128 if s8 else 0, shp)

    nodes.append(helper.make_node("Mul", [a, b], ["mul_y"], name="mul"))
    output("mul_y", "mul", 0.09, zC, shp)

    ms, mz = qparams("ms", 0.013, 3 if s8 else 128)
    const("ms_q", np.array(77 if s8 else 205, dtype=npt))
    msd = dq("ms_q", ms, mz, "msd")
    nodes.append(helper.make_node("Mul", [b, msd], ["mulb_y"], name="mulb"))
    output("mulb_y", "mulb", 0.021, zC, shp)

    # Sigmoid over every code: codes input is float (code - zp) * scale, quantized back exactly
    for k, (xs, xz, ys, yz) in enumerate([(0.05, 0, 1 / 256, -128), (0.11, 10, 0.004, -120), (0.02, -20, 0.0039, -100)]):
        if not s8:
            xz, yz = xz + 128, yz + 128
        nodes.append(helper.make_node("Slice", ["codes", const(f"sl{k}_st", np.array([k], np.int64)),
                                                const(f"sl{k}_en", np.array([k + 1], np.int64)),
                                                const(f"sl{k}_ax", np.array([1], np.int64))], [f"codes{k}"],
                                      name=f"slice{k}"))
        sx = qdq(f"codes{k}", f"sigx{k}", xs, xz)
        nodes.append(helper.make_node("Sigmoid", [sx], [f"sig{k}_y"], name=f"sig{k}"))
        output(f"sig{k}_y", f"sig{k}", ys, yz, [1, 1, 256])

    c1 = qdq("x", "c1", 0.05, zC)  # the output's parameters: copied
    c2 = qdq("x2", "c2", 0.02, zB)
    c3 = qdq("x", "c3", 0.08, zA)
    nodes.append(helper.make_node("Concat", [c1, c2, c3], ["cat_y"], name="cat", axis=1))
    output("cat_y", "cat", 0.05, zC, [1, 24, 16, 16])

    g1 = qdq("x7", "gx", 0.04, zA)
    nodes.append(helper.make_node("GlobalAveragePool", [g1], ["gap_y"], name="gap"))
    output("gap_y", "gap", 0.011, zB, [1, 16, 1, 1])

    p1 = qdq("x", "px", 0.03, zA)
    nodes.append(helper.make_node("MaxPool", [p1], ["pool_y"], name="pool", kernel_shape=[3, 3], strides=[2, 2],
                                  pads=[1, 1, 1, 1]))
    output("pool_y", "pool", 0.03, zA, [1, 8, 8, 8])

    nodes.append(helper.make_node("Reshape", [p1, const("rs", np.array([1, 8, 256], np.int64))], ["rs_y"], name="rs"))
    r1 = qdq("rs_y", "rsq", 0.03, zA)
    nodes.append(helper.make_node("Transpose", [r1], ["rt_y"], name="rt", perm=[0, 2, 1]))
    output("rt_y", "rt", 0.03, zA, [1, 256, 8])

    nodes.append(helper.make_node("Softmax", [a], ["sm_y"], name="sm", axis=1))
    output("sm_y", "sm", 1 / 256, -128 if s8 else 0, shp)
    nodes.append(helper.make_node("Softmax", [b], ["sml_y"], name="sml"))  # opset 13 default: last axis
    output("sml_y", "sml", 1 / 256, -128 if s8 else 0, shp)

    nodes.append(helper.make_node("Split", [p1, const("sp", np.array([3, 5], np.int64))], ["sp0", "sp1"], name="split",
                                  axis=1))
    output("sp0", "split0", 0.03, zA, [1, 3, 16, 16])
    output("sp1", "split1", 0.03, zA, [1, 5, 16, 16])

    # Gemm: A [2, 24], int8 weights [10, 24] per output channel (axis 0, transB), int32 bias at
    # a_scale * w_scale, quantized output (QGemm)
    ga = qdq("xg", "ga", 0.02, zA)
    const("gw_q", rng.integers(-127, 128, size=(10, 24)).astype(np.int8))
    gws = rng.uniform(0.005, 0.02, 10).astype(np.float32)
    const("gw_s", gws)
    const("gw_z", np.zeros(10, np.int8))
    nodes.append(helper.make_node("DequantizeLinear", ["gw_q", "gw_s", "gw_z"], ["gw_dq"], name="gw_DQ", axis=0))
    const("gb_q", rng.integers(-2000, 2000, size=10).astype(np.int32))
    const("gb_s", (np.float32(0.02) * gws).astype(np.float32))
    const("gb_z", np.zeros(10, np.int32))
    nodes.append(helper.make_node("DequantizeLinear", ["gb_q", "gb_s", "gb_z"], ["gb_dq"], name="gb_DQ", axis=0))
    nodes.append(helper.make_node("Gemm", [ga, "gw_dq", "gb_dq"], ["gemm_y"], name="gemm", transB=1))
    output("gemm_y", "gemm", 0.05, zC, [2, 10])

    nodes.append(helper.make_node("Add", [a, b], ["nf_y"], name="notfused"))
    nodes.append(helper.make_node("Neg", ["nf_y"], ["nf_neg"], name="notfused_neg"))
    output("nf_y", "notfused", 0.053, zC, shp)
    outputs.append(helper.make_tensor_value_info("nf_neg", TensorProto.FLOAT, shp))

    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, shp),
              helper.make_tensor_value_info("x2", TensorProto.FLOAT, shp),
              helper.make_tensor_value_info("x7", TensorProto.FLOAT, [1, 16, 7, 7]),
              helper.make_tensor_value_info("codes", TensorProto.FLOAT, [1, 3, 256]),
              helper.make_tensor_value_info("xg", TensorProto.FLOAT, [2, 24])]
    graph = helper.make_graph(nodes, f"qgroups_{dt}", inputs, outputs, inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(out, f"qgroups_{dt}.onnx"))

    np.save(os.path.join(out, f"qgroups_{dt}_x.npy"), rng.uniform(-4, 4, shp).astype(np.float32))
    np.save(os.path.join(out, f"qgroups_{dt}_x2.npy"), rng.uniform(-5, 5, shp).astype(np.float32))
    np.save(os.path.join(out, f"qgroups_{dt}_x7.npy"), rng.uniform(-3, 6, [1, 16, 7, 7]).astype(np.float32))
    np.save(os.path.join(out, f"qgroups_{dt}_xg.npy"), rng.uniform(-2, 2, [2, 24]).astype(np.float32))
    codes = np.zeros([1, 3, 256], np.float32)
    for k, (xs, xz) in enumerate([(0.05, 0), (0.11, 10), (0.02, -20)]):
        if not s8:
            xz += 128
        lo = -128 if s8 else 0
        codes[0, k] = (np.arange(lo, lo + 256) - xz).astype(np.float32) * np.float32(xs)
    np.save(os.path.join(out, f"qgroups_{dt}_codes.npy"), codes)


build("u8")
build("s8")
