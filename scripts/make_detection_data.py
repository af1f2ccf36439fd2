#!/usr/bin/python3
"""Generates the example detection data set: synthetic scenes of real Fashion-MNIST items, YOLO format.

    /usr/bin/python3 scripts/make_detection_data.py OUT_DIR [--train 6000 --val 300 --test 300] [--seed 0]

Each image is a 160x160 8-bit grayscale PNG: a smooth procedural background (level + gradient + low-frequency
blobs) with 1-6 Fashion-MNIST items pasted at 20-64 px (the 28x28 crop resized
bilinearly, so an item's tight box is smaller), overlapping each other by at most IoU 0.1. Every item's
box is the tight bounding box of its pasted pixels (those above MASK_T after resizing), so the labels are
exact. Five well-separated classes are used (CLASSES); their crops come from Fashion-MNIST's train set for
the train split and from disjoint halves of its official test set for val and test, so no item is seen in
training and evaluation both.

Output (the layout Ultralytics reads):
    OUT_DIR/data.yaml                 path / train / val / test / nc / names
    OUT_DIR/images/{train,val,test}/NNNNNN.png
    OUT_DIR/labels/{train,val,test}/NNNNNN.txt   one line per item: "class cx cy w h", normalized to [0,1]
Everything is deterministic given --seed (one numpy Generator per split).
"""
import argparse
import gzip
import os

import numpy as np
from PIL import Image

FMNIST_DIR = "/usr/share/datasets/fashion-mnist"
# detector class id -> (name, Fashion-MNIST label)
CLASSES = [("tshirt", 0), ("trouser", 1), ("sandal", 5), ("bag", 8), ("ankle_boot", 9)]
SIZE = 160             # canvas side, px
SCALE = (20, 64)       # pasted crop side, px (the 28x28 crop is resized to s x s)
MAX_OBJ = 6
MASK_T = 12            # resized crop pixel > MASK_T belongs to the item (Fashion-MNIST background is 0)
MAX_IOU = 0.10


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def crops_for(split):
    """{detector class: uint8 [K,28,28]} drawn from the Fashion-MNIST part reserved for split."""
    prefix = "train" if split == "train" else "t10k"
    x = read_idx(os.path.join(FMNIST_DIR, f"{prefix}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(FMNIST_DIR, f"{prefix}-labels-idx1-ubyte.gz"))
    if split == "val":
        x, y = x[:5000], y[:5000]
    elif split == "test":
        x, y = x[5000:], y[5000:]
    return {c: x[y == lab] for c, (_, lab) in enumerate(CLASSES)}


def background(rng):
    """Smooth grayscale background in [0, 145]; no pixel noise, which would double the PNG size."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) / SIZE
    base = rng.uniform(0, 70)
    ang = rng.uniform(0, 2 * np.pi)
    grad = rng.uniform(0, 40) * ((np.cos(ang) * xx + np.sin(ang) * yy) + 0.5)
    g = int(rng.integers(3, 7))
    blobs = Image.fromarray(rng.uniform(0, 255, (g, g)).astype(np.uint8)).resize((SIZE, SIZE), Image.BICUBIC)
    blobs = np.asarray(blobs, np.float32) / 255 * rng.uniform(0, 35)
    return np.clip(base + grad + blobs, 0, 255)


def iou(a, b):
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def scene(rng, crops):
    img = background(rng)
    boxes = []  # (class, x1, y1, x2, y2) in pixels, x2/y2 exclusive
    for _ in range(int(rng.integers(1, MAX_OBJ + 1))):
        c = int(rng.integers(len(CLASSES)))
        crop = crops[c][rng.integers(len(crops[c]))]
        s = int(round(np.exp(rng.uniform(np.log(SCALE[0]), np.log(SCALE[1])))))
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        r = np.asarray(Image.fromarray(np.ascontiguousarray(crop)).resize((s, s), Image.BILINEAR), np.float32)
        mask = r > MASK_T
        rows, cols = np.nonzero(mask.any(1))[0], np.nonzero(mask.any(0))[0]
        if len(rows) == 0:
            continue
        r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        r, mask = r[r0:r1, c0:c1], mask[r0:r1, c0:c1]
        h, w = r.shape
        gain = rng.uniform(0.75, 1.0)  # contrast variation; items stay brighter than most backgrounds
        for _try in range(30):
            x1, y1 = int(rng.integers(0, SIZE - w + 1)), int(rng.integers(0, SIZE - h + 1))
            box = (x1, y1, x1 + w, y1 + h)
            if all(iou(box, b[1:]) <= MAX_IOU for b in boxes):
                break
        else:
            continue
        # Later items cover earlier ones where they overlap (at most IoU 0.1, so every item stays visible).
        region = img[y1:y1 + h, x1:x1 + w]
        region[mask] = np.maximum(r[mask] * gain, 40 + r[mask] * 0.5)
        boxes.append((c,) + box)
    return np.clip(np.round(img), 0, 255).astype(np.uint8), boxes


def write_split(out, split, n, seed):
    crops = crops_for(split)
    rng = np.random.default_rng([seed, ["train", "val", "test"].index(split)])
    idir, ldir = os.path.join(out, "images", split), os.path.join(out, "labels", split)
    os.makedirs(idir, exist_ok=True)
    os.makedirs(ldir, exist_ok=True)
    nobj = 0
    for i in range(n):
        img, boxes = scene(rng, crops)
        Image.fromarray(img, "L").save(os.path.join(idir, f"{i:06d}.png"), optimize=True)
        with open(os.path.join(ldir, f"{i:06d}.txt"), "w") as f:
            for c, x1, y1, x2, y2 in boxes:
                f.write(f"{c} {(x1 + x2) / 2 / SIZE:.6f} {(y1 + y2) / 2 / SIZE:.6f} "
                        f"{(x2 - x1) / SIZE:.6f} {(y2 - y1) / SIZE:.6f}\n")
        nobj += len(boxes)
    print(f"{split}: {n} images, {nobj} objects")


def write_yaml(out, splits):
    with open(os.path.join(out, "data.yaml"), "w") as f:
        f.write("# Synthetic scenes of Fashion-MNIST items (scripts/make_detection_data.py); 160x160 grayscale PNG.\n")
        f.write("path: .  # relative to this file's folder\n")
        for s in ("train", "val", "test"):
            if s in splits:
                f.write(f"{s}: images/{s}\n")
            else:
                f.write(f"# {s}: not generated here (scripts/make_detection_data.py OUT_DIR writes it)\n")
        f.write(f"nc: {len(CLASSES)}\n")
        f.write("names: [" + ", ".join(n for n, _ in CLASSES) + "]\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--train", type=int, default=6000)
    ap.add_argument("--val", type=int, default=300)
    ap.add_argument("--test", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    splits = [s for s in ("train", "val", "test") if getattr(args, s) > 0]
    for s in splits:
        write_split(args.out, s, getattr(args, s), args.seed)
    write_yaml(args.out, splits)


if __name__ == "__main__":
    main()
