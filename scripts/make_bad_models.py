#!/usr/bin/python3
"""Writes the bad-input fixtures of tests/unit/test_load_errors.c into OUTDIR (Debian python3-onnx)."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def model(nodes, inputs, outputs, inits=(), opset=13):
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 7
    return m


def save(m, name):
    with open(os.path.join(out, name), "wb") as f:
        f.write(m.SerializeToString())


X = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])
Y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)

ok = model([helper.make_node("Relu", ["x"], ["y"], name="relu0")], [X], [Y])
save(ok, "ok.onnx")
data = ok.SerializeToString()
with open(os.path.join(out, "truncated.onnx"), "wb") as f:
    f.write(data[: len(data) // 2])
with open(os.path.join(out, "png_magic.onnx"), "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + bytes(range(200)))
with open(os.path.join(out, "garbage.onnx"), "wb") as f:
    f.write(bytes((i * 37 + 11) % 256 for i in range(4096)))
open(os.path.join(out, "empty.onnx"), "wb").close()

save(model([helper.make_node("Add", ["x", "t2"], ["t1"], name="add_a"),
            helper.make_node("Relu", ["t1"], ["t2"], name="relu_b"),
            helper.make_node("Identity", ["t1"], ["y"], name="out")], [X], [Y]), "cycle.onnx")

save(model([helper.make_node("Conv", ["x", "conv1.weight"], ["y"], name="conv1")], [X], [Y]),
     "missing_initializer.onnx")

save(model([helper.make_node("FooBar", ["x"], ["a"], name="mystery_1", domain="com.example"),
            helper.make_node("Relu", ["a"], ["b"], name="fine"),
            helper.make_node("LpNormalization", ["b"], ["y"], name="lpnorm_7")], [X], [Y]),
     "unsupported.onnx")

save(model([helper.make_node("Relu", ["x"], ["y"], name="relu0")], [X], [Y], opset=22), "future_opset.onnx")

w = numpy_helper.from_array(np.ones((3, 3, 1, 1), np.float32), "w")
w.raw_data = w.raw_data[:-4]
save(model([helper.make_node("Conv", ["x", "w"], ["y"], name="conv_bad")], [X], [Y], [w]), "raw_size.onnx")

ext = numpy_helper.from_array(np.ones((3, 3, 1, 1), np.float32), "w")
ext.ClearField("raw_data")
ext.data_location = TensorProto.EXTERNAL
ext.external_data.add(key="location", value="../../etc/passwd")
save(model([helper.make_node("Conv", ["x", "w"], ["y"], name="conv_ext")], [X], [Y], [ext]), "external_escape.onnx")

save(model([helper.make_node("Relu", ["x"], ["y"], name="r1"),
            helper.make_node("Sigmoid", ["x"], ["y"], name="r2")], [X], [Y]), "two_producers.onnx")

save(model([helper.make_node("Relu", ["x"], ["y"], name="relu0")], [X],
           [helper.make_tensor_value_info("nowhere", TensorProto.FLOAT, None)]), "missing_output.onnx")

XS = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 4, 4])
save(model([helper.make_node("Relu", ["x"], ["y"], name="relu0")], [XS], [Y]), "symbolic.onnx")

save(model([helper.make_node("Reshape", ["x", "x"], ["y"], name="reshape_bad")], [X], [Y]), "reshape_float_shape.onnx")
