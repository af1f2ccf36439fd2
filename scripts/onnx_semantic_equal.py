#!/usr/bin/python3
"""Semantic comparison of two ONNX models: exit 0 when equal, 1 (with the differences) when not.

    /usr/bin/python3 scripts/onnx_semantic_equal.py A.onnx B.onnx [A2.onnx B2.onnx ...] [--ignore-unused-initializers]

Several pairs may be given (one interpreter start for many files); exit 1 if any pair differs.

Compares what a model means, not how it is stored:
  - model fields: ir_version, opset imports ("ai.onnx" == ""), producer, domain, model_version,
    doc_string, metadata_props, functions, training_info;
  - graph: name, doc_string, inputs and outputs (name and type, in order), value_info (by name),
    quantization annotations, sparse initializers;
  - nodes, in order: name, op_type, domain, inputs, outputs, doc_string, attributes by name
    (tensor attributes as numpy arrays, subgraphs recursively);
  - initializers by name as numpy arrays: dtype, shape and exact bytes (external data is loaded,
    so an inlined copy equals its external original; raw_data equals the typed fields).
--ignore-unused-initializers: initializers of A that no node, subgraph or output reads may be
absent from B (a writer may drop them).
"""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

diffs = []


def diff(where, a, b):
    diffs.append(f"{where}: {a!r} != {b!r}")


def domain(d):
    return "" if d in ("", "ai.onnx") else d


def tensor_value(t):
    return numpy_helper.to_array(t)


def arrays_equal(a, b):
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype == object:
        return list(a.ravel()) == list(b.ravel())
    return a.tobytes() == b.tobytes()


def type_str(vi):
    return vi.type.SerializeToString(deterministic=True)


def attr_value(a):
    if a.type == onnx.AttributeProto.TENSOR:
        return ("tensor", tensor_value(a.t))
    if a.type == onnx.AttributeProto.TENSORS:
        return ("tensors", [tensor_value(t) for t in a.tensors])
    if a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
        return ("graph", None)
    v = helper.get_attribute_value(a)
    if isinstance(v, float) or (isinstance(v, list) and v and isinstance(v[0], float)):
        v = np.array(v, dtype=np.float32).tobytes()  # bitwise (NaN, -0.0)
    elif not isinstance(v, (int, bytes, list)):
        v = v.SerializeToString(deterministic=True)
    return (a.type, v)


def compare_attrs(where, na, nb):
    aa = {a.name: a for a in na.attribute}
    ab = {a.name: a for a in nb.attribute}
    if sorted(aa) != sorted(ab):
        diff(where + " attribute names", sorted(aa), sorted(ab))
        return
    for name in aa:
        x, y = aa[name], ab[name]
        if x.type != y.type:
            diff(f"{where} attribute {name} type", x.type, y.type)
            continue
        if x.type == onnx.AttributeProto.GRAPH:
            compare_graph(f"{where} attribute {name}", x.g, y.g, subgraph=True)
            continue
        if x.type == onnx.AttributeProto.GRAPHS:
            if len(x.graphs) != len(y.graphs):
                diff(f"{where} attribute {name} graph count", len(x.graphs), len(y.graphs))
            for i, (g1, g2) in enumerate(zip(x.graphs, y.graphs)):
                compare_graph(f"{where} attribute {name}[{i}]", g1, g2, subgraph=True)
            continue
        vx, vy = attr_value(x), attr_value(y)
        if x.type == onnx.AttributeProto.TENSOR:
            if not arrays_equal(vx[1], vy[1]):
                diff(f"{where} attribute {name} tensor", vx[1], vy[1])
        elif x.type == onnx.AttributeProto.TENSORS:
            if len(vx[1]) != len(vy[1]) or not all(arrays_equal(p, q) for p, q in zip(vx[1], vy[1])):
                diff(f"{where} attribute {name} tensors", vx[1], vy[1])
        elif vx != vy:
            diff(f"{where} attribute {name}", vx, vy)


def used_names(g):
    names = {o.name for o in g.output}
    for n in g.node:
        names.update(n.input)
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                names |= used_names(a.g)
            for sg in a.graphs:
                names |= used_names(sg)
    return names


