#!/usr/bin/python3
"""Trains the example YOLOv8-architecture detector and exports it the way Ultralytics does.

    /usr/bin/python3 scripts/make_detection_data.py /tmp/edgeopt-detect
    /usr/bin/python3 scripts/train_detector.py /tmp/edgeopt-detect [--out examples/detector.onnx]

The network is YOLOv8 (Conv-BN-SiLU, C2f, SPPF, FPN/PAN neck, decoupled anchor-free head with DFL, strides
8/16/32) at nano depth (C2f repeats 1,2,2,1) and below nano width (16,32,48,64,96 channels for P1..P5
instead of 16..256, reg_max 8 instead of 16: 0.74M parameters, a 3 MB file, and fast enough to train on one
CPU thread). Loss as in YOLOv8: task-aligned assigner (top-10, alpha 0.5, beta 6), BCE for classes,
CIoU + DFL for boxes (gains 7.5 / 0.5 / 1.5). AdamW, warm-up + cosine, EMA weights.
After each epoch the EMA model is scored on the val split with a COCO-style evaluator (101-point AP, greedy
matching by score, NMS at IoU 0.7, conf 0.001, 300 detections); training stops early once mAP@0.5 reaches
--stop-map, and the best-scoring weights are exported.

Export (opset 13, batch-norm folded, static batch 1):
    input  "images"  float32 [1,3,160,160]: RGB (the grayscale PNG replicated to 3 channels), pixels / 255,
                     NCHW; other image sizes: letterbox to 160x160 with pad value 114.
    output "output0" float32 [1,4+nc,525]: rows 0-3 box cx,cy,w,h in input pixels, rows 4.. class
                     probabilities (sigmoid); columns are the 20x20, 10x10, 5x5 grid cells in order.
The file is checked with onnx.checker and run in ONNX Runtime (scripts/ort_run.js) against PyTorch.
Reproducible: fixed seed, one thread, data in a fixed order.
"""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

IMGSZ = 160
STRIDES = (8, 16, 32)


# ---------------------------------------------------------------- model (YOLOv8 building blocks)

class Conv(nn.Module):
    def __init__(self, c1, c2, k=1, s=1):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(c2, eps=1e-3, momentum=0.03)
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))

    def fuse(self):
        self.conv = torch.nn.utils.fusion.fuse_conv_bn_eval(self.conv, self.bn)
        self.bn = nn.Identity()


