#!/usr/bin/python3
"""Fixtures and independent expectations for tests/unit/test_data.c (run with /usr/bin/python3).

    /usr/bin/python3 scripts/make_data_fixtures.py OUT_DIR

Writes, under OUT_DIR:
  img/      PNG (RGB, gray, RGBA, palette, 16-bit gray), BMP (24-bit, 8-bit palette), JPEG (RGB 4:4:4, gray)
            and, per image, NAME.npy: the pixels the decoder must give (PIL's decode for JPEG).
  pre/      source images, case_K.yaml|json preprocessing configs and case_K.npy: the tensor computed here
            in numpy from the documented pipeline (bilinear with half-pixel centers in float32, Ultralytics
            letterbox rounding, torchvision shorter-side resize and center crop), plus the transforms.
  ds/       tiny data sets of every format (YOLO, ImageFolder, IDX gz + raw, .npy), a bad YOLO set with
            one defect per image, an empty one, and big/: 2000 PNGs for the streaming test.
  expected.json  everything the C test compares against.
All randomness is seeded: two runs give the same files.
"""
import gzip
import json
import os
import struct
import sys

import numpy as np
from PIL import Image

F = np.float32
rng = np.random.default_rng(20240601)
out = sys.argv[1]
exp = {}


def mk(*p):
    d = os.path.join(out, *p)
    os.makedirs(d, exist_ok=True)
    return d


def rand_img(h, w, c=3):
    shape = (h, w) if c == 1 else (h, w, c)
    return rng.integers(0, 256, size=shape, dtype=np.uint8)


