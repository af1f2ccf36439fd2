#!/usr/bin/python3
"""Independent COCO-style mAP in numpy: the test oracle for src/eval/detect_metrics.c.

Written from pycocotools' COCOeval (evaluateImg + accumulate, area range "all", no crowd, no
per-image cap), vectorized differently from the C code: per image and class the IoU matrix is
computed once and the greedy matching runs over all 10 IoU thresholds at the same time.

Usage: oracle_map.py DIR
  DIR/dets.npy    float64 [K, 7]  image, class, score, x1, y1, x2, y2
  DIR/gts.npy     float64 [G, 6]  image, class, x1, y1, x2, y2
  DIR/params.npy  float64 [3]     num_classes, operating confidence, num_images
writes DIR/map.npy float64 [num_classes + 1, 14]:
  row c < nc : AP at the 10 thresholds (-1 without GT), tp, fp, precision, recall (op. threshold, IoU 0.5)
  row nc     : mAP at the 10 thresholds, macro precision, macro recall, micro precision, micro recall
"""
import sys

import numpy as np

IOU_THRS = np.linspace(0.5, 0.95, 10)
REC_THRS = np.linspace(0.0, 1.00, 101)


def iou_matrix(d, g):
    """IoU of every row of d [D,4] with every row of g [G,4] (x1 y1 x2 y2)."""
    iw = np.minimum(d[:, None, 2], g[None, :, 2]) - np.maximum(d[:, None, 0], g[None, :, 0])
    ih = np.minimum(d[:, None, 3], g[None, :, 3]) - np.maximum(d[:, None, 1], g[None, :, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    ad = np.clip(d[:, 2] - d[:, 0], 0, None) * np.clip(d[:, 3] - d[:, 1], 0, None)
    ag = np.clip(g[:, 2] - g[:, 0], 0, None) * np.clip(g[:, 3] - g[:, 1], 0, None)
    union = ad[:, None] + ag[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def match_image(dboxes, gboxes):
    """Greedy matching of score-sorted detections against GT for all thresholds: tp [T, D] bool."""
    T, D, G = len(IOU_THRS), len(dboxes), len(gboxes)
    tp = np.zeros((T, D), dtype=bool)
    if D == 0 or G == 0:
        return tp
    ious = iou_matrix(dboxes, gboxes)
    used = np.zeros((T, G), dtype=bool)
    rows = np.arange(T)
    for di in range(D):
        ok = (ious[di][None, :] >= IOU_THRS[:, None]) & ~used
        best = np.where(ok, ious[di][None, :], -1.0).argmax(axis=1)  # first maximum: lowest GT index
        hit = ok.any(axis=1)
        tp[hit, di] = True
        used[rows[hit], best[hit]] = True
    return tp


def evaluate(dets, gts, nc, op_conf, n_images):
    out = np.zeros((nc + 1, 14))
    aps = np.full((nc, 10), -1.0)
    macro_p, macro_r = [], []
    tot_tp = tot_fp = tot_gt = 0
    for c in range(nc):
        dc = dets[dets[:, 1] == c]
        gc = gts[gts[:, 1] == c]
        npig = len(gc)
        scores, tps = [], []
        for img in range(n_images):
            di = dc[dc[:, 0] == img]
            gi = gc[gc[:, 0] == img]
            order = np.argsort(-di[:, 2], kind="mergesort")
            di = di[order]
            scores.append(di[:, 2])
            tps.append(match_image(di[:, 3:7], gi[:, 2:6]))
        scores = np.concatenate(scores) if scores else np.zeros(0)
        tps = np.concatenate(tps, axis=1) if tps else np.zeros((10, 0), dtype=bool)
        order = np.argsort(-scores, kind="mergesort")
        scores, tps = scores[order], tps[:, order]
        above = scores >= op_conf
        tp_op = int(np.count_nonzero(tps[0] & above))
        fp_op = int(np.count_nonzero(~tps[0] & above))
        tot_tp += tp_op
        tot_fp += fp_op
        tot_gt += npig
        out[c, 10:12] = tp_op, fp_op
        if npig == 0:
            out[c, 12:14] = -1
            continue
        tp_sum = np.cumsum(tps, axis=1).astype(float)
        fp_sum = np.cumsum(~tps, axis=1).astype(float)
        nd = tps.shape[1]
        for t in range(10):
            q = np.zeros(len(REC_THRS))
            if nd:
                rc = tp_sum[t] / npig
                pr = tp_sum[t] / (tp_sum[t] + fp_sum[t])
                pr = np.maximum.accumulate(pr[::-1])[::-1]
                inds = np.searchsorted(rc, REC_THRS, side="left")
                valid = inds < nd
                q[valid] = pr[inds[valid]]
            aps[c, t] = q.mean()
        p = tp_op / (tp_op + fp_op) if tp_op + fp_op else 0.0
        r = tp_op / npig
        out[c, 12:14] = p, r
        macro_p.append(p)
        macro_r.append(r)
    out[:nc, :10] = aps
    valid = aps[:, 0] > -1
    if valid.any():
        out[nc, :10] = aps[valid].mean(axis=0)
        out[nc, 10] = np.mean(macro_p)
        out[nc, 11] = np.mean(macro_r)
    else:
        out[nc, :12] = -1
    out[nc, 12] = tot_tp / (tot_tp + tot_fp) if tot_tp + tot_fp else 0.0
    out[nc, 13] = tot_tp / tot_gt if tot_gt else 0.0
    return out


def main():
    d = sys.argv[1]
    dets = np.load(d + "/dets.npy").reshape(-1, 7)
    gts = np.load(d + "/gts.npy").reshape(-1, 6)
    nc, op_conf, n_images = np.load(d + "/params.npy")
    np.save(d + "/map.npy", evaluate(dets, gts, int(nc), op_conf, int(n_images)))


if __name__ == "__main__":
    main()