class Bottleneck(nn.Module):
    def __init__(self, c, shortcut=True):
        super().__init__()
        self.cv1, self.cv2 = Conv(c, c, 3), Conv(c, c, 3)
        self.add = shortcut

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C2f(nn.Module):
    def __init__(self, c1, c2, n=1, shortcut=False):
        super().__init__()
        self.c = c2 // 2
        self.cv1 = Conv(c1, 2 * self.c, 1)
        self.cv2 = Conv((2 + n) * self.c, c2, 1)
        self.m = nn.ModuleList(Bottleneck(self.c, shortcut) for _ in range(n))

    def forward(self, x):
        y = list(self.cv1(x).split((self.c, self.c), 1))
        for m in self.m:
            y.append(m(y[-1]))
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    def __init__(self, c1, c2, k=5):
        super().__init__()
        c_ = c1 // 2
        self.cv1, self.cv2 = Conv(c1, c_, 1), Conv(c_ * 4, c2, 1)
        self.m = nn.MaxPool2d(k, 1, k // 2)

    def forward(self, x):
        y = [self.cv1(x)]
        for _ in range(3):
            y.append(self.m(y[-1]))
        return self.cv2(torch.cat(y, 1))


class DFL(nn.Module):
    """Expected value of the softmax over reg_max bins, as a fixed 1x1 conv (the Ultralytics export graph)."""

    def __init__(self, c1):
        super().__init__()
        self.conv = nn.Conv2d(c1, 1, 1, bias=False).requires_grad_(False)
        self.conv.weight.data[:] = torch.arange(c1, dtype=torch.float).view(1, c1, 1, 1)
        self.c1 = c1

    def forward(self, x):
        b, a = int(x.shape[0]), int(x.shape[2])  # plain ints: the exported graph gets constant shapes
        return self.conv(x.view(b, 4, self.c1, a).transpose(2, 1).softmax(1)).view(b, 4, a)


def make_anchors(shapes, strides, offset=0.5):
    pts, st = [], []
    for (h, w), s in zip(shapes, strides):
        sy, sx = torch.meshgrid(torch.arange(h, dtype=torch.float) + offset,
                                torch.arange(w, dtype=torch.float) + offset, indexing="ij")
        pts.append(torch.stack((sx, sy), -1).view(-1, 2))
        st.append(torch.full((h * w, 1), float(s)))
    return torch.cat(pts), torch.cat(st)


def dist2bbox(distance, anchor_points, xywh=True, dim=-1):
    lt, rb = distance.split((2, 2), dim)
    x1y1, x2y2 = anchor_points - lt, anchor_points + rb
    if xywh:
        return torch.cat(((x1y1 + x2y2) / 2, x2y2 - x1y1), dim)
    return torch.cat((x1y1, x2y2), dim)


class Detect(nn.Module):
    def __init__(self, nc, ch, reg_max=16):
        super().__init__()
        self.nc, self.reg_max, self.no = nc, reg_max, nc + 4 * reg_max
        c2, c3 = max(16, ch[0] // 4, reg_max * 4), max(ch[0], min(nc, 100))
        self.cv2 = nn.ModuleList(nn.Sequential(Conv(x, c2, 3), Conv(c2, c2, 3), nn.Conv2d(c2, 4 * reg_max, 1))
                                 for x in ch)
        self.cv3 = nn.ModuleList(nn.Sequential(Conv(x, c3, 3), Conv(c3, c3, 3), nn.Conv2d(c3, nc, 1)) for x in ch)
        self.dfl = DFL(reg_max)
        self.export = False
        self.anchors = self.strides = None

    def bias_init(self):
        for a, b, s in zip(self.cv2, self.cv3, STRIDES):
            a[-1].bias.data[:] = 1.0
            b[-1].bias.data[:] = math.log(5 / self.nc / (IMGSZ / s) ** 2)

    def forward(self, xs):
        shapes = [tuple(int(d) for d in x.shape[2:]) for x in xs]
        bs = int(xs[0].shape[0])
        x = torch.cat([torch.cat((a(xi), b(xi)), 1).view(bs, self.no, -1)
                       for xi, a, b in zip(xs, self.cv2, self.cv3)], 2)
        if not self.export:
            return x, shapes  # raw [B, 4*reg_max+nc, N] for the loss
        # Ultralytics export path: anchors and strides become graph constants (static input size; export()
        # runs the model once untraced so that they are plain tensors, not traced meshgrid ops).
        if self.anchors is None:
            a, s = make_anchors(shapes, STRIDES)
            self.anchors, self.strides = a.t().unsqueeze(0), s.t().unsqueeze(0)
        box, cls = x.split((4 * self.reg_max, self.nc), 1)
        dbox = dist2bbox(self.dfl(box), self.anchors, xywh=True, dim=1) * self.strides
        return torch.cat((dbox, cls.sigmoid()), 1)


class YOLOv8(nn.Module):
    def __init__(self, nc, w=(16, 32, 48, 64, 96), n=(1, 2, 2, 1), reg_max=8):
        super().__init__()
        self.b0 = Conv(3, w[0], 3, 2)                                           # P1/2
        self.b1 = nn.Sequential(Conv(w[0], w[1], 3, 2), C2f(w[1], w[1], n[0], True))    # P2/4
        self.b2 = nn.Sequential(Conv(w[1], w[2], 3, 2), C2f(w[2], w[2], n[1], True))    # P3/8
        self.b3 = nn.Sequential(Conv(w[2], w[3], 3, 2), C2f(w[3], w[3], n[2], True))    # P4/16
        self.b4 = nn.Sequential(Conv(w[3], w[4], 3, 2), C2f(w[4], w[4], n[3], True), SPPF(w[4], w[4]))  # P5/32
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.h1 = C2f(w[4] + w[3], w[3], n[0])          # top-down P4
        self.h2 = C2f(w[3] + w[2], w[2], n[0])          # top-down P3 -> out P3
        self.d1 = Conv(w[2], w[2], 3, 2)
        self.h3 = C2f(w[2] + w[3], w[3], n[0])          # bottom-up P4 -> out P4
        self.d2 = Conv(w[3], w[3], 3, 2)
        self.h4 = C2f(w[3] + w[4], w[4], n[0])          # bottom-up P5 -> out P5
        self.detect = Detect(nc, (w[2], w[3], w[4]), reg_max)
        self.detect.bias_init()

    def forward(self, x):
        p3 = self.b2(self.b1(self.b0(x)))
        p4 = self.b3(p3)
        p5 = self.b4(p4)
        t4 = self.h1(torch.cat((self.up(p5), p4), 1))
        o3 = self.h2(torch.cat((self.up(t4), p3), 1))
        o4 = self.h3(torch.cat((self.d1(o3), t4), 1))
        o5 = self.h4(torch.cat((self.d2(o4), p5), 1))
        return self.detect([o3, o4, o5])

    def fuse(self):
        for m in self.modules():
            if isinstance(m, Conv) and isinstance(m.bn, nn.BatchNorm2d):
                m.fuse()
        return self


# ---------------------------------------------------------------- loss: task-aligned assigner, BCE, CIoU, DFL

def box_iou_pair(b1, b2, ciou=False, eps=1e-7):
    """IoU (or CIoU) of boxes b1, b2 (xyxy, broadcastable, last dim 4)."""
    (x1, y1, x2, y2), (a1, c1, a2, c2) = b1.unbind(-1), b2.unbind(-1)
    w1, h1, w2, h2 = x2 - x1, y2 - y1 + eps, a2 - a1, c2 - c1 + eps
    inter = (torch.min(x2, a2) - torch.max(x1, a1)).clamp(0) * (torch.min(y2, c2) - torch.max(y1, c1)).clamp(0)
    union = w1 * h1 + w2 * h2 - inter + eps
    iou = inter / union
    if not ciou:
        return iou
    cw, ch = torch.max(x2, a2) - torch.min(x1, a1), torch.max(y2, c2) - torch.min(y1, c1)
    c2d = cw ** 2 + ch ** 2 + eps
    rho2 = ((a1 + a2 - x1 - x2) ** 2 + (c1 + c2 - y1 - y2) ** 2) / 4
    v = (4 / math.pi ** 2) * (torch.atan(w2 / h2) - torch.atan(w1 / h1)).pow(2)
    with torch.no_grad():
        alpha = v / (v - iou + (1 + eps))
    return iou - (rho2 / c2d + v * alpha)


@torch.no_grad()
def tal_assign(pd_scores, pd_bboxes, anc, gt_labels, gt_bboxes, mask_gt, nc, topk=10, alpha=0.5, beta=6.0, eps=1e-9):
    """Task-aligned assignment (YOLOv8). pd_* [B,N,.] in pixels, gt_bboxes [B,M,4] xyxy px, mask_gt [B,M] bool.
    Returns target boxes [B,N,4], target scores [B,N,nc], foreground mask [B,N]."""
    B, N, _ = pd_scores.shape
    M = gt_bboxes.shape[1]
    if M == 0:
        return torch.zeros_like(pd_bboxes), torch.zeros_like(pd_scores), torch.zeros(B, N, dtype=torch.bool)
    # Candidates: anchor centres inside the gt box, the box widened to >= 10 px so that the thinnest items
    # (a trouser can be 6 px wide) still cover a stride-8 anchor centre.
    c = (gt_bboxes[..., :2] + gt_bboxes[..., 2:]) / 2
    half = ((gt_bboxes[..., 2:] - gt_bboxes[..., :2]) / 2).clamp(min=5.0)
    d = (anc[None, None] - c[:, :, None]).abs()                           # [B,M,N,2]
    in_gts = (d < half[:, :, None]).all(-1) & mask_gt[..., None]          # [B,M,N]
    scores = pd_scores.permute(0, 2, 1).gather(1, gt_labels[..., None].expand(-1, -1, N))   # [B,M,N]
    overlaps = box_iou_pair(gt_bboxes[:, :, None], pd_bboxes[:, None]).clamp(0) * in_gts
    align = scores.pow(alpha) * overlaps.pow(beta) * in_gts
    topk_idx = align.topk(topk, -1).indices
    mask_pos = torch.zeros_like(align).scatter_(-1, topk_idx, 1.0) * in_gts
    fg = mask_pos.sum(1)
    if (fg > 1).any():  # an anchor claimed by several gts goes to the one it overlaps most
        is_max = F.one_hot(overlaps.argmax(1), M).permute(0, 2, 1).to(mask_pos.dtype)
        mask_pos = torch.where(fg[:, None] > 1, is_max, mask_pos)
        fg = mask_pos.sum(1)
    gt_idx = mask_pos.argmax(1)                                            # [B,N]
    t_labels = gt_labels.gather(1, gt_idx)
    t_boxes = gt_bboxes.gather(1, gt_idx[..., None].expand(-1, -1, 4))
    fgm = fg > 0
    t_scores = F.one_hot(t_labels, nc).float() * fgm[..., None]
    align = align * mask_pos
    pos_align = align.amax(-1, keepdim=True)
    pos_ov = (overlaps * mask_pos).amax(-1, keepdim=True)
    norm = (align * pos_ov / (pos_align + eps)).amax(1)                     # [B,N]
    return t_boxes, t_scores * norm[..., None], fgm


def yolo_loss(raw, shapes, targets, nc, reg_max):
    """raw [B, 4*reg_max+nc, N]; targets: list of float tensors [k,5] (class, x1, y1, x2, y2 in px)."""
    B = raw.shape[0]
    anc, st = make_anchors(shapes, STRIDES)
    pd_dist, pd_logits = raw.permute(0, 2, 1).split((4 * reg_max, nc), 2)
    proj = torch.arange(reg_max, dtype=torch.float)
    pd_ltrb = pd_dist.view(B, -1, 4, reg_max).softmax(3) @ proj           # grid units
    pd_boxes = dist2bbox(pd_ltrb, anc, xywh=False)                        # grid units, xyxy
    M = max(1, max(len(t) for t in targets))
    gt = torch.zeros(B, M, 5)
    mask_gt = torch.zeros(B, M, dtype=torch.bool)
    for i, t in enumerate(targets):
        gt[i, :len(t)] = t
        mask_gt[i, :len(t)] = True
    gt_labels, gt_boxes = gt[..., 0].long(), gt[..., 1:]
    t_boxes, t_scores, fg = tal_assign(pd_logits.detach().sigmoid(), pd_boxes.detach() * st, anc * st,
                                       gt_labels, gt_boxes, mask_gt, nc)
    tss = t_scores.sum().clamp(min=1)
    l_cls = F.binary_cross_entropy_with_logits(pd_logits, t_scores, reduction="sum") / tss
    l_box = l_dfl = torch.zeros(())
    if fg.any():
        w = t_scores.sum(-1)[fg][:, None]
        t_grid = t_boxes / st                                              # grid units of each anchor
        iou = box_iou_pair(pd_boxes[fg], t_grid[fg], ciou=True)[:, None]
        l_box = ((1 - iou) * w).sum() / tss
        ancf = anc[None].expand(B, -1, -1)[fg]
        tg = t_grid[fg]
        t_ltrb = torch.cat((ancf - tg[:, :2], tg[:, 2:] - ancf), 1).clamp(0, reg_max - 1 - 0.01)
        pdist = pd_dist[fg].view(-1, reg_max)
        tl = t_ltrb.long().view(-1)
        wl = (tl + 1 - t_ltrb.view(-1))
        dfl = (F.cross_entropy(pdist, tl, reduction="none") * wl
               + F.cross_entropy(pdist, tl + 1, reduction="none") * (1 - wl)).view(-1, 4).mean(1, keepdim=True)
        l_dfl = (dfl * w).sum() / tss
    return 7.5 * l_box + 0.5 * l_cls + 1.5 * l_dfl, torch.stack((l_box, l_cls, l_dfl)).detach()


# ---------------------------------------------------------------- data

def load_split(root, split):
    """All images of a split as uint8 [K,160,160] plus per-image label arrays [k,5] (class, x1,y1,x2,y2 px)."""
    idir = os.path.join(root, "images", split)
    names = sorted(f for f in os.listdir(idir) if f.endswith(".png"))
    imgs = np.zeros((len(names), IMGSZ, IMGSZ), np.uint8)
    labels = []
    for i, n in enumerate(names):
        im = Image.open(os.path.join(idir, n)).convert("L")
        if im.size != (IMGSZ, IMGSZ):
            raise ValueError(f"{n}: expected {IMGSZ}x{IMGSZ}, found {im.size}")
        imgs[i] = np.asarray(im)
        lab = np.loadtxt(os.path.join(root, "labels", split, n[:-4] + ".txt"), ndmin=2).reshape(-1, 5)
        xyxy = np.concatenate((lab[:, 1:3] - lab[:, 3:5] / 2, lab[:, 1:3] + lab[:, 3:5] / 2), 1) * IMGSZ
        labels.append(np.concatenate((lab[:, :1], xyxy), 1).astype(np.float32))
    return imgs, labels


def to_input(imgs_u8):
    """uint8 [B,H,W] grayscale -> float32 [B,3,H,W] in [0,1] (channels replicated, as RGB of a gray PNG)."""
    x = torch.from_numpy(np.ascontiguousarray(imgs_u8)).float().div_(255)
    return x[:, None].expand(-1, 3, -1, -1).contiguous()


# ---------------------------------------------------------------- evaluation (numpy, COCO-style)

def nms_decode(pred, conf=0.001, iou=0.7, max_det=300):
    """pred [B, 4+nc, N] (export layout) -> list of numpy [k,6] (x1,y1,x2,y2,score,class)."""
    import torchvision
    out = []
    for p in pred:
        p = p.t()
        boxes = torch.cat((p[:, :2] - p[:, 2:4] / 2, p[:, :2] + p[:, 2:4] / 2), 1)
        scores, cls = p[:, 4:].max(1)  # one label per box, as Ultralytics' default (multi_label=False)
        keep = scores > conf
        boxes, scores, cls = boxes[keep], scores[keep], cls[keep]
        k = torchvision.ops.batched_nms(boxes, scores, cls, iou)[:max_det]
        out.append(torch.cat((boxes[k], scores[k, None], cls[k, None].float()), 1).numpy())
    return out


def iou_matrix(a, b):
    ix = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = ix * iy
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])
    return inter / (area(a)[:, None] + area(b)[None, :] - inter)