def smooth_img(h, w):
    """Smooth content (JPEG is lossy: noise would make the comparison meaningless)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(x / 7.0) * np.cos(y / 9.0)
    g = 128 + 90 * np.cos((x + y) / 11.0)
    b = 255 * x / max(w - 1, 1)
    return np.clip(np.stack([r, g, b], -1).round(), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- decoding
d = mk("img")
rgb = rand_img(23, 37)
Image.fromarray(rgb).save(f"{d}/rgb.png")
np.save(f"{d}/rgb.npy", rgb)
Image.fromarray(rgb).save(f"{d}/rgb.bmp")
np.save(f"{d}/rgb_bmp.npy", rgb)
gray = rand_img(19, 29, 1)
Image.fromarray(gray, "L").save(f"{d}/gray.png")
np.save(f"{d}/gray.npy", gray)
Image.fromarray(gray, "L").save(f"{d}/gray.bmp")  # 8-bit palette BMP
np.save(f"{d}/gray_bmp.npy", np.repeat(gray[:, :, None], 3, 2))
rgba = rand_img(17, 21, 4)
Image.fromarray(rgba, "RGBA").save(f"{d}/rgba.png")
np.save(f"{d}/rgba.npy", rgba[:, :, :3].copy())
pal = rng.integers(0, 256, size=(8, 3), dtype=np.uint8)  # 8 palette colors
idx = rng.integers(0, 8, size=(13, 11), dtype=np.uint8)
pim = Image.fromarray(idx, "P")
pim.putpalette(bytes(pal.reshape(-1)))
pim.save(f"{d}/palette.png")
np.save(f"{d}/palette.npy", pal[idx])
g16 = rng.integers(0, 65536, size=(9, 14), dtype=np.uint16)
Image.fromarray(g16.astype(np.int32), "I").convert("I;16").save(f"{d}/gray16.png")
back = np.array(Image.open(f"{d}/gray16.png")).astype(np.uint16)
assert (back == g16).all(), "PIL did not write the 16-bit PNG exactly"
np.save(f"{d}/gray16.npy", (g16 >> 8).astype(np.uint8))  # stb keeps the high byte
# GRAY output from color: stb_image's integer formula
gr = ((rgb[..., 0].astype(np.uint32) * 77 + rgb[..., 1].astype(np.uint32) * 150 + rgb[..., 2].astype(np.uint32) * 29)
      >> 8).astype(np.uint8)
np.save(f"{d}/rgb_as_gray.npy", gr)
sm = smooth_img(48, 64)
np.save(f"{d}/smooth.npy", sm)
Image.fromarray(sm).save(f"{d}/rgb.jpg", quality=95, subsampling=0)
np.save(f"{d}/rgb_jpg_pil.npy", np.array(Image.open(f"{d}/rgb.jpg").convert("RGB")))
smg = sm[..., 1].copy()
np.save(f"{d}/smooth_gray.npy", smg)
Image.fromarray(smg, "L").save(f"{d}/gray.jpg", quality=95)
np.save(f"{d}/gray_jpg_pil.npy", np.array(Image.open(f"{d}/gray.jpg")))
# a file whose extension lies: a PNG named .jpg
Image.fromarray(rgb).save(f"{d}/really_png.jpg", format="PNG")


# ---------------------------------------------------------------- preprocessing (numpy reference)
def taps(src, dst):
    scale = F(src) / F(dst)
    s = (np.arange(dst, dtype=F) + F(0.5)) * scale - F(0.5)
    fl = np.floor(s)
    i0 = fl.astype(np.int64)
    f = (s - fl).astype(F)
    lo = i0 < 0
    i0[lo], f[lo] = 0, 0
    hi = i0 >= src - 1
    i0[hi], f[hi] = src - 1, 0
    return i0, np.minimum(i0 + 1, src - 1), f


def resize(img, nw, nh):
    h, w = img.shape[:2]
    if (nw, nh) == (w, h):
        return img
    x0, x1, fx = taps(w, nw)
    y0, y1, fy = taps(h, nh)
    a = img.astype(F)
    fxb, fyb, one = fx[None, :, None], fy[:, None, None], F(1)
    top = a[y0][:, x0] * (one - fxb) + a[y0][:, x1] * fxb
    bot = a[y1][:, x0] * (one - fxb) + a[y1][:, x1] * fxb
    v = top * (one - fyb) + bot * fyb
    return np.clip(np.rint(v), 0, 255).astype(np.uint8)


def pipeline(img, cfg):
    """img: HWC uint8 in the config's channel order. Returns (tensor, transform dict)."""
    h, w, c = img.shape
    mode = cfg.get("resize", "none")
    W, H = cfg.get("width", 0), cfg.get("height", 0)
    rw, rh = cfg.get("resize_width", 0) or W, cfg.get("resize_height", 0) or H
    pad = cfg.get("pad_value", 114)
    nw, nh, ox, oy = w, h, 0, 0
    if mode == "stretch":
        nw, nh = rw, rh
    elif mode == "letterbox":  # Ultralytics LetterBox
        r = min(rw / w, rh / h)
        nw, nh = int(round(w * r)), int(round(h * r))
        ox, oy = int(round((rw - nw) / 2 - 0.1)), int(round((rh - nh) / 2 - 0.1))
    elif mode == "shorter":  # torchvision Resize(int)
        s = cfg.get("resize_shorter", 0) or min(W, H)
        if w <= h:
            nw, nh = s, int(s * h / w)
        else:
            nw, nh = int(s * w / h), s
    rs = resize(img, nw, nh)
    cw, ch = (rw, rh) if mode == "letterbox" else (nw, nh)
    canvas = np.full((ch, cw, c), pad, np.uint8)
    canvas[oy:oy + nh, ox:ox + nw] = rs
    px, py = ox, oy
    if cfg.get("crop_width"):
        fw, fh = cfg["crop_width"], cfg["crop_height"]
        top, left = int(round((ch - fh) / 2.0)), int(round((cw - fw) / 2.0))  # torchvision CenterCrop
        big = np.full((max(ch, fh) + 2 * fh, max(cw, fw) + 2 * fw, c), pad, np.uint8)
        big[fh:fh + ch, fw:fw + cw] = canvas
        canvas = big[fh + top:fh + top + fh, fw + left:fw + left + fw]
        px, py = ox - left, oy - top
    fh_, fw_ = canvas.shape[:2]
    scale = F(eval(str(cfg.get("scale", "1/255"))))
    mean = np.array(cfg.get("mean", [0, 0, 0]), F).reshape(-1)
    std = np.array(cfg.get("std", [1, 1, 1]), F).reshape(-1)
    if mean.size == 1:
        mean = np.repeat(mean, 3)
    if std.size == 1:
        std = np.repeat(std, 3)
    x = np.empty(canvas.shape, F)
    for k in range(c):
        x[..., k] = (canvas[..., k].astype(F) * scale - mean[k]) / std[k]
    dt = cfg.get("dtype", "float32")
    if dt != "float32":
        lo, hi, npdt = (0, 255, np.uint8) if dt == "uint8" else (-128, 127, np.int8)
        q = np.rint(x / F(cfg.get("quant_scale", 1))) + F(cfg.get("quant_zero_point", 0))
        x = np.clip(q, lo, hi).astype(npdt)
    x = x[None]
    if cfg.get("layout", "nchw") == "nchw":
        x = x.transpose(0, 3, 1, 2)
    tf = dict(orig_width=w, orig_height=h, input_width=fw_, input_height=fh_, scale_x=float(F(nw) / F(w)),
              scale_y=float(F(nh) / F(h)), pad_x=px, pad_y=py)
    return np.ascontiguousarray(x), tf


