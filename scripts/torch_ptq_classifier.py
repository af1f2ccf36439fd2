#!/usr/bin/python3
"""PyTorch post-training static quantization of examples/classifier.onnx: the peer edgeopt's static
INT8 is compared with (issue 6: "edgeopt must be at least as accurate").

  /usr/bin/python3 scripts/torch_ptq_classifier.py [--model examples/classifier.onnx]
      [--calib-limit 1000] [--seed 0] [--engine onednn|fbgemm|qnnpack] [--json OUT.json]

- Model: the SmallCNN of scripts/train_classifier.py with its batch-norm folded (as exported), rebuilt
  in PyTorch and loaded from the ONNX file's initializers (Conv weights/biases in graph order, the two
  Gemm layers' weights and biases).
- PTQ: torch.ao.quantization eager mode, Conv+ReLU and Linear+ReLU fused, qconfig
  get_default_qconfig(engine). onednn (default; Debian's torch 1.13 has no FBGEMM): HistogramObserver
  activations (uint8, full range) and PerChannelMinMaxObserver int8 symmetric weights; fbgemm: the
  same with reduce_range (7-bit activations); qnnpack: HistogramObserver activations and per-tensor
  MinMax weights. The printed line names the observers actually used.
- Calibration images: the SAME ones `edgeopt quantize --calib <train-images-idx3> --calib-limit N`
  uses: edgeopt's seeded subset of the 60k train images (the splitmix64 Fisher-Yates shuffle that
  include/edgeopt/data.h documents, seed 0), pixels / 255.
- Evaluation: top-1 on the official 10k Fashion-MNIST test images.
Prints "torch_ptq_top1 <value>" (and the FP32 top-1 of the rebuilt model as a check of the rebuild), and the
quantized model's top-1 agreement with the FP32 model and its logits' SQNR vs FP32 (whole test set), figures less
noisy than a top-1 difference of a few images, and the decisions PTQ changed: FP32 right -> PTQ wrong and FP32
wrong -> PTQ right (top-1 moves by the difference of the two).
"""
import argparse
import gzip
import json
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torch.nn as nn

FMNIST_DIR = "/usr/share/datasets/fashion-mnist"
M64 = (1 << 64) - 1


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    if data[:3] != b"\0\0\x08":
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def edgeopt_subset(n, k, seed=0):
    """edgeopt's seeded subset (include/edgeopt/data.h): indices in ascending order."""
    state = seed & M64

    def nxt():
        nonlocal state
        state = (state + 0x9E3779B97F4A7C15) & M64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        return z ^ (z >> 31)

    idx = list(range(n))
    for i in range(n - 1, 0, -1):
        bound = (1 << 64) % (i + 1)
        r = nxt()
        while r < bound:
            r = nxt()
        j = r % (i + 1)
        idx[i], idx[j] = idx[j], idx[i]
    return sorted(idx[:min(k, n)])


class QCNN(nn.Module):
    """SmallCNN (scripts/train_classifier.py) with batch-norm folded, dropout removed (eval)."""

    def __init__(self):
        super().__init__()
        self.quant = torch.ao.quantization.QuantStub()
        self.c1, self.r1 = nn.Conv2d(1, 16, 3, padding=1), nn.ReLU()
        self.c2, self.r2 = nn.Conv2d(16, 32, 3, padding=1), nn.ReLU()
        self.p1 = nn.MaxPool2d(2)
        self.c3, self.r3 = nn.Conv2d(32, 64, 3, padding=1), nn.ReLU()
        self.p2 = nn.MaxPool2d(2)
        self.flat = nn.Flatten()
        self.f1, self.r4 = nn.Linear(64 * 7 * 7, 128), nn.ReLU()
        self.f2 = nn.Linear(128, 10)
        self.dequant = torch.ao.quantization.DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        x = self.p1(self.r2(self.c2(self.r1(self.c1(x)))))
        x = self.p2(self.r3(self.c3(x)))
        x = self.f2(self.r4(self.f1(self.flat(x))))
        return self.dequant(x)