def coco_map(dets, gts, nc):
    """COCO-style AP per class at IoU 0.50:0.05:0.95 (101-point interpolation, greedy matching in score order,
    each detection to the best still-unmatched gt). dets: per image [k,6]; gts: per image [m,5] (cls, xyxy).
    Returns (mAP50, mAP50-95, per-class AP50 list); classes without gt are left out of the means."""
    thr = np.linspace(0.5, 0.95, 10)
    ap = np.full((nc, len(thr)), np.nan)
    for c in range(nc):
        scores, tps, npos = [], [], 0
        for d, g in zip(dets, gts):
            dc = d[d[:, 5] == c]
            dc = dc[np.argsort(-dc[:, 4], kind="mergesort")]
            gc = g[g[:, 0] == c, 1:]
            npos += len(gc)
            tp = np.zeros((len(dc), len(thr)), bool)
            if len(dc) and len(gc):
                ious = iou_matrix(dc[:, :4], gc)
                for t, th in enumerate(thr):
                    used = np.zeros(len(gc), bool)
                    for i in range(len(dc)):
                        cand = np.where(~used & (ious[i] >= th), ious[i], -1)
                        j = int(np.argmax(cand))
                        if cand[j] >= 0:
                            used[j] = tp[i, t] = True
            scores.append(dc[:, 4])
            tps.append(tp)
        if npos == 0:
            continue
        s = np.concatenate(scores)
        tp = np.concatenate(tps)[np.argsort(-s, kind="mergesort")]
        ctp, cfp = np.cumsum(tp, 0), np.cumsum(~tp, 0)
        rs = np.linspace(0, 1, 101)
        for t in range(len(thr)):
            rec = ctp[:, t] / npos
            prec = ctp[:, t] / np.maximum(ctp[:, t] + cfp[:, t], 1e-12)
            prec = np.maximum.accumulate(prec[::-1])[::-1] if len(prec) else prec
            idx = np.searchsorted(rec, rs, side="left")
            ap[c, t] = np.mean([prec[i] if i < len(prec) else 0.0 for i in idx])
    valid = ~np.isnan(ap[:, 0])
    return float(ap[valid, 0].mean()), float(ap[valid].mean()), ap[:, 0].tolist()