def compare_graph(where, ga, gb, subgraph=False, ignore_unused=False):
    for field in ("name", "doc_string"):
        if getattr(ga, field) != getattr(gb, field):
            diff(f"{where} graph {field}", getattr(ga, field), getattr(gb, field))
    for field in ("input", "output"):
        la = [(v.name, type_str(v), v.doc_string) for v in getattr(ga, field)]
        lb = [(v.name, type_str(v), v.doc_string) for v in getattr(gb, field)]
        if ignore_unused and field == "input":
            used = used_names(ga)
            init_names = {t.name for t in ga.initializer}
            la = [x for x in la if x[0] not in init_names or x[0] in used]
        if la != lb:
            diff(f"{where} graph {field}s", [x[0] for x in la], [x[0] for x in lb])
    va = {v.name: type_str(v) for v in ga.value_info}
    vb = {v.name: type_str(v) for v in gb.value_info}
    if va != vb:
        diff(f"{where} value_info", sorted(va), sorted(vb))
    for field in ("quantization_annotation", "sparse_initializer"):
        la = [x.SerializeToString(deterministic=True) for x in getattr(ga, field)]
        lb = [x.SerializeToString(deterministic=True) for x in getattr(gb, field)]
        if la != lb:
            diff(f"{where} {field}", len(la), len(lb))
    if len(ga.node) != len(gb.node):
        diff(f"{where} node count", len(ga.node), len(gb.node))
    for i, (na, nb) in enumerate(zip(ga.node, gb.node)):
        w = f"{where} node {i} '{na.name}'"
        for field in ("name", "op_type", "doc_string"):
            if getattr(na, field) != getattr(nb, field):
                diff(f"{w} {field}", getattr(na, field), getattr(nb, field))
        if domain(na.domain) != domain(nb.domain):
            diff(f"{w} domain", na.domain, nb.domain)
        if list(na.input) != list(nb.input):
            diff(f"{w} inputs", list(na.input), list(nb.input))
        if list(na.output) != list(nb.output):
            diff(f"{w} outputs", list(na.output), list(nb.output))
        compare_attrs(w, na, nb)
    ia = {t.name: t for t in ga.initializer}
    ib = {t.name: t for t in gb.initializer}
    if ignore_unused:
        used = used_names(ga) | {v.name for v in ga.input}
        ia = {k: v for k, v in ia.items() if k in used}
    if sorted(ia) != sorted(ib):
        diff(f"{where} initializer names", sorted(ia), sorted(ib))
    for name in sorted(set(ia) & set(ib)):
        x, y = tensor_value(ia[name]), tensor_value(ib[name])
        if not arrays_equal(x, y):
            diff(f"{where} initializer {name}", (x.dtype, x.shape), (y.dtype, y.shape))
        if ia[name].doc_string != ib[name].doc_string:
            diff(f"{where} initializer {name} doc_string", ia[name].doc_string, ib[name].doc_string)


def compare_models(a, b, ignore_unused=False):
    for field in ("ir_version", "producer_name", "producer_version", "domain", "model_version", "doc_string"):
        if getattr(a, field) != getattr(b, field):
            diff(field, getattr(a, field), getattr(b, field))
    oa = {domain(o.domain): o.version for o in a.opset_import}
    ob = {domain(o.domain): o.version for o in b.opset_import}
    if oa != ob:
        diff("opset_import", oa, ob)
    ma = {p.key: p.value for p in a.metadata_props}
    mb = {p.key: p.value for p in b.metadata_props}
    if ma != mb:
        diff("metadata_props", ma, mb)
    for field in ("functions", "training_info"):
        la = [x.SerializeToString(deterministic=True) for x in getattr(a, field)]
        lb = [x.SerializeToString(deterministic=True) for x in getattr(b, field)]
        if la != lb:
            diff(field, len(la), len(lb))
    compare_graph("main", a.graph, b.graph, ignore_unused=ignore_unused)


def main():
    args = [x for x in sys.argv[1:] if not x.startswith("--")]
    if not args or len(args) % 2:
        sys.exit(__doc__)
    bad = 0
    for pa, pb in zip(args[0::2], args[1::2]):
        diffs.clear()
        compare_models(onnx.load(pa), onnx.load(pb), ignore_unused="--ignore-unused-initializers" in sys.argv)
        if diffs:
            bad += 1
            print(f"{pa} vs {pb}: {len(diffs)} difference(s)")
            for d in diffs[:40]:
                print("  " + d)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
