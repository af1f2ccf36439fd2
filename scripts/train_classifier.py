#!/usr/bin/python3
"""Trains the example Fashion-MNIST classifier and exports it to examples/classifier.onnx.

    /usr/bin/python3 scripts/train_classifier.py [--epochs 6] [--out examples/classifier.onnx]

Data: Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist, 60k train + the official 10k test
set, IDX files). Reproducible: fixed seeds, one thread, deterministic algorithms.
Model input:  "input"  float32 [N,1,28,28], pixels / 255 (0 = black background, as in the IDX files),
              no mean/std.
Model output: "logits" float32 [N,10] (no softmax), class order as in Fashion-MNIST (CLASS_NAMES).
Batch-norm is folded into the convolutions before export (eval mode), opset 13, dynamic batch.
"""
import argparse
import gzip
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

FMNIST_DIR = "/usr/share/datasets/fashion-mnist"
CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def read_idx(path):
    """IDX (ubyte, gz) -> numpy uint8 array with the file's dimensions."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    if data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_split(split):
    prefix = "train" if split == "train" else "t10k"
    x = read_idx(os.path.join(FMNIST_DIR, f"{prefix}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(FMNIST_DIR, f"{prefix}-labels-idx1-ubyte.gz"))
    return x, y


class SmallCNN(nn.Module):
    """Three 3x3 conv blocks + a two-layer head: about 0.4M parameters, ~8M MACs per image."""

    def __init__(self, nc=10):
        super().__init__()

        def block(ci, co):
            return nn.Sequential(nn.Conv2d(ci, co, 3, padding=1, bias=False), nn.BatchNorm2d(co), nn.ReLU(inplace=True))

        self.features = nn.Sequential(
            block(1, 16), block(16, 32), nn.MaxPool2d(2),   # 28 -> 14
            block(32, 64), nn.MaxPool2d(2),                 # 14 -> 7
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.3), nn.Linear(64 * 7 * 7, 128),
                                  nn.ReLU(inplace=True), nn.Dropout(0.3), nn.Linear(128, nc))

    def forward(self, x):
        return self.head(self.features(x))


def fold_bn(module):
    """Replaces every Conv2d+BatchNorm2d pair inside nn.Sequential containers by one Conv2d (eval mode)."""
    for name, child in module.named_children():
        if isinstance(child, nn.Sequential):
            layers = list(child)
            out = []
            i = 0
            while i < len(layers):
                if (isinstance(layers[i], nn.Conv2d) and i + 1 < len(layers)
                        and isinstance(layers[i + 1], nn.BatchNorm2d)):
                    out.append(torch.nn.utils.fusion.fuse_conv_bn_eval(layers[i], layers[i + 1]))
                    i += 2
                else:
                    fold_bn(layers[i])
                    out.append(layers[i])
                    i += 1
            setattr(module, name, nn.Sequential(*out))
        else:
            fold_bn(child)
    return module


def augment(xb, gen):
    """Random horizontal flip and +-2 px shift (zero fill), applied per batch on the tensor."""
    n = xb.shape[0]
    flip = torch.rand(n, generator=gen) < 0.5
    xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
    pad = F.pad(xb, (2, 2, 2, 2))
    dx, dy = torch.randint(0, 5, (2,), generator=gen).tolist()
    return pad[:, :, dy:dy + 28, dx:dx + 28]


@torch.no_grad()
def evaluate(model, x, y, bs=1000):
    model.eval()
    correct = 0
    for i in range(0, len(x), bs):
        xb = torch.from_numpy(np.array(x[i:i + bs])).float().div_(255).unsqueeze(1)
        correct += (model(xb).argmax(1).numpy() == y[i:i + bs]).sum()
    return correct / len(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "examples", "classifier.onnx"))
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.use_deterministic_algorithms(True)
    t0 = time.time()

    xtr, ytr = load_split("train")
    xte, yte = load_split("test")
    xtr_t = torch.from_numpy(xtr.copy()).float().div_(255).unsqueeze(1)
    ytr_t = torch.from_numpy(ytr.astype(np.int64))

    model = SmallCNN()
    nparams = sum(p.numel() for p in model.parameters())
    print(f"SmallCNN: {nparams} parameters; train {len(xtr)}, test {len(xte)}")
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=5e-4)
    steps = args.epochs * ((len(xtr) + args.batch - 1) // args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=0.15)
    gen = torch.Generator().manual_seed(args.seed)

    for ep in range(args.epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        tot, nb = 0.0, 0
        for i in range(0, len(xtr), args.batch):
            idx = perm[i:i + args.batch]
            xb = augment(xtr_t[idx], gen)
            loss = F.cross_entropy(model(xb), ytr_t[idx], label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item()
            nb += 1
        acc = evaluate(model, xte, yte)
        print(f"epoch {ep + 1}/{args.epochs}: loss {tot / nb:.4f}  test top-1 {acc * 100:.2f}%  "
              f"({time.time() - t0:.0f} s)", flush=True)

    model.eval()
    acc_unfolded = evaluate(model, xte, yte)
    fold_bn(model)
    acc = evaluate(model, xte, yte)
    print(f"test top-1 after folding batch-norm: {acc * 100:.2f}% (before {acc_unfolded * 100:.2f}%)")
    if acc < 0.90:
        print("error: top-1 below the 90% bar", file=sys.stderr)
        sys.exit(1)

    out = os.path.abspath(args.out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    dummy = torch.zeros(1, 1, 28, 28)
    torch.onnx.export(model, dummy, out, opset_version=13, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, do_constant_folding=True)
    import onnx
    m = onnx.load(out)
    onnx.checker.check_model(m)
    ops = sorted({n.op_type for n in m.graph.node})
    print(f"wrote {out} ({os.path.getsize(out)} bytes; ops {', '.join(ops)}); total {time.time() - t0:.0f} s")
    with torch.no_grad():
        ref = model(torch.from_numpy(np.array(xte[:1000])).float().div_(255).unsqueeze(1)).numpy()
    check_with_ort(out, xte[:1000], ref)


def check_with_ort(onnx_path, x_u8, ref_logits):
    """Runs the exported file in ONNX Runtime (scripts/ort_run.js) on a batch; compares with PyTorch's logits."""
    import shutil
    import subprocess
    import tempfile
    if not shutil.which("node"):
        print("warning: node not found, ONNX Runtime check skipped")
        return
    ort_js = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ort_run.js")
    with tempfile.TemporaryDirectory() as d:
        np.save(os.path.join(d, "x.npy"), (x_u8.astype(np.float32) / 255)[:, None])
        subprocess.run(["node", ort_js, onnx_path, "--input", f"input={d}/x.npy", "--output-dir", d],
                       check=True, stdout=subprocess.DEVNULL)
        got = np.load(os.path.join(d, "logits.npy"))
    diff = np.abs(got - ref_logits).max()
    agree = (got.argmax(1) == ref_logits.argmax(1)).mean()
    print(f"ONNX Runtime vs PyTorch on {len(x_u8)} test images: max abs logit diff {diff:.2e}, "
          f"top-1 agreement {agree * 100:.1f}%")
    if got.shape != ref_logits.shape or diff > 1e-3:
        raise SystemExit("error: ONNX Runtime disagrees with PyTorch")


if __name__ == "__main__":
    main()