d = mk("pre")
srcs = {"wide": rand_img(30, 50), "tall": rand_img(41, 23), "tiny": rand_img(7, 9)}
for k, v in srcs.items():
    Image.fromarray(v).save(f"{d}/{k}.png")
cases = [
    ("wide", dict(resize="stretch", width=64, height=64)),
    ("wide", dict(resize="stretch", width=20, height=12, layout="nhwc", channels="bgr",
                  mean=[0.406, 0.456, 0.485], std=[0.225, 0.224, 0.229])),
    ("wide", dict(resize="letterbox", width=64, height=64, pad_value=114)),
    ("tall", dict(resize="letterbox", width=32, height=32, layout="nhwc", dtype="uint8", scale=1, pad_value=0)),
    ("wide", dict(resize="letterbox", width=48, height=40, channels="gray", dtype="int8", scale=1,
                  quant_zero_point=-128)),
    ("wide", dict(resize="shorter", resize_shorter=20, width=16, height=16, crop_width=16, crop_height=16,
                  mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])),
    ("wide", dict(resize="none", width=20, height=20, crop_width=20, crop_height=20)),
    ("wide", dict(resize="none", layout="nhwc", scale=1)),
    ("tall", dict(resize="shorter", resize_shorter=17, crop_width=15, crop_height=15, dtype="int8",
                  quant_scale=0.02, quant_zero_point=3, mean=0.5, std=0.25)),
    ("wide", dict(resize="letterbox", width=50, height=30)),
    ("tiny", dict(resize="stretch", resize_width=10, resize_height=10, crop_width=14, crop_height=12, pad_value=7)),
    ("tall", dict(resize="letterbox", width=41, height=64, channels="bgr", dtype="uint8", scale=1,
                  quant_scale=2, quant_zero_point=10, pad_value=200)),
    ("tiny", dict(resize="stretch", width=40, height=33, channels="gray")),
]
exp["pre"] = []
for i, (src, cfg) in enumerate(cases):
    img = srcs[src]
    ch = cfg.get("channels", "rgb")
    if ch == "bgr":
        img = img[..., ::-1]
    elif ch == "gray":
        img = ((img[..., 0].astype(np.uint32) * 77 + img[..., 1].astype(np.uint32) * 150 +
                img[..., 2].astype(np.uint32) * 29) >> 8).astype(np.uint8)[..., None]
    x, tf = pipeline(np.ascontiguousarray(img), cfg)
    np.save(f"{d}/case_{i}.npy", x)
    ext = "json" if i % 4 == 3 else "yaml"
    with open(f"{d}/case_{i}.{ext}", "w") as f:
        if ext == "json":
            json.dump(cfg, f)
        else:
            f.write("# preprocessing case %d\npreprocess:\n" % i)
            for k, v in cfg.items():
                f.write(f"  {k}: {v}\n")
    exp["pre"].append(dict(config=f"pre/case_{i}.{ext}", image=f"pre/{src}.png", expected=f"pre/case_{i}.npy",
                           transform=tf))


