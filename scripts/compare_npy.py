#!/usr/bin/python3
"""Compares two directories of .npy outputs (A = candidate, B = reference).

    /usr/bin/python3 scripts/compare_npy.py DIR_A DIR_B [--rel 1e-4] [--quiet]

Both directories must hold the same set of .npy names; each pair must agree in shape and dtype and
satisfy max|A - B| <= rel * max|B| (for an all-zero reference, max|A - B| must be 0). NaNs must sit
in the same places; integers and bools are compared the same way (so rel < 1/max|B| means exact).
Prints one row per output and exits 1 if anything fails or is missing, 2 on usage errors.
"""
import argparse
import os
import sys

import numpy as np


def npy_names(d):
    if not os.path.isdir(d):
        sys.exit("compare_npy: %s is not a directory" % d)
    return {f for f in os.listdir(d) if f.endswith(".npy")}


def compare(a, b, rel):
    """Returns (max_abs_diff, max_ref, ratio, ok, note)."""
    if a.shape != b.shape:
        return None, None, None, False, "shape %s vs %s" % (list(a.shape), list(b.shape))
    if a.dtype != b.dtype:
        return None, None, None, False, "dtype %s vs %s" % (a.dtype, b.dtype)
    if a.size == 0:
        return 0.0, 0.0, 0.0, True, "empty"
    fa = a.astype(np.float64)
    fb = b.astype(np.float64)
    note = ""
    nan_a, nan_b = np.isnan(fa), np.isnan(fb)
    if (nan_a != nan_b).any():
        return None, None, None, False, "NaN at %d places in A, %d in B" % (nan_a.sum(), nan_b.sum())
    if nan_b.any():
        note = "%d NaN (same places)" % nan_b.sum()
        fa, fb = fa[~nan_b], fb[~nan_b]
    inf_b = np.isinf(fb)
    if (np.isinf(fa) != inf_b).any() or (fa[inf_b] != fb[inf_b]).any():
        return None, None, None, False, "infinities differ"
    fa, fb = fa[~inf_b], fb[~inf_b]
    if fb.size == 0:
        return 0.0, 0.0, 0.0, True, note
    diff = float(np.abs(fa - fb).max())
    ref = float(np.abs(fb).max())
    ratio = diff / ref if ref > 0 else (0.0 if diff == 0 else float("inf"))
    return diff, ref, ratio, ratio <= rel, note


def main():
    ap = argparse.ArgumentParser(description="Compare two directories of .npy files.")
    ap.add_argument("dir_a", help="candidate outputs")
    ap.add_argument("dir_b", help="reference outputs")
    ap.add_argument("--rel", type=float, default=1e-4, help="max|A-B| / max|B| bound (default 1e-4)")
    ap.add_argument("--quiet", action="store_true", help="print failures only")
    a = ap.parse_args()

    na, nb = npy_names(a.dir_a), npy_names(a.dir_b)
    failures = 0
    rows = []
    for name in sorted(na | nb):
        if name not in na or name not in nb:
            rows.append((name, "-", "-", "-", "-", "MISSING", "only in %s" % (a.dir_a if name in na else a.dir_b)))
            failures += 1
            continue
        try:
            x = np.load(os.path.join(a.dir_a, name), allow_pickle=False)
            y = np.load(os.path.join(a.dir_b, name), allow_pickle=False)
        except Exception as e:  # unreadable file is a failure, not a crash
            rows.append((name, "-", "-", "-", "-", "FAIL", "cannot load: %s" % e))
            failures += 1
            continue
        diff, ref, ratio, ok, note = compare(x, y, a.rel)
        failures += not ok
        fmt = lambda v: "-" if v is None else "%.3e" % v
        rows.append((name, "%s%s" % (y.dtype, list(y.shape)), fmt(diff), fmt(ref), fmt(ratio),
                     "PASS" if ok else "FAIL", note))
    if not rows:
        print("compare_npy: no .npy files in %s or %s" % (a.dir_a, a.dir_b))
        return 1

    head = ("output", "ref dtype/shape", "max|A-B|", "max|B|", "ratio", "result", "")
    w = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    line = lambda r: "  ".join(str(v).ljust(w[i]) for i, v in enumerate(r)).rstrip()
    if not a.quiet or failures:
        print(line(head))
        for r in rows:
            if not a.quiet or r[5] != "PASS":
                print(line(r))
    print("%d of %d outputs within rel %.1e%s" % (len(rows) - failures, len(rows), a.rel,
                                                  "" if not failures else "  -> FAIL"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
