#!/usr/bin/env bash
# The QDQ groups ONNX Runtime fuses besides Conv (QLinearAdd, QLinearMul, QLinearSigmoid, QLinearSoftmax, QLinearConcat,
# QLinearGlobalAveragePool, QGemm, Q/DQ dropped around Reshape/Transpose/Split; MaxPool), on the fixtures of
# tests/cli/make_qgroups_fixtures.py (uint8 and int8; every Sigmoid code for three scale pairs):
# edgeopt's fused integer kernels must give exactly ORT's outputs (bar fixed before measuring:
# every element of every output identical), and the fast kernels exactly the reference ones
# (EO_FORCE_REF=1). tests/ops/test_qlinear_fuse.c checks that the groups are fused at all.
# usage: test_qgroups_vs_ort.sh EDGEOPT
set -u
. "$(dirname "$0")/lib.sh"  # cli_setup, pass/fail counters, check, expect, json_check
cli_setup "$1"

$py "$root/tests/cli/make_qgroups_fixtures.py" "$work"
check "fixtures generated" $?

for dt in u8 s8; do
  m="$work/qgroups_$dt.onnx"
  ins=()
  for i in x x2 x7 codes xg; do ins+=(--input "$i=$work/qgroups_${dt}_$i.npy"); done
  node "$root/scripts/ort_run.js" "$m" "${ins[@]}" --output-dir "$work/ort_$dt" >/dev/null 2>&1
  check "ORT runs qgroups_$dt" $?
  "$eo" run "$m" "${ins[@]}" --output-dir "$work/eo_$dt" >/dev/null 2>&1
  check "edgeopt runs qgroups_$dt" $?
  EO_FORCE_REF=1 "$eo" run "$m" "${ins[@]}" --output-dir "$work/ref_$dt" >/dev/null 2>&1
  check "edgeopt runs qgroups_$dt with EO_FORCE_REF=1" $?
  $py - "$m" "$work/ort_$dt" "$work/eo_$dt" "$work/ref_$dt" <<'PY'
import sys, os, numpy as np, onnx
m = onnx.load(sys.argv[1])
ok = True
for o in m.graph.output:
    f = o.name + ".npy"
    a, b, r = (np.load(os.path.join(d, f)) for d in sys.argv[2:5])
    same = a.shape == b.shape and np.array_equal(a, b)
    ref = np.array_equal(b, r)
    # in steps of the output scale, for the message
    diff = np.abs(a.astype(np.float64) - b.astype(np.float64)) if a.shape == b.shape else np.array([np.inf])
    print(f"{o.name}: {'identical' if same else 'DIFFERS'} to ORT ({int(np.sum(diff > 0))} of {a.size} differ, "
          f"max |diff| {diff.max():.4g}); fast {'==' if ref else '!='} reference")
    ok = ok and same and ref
sys.exit(0 if ok else 1)
PY
  check "qgroups_$dt: every output identical to ORT's and fast == reference" $?
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