@torch.no_grad()
def evaluate(model, imgs, labels, nc, bs=50):
    model.eval()
    det = model.detect
    det.export, det.anchors = True, None
    dets = []
    for i in range(0, len(imgs), bs):
        dets += nms_decode(model(to_input(imgs[i:i + bs])))
    det.export = False
    return coco_map(dets, labels, nc)


# ---------------------------------------------------------------- training

class EMA:
    def __init__(self, model, decay=0.9998, tau=400):
        import copy
        self.ema = copy.deepcopy(model).eval().requires_grad_(False)
        self.decay, self.tau, self.updates = decay, tau, 0

    @torch.no_grad()
    def update(self, model):
        self.updates += 1
        d = self.decay * (1 - math.exp(-self.updates / self.tau))
        msd = model.state_dict()
        for k, v in self.ema.state_dict().items():
            if v.dtype.is_floating_point:
                v.mul_(d).add_(msd[k].detach(), alpha=1 - d)
            else:
                v.copy_(msd[k])


def read_names(root):
    import yaml
    with open(os.path.join(root, "data.yaml")) as f:
        y = yaml.safe_load(f)
    names = y["names"]
    return list(names.values()) if isinstance(names, dict) else list(names)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", help="data set root written by make_detection_data.py")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "examples", "detector.onnx"))
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--stop-map", type=float, default=0.95, help="stop once val mAP@0.5 reaches this")
    ap.add_argument("--time-limit", type=float, default=40, help="minutes; stop after the epoch that passes it")
    ap.add_argument("--limit-train", type=int, default=0, help="use only the first K train images (smoke tests)")
    ap.add_argument("--ckpt", default="", help="also save the best EMA state_dict here")
    ap.add_argument("--from-ckpt", default="", help="skip training: export the state_dict saved by --ckpt")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    t0 = time.time()
    names = read_names(args.data)
    nc = len(names)
    xtr, ytr = load_split(args.data, "train")
    if args.limit_train:
        xtr, ytr = xtr[:args.limit_train], ytr[:args.limit_train]
    xva, yva = load_split(args.data, "val")
    if args.from_ckpt:
        model = YOLOv8(nc)
        model.load_state_dict(torch.load(args.from_ckpt))
        export(model.eval().fuse(), args, xva, yva, nc, names)
        return
    print(f"data: {len(xtr)} train / {len(xva)} val images, nc={nc} {names}; loaded in {time.time() - t0:.0f} s")

    model = YOLOv8(nc)
    print(f"YOLOv8 (nano-like): {sum(p.numel() for p in model.parameters())} parameters")
    decay, no_decay = [], []
    for n_, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if p.ndim <= 1 else decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 5e-4}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.937, 0.999))
    nb = (len(xtr) + args.batch - 1) // args.batch
    total, warm = args.epochs * nb, min(300, nb)
    lr_at = lambda it: args.lr * (it + 1) / warm if it < warm else \
        args.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * (it - warm) / max(1, total - warm))))
    ema = EMA(model)
    gen = torch.Generator().manual_seed(args.seed)
    best, best_state, it = (-1.0, 0.0, None), None, 0

    for ep in range(args.epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=gen).numpy()
        flips = (torch.rand(len(xtr), generator=gen) < 0.5).numpy()
        run = torch.zeros(3)
        te = time.time()
        for bi in range(nb):
            idx = perm[bi * args.batch:(bi + 1) * args.batch]
            imgs = xtr[idx].copy()
            targets = []
            for j, k in enumerate(idx):
                t = torch.from_numpy(ytr[k].copy())
                if flips[k]:  # horizontal flip: image and boxes
                    imgs[j] = imgs[j, :, ::-1]
                    t[:, [1, 3]] = IMGSZ - t[:, [3, 1]]
                targets.append(t)
            for g in opt.param_groups:
                g["lr"] = lr_at(it)
            raw, shapes = model(to_input(imgs))
            loss, parts = yolo_loss(raw, shapes, targets, nc, model.detect.reg_max)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
            ema.update(model)
            run += parts
            it += 1
            if bi % 50 == 0:
                print(f"  ep {ep + 1} batch {bi}/{nb}: box {parts[0]:.3f} cls {parts[1]:.3f} dfl {parts[2]:.3f} "
                      f"({(time.time() - te) / (bi + 1):.2f} s/batch)", flush=True)
        m50, m5095, per = evaluate(ema.ema, xva, yva, nc)
        el = (time.time() - t0) / 60
        run /= nb
        print(f"epoch {ep + 1}/{args.epochs}: loss box {run[0]:.3f} cls {run[1]:.3f} dfl {run[2]:.3f}  "
              f"val mAP@0.5 {m50:.4f} mAP@0.5:0.95 {m5095:.4f} per-class AP50 "
              f"{' '.join(f'{a:.3f}' for a in per)}  ({el:.1f} min)", flush=True)
        if m50 > best[0]:
            import copy
            best, best_state = (m50, m5095, ep + 1), copy.deepcopy(ema.ema.state_dict())
            if args.ckpt:
                torch.save(best_state, args.ckpt)
        if m50 >= args.stop_map or el >= args.time_limit:
            break

    print(f"best: epoch {best[2]}, val mAP@0.5 {best[0]:.4f}, mAP@0.5:0.95 {best[1]:.4f}; "
          f"training {(time.time() - t0) / 60:.1f} min")
    model = YOLOv8(nc)
    model.load_state_dict(best_state)
    export(model.eval().fuse(), args, xva, yva, nc, names)
    if best[0] < 0.80:
        print("error: val mAP@0.5 below the 0.80 bar", file=sys.stderr)
        sys.exit(1)


