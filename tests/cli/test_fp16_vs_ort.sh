#!/usr/bin/env bash
# FP16 models (`edgeopt quantize --mode fp16`) run in edgeopt (float16 lowered to float32 compute by
# src/ir/passes/lower_fp16.c) and in ONNX Runtime 1.30 on the same file and input.
# Bar (issue 6 "FP16 within fp16 tolerance"; fixed before measuring, never widened): for every output,
# max|edgeopt - ORT| <= 1e-2 * max|ORT| (scripts/compare_npy.py --rel 1e-2), on
#   - examples/classifier.onnx, examples/detector.onnx and BlazeFace (.peers/blazeface)
#   - with --models-dir DIR: torchvision resnet18 from DIR (scripts/gen_models.py)
# The FP16 file must also differ from the FP32 model in edgeopt's output (the float16 weights are
# really used, not a float32 shortcut).
# usage: test_fp16_vs_ort.sh EDGEOPT [--models-dir DIR]
set -u
models_dir=""
[ "${2:-}" = "--models-dir" ] && models_dir=${3:?--models-dir needs a folder}
. "$(dirname "$0")/lib.sh"  # cli_setup, pass/fail counters, check, expect, json_check
cli_setup "$1"

# fp16 NAME MODEL: quantize, run both runtimes, hold to the bar
fp16() {
  local name=$1 src=$2 q="$work/$1_fp16.onnx"
  "$eo" quantize "$src" --mode fp16 -o "$q" >/dev/null 2>&1
  check "quantize --mode fp16 $name" $?
  local iname
  iname=$(model_input "$work/$name.npy" "$src")
  node "$root/scripts/ort_run.js" "$q" --input "$iname=$work/$name.npy" --output-dir "$work/ort_$name" >/dev/null 2>&1
  check "ORT runs $name fp16" $?
  "$eo" run "$q" --input "$iname=$work/$name.npy" --output-dir "$work/eo_$name" >/dev/null 2>&1
  check "edgeopt runs $name fp16" $?
  "$eo" run "$src" --input "$iname=$work/$name.npy" --output-dir "$work/eo32_$name" >/dev/null 2>&1
  check "edgeopt runs $name fp32" $?
  local res
  res=$($py "$root/scripts/compare_npy.py" "$work/eo_$name" "$work/ort_$name" --rel 1e-2)
  local rc=$?
  echo "$name (edgeopt fp16 vs ORT fp16):"; echo "$res" | sed 's/^/  /'
  check "$name: edgeopt fp16 within 1e-2 * max|ORT| of ORT fp16" $rc
  $py - "$work/eo_$name" "$work/eo32_$name" <<'PY'
import sys, os, numpy as np
d = max(float(np.abs(np.load(os.path.join(sys.argv[1], f)).astype(np.float64) -
                     np.load(os.path.join(sys.argv[2], f)).astype(np.float64)).max())
        for f in os.listdir(sys.argv[1]) if f.endswith(".npy"))
print(f"  edgeopt fp16 vs edgeopt fp32: max|diff| {d:.3e}")
sys.exit(0 if d > 0 else 1)
PY
  check "$name: the fp16 model's output differs from the fp32 model's (float16 weights used)" $?
  # inspect reports the fp16 file's outputs as declared and its FLOPs like the fp32 model's (the
  # Casts at the boundaries add a little): what optimize's metadata.json and report use
  "$eo" inspect "$q" --json > "$work/i16_$name.json" && "$eo" inspect "$src" --json > "$work/i32_$name.json"
  check "inspect $name fp16 and fp32" $?
  $py - "$work/i16_$name.json" "$work/i32_$name.json" <<'PY'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
ok = a["outputs"] == b["outputs"] and b["flops"] <= a["flops"] <= 1.01 * b["flops"]
print(f"  inspect: fp16 outputs {a['outputs']} FLOPs {a['flops']} vs fp32 {b['flops']}")
sys.exit(0 if ok else 1)
PY
  check "$name: inspect of the fp16 file: outputs as the fp32 model's, FLOPs within 1%" $?
}

fp16 classifier "$root/examples/classifier.onnx"
fp16 detector "$root/examples/detector.onnx"
blaze="$root/.peers/blazeface/package/ONNX/face_detection_front_128x128_barracuda.onnx"
[ -f "$blaze" ]
check "BlazeFace at $blaze (scripts/install-deps.sh)" $?
[ -f "$blaze" ] && fp16 blazeface "$blaze"

if [ -n "$models_dir" ]; then
  src="$models_dir/resnet18/resnet18.onnx"
  [ -f "$src" ]
  check "$src exists (scripts/gen_models.py)" $?
  [ -f "$src" ] && fp16 resnet18 "$src"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
