#!/usr/bin/python3
"""Exports the whole-model test fixtures: torchvision architectures with seeded random weights.

    /usr/bin/python3 scripts/gen_models.py [--out build/models] [--only resnet18,...] [--tiny PATH]

No pretrained weights are needed (none are available offline): every model is built with
torch.manual_seed, its BatchNorm affine parameters are randomized and its running statistics are
calibrated on seeded random batches, so activations stay well scaled through the whole depth (with
the stock init, depthwise stacks shrink activations to ~1e-20 and the output is just the last bias,
which would hide every kernel bug behind a relative tolerance).

Layout written under --out (not committed):
    <name>/<name>.onnx      opset 13, input "input" [batch,3,224,224], output "output", batch dynamic
    <name>/input_0.npy      seeded float32 [1,3,224,224]
    <name>/torch_output.npy PyTorch's output for input_0 (a third opinion next to ORT and edgeopt)

Also writes the committed example examples/tiny_cnn.onnx (conv/bn/relu/pool/gemm, input
[batch,3,32,32], BatchNormalization nodes kept so that the BN-folding pass has work to do) and its
input examples/tiny_cnn_input.npy. Re-running gives byte-identical files on the same machine.
"""
import argparse
import os
import sys
import warnings
import zlib

import numpy as np
import torch
import torch.nn as nn
import torchvision

OPSET = 13
ZOO = ["resnet18", "mobilenet_v2", "mobilenet_v3_small", "squeezenet1_1", "shufflenet_v2_x1_0",
       "efficientnet_b0"]
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def seed_of(name):
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def calibrate_bn(model, seed, shape, batches=2, batch=4):
    """Random BN affine params, then running stats = batch statistics on seeded random inputs."""
    g = torch.Generator().manual_seed(seed + 1)
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for m in bns:
            m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=g))
            m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the calibration batches
        model.train()
        for _ in range(batches):
            model(torch.randn((batch,) + tuple(shape[1:]), generator=g))
    model.eval()


def export(model, path, shape, keep_bn=False):
    x = torch.zeros(shape)
    kwargs = {}
    if keep_bn:  # EVAL mode makes the exporter fold BN into Conv; PRESERVE keeps the nodes.
        kwargs["training"] = torch.onnx.TrainingMode.PRESERVE
        # The model is in eval() mode, so constant folding is safe despite torch's warning.
        warnings.filterwarnings("ignore", message="It is recommended that constant folding")
    torch.onnx.export(model, x, path, opset_version=OPSET, input_names=["input"],
                      output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                      do_constant_folding=True, **kwargs)
    import onnx  # checked after export so a broken graph is reported here, not in the C runtime
    onnx.checker.check_model(onnx.load(path))


def save_input_and_ref(model, dir_, name, shape):
    rng = np.random.default_rng(seed_of(name))
    x = rng.standard_normal(shape).astype(np.float32)
    np.save(os.path.join(dir_, "input_0.npy"), x)
    with torch.no_grad():
        y = model(torch.from_numpy(x)).numpy().astype(np.float32)
    np.save(os.path.join(dir_, "torch_output.npy"), y)
    return x, y


class TinyCNN(nn.Module):
    """A few of each common layer kind; ~6 K parameters."""

    def __init__(self, classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
            nn.AvgPool2d(2, count_include_pad=False),  # True would export a no-op Pad
            nn.Conv2d(16, 16, 3, stride=2, padding=1), nn.ReLU6(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classifier = nn.Linear(16, classes)

    def forward(self, x):
        return self.classifier(self.features(x))


def gen_zoo(out, names):
    for name in names:
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        seed = seed_of(name)
        torch.manual_seed(seed)
        model = getattr(torchvision.models, name)(weights=None)
        shape = (1, 3, 224, 224)
        calibrate_bn(model, seed, shape)
        path = os.path.join(d, name + ".onnx")
        export(model, path, shape)
        _, y = save_input_and_ref(model, d, name, shape)
        print("%-20s %8.1f KB  output %s  max|y| %.3g" %
              (name, os.path.getsize(path) / 1024, list(y.shape), float(np.abs(y).max())))


def gen_tiny(path):
    torch.manual_seed(seed_of("tiny_cnn"))
    model = TinyCNN()
    shape = (1, 3, 32, 32)
    calibrate_bn(model, seed_of("tiny_cnn"), shape, batches=4, batch=8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    export(model, path, shape, keep_bn=True)
    rng = np.random.default_rng(seed_of("tiny_cnn"))
    x = rng.standard_normal(shape).astype(np.float32)
    np.save(os.path.join(os.path.dirname(path), "tiny_cnn_input.npy"), x)
    size = os.path.getsize(path)
    print("%-20s %8.1f KB  -> %s" % ("tiny_cnn", size / 1024, path))
    if size >= 50 * 1024:
        sys.exit("tiny_cnn.onnx is %d bytes; it must stay under 50 KB" % size)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "models"))
    ap.add_argument("--only", default="", help="comma-separated subset of: " + ",".join(ZOO))
    ap.add_argument("--tiny", default=os.path.join(ROOT, "examples", "tiny_cnn.onnx"),
                    help="where to write the tiny example ('' to skip)")
    ap.add_argument("--no-zoo", action="store_true", help="only write the tiny example")
    a = ap.parse_args()
    # One thread: the calibration sums run in a fixed order, so re-runs are byte-identical.
    torch.set_num_threads(1)
    names = [n for n in a.only.split(",") if n] or ZOO
    for n in names:
        if n not in ZOO:
            sys.exit("unknown model '%s' (known: %s)" % (n, ", ".join(ZOO)))
    if a.tiny:
        gen_tiny(a.tiny)
    if not a.no_zoo:
        gen_zoo(a.out, names)


if __name__ == "__main__":
    main()