def export(model, args, xva, yva, nc, names):
    import onnx
    m50, m5095, per = evaluate(model, xva, yva, nc)
    print(f"fused model: val mAP@0.5 {m50:.4f}, mAP@0.5:0.95 {m5095:.4f}, per-class AP50 "
          + " ".join(f"{n} {a:.3f}" for n, a in zip(names, per)))
    if os.path.isdir(os.path.join(args.data, "images", "test")):  # never used for training or model selection
        xte, yte = load_split(args.data, "test")
        m50, m5095, per = evaluate(model, xte, yte, nc)
        print(f"fused model: test mAP@0.5 {m50:.4f}, mAP@0.5:0.95 {m5095:.4f}, per-class AP50 "
              + " ".join(f"{n} {a:.3f}" for n, a in zip(names, per)))
    model.detect.export, model.detect.anchors = True, None
    out = os.path.abspath(args.out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    import warnings
    # The int() shape reads are meant to freeze shapes (static export); the exporter's notes on them are noise.
    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
    warnings.filterwarnings("ignore", message="The shape inference of prim::Constant")
    with torch.no_grad():
        model(torch.zeros(1, 3, IMGSZ, IMGSZ))
        torch.onnx.export(model, torch.zeros(1, 3, IMGSZ, IMGSZ), out, opset_version=13,
                          input_names=["images"], output_names=["output0"], do_constant_folding=True)
    m = onnx.load(out)
    # Ultralytics-style metadata so tools can find the class names, strides and input size.
    for k, v in {"names": str(dict(enumerate(names))), "stride": "32", "imgsz": f"[{IMGSZ}, {IMGSZ}]",
                 "task": "detect", "batch": "1",
                 "description": "edgeopt example YOLOv8-architecture detector (scripts/train_detector.py)"}.items():
        e = m.metadata_props.add()
        e.key, e.value = k, v
    onnx.checker.check_model(m)
    onnx.save(m, out)
    ops = sorted({n.op_type for n in m.graph.node})
    print(f"wrote {out} ({os.path.getsize(out)} bytes), ops: {', '.join(ops)}")
    check_with_ort(model, out, xva[:1])


def check_with_ort(model, onnx_path, img_u8):
    """Runs the exported file in ONNX Runtime (scripts/ort_run.js) on one val image; compares with PyTorch."""
    import shutil
    import subprocess
    import tempfile
    ort_js = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ort_run.js")
    if not shutil.which("node"):
        print("warning: node not found, ONNX Runtime check skipped")
        return
    x = to_input(img_u8)
    with torch.no_grad():
        ref = model(x).numpy()
    with tempfile.TemporaryDirectory() as d:
        np.save(os.path.join(d, "images.npy"), x.numpy())
        subprocess.run(["node", ort_js, onnx_path, "--input", f"images={d}/images.npy", "--output-dir", d],
                       check=True, stdout=subprocess.DEVNULL)
        got = np.load(os.path.join(d, "output0.npy"))
    diff = np.abs(got - ref).max()
    print(f"ONNX Runtime vs PyTorch on val image 0: output {list(got.shape)}, max abs diff {diff:.2e}")
    if got.shape != ref.shape or diff > 1e-3:
        raise SystemExit("error: ONNX Runtime disagrees with PyTorch")


if __name__ == "__main__":
    main()
