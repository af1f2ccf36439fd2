#!/usr/bin/python3
"""Fixtures with known answers for tests/cli/test_eval.sh (`edgeopt eval` / `edgeopt compare`).

    /usr/bin/python3 scripts/make_eval_fixtures.py OUT_DIR

The models read their answer out of the image pixels, so every detection and score is known here
exactly and the evaluation loop (preprocessing, letterbox, decoding, metrics) can be checked end to end:

  det.onnx       input "images" [1,3,64,64] float (pixels / 255), output "output0" [1,4+3,N=36] (YOLOv8
                 layout): the first 4 rows of the input image hold N candidates of 7 bytes each, read
                 in row-major order: cx, cy, w, h (input pixels, one byte each), then 3 class scores
                 (byte / 255). The data set's images are 64x48 PNGs, so the letterbox puts image row 0
                 at input row 8 (scale 1, pad_y 8): the model reads input rows 8..11.
  det_scaled.onnx  det.onnx with the boxes scaled by 0.5 (a different detector, same shapes).
  cls.onnx       input "input" [N,1,28,28] float (pixels / 255), output "logits" [N,10]: the first 10
                 pixels of the image.
  cls_cand.onnx  logits * 0.75 + b (b fixed below): a "candidate" for compare.
  cls_flat.onnx  input [N,784] (a flat input: the 28x28 images are reshaped to it).
  dyn.onnx       input "x" [1,1,H,W] with symbolic H, W (prepared again for every image size), output
                 [1,2] = [m, 1 - m], m = mean pixel (/255): class 0 for bright images.
  dyn_cand.onnx  [0.9 m, 1 - 0.9 m].

  det_perfect/   YOLO set (data.yaml, val split, 3 classes): every image encodes exactly its labels
                 with score 1 (mAP must be 1).
  det_random/    YOLO set: labels plus encoded detections that are jittered copies, misses, duplicates
                 and false positives with random scores; expect_det.npy holds every detection the
                 decoder must give [image, class, score, x1, y1, x2, y2] in original-image pixels,
                 expect_gt.npy the ground truth [image, class, x1, y1, x2, y2].
  cls_idx/       IDX (gz) images + labels, 60 items; cls_scores.npy / cls_labels.npy: the logits
                 edgeopt must see (float32, computed as the preprocessing does) and the labels;
                 cls_cand_scores.npy: the candidate's logits.
  folder/        ImageFolder (val/bright, val/dark) of gray PNGs of assorted sizes for dyn.onnx: top-1 is 1.
  npy/           the same images as .npy tensors [1,1,h,w] (pixels / 255), for compare; npy_ref.npy and
                 npy_cand.npy: the two models' outputs [S, 2] (float32, from numpy).
  bad/           YOLO sets with one defect each (4-field label line, class id >= nc, coordinate > 1,
                 corrupt PNG), an empty set, and a data.yaml whose nc disagrees with the model.
Seeded: two runs give the same files.
"""
import gzip
import os
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(5)
NC, N, W, H, IN = 3, 36, 64, 48, 64
PAD_Y = 8  # Ultralytics letterbox of 64x48 into 64x64: top = round(16/2 - 0.1) = 8
NAMES = ["circle", "square", "tri"]


def mk(*p):
    d = os.path.join(out, *p)
    os.makedirs(d, exist_ok=True)
    return d


def save(model, name):
    model.opset_import[0].version = 13
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out, name))


