#!/usr/bin/python3
"""Builds the ONNX models that tests/unit/test_save.c round-trips through eo_model_save.

    /usr/bin/python3 scripts/make_save_fixtures.py OUT_DIR

Writes into OUT_DIR (created if missing):
    meta13.onnx      opset 13: doc strings everywhere, metadata_props, value_info, a model-local
                     function in domain "custom.fn" (so not runnable: load with allow_unsupported_ops),
                     initializers in every encoding (raw_data; float_data; int32_data for
                     int8/uint8/int16/uint16/int32/bool/float16/bfloat16; int64_data; double_data;
                     uint64_data for uint32/uint64; a string tensor)
    ir3_opset7.onnx  IR 3 / opset 7: initializers also listed as graph inputs, Gemm/Clip attributes
    opset17.onnx     opset 17: LayerNormalization, Conv (ints attributes), Pad (string attribute),
                     Constant (tensor attribute), an If whose branches read an outer initializer
    external/external.onnx + external/external.onnx.data
                     opset 13, every initializer in the external data file
Every model passes onnx.checker. Deterministic: same bytes on every run.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

TP = TensorProto


def typed(name, dtype, dims, field, values, doc=None):
    """A TensorProto that stores `values` in the typed field `field` (no raw_data)."""
    t = TensorProto()
    t.name = name
    t.data_type = dtype
    t.dims.extend(dims)
    getattr(t, field).extend(values)
    if doc:
        t.doc_string = doc
    return t


def raw(name, arr, doc=None):
    t = numpy_helper.from_array(arr, name)  # numpy_helper writes raw_data for numeric types
    if doc:
        t.doc_string = doc
    return t


def f16_bits(vals):
    return [int(b) for b in np.array(vals, dtype=np.float16).view(np.uint16)]


def bf16_bits(vals):
    return [int(b) >> 16 for b in np.array(vals, dtype=np.float32).view(np.uint32)]


def every_encoding(with_bf16=True, with_string=True):
    """Initializers in every encoding; the caller exposes each through an Identity."""
    rng = np.random.RandomState(7)
    inits = [
        raw("w_raw_f32", rng.randn(2, 3).astype(np.float32), doc="float32 in raw_data"),
        typed("w_f32_typed", TP.FLOAT, [3], "float_data", [1.5, -2.25, 3.0e-8], doc="float32 in float_data"),
        typed("w_i8", TP.INT8, [4], "int32_data", [-128, -1, 0, 127]),
        typed("w_u8", TP.UINT8, [4], "int32_data", [0, 1, 128, 255]),
        typed("w_i16", TP.INT16, [3], "int32_data", [-32768, 5, 32767]),
        typed("w_u16", TP.UINT16, [3], "int32_data", [0, 40000, 65535]),
        typed("w_i32", TP.INT32, [3], "int32_data", [-2147483648, 0, 2147483647]),
        typed("w_bool", TP.BOOL, [3], "int32_data", [1, 0, 1]),
        typed("w_f16", TP.FLOAT16, [3], "int32_data", f16_bits([1.0, -0.5, 65504.0])),
        typed("w_i64", TP.INT64, [2, 2], "int64_data", [-(2 ** 63), -1, 0, 2 ** 63 - 1]),
        typed("w_f64", TP.DOUBLE, [3], "double_data", [1e300, -0.0, 3.141592653589793]),
        typed("w_u32", TP.UINT32, [2], "uint64_data", [0, 4294967295]),
        typed("w_u64", TP.UINT64, [2], "uint64_data", [1, 18446744073709551615]),
        raw("w_raw_i64", np.arange(6, dtype=np.int64).reshape(3, 2)),
        raw("w_scalar", np.array(2.5, dtype=np.float32)),
        raw("w_empty", np.zeros((0, 3), dtype=np.float32)),
    ]
    if with_bf16:
        inits.append(typed("w_bf16", TP.BFLOAT16, [3], "int32_data", bf16_bits([1.0, -2.0, 0.15625])))
    if with_string:
        inits.append(helper.make_tensor("w_str", TP.STRING, [2], [b"hello", b"wor\x00ld"]))
    return inits


def identity_outputs(inits, prefix="id_"):
    nodes, outs = [], []
    for t in inits:
        out = prefix + t.name
        nodes.append(helper.make_node("Identity", [t.name], [out], name="Identity_" + t.name))
        outs.append(helper.make_tensor_value_info(out, t.data_type, list(t.dims)))
    return nodes, outs


def meta13():
    inits = every_encoding()
    id_nodes, id_outs = identity_outputs(inits)
    fn = helper.make_function(
        "custom.fn", "ScaleAdd", ["x", "s"], ["y"],
        [helper.make_node("Mul", ["x", "s"], ["t"]), helper.make_node("Add", ["t", "x"], ["y"])],
        [helper.make_opsetid("", 13)], doc_string="y = x * s + x")
    nodes = [
        helper.make_node("Add", ["X", "w_raw_f32"], ["a"], name="add0", doc_string="adds a raw_data weight"),
        helper.make_node("Mul", ["a", "w_scalar"], ["b"], name="mul0"),
        helper.make_node("ScaleAdd", ["b", "w_scalar"], ["c"], name="fn0", domain="custom.fn"),
        helper.make_node("Transpose", ["c"], ["Y"], name="tr0", perm=[1, 0]),
    ] + id_nodes
    graph = helper.make_graph(
        nodes, "meta_graph",
        [helper.make_tensor_value_info("X", TP.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("Y", TP.FLOAT, [3, "batch"])] + id_outs,
        initializer=inits, doc_string="graph doc",
        value_info=[helper.make_tensor_value_info("a", TP.FLOAT, ["batch", 3]),
                    helper.make_tensor_value_info("b", TP.FLOAT, ["batch", 3])])
    m = helper.make_model(graph, producer_name="edgeopt-fixtures", producer_version="1.0",
                          opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("custom.fn", 1)],
                          functions=[fn], doc_string="model doc", domain="org.edgeopt.test", model_version=42)
    m.ir_version = 8
    helper.set_model_props(m, {"author": "edgeopt", "license": "MIT", "empty": ""})
    return m


def ir3_opset7():
    rng = np.random.RandomState(3)
    inits = [
        raw("W", rng.randn(4, 3).astype(np.float32)),
        typed("B", TP.FLOAT, [4], "float_data", [0.5, -0.5, 1.0, 0.0]),
    ] + every_encoding(with_bf16=False, with_string=False)[1:]
    id_nodes, id_outs = identity_outputs(inits[2:])
    nodes = [
        helper.make_node("Gemm", ["X", "W", "B"], ["g"], name="gemm", alpha=0.5, beta=2.0, transB=1),
        helper.make_node("Clip", ["g"], ["Y"], name="clip", min=-1.0, max=1.0),
    ] + id_nodes
    inputs = [helper.make_tensor_value_info("X", TP.FLOAT, [2, 3])]
    inputs += [helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in inits]  # IR < 4
    graph = helper.make_graph(nodes, "ir3", inputs, [helper.make_tensor_value_info("Y", TP.FLOAT, [2, 4])] + id_outs,
                              initializer=inits)
    m = helper.make_model(graph, producer_name="edgeopt-fixtures", opset_imports=[helper.make_opsetid("", 7)])
    m.ir_version = 3
    return m


def opset17():
    rng = np.random.RandomState(17)
    const_val = numpy_helper.from_array(np.array([1.0, 2.0, 3.0, 4.0], dtype=np.float32), "cval")
    then_g = helper.make_graph(
        [helper.make_node("Add", ["ln", "outer_bias"], ["then_out"], name="then_add")], "then",
        [], [helper.make_tensor_value_info("then_out", TP.FLOAT, None)])
    else_g = helper.make_graph(
        [helper.make_node("Sub", ["ln", "outer_bias"], ["else_out"], name="else_sub")], "else",
        [], [helper.make_tensor_value_info("else_out", TP.FLOAT, None)])
    nodes = [
        helper.make_node("Conv", ["X", "Wc", "Bc"], ["conv"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                         strides=[1, 1], dilations=[1, 1], group=1),
        helper.make_node("Pad", ["conv", "pads"], ["padded"], name="pad", mode="reflect"),
        helper.make_node("LayerNormalization", ["padded", "ln_scale", "ln_bias"], ["ln"], name="ln", axis=-1,
                         epsilon=1e-5),
        helper.make_node("Constant", [], ["c"], name="const", value=const_val),
        helper.make_node("ReduceSum", ["c"], ["csum"], name="rsum", keepdims=0),
        helper.make_node("Greater", ["csum", "zero"], ["cond"], name="gt"),
        helper.make_node("If", ["cond"], ["Y"], name="if", then_branch=then_g, else_branch=else_g),
        helper.make_node("Cast", ["Y"], ["Y16"], name="cast", to=TP.FLOAT16),
    ]
    inits = [
        raw("Wc", rng.randn(2, 1, 3, 3).astype(np.float32)),
        raw("Bc", rng.randn(2).astype(np.float32)),
        raw("pads", np.array([0, 0, 1, 1, 0, 0, 1, 1], dtype=np.int64)),
        raw("ln_scale", rng.randn(6).astype(np.float32)),
        typed("ln_bias", TP.FLOAT, [6], "float_data", [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]),
        raw("zero", np.array(0.0, dtype=np.float32)),
        raw("outer_bias", rng.randn(6).astype(np.float32)),  # read only inside the If branches
    ]
    graph = helper.make_graph(nodes, "opset17", [helper.make_tensor_value_info("X", TP.FLOAT, [1, 1, 4, 4])],
                              [helper.make_tensor_value_info("Y", TP.FLOAT, [1, 2, 6, 6]),
                               helper.make_tensor_value_info("Y16", TP.FLOAT16, [1, 2, 6, 6])],
                              initializer=inits)
    m = helper.make_model(graph, producer_name="edgeopt-fixtures", opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


def external(out_dir):
    rng = np.random.RandomState(13)
    inits = [
        raw("W", rng.randn(3, 4).astype(np.float32)),
        raw("b", rng.randn(4).astype(np.float32)),
        raw("k", np.array([1, 4], dtype=np.int64)),
    ]
    nodes = [helper.make_node("MatMul", ["X", "W"], ["mm"], name="mm"),
             helper.make_node("Add", ["mm", "b"], ["add"], name="add"),
             helper.make_node("Reshape", ["add", "k"], ["Y"], name="reshape")]
    graph = helper.make_graph(nodes, "ext", [helper.make_tensor_value_info("X", TP.FLOAT, [1, 3])],
                              [helper.make_tensor_value_info("Y", TP.FLOAT, [1, 4])], initializer=inits)
    m = helper.make_model(graph, producer_name="edgeopt-fixtures", opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    d = os.path.join(out_dir, "external")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "external.onnx")
    data = path + ".data"
    if os.path.exists(data):
        os.remove(data)  # save_model appends to an existing data file
    onnx.save_model(m, path, save_as_external_data=True, all_tensors_to_one_file=True,
                    location="external.onnx.data", size_threshold=0)
    onnx.checker.check_model(path)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, fn in (("meta13", meta13), ("ir3_opset7", ir3_opset7), ("opset17", opset17)):
        m = fn()
        onnx.checker.check_model(m)
        onnx.save(m, os.path.join(out, name + ".onnx"))
    external(out)


if __name__ == "__main__":
    main()
