#!/usr/bin/python3
"""Independent numpy implementations for the tests of src/eval (besides mAP: oracle_map.py).

Usage: oracle_metrics.py MODE DIR
  cls    DIR/scores.npy float32 [S, nc], DIR/labels.npy int64 [S]
         -> DIR/cls.npy float64 [3 + nc + nc*nc]: top1, top5, mean class acc, per-class acc
            (-1 without samples), confusion matrix (row = true class)
  agree  DIR/ref.npy, DIR/cand.npy float32 [S, n] (one output, S samples), DIR/classes.npy int64 [1]
         -> DIR/agree.npy float64 [9]: count, nonfinite, mean abs, mean rel (relative L1), max abs,
            cosine, min per-sample cosine, SQNR dB (+-inf), top-1 agreement (-1 if classes == 0)
  nms    DIR/boxes.npy float64 [N, 6] (x1 y1 x2 y2 score class), DIR/nmsp.npy [4] conf, iou, max_det, agnostic
         -> DIR/keep.npy float64 [K, 6] kept rows, best first (torchvision-style greedy NMS)
  ssd    DIR/reg.npy float32 [A, 16], DIR/logits.npy float32 [A, 1], DIR/ssdp.npy [1] input size (128/256)
         -> DIR/ssd.npy float64 [A, 5]: x1 y1 x2 y2 (input pixels), score: MediaPipe BlazeFace decoding
"""
import sys

import numpy as np


def cls(d):
    s = np.load(d + "/scores.npy").astype(np.float64)
    y = np.load(d + "/labels.npy").astype(np.int64)
    S, nc = s.shape
    order = np.argsort(-s, axis=1, kind="stable")
    rank = np.argmax(order == y[:, None], axis=1)
    k5 = min(5, nc)
    conf = np.zeros((nc, nc))
    np.add.at(conf, (y, order[:, 0]), 1)
    rows = conf.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per = np.where(rows > 0, np.diag(conf) / np.where(rows > 0, rows, 1), -1.0)
    mean = per[rows > 0].mean() if (rows > 0).any() else 0.0
    out = np.concatenate([[np.mean(rank == 0), np.mean(rank < k5), mean], per, conf.ravel()])
    np.save(d + "/cls.npy", out)


def agree(d):
    ref = np.load(d + "/ref.npy").astype(np.float64)
    cand = np.load(d + "/cand.npy").astype(np.float64)
    classes = int(np.load(d + "/classes.npy")[0])
    ok = np.isfinite(ref) & np.isfinite(cand)
    r, c = np.where(ok, ref, 0.0), np.where(ok, cand, 0.0)
    diff = np.abs(r - c)
    n = ok.sum()

    def cosine(a, b):
        na, nb = (a * a).sum(axis=-1), (b * b).sum(axis=-1)
        dot = (a * b).sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            v = dot / np.sqrt(na * nb)
        v = np.where((na == 0) | (nb == 0), 0.0, v)
        return np.where((na == 0) & (nb == 0), 1.0, v)

    noise = ((r - c) ** 2).sum()
    sig = (r * r).sum()
    if noise == 0:
        sqnr = np.inf
    elif sig == 0:
        sqnr = -np.inf
    else:
        sqnr = 10 * np.log10(sig / noise)
    top1 = -1.0
    if classes > 0:
        rr = ref.reshape(-1, classes)
        cc = cand.reshape(-1, classes)
        top1 = np.mean(rr.argmax(axis=1) == cc.argmax(axis=1))
    out = [n, (~ok).sum(), diff.sum() / n if n else 0.0,
           diff.sum() / np.abs(r).sum() if np.abs(r).sum() > 0 else (np.inf if diff.sum() > 0 else 0.0),
           diff.max() if diff.size else 0.0, float(cosine(r.ravel(), c.ravel())), cosine(r, c).min(), sqnr, top1]
    np.save(d + "/agree.npy", np.array(out, dtype=np.float64))


def nms(d):
    b = np.load(d + "/boxes.npy").reshape(-1, 6)
    conf, iou_thr, max_det, agnostic = np.load(d + "/nmsp.npy")
    b = b[b[:, 4] > conf]
    # Order: score descending, then class, x1, y1, x2, y2 (np.lexsort: last key is primary).
    order = np.lexsort((b[:, 3], b[:, 2], b[:, 1], b[:, 0], b[:, 5], -b[:, 4]))
    b = b[order]
    area = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    alive = np.ones(len(b), dtype=bool)
    keep = []
    for i in range(len(b)):
        if not alive[i]:
            continue
        keep.append(i)
        iw = np.clip(np.minimum(b[i, 2], b[:, 2]) - np.maximum(b[i, 0], b[:, 0]), 0, None)
        ih = np.clip(np.minimum(b[i, 3], b[:, 3]) - np.maximum(b[i, 1], b[:, 1]), 0, None)
        inter = iw * ih
        union = area[i] + area - inter
        iou = np.where(union > 0, inter / np.where(union > 0, union, 1), 0)
        same = np.ones(len(b), bool) if agnostic else b[:, 5] == b[i, 5]
        kill = (iou > iou_thr) & same
        kill[: i + 1] = False
        alive &= ~kill
    keep = keep[: int(max_det)] if max_det > 0 else keep
    np.save(d + "/keep.npy", b[keep].reshape(-1, 6))


def ssd_anchors(size):
    """MediaPipe SsdAnchorsCalculator for BlazeFace, vectorized: layers of equal stride share a grid."""
    strides = [8, 16, 16, 16] if size == 128 else [16, 32, 32, 32]
    anchors = []
    i = 0
    while i < len(strides):
        j = i
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
        per_cell = 2 * (j - i)  # aspect ratio 1.0 + the interpolated scale, per merged layer
        fm = int(np.ceil(size / strides[i]))
        ys, xs = np.meshgrid(np.arange(fm), np.arange(fm), indexing="ij")
        cx = (xs.ravel().astype(np.float32) + np.float32(0.5)) / np.float32(fm)
        cy = (ys.ravel().astype(np.float32) + np.float32(0.5)) / np.float32(fm)
        grid = np.stack([np.repeat(cx, per_cell), np.repeat(cy, per_cell)], axis=1)
        anchors.append(grid)
        i = j
    return np.concatenate(anchors).astype(np.float64)  # fixed anchor size: w = h = 1


def ssd(d):
    reg = np.load(d + "/reg.npy").astype(np.float64)
    logits = np.load(d + "/logits.npy").astype(np.float64)
    size = float(np.load(d + "/ssdp.npy")[0])
    a = ssd_anchors(int(size))
    assert len(a) == len(reg), (len(a), len(reg))
    cx = reg[:, 0] / size + a[:, 0]
    cy = reg[:, 1] / size + a[:, 1]
    w = reg[:, 2] / size
    h = reg[:, 3] / size
    score = 1 / (1 + np.exp(-np.clip(logits[:, 0], -100, 100)))
    out = np.stack([(cx - w / 2) * size, (cy - h / 2) * size, (cx + w / 2) * size, (cy + h / 2) * size, score], 1)
    np.save(d + "/ssd.npy", out)


if __name__ == "__main__":
    {"cls": cls, "agree": agree, "nms": nms, "ssd": ssd}[sys.argv[1]](sys.argv[2])