def c(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


# ---------------------------------------------------------------- models

def det_model(box_gain):
    # images[:, 0, 8:12, :] -> [1, 256] -> first N*7 -> [1, N, 7] * gains -> [1, 7, N]
    nodes = [
        helper.make_node("Slice", ["images", "s_start", "s_end", "s_axes"], ["rows"]),
        helper.make_node("Reshape", ["rows", "flat_shape"], ["flat"]),
        helper.make_node("Slice", ["flat", "c_start", "c_end", "c_axes"], ["cand"]),
        helper.make_node("Reshape", ["cand", "cand_shape"], ["cand3"]),
        helper.make_node("Mul", ["cand3", "gain"], ["scaled"]),
        helper.make_node("Transpose", ["scaled"], ["output0"], perm=[0, 2, 1]),
    ]
    gain = np.array([255 * box_gain] * 4 + [1.0] * NC, np.float32)
    inits = [c("s_start", np.array([0, PAD_Y], np.int64)), c("s_end", np.array([1, PAD_Y + 4], np.int64)),
             c("s_axes", np.array([1, 2], np.int64)), c("flat_shape", np.array([1, 4 * IN], np.int64)),
             c("c_start", np.array([0], np.int64)), c("c_end", np.array([N * (4 + NC)], np.int64)),
             c("c_axes", np.array([1], np.int64)), c("cand_shape", np.array([1, N, 4 + NC], np.int64)),
             c("gain", gain)]
    g = helper.make_graph(nodes, "det", [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, IN, IN])],
                          [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 4 + NC, N])], inits)
    return helper.make_model(g)


save(det_model(1.0), "det.onnx")
save(det_model(0.5), "det_scaled.onnx")


def cls_model(mul, add, flat=False):
    nodes = []
    src = "input"
    if not flat:
        nodes.append(helper.make_node("Flatten", ["input"], ["flat"], axis=1))
        src = "flat"
    nodes.append(helper.make_node("Slice", [src, "st", "en", "ax"], ["first" if mul is not None else "logits"]))
    inits = [c("st", np.array([0], np.int64)), c("en", np.array([10], np.int64)), c("ax", np.array([1], np.int64))]
    if mul is not None:
        nodes += [helper.make_node("Mul", ["first", "m"], ["prod"]), helper.make_node("Add", ["prod", "b"], ["logits"])]
        inits += [c("m", np.array(mul, np.float32)), c("b", np.asarray(add, np.float32))]
    shape = ["N", 784] if flat else ["N", 1, 28, 28]
    g = helper.make_graph(nodes, "cls", [helper.make_tensor_value_info("input", TensorProto.FLOAT, shape)],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], inits)
    return helper.make_model(g)


CAND_B = np.linspace(-0.05, 0.05, 10).astype(np.float32)
save(cls_model(None, None), "cls.onnx")
save(cls_model(0.75, CAND_B), "cls_cand.onnx")
save(cls_model(None, None, flat=True), "cls_flat.onnx")

def dyn_model(gain):
    nodes = [helper.make_node("ReduceMean", ["x"], ["m0"], axes=[2, 3], keepdims=0),
             helper.make_node("Mul", ["m0", "g"], ["m"]),
             helper.make_node("Sub", ["one", "m"], ["n"]),
             helper.make_node("Concat", ["m", "n"], ["scores"], axis=1)]
    g = helper.make_graph(nodes, "dyn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, "H", "W"])],
                          [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 2])],
                          [c("g", np.array(gain, np.float32)), c("one", np.array(1.0, np.float32))])
    return helper.make_model(g)


save(dyn_model(1.0), "dyn.onnx")
save(dyn_model(0.9), "dyn_cand.onnx")

# ---------------------------------------------------------------- detection data sets