# ---------------------------------------------------------------- data sets
def save_img(path, arr):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(arr).save(path)


def box_line(c, cx, cy, w, h):
    return f"{c} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}"


# YOLO: val split (folder), train split (folder), test split (a .txt list)
y = mk("ds", "yolo")
with open(f"{y}/data.yaml", "w") as f:
    f.write("path: .\ntrain: images/train\nval: images/val\ntest: test.txt\n"
            "names:\n  0: cat\n  1: dog\n  2: bird\nnc: 3\n")
yolo_val = []
sizes = [(40, 30), (25, 50), (33, 33), (64, 48), (20, 20)]
for k, (w, h) in enumerate(sizes):
    name = f"v{k}." + ("jpg" if k == 1 else "png")
    arr = rand_img(h, w)
    if name.endswith("jpg"):
        os.makedirs(f"{y}/images/val", exist_ok=True)
        Image.fromarray(arr).save(f"{y}/images/val/{name}", quality=90)
    else:
        save_img(f"{y}/images/val/{name}", arr)
    boxes = []
    lines = []
    if k == 0:
        boxes = [(0, 0.5, 0.5, 0.4, 0.6), (2, 0.25, 0.3, 0.1, 0.2)]
    elif k == 1:
        boxes = [(1, 0.6, 0.4, 0.3, 0.3)]
    elif k == 2:  # a polygon line: its bounding box
        poly = [0.1, 0.2, 0.5, 0.1, 0.4, 0.7, 0.2, 0.6]
        xs, ys = poly[0::2], poly[1::2]
        boxes = [(2, (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2, max(xs) - min(xs), max(ys) - min(ys))]
        lines = ["2 " + " ".join(f"{v:.6f}" for v in poly)]
    os.makedirs(f"{y}/labels/val", exist_ok=True)
    if k == 3:
        open(f"{y}/labels/val/v3.txt", "w").close()  # empty label file: background
    elif k != 4:  # v4 has no label file at all
        with open(f"{y}/labels/val/{name.rsplit('.', 1)[0]}.txt", "w") as f:
            f.write("\n".join(lines or [box_line(*b) for b in boxes]) + "\n")
    pix = [[c, (cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h] for c, cx, cy, bw, bh in boxes]
    yolo_val.append(dict(path=f"images/val/{name}", width=w, height=h, boxes=[list(b) for b in boxes], pixels=pix))
for k in range(3):
    save_img(f"{y}/images/train/t{k}.png", rand_img(16, 16))
with open(f"{y}/test.txt", "w") as f:
    f.write("./images/train/t2.png\n./images/val/v0.png\n")
exp["yolo_val"] = yolo_val
exp["yolo_test"] = ["images/train/t2.png", "images/val/v0.png"]
exp["yolo_names"] = ["cat", "dog", "bird"]
# a second data.yaml elsewhere: names as a list, `path` relative to the yaml's folder, a list of split folders
o = mk("ds", "other")
with open(f"{o}/data2.yaml", "w") as f:
    f.write("path: ../yolo\ntrain: [images/train, images/val]\nval: images/val\nnames: [cat, dog, bird]\n")

# ImageFolder: classes created in unsorted order; a nested folder and a non-image file
fo = mk("ds", "folder")
folder_items = []
for cls, n in [("zebra", 2), ("ant", 3), ("moth", 1)]:
    for j in range(n):
        sub = "nested/" if (cls == "ant" and j == 2) else ""
        save_img(f"{fo}/{cls}/{sub}img{j}.png", rand_img(12, 10))
with open(f"{fo}/ant/README.txt", "w") as f:
    f.write("not an image\n")
exp["folder_classes"] = ["ant", "moth", "zebra"]
exp["folder_items"] = [["ant/img0.png", 0], ["ant/img1.png", 0], ["ant/nested/img2.png", 0], ["moth/img0.png", 1],
                       ["zebra/img0.png", 2], ["zebra/img1.png", 2]]


# IDX: gzip'd train split, uncompressed t10k split
def idx_bytes(arr, labels=False):
    if labels:
        return struct.pack(">BBBBI", 0, 0, 8, 1, arr.shape[0]) + arr.astype(np.uint8).tobytes()
    return struct.pack(">BBBB", 0, 0, 8, arr.ndim) + struct.pack(">" + "I" * arr.ndim, *arr.shape) + arr.tobytes()


ix = mk("ds", "idx")
tr_img, tr_lab = rand_img(50, 7 * 5, 1).reshape(50, 7, 5), rng.integers(0, 10, 50).astype(np.uint8)
te_img, te_lab = rand_img(20, 6 * 4, 1).reshape(20, 6, 4), rng.integers(0, 10, 20).astype(np.uint8)
with gzip.open(f"{ix}/train-images-idx3-ubyte.gz", "wb") as f:
    f.write(idx_bytes(tr_img))
with gzip.open(f"{ix}/train-labels-idx1-ubyte.gz", "wb") as f:
    f.write(idx_bytes(tr_lab, True))
with open(f"{ix}/t10k-images-idx3-ubyte", "wb") as f:
    f.write(idx_bytes(te_img))
with open(f"{ix}/t10k-labels-idx1-ubyte", "wb") as f:
    f.write(idx_bytes(te_lab, True))
np.save(f"{ix}/train_images.npy", tr_img)
np.save(f"{ix}/t10k_images.npy", te_img)
exp["idx_train_labels"] = tr_lab.tolist()
exp["idx_test_labels"] = te_lab.tolist()
bx = mk("ds", "idx_bad")
with gzip.open(f"{bx}/t10k-images-idx3-ubyte.gz", "wb") as f:  # header says 20 images, data holds 3
    f.write(idx_bytes(te_img)[:16 + 3 * 24 + 5])
with open(f"{bx}/t10k-labels-idx1-ubyte", "wb") as f:
    f.write(idx_bytes(te_lab[:19], True))  # 19 labels for 20 images
with open(f"{bx}/notidx-images-idx3-ubyte", "wb") as f:
    f.write(b"\x00\x00\x0d\x03" + b"\0" * 12)  # float IDX

# .npy folders: one tensor per file; one folder per item with several named tensors
npf = mk("ds", "npy_files")
t_a = rng.standard_normal((1, 3, 4, 4)).astype(np.float32)
t_b = rng.integers(-5, 5, (2, 3)).astype(np.int64)
np.save(f"{npf}/b.npy", t_b)
np.save(f"{npf}/a.npy", t_a)
npi = mk("ds", "npy_items")
for k in range(3):
    os.makedirs(f"{npi}/item{k}", exist_ok=True)
    np.save(f"{npi}/item{k}/images.npy", np.full((1, 2), k, np.float32))
    np.save(f"{npi}/item{k}/scale.npy", np.array([k + 0.5], np.float64))

# Bad inputs: one defect per image, listed in val.txt
b = mk("ds", "bad")
with open(f"{b}/data.yaml", "w") as f:
    f.write("val: val.txt\nnames: [a, b]\n")
good = rand_img(10, 10)
bad_list = []


def bad(name, label=None, img=True):
    if img is True:
        save_img(f"{b}/images/{name}", good)
    elif img is not None:
        os.makedirs(f"{b}/images", exist_ok=True)
        with open(f"{b}/images/{name}", "wb") as f:
            f.write(img)
    if label is not None:
        os.makedirs(f"{b}/labels", exist_ok=True)
        with open(f"{b}/labels/{name.rsplit('.', 1)[0]}.txt", "w") as f:
            f.write(label)
    bad_list.append(f"./images/{name}")


bad("a_good.png", "0 0.5 0.5 0.2 0.2\n")
bad("b_missing.png", img=None)
with open(f"{out}/img/rgb.png", "rb") as f:
    png = f.read()
bad("c_truncated.png", img=png[: len(png) // 2])
bad("d_random.jpg", img=bytes(rng.integers(0, 256, 300, dtype=np.uint8)))
bad("e_four.png", "0 0.5 0.5 0.2 0.2\n1 0.5 0.5 0.2\n")
bad("f_six.png", "0 0.5 0.5 0.2 0.2 0.9\n")
bad("g_outside.png", "0 0.5 0.5 0.2 0.2\n\n1 1.2 0.5 0.2 0.2\n")
bad("h_class.png", "2 0.5 0.5 0.2 0.2\n")
bad("i_text.png", "1 0.5 abc 0.2 0.2\n")
gif = b"GIF89a" + bytes(20)
bad("j_anim.gif", img=gif)
bad("k_negative.png", "-1 0.5 0.5 0.2 0.2\n")
with open(f"{b}/val.txt", "w") as f:
    f.write("\n".join(bad_list) + "\n")
# expected (status name, substrings of the message) per item in sorted order
exp["bad"] = [
    ["ok", []],
    ["io error", ["b_missing.png", "cannot open"]],
    ["parse error", ["c_truncated.png", "PNG"]],
    ["parse error", ["d_random.jpg", "not a PNG, JPEG or BMP"]],
    ["parse error", ["e_four.txt:2", "expected 5 fields", "found 4"]],
    ["parse error", ["f_six.txt:1", "expected 5 fields", "found 6"]],
    ["parse error", ["g_outside.txt:3", "cx = 1.2", "outside [0, 1]"]],
    ["parse error", ["h_class.txt:1", "class id 2 >= nc = 2"]],
    ["parse error", ["i_text.txt:1", "field 3 'abc' is not a number"]],
    ["unsupported", ["j_anim.gif", "GIF"]],
    ["parse error", ["k_negative.txt:1", "class id '-1'"]],
]
mk("ds", "empty")
ey = mk("ds", "yolo_empty")
mk("ds", "yolo_empty", "images", "val")
with open(f"{ey}/data.yaml", "w") as f:
    f.write("train: images/train\nval: images/val\nnc: 4\n")
ns = mk("ds", "yolo_nosplit")
with open(f"{ns}/data.yaml", "w") as f:
    f.write("train: images/train\nnames: [x]\n")
nn = mk("ds", "yolo_badnc")
with open(f"{nn}/data.yaml", "w") as f:
    f.write("val: .\nnames: [x, y]\nnc: 3\n")

# 2000 small images for the streaming test and the subset oracle
big = mk("ds", "big")
base = rand_img(40, 40)
for k in range(2000):
    a = base.copy()
    a[0, 0, 0] = k % 256
    a[0, 1, 0] = k // 256
    Image.fromarray(a).save(f"{big}/img{k:04d}.png", compress_level=1)


def splitmix64(state):
    M = (1 << 64) - 1
    state = (state + 0x9E3779B97F4A7C15) & M
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return state, z ^ (z >> 31)


def subset(n, k, seed):
    idx = list(range(n))
    st = seed
    for i in range(n - 1, 0, -1):
        bound = i + 1
        thresh = (1 << 64) % bound
        while True:
            st, r = splitmix64(st)
            if r >= thresh:
                break
        j = r % bound
        idx[i], idx[j] = idx[j], idx[i]
    return sorted(idx[:k])


exp["subsets"] = [dict(limit=50, fraction=0, seed=7, indices=subset(2000, 50, 7)),
                  dict(limit=0, fraction=0.0123, seed=123456789, indices=subset(2000, round(0.0123 * 2000), 123456789)),
                  dict(limit=30, fraction=0.5, seed=2**63 + 5, indices=subset(2000, 30, 2**63 + 5))]

with open(f"{out}/expected.json", "w") as f:
    json.dump(exp, f, indent=1)
print("fixtures written to", out)
