#!/usr/bin/env bash
# edgeopt's static INT8 against PyTorch's own post-training quantization on the example classifier
# (issue 6: "edgeopt must be at least as accurate"). Rule, fixed before measuring: with the SAME
# 1000 calibration images (edgeopt's seeded subset of the Fashion-MNIST train set, which
# scripts/torch_ptq_classifier.py reproduces), edgeopt's default recipe (percentile 99.99,
# per-channel int8 weights, uint8 activations) must reach a top-1 on the 10k test images >= the
# top-1 of torch.ao.quantization static PTQ (onednn qconfig: HistogramObserver activations,
# per-channel MinMax weights). Both numbers are printed.
# Not registered in tests/CMakeLists.txt yet: with the rule above it does not pass today
# (measured on 2026-11-23: edgeopt default (percentile) 0.9143 vs PyTorch onednn PTQ 0.9147 on the 10k
# test images; 2026-11-24, the less noisy closeness to FP32 printed last: edgeopt top-1 agreement 0.9981,
# logits SQNR 37.6 dB; PyTorch 0.9974, 36.5 dB); run it by hand: bash tests/cli/test_torch_ptq.sh build/edgeopt
# (about 30 s of CPU).
# usage: test_torch_ptq.sh EDGEOPT
set -u
eo=$1
[ -x "$eo" ] || { echo "test_torch_ptq.sh: no edgeopt binary at '$eo'"; exit 1; }
root="$(cd "$(dirname "$0")/../.." && pwd)"
py=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export TMPDIR="$work/tmp"
mkdir -p "$TMPDIR"
. "$root/tests/cli/lib.sh"
fm=/usr/share/datasets/fashion-mnist
cls="$root/examples/classifier.onnx"

$py "$root/scripts/torch_ptq_classifier.py" --model "$cls" --calib-limit 1000 --json "$work/torch.json" >"$work/torch.log" 2>&1
check "torch PTQ script: $(tail -c 400 "$work/torch.log")" $?
grep -v Warning "$work/torch.log" | grep -v "^  layer" 
"$eo" quantize "$cls" --mode int8 --calib "$fm/train-images-idx3-ubyte.gz" --calib-limit 1000 -o "$work/int8.onnx" >/dev/null 2>&1
check "edgeopt quantize" $?
# exact fraction from the counts ("top-1 0.9133 (9133 of 10000)")
top1() { "$eo" eval "$1" --data "$fm/t10k-images-idx3-ubyte.gz" --task classify 2>&1 | awk '/top-1/{gsub(/[()]/, ""); print $3 "/" $5; exit}'; }
fp=$(top1 "$cls") q=$(top1 "$work/int8.onnx")
tq=$($py -c "import json; print(json.load(open('$work/torch.json'))['ptq_top1'])")
tf=$($py -c "import json; print(json.load(open('$work/torch.json'))['fp32_top1'])")
echo "top-1 on 10k: FP32 edgeopt $fp torch-rebuild $tf | INT8 edgeopt $q | PyTorch PTQ $tq"
# for the record (not part of the rule): the less noisy closeness to FP32 of both, on the same 10k images
agree=$("$eo" eval "$work/int8.onnx" --reference "$cls" --data "$fm/t10k-images-idx3-ubyte.gz" --task compare --quiet 2>&1 |
  awk -F'|' 'NR>2 && $8 ~ /^ *[0-9.]+ *$/{gsub(/ /, "", $7); gsub(/ /, "", $8); print "top-1 agreement " $8 ", logits SQNR " $7 " dB"; exit}')
tv=$($py -c "import json; j = json.load(open('$work/torch.json')); print('top-1 agreement %.4f, logits SQNR %.2f dB' % (j['ptq_top1_agreement_fp32'], j['ptq_logits_sqnr_db']))")
echo "vs FP32 on 10k: edgeopt INT8 $agree | PyTorch PTQ $tv"
$py -c "import sys; sys.exit(0 if abs(($fp) - $tf) < 1e-9 else 1)"
check "the PyTorch rebuild reproduces the FP32 model (edgeopt $fp, torch $tf)" $?
$py -c "import sys; sys.exit(0 if ($q) >= $tq else 1)"
check "edgeopt INT8 top-1 ($q) >= PyTorch PTQ top-1 ($tq)" $?
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