def load_weights(model, path):
    g = onnx.load(path).graph
    init = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    convs = [n for n in g.node if n.op_type == "Conv"]
    gemms = [n for n in g.node if n.op_type == "Gemm"]
    if len(convs) != 3 or len(gemms) != 2:
        raise SystemExit(f"{path}: expected 3 Conv and 2 Gemm nodes, found {len(convs)} and {len(gemms)}")
    for layer, node in zip([model.c1, model.c2, model.c3, model.f1, model.f2], convs + gemms):
        w, b = init[node.input[1]], init[node.input[2]]
        if node.op_type == "Gemm":
            tb = [a.i for a in node.attribute if a.name == "transB"]
            if not tb or tb[0] != 1:
                w = w.T
        if tuple(w.shape) != tuple(layer.weight.shape):
            raise SystemExit(f"{node.name}: weight {w.shape}, expected {tuple(layer.weight.shape)}")
        layer.weight.data = torch.from_numpy(np.ascontiguousarray(w, dtype=np.float32))
        layer.bias.data = torch.from_numpy(np.ascontiguousarray(b, dtype=np.float32))


@torch.no_grad()
def logits(model, x, bs=1000):
    return torch.cat([model(x[i:i + bs]) for i in range(0, len(x), bs)])


def top1(out, y):
    return int((out.argmax(1) == y).sum()) / len(y)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--model", default=os.path.join(root, "examples", "classifier.onnx"))
    ap.add_argument("--calib-limit", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--engine", default="onednn", choices=["onednn", "fbgemm", "qnnpack"])
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)

    model = QCNN().eval()
    load_weights(model, a.model)
    xtr = read_idx(os.path.join(FMNIST_DIR, "train-images-idx3-ubyte.gz"))
    xte = read_idx(os.path.join(FMNIST_DIR, "t10k-images-idx3-ubyte.gz"))
    yte = torch.from_numpy(read_idx(os.path.join(FMNIST_DIR, "t10k-labels-idx1-ubyte.gz")).astype(np.int64))
    to_t = lambda u8: torch.from_numpy(u8.astype(np.float32)[:, None] / 255.0)
    xte_t = to_t(xte)
    fp_out = logits(model, xte_t)
    fp32 = top1(fp_out, yte)

    sub = edgeopt_subset(len(xtr), a.calib_limit, a.seed)
    calib = to_t(xtr[sub])

    torch.backends.quantized.engine = a.engine
    model.qconfig = torch.ao.quantization.get_default_qconfig(a.engine)
    fused = torch.ao.quantization.fuse_modules(
        model, [["c1", "r1"], ["c2", "r2"], ["c3", "r3"], ["f1", "r4"]])
    prepared = torch.ao.quantization.prepare(fused)
    with torch.no_grad():
        for i in range(0, len(calib), 100):
            prepared(calib[i:i + 100])
    qmodel = torch.ao.quantization.convert(prepared)
    q_out = logits(qmodel, xte_t)
    q = top1(q_out, yte)
    # less noisy than top-1: agreement with the FP32 model's classes and the logits' SQNR vs FP32
    agree = float((q_out.argmax(1) == fp_out.argmax(1)).double().mean())
    sqnr = float(10 * torch.log10((fp_out.double() ** 2).sum() / ((q_out.double() - fp_out.double()) ** 2).sum()))
    pf, pq = fp_out.argmax(1), q_out.argmax(1)
    r2w = int(((pf != pq) & (pf == yte)).sum())
    w2r = int(((pf != pq) & (pq == yte)).sum())

    act = type(model.qconfig.activation()).__name__
    wt = model.qconfig.weight()
    print(f"torch {torch.__version__} engine {a.engine}: activations {act}"
          f" (reduce_range={getattr(model.qconfig.activation(), 'reduce_range', '?')}),"
          f" weights {type(wt).__name__} {wt.qscheme}")
    print(f"calibration: {len(sub)} train images (edgeopt's seeded subset, seed {a.seed}), first indices {sub[:5]}")
    print(f"torch_fp32_top1 {fp32:.4f}")
    print(f"torch_ptq_top1 {q:.4f}")
    print(f"torch_ptq_vs_fp32: top-1 agreement {agree:.4f}, logits SQNR {sqnr:.2f} dB")
    print(f"torch_ptq_changed: {int((pf != pq).sum())} decisions, right->wrong {r2w}, wrong->right {w2r}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"engine": a.engine, "activation_observer": act, "weight_observer": type(wt).__name__,
                       "calib_items": len(sub), "fp32_top1": fp32, "ptq_top1": q,
                       "ptq_top1_agreement_fp32": agree, "ptq_logits_sqnr_db": sqnr,
                       "ptq_changed": int((pf != pq).sum()), "ptq_right_to_wrong": r2w, "ptq_wrong_to_right": w2r},
                      f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