def rand_gt(k):
    """k boxes (class, cx, cy, w, h) in integer pixels of the 64x48 image, even sides (exact centers)."""
    boxes = []
    while len(boxes) < k:
        w, h = 2 * rng.integers(3, 14), 2 * rng.integers(3, 11)
        cx, cy = rng.integers(w // 2, W - w // 2 + 1), rng.integers(h // 2, H - h // 2 + 1)
        boxes.append((int(rng.integers(0, NC)), int(cx), int(cy), int(w), int(h)))
    return boxes


def encode(cands):
    """Candidates (cx, cy, w, h in input pixels, scores[NC] in bytes) -> a 64x48 gray image."""
    img = rng.integers(0, 256, size=(H, W), dtype=np.uint8)  # noise elsewhere: the model never reads it
    flat = np.zeros(4 * W, np.uint8)
    for i, (cx, cy, w, h, sc) in enumerate(cands):
        flat[i * 7:(i + 1) * 7] = [cx, cy, w, h, *sc]
    img[0:4, :] = flat.reshape(4, W)
    return img


def write_set(root, images, split="val", nc=NC, names=NAMES):
    d_img, d_lab = mk(root, "images", split), mk(root, "labels", split)
    with open(os.path.join(out, root, "data.yaml"), "w") as f:
        f.write(f"path: .\n{split}: images/{split}\nnc: {nc}\nnames: {names}\n")
    for k, (img, labels) in enumerate(images):
        Image.fromarray(img, "L").save(f"{d_img}/{k:04d}.png")
        with open(f"{d_lab}/{k:04d}.txt", "w") as f:
            for line in labels:
                f.write(line + "\n")


def yolo_line(b):
    cl, cx, cy, w, h = b
    return f"{cl} {cx / W:.10g} {cy / H:.10g} {w / W:.10g} {h / H:.10g}"


# perfect: detections == labels, score 255 -> 1.0
perfect = []
for k in range(12):
    gt = rand_gt(int(rng.integers(1, 5)))
    cands = [(cx, cy + PAD_Y, w, h, [255 if j == cl else 0 for j in range(NC)]) for cl, cx, cy, w, h in gt]
    perfect.append((encode(cands), [yolo_line(b) for b in gt]))
write_set("det_perfect", perfect)

# random: jitter, misses, duplicates, false positives, multi-label candidates
rand_imgs, exp_det, exp_gt = [], [], []
for k in range(40):
    gt = rand_gt(int(rng.integers(0, 6)))
    cands = []
    for cl, cx, cy, w, h in gt:
        if rng.random() < 0.15:
            continue  # missed
        for _ in range(1 if rng.random() < 0.8 else 2):  # sometimes a duplicate
            j = np.concatenate([rng.integers(-2, 3, size=2), rng.integers(-1, 2, size=2)])
            sc = [0] * NC
            sc[cl if rng.random() < 0.85 else int(rng.integers(0, NC))] = int(rng.integers(1, 256))
            cands.append((int(np.clip(cx + j[0], 0, 255)), int(np.clip(cy + PAD_Y + j[1], 0, 255)),
                          int(max(w + 2 * j[2], 2)), int(max(h + 2 * j[3], 2)), sc))
    for _ in range(int(rng.integers(0, 4))):  # false positives, some multi-label
        b = rand_gt(1)[0]
        sc = [int(v) if rng.random() < 0.5 else 0 for v in rng.integers(1, 256, size=NC)]
        cands.append((b[1], b[2] + PAD_Y, b[3], b[4], sc))
    # the NMS must keep everything (the expected list is the candidates themselves): drop candidates
    # whose same-class IoU with an earlier kept one exceeds 0.6
    kept = []

    def xyxy(cd):
        cx, cy, w, h = cd[:4]
        return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])

    def iou(a, b):
        iw = max(0, min(a[2], b[2]) - max(a[0], b[0]))
        ih = max(0, min(a[3], b[3]) - max(a[1], b[1]))
        u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - iw * ih
        return iw * ih / u if u > 0 else 0

    for cd in cands:
        clash = any(iou(xyxy(cd), xyxy(q)) > 0.6 and any(cd[4][j] and q[4][j] for j in range(NC)) for q in kept)
        if not clash and any(cd[4]):
            kept.append(cd)
    cands = kept[:N]
    rand_imgs.append((encode(cands), [yolo_line(b) for b in gt]))
    for cd in cands:
        x1, y1, x2, y2 = xyxy(cd)
        y1, y2 = y1 - PAD_Y, y2 - PAD_Y
        x1, x2 = np.clip([x1, x2], 0, W)
        y1, y2 = np.clip([y1, y2], 0, H)
        for j in range(NC):
            if cd[4][j]:
                exp_det.append([k, j, cd[4][j] / 255.0, x1, y1, x2, y2])
    for cl, cx, cy, w, h in gt:
        exp_gt.append([k, cl, cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
write_set("det_random", rand_imgs)
np.save(os.path.join(out, "det_random", "expect_det.npy"), np.array(exp_det, np.float64).reshape(-1, 7))
np.save(os.path.join(out, "det_random", "expect_gt.npy"), np.array(exp_gt, np.float64).reshape(-1, 6))

# ---------------------------------------------------------------- bad data sets
good = perfect[:3]
write_set("bad/fields", good)
with open(os.path.join(out, "bad/fields/labels/val/0001.txt"), "a") as f:
    f.write("1 0.5 0.5 0.2\n")  # line 2 or later: 4 fields
write_set("bad/classid", good)
with open(os.path.join(out, "bad/classid/labels/val/0002.txt"), "w") as f:
    f.write("7 0.5 0.5 0.2 0.2\n")
write_set("bad/coord", good)
with open(os.path.join(out, "bad/coord/labels/val/0000.txt"), "w") as f:
    f.write("0 0.5 0.5 0.2 0.2\n0 1.25 0.5 0.2 0.2\n")
write_set("bad/corrupt", good)
with open(os.path.join(out, "bad/corrupt/images/val/0001.png"), "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
write_set("bad/nc", good, nc=5, names=NAMES + ["x", "y"])
mk("bad/empty")

# ---------------------------------------------------------------- classification (IDX)
S = 60
imgs = rng.integers(0, 256, size=(S, 28, 28), dtype=np.uint8)
labels = rng.integers(0, 10, size=S).astype(np.uint8)
# make the model right about 70% of the time: the label's pixel is the largest then
for i in range(S):
    if rng.random() < 0.7:
        imgs[i, 0, labels[i]] = 255
imgs[5, 0, :10] = 77  # an all-tie row: top-1 is class 0 (first maximum)
d = mk("cls_idx")
with gzip.open(f"{d}/t10k-images-idx3-ubyte.gz", "wb") as f:
    f.write(struct.pack(">IIII", 0x803, S, 28, 28) + imgs.tobytes())
with gzip.open(f"{d}/t10k-labels-idx1-ubyte.gz", "wb") as f:
    f.write(struct.pack(">II", 0x801, S) + labels.tobytes())
# what edgeopt computes: float32(pixel) * float32(1/255), then (x - 0) / 1
scores = imgs[:, 0, :10].astype(np.float32) * np.float32(1 / 255)
np.save(f"{d}/cls_scores.npy", scores)
np.save(f"{d}/cls_labels.npy", labels.astype(np.int64))
np.save(f"{d}/cls_cand_scores.npy", scores * np.float32(0.75) + CAND_B)
with open(f"{d}/names.txt", "w") as f:
    f.write("\n".join(f"class-{i}" for i in range(10)) + "\n")

# ---------------------------------------------------------------- dynamic sizes: ImageFolder and .npy
ref, cand = [], []
mk("npy")
for k in range(10):
    bright = k % 2 == 0
    h, w = int(rng.integers(8, 40)), int(rng.integers(8, 40))
    img = rng.integers(150, 256, size=(h, w)) if bright else rng.integers(0, 100, size=(h, w))
    img = img.astype(np.uint8)
    Image.fromarray(img, "L").save(os.path.join(mk("folder", "val", "bright" if bright else "dark"), f"{k:02d}.png"))
    x = (img.astype(np.float32) * np.float32(1 / 255))[None, None]
    np.save(os.path.join(out, "npy", f"{k:02d}.npy"), x)
    m = x.mean(dtype=np.float64)
    ref.append([m, 1 - m])
    cand.append([0.9 * m, 1 - 0.9 * m])
np.save(os.path.join(out, "npy_ref.npy"), np.array(ref, np.float32))
np.save(os.path.join(out, "npy_cand.npy"), np.array(cand, np.float32))
