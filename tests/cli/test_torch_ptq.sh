#!/usr/bin/env bash
# edgeopt's static INT8 against PyTorch's own post-training quantization on the example classifier
# (issue 6: "edgeopt must be at least as accurate"). Rule, fixed before measuring: with the SAME
# 1000 calibration images (edgeopt's seeded subset of the Fashion-MNIST train set, which
# scripts/torch_ptq_classifier.py reproduces), edgeopt's default recipe (percentile 99.99,
# per-channel int8 weights, uint8 activations) must reach a top-1 on the 10k test images >= the
# top-1 of torch.ao.quantization static PTQ (onednn qconfig: HistogramObserver activations,
# per-channel MinMax weights). Both numbers are printed.
# Not registered in tests/CMakeLists.txt: with the rule above it does not pass (2026-11-24: edgeopt
# default 0.9143 (9143 of 10000) vs PyTorch onednn PTQ 0.9147; FP32 0.9146). Why, measured: the gap is
# which way a handful of coin-flip decisions fall, not a systematic loss. edgeopt changes 17 of FP32's
# 10k decisions (9 right->wrong, 6 wrong->right, 2 wrong->wrong: net -3), PyTorch 26 (11, 12, 3: net
# +1); every changed image has FP32 top-2 logits within 0.14 (median 0.01-0.03; all images: 4.0).
# edgeopt stays closer to FP32 (agreement 0.9983 vs 0.9974, logits SQNR 37.8 vs 36.5 dB). The same
# model with PyTorch's activation ranges gives 9146, with edgeopt's (fixed) mse observer 9154, and
# with a MaxPool group's percentile range taken from its input only (tried, not kept) 9150 at 2.5 dB
# worse SQNR: on this set top-1 moves by +-10 images with changes SQNR ranks the other way.
# Printed below: the decisions each changed.
# mse as the default was measured and not adopted (rule fixed before the test top-1 was seen: neither
# the top-1 agreement nor the logits SQNR vs FP32 on the 60k train images may drop, detector bars hold):
# 0.9984 / 37.93 dB vs percentile's 0.9985 / 37.94 dB.
# The weight side (2026-11-24, same rule, fixed before any test top-1 was seen; train = all 60k train
# images vs FP32, decisions agreeing of 60000 / logits SQNR; detector val mAP@0.5 / @0.5:0.95, FP32
# 0.9632 / 0.8257), none adopted, so no test-set top-1 was looked at:
#   default (max|w| scales, round to nearest)            59912 / 37.94 dB  det 0.9629 / 0.8213
#   mse clip per channel (ratio 0.50..1.00 minimising the weight error; kept as the recipe option
#     weight: {observer: mse})                             59893 / 37.93     det 0.9624 / 0.8194
#   the same clip, error weighted per input channel by E[x^2] 59902 / 38.06  det 0.9629 / 0.8197
#   ... weighted by Var[x] (what bias correction leaves)   59897 / 38.11     det 0.9631 / 0.8195
#   GPTQ rounding (Frantar et al. 2022; H = E[x x^T] of im2col patches, 1% damping, max|w| scales)
#                                                          59874 / 38.06     det 0.9630 / 0.8215
#   GPTQ, columns in descending H_ii order (act-order)     59844 / 37.73     det 0.9624 / 0.8209
#   GPTQ only where calibration patches >= columns         59863 / 38.02     det 0.9630 / 0.8215
# Every weight-side change that lowers the logit error changes MORE FP32 decisions, and not by chance:
# calibrating on 999 and 1001 images keeps the order (default 59913 / 59912, mse clip 59895 / 59895,
# Var-weighted 59897 / 59896, GPTQ 59878 / 59876). Weight-only int8 (no activation error) is where
# the mse clip helps: 59908 / 42.24 dB -> 59914 / 42.57 dB (detector: 46.62 -> 46.61 dB, mAP equal).
# Empirical bias correction covering the activation error too (2026-11-24, same rule fixed first;
# prototype /work/notes/s7/D_experiments/ebc.py on edgeopt's QDQ files): each Conv/Gemm's int32 bias,
# in graph order with the earlier ones already corrected, shifted by the per-channel mean of
# (INT8 - FP32) pre-activation output over the calibration images (`edgeopt run`):
#   no bias correction (--no-bias-correction)              59882 / 37.74 dB
#   default (weight-error E[x] correction)                 59912 / 37.94     det 0.9629 / 0.8213
#   empirical, on top of the default                       59883 / 37.99     det 0.9628 / 0.8196
#   empirical, instead of it (from the float bias)         59883 / 37.99     det 0.9628 / 0.8196
# Not adopted, not kept (agreement drops; calibrating on 999 / 1001 images: 59883 / 59884 vs the
# default's 59913 / 59912): the same pattern as the weight side, a lower logit error, more changes.
# The activation side (2026-11-24, session 8, same rule fixed first; prototypes in
# /work/notes/s8/A_experiments: ranges injected into edgeopt's default QDQ file, biases re-scaled):
#   default (percentile 99.99)                            59912 / 37.94 dB  det 0.9629 / 0.8220*
#   minmax / mse / entropy (edgeopt's observers)          59886 / 39.19, 59898 / 37.93, 59631 / 25.14
#   PyTorch's HistogramObserver search (torch 1.13 code run on the same activations; groups take
#     the union of their members' ranges as edgeopt does)  59897 / 39.27     det 0.9607 / 0.8139
#   ... each group the producer's range (PyTorch's MaxPool) 59884 / 38.61    det 0.9607 / 0.8147
#   per group the best of {percentile, minmax, mse, entropy, PyTorch} by logits MSE on the 1000
#     calibration images (coordinate descent, converged in 2 sweeps)  59887 / 39.37
# (*0.8213 in session 7; this build's default file gives 0.8220.) Why agreement falls while the
# SQNR rises: the logits themselves are quantized (uint8, step ~0.05), and 58 of the default's 88
# changed decisions are exact ties of the top two quantized logits (argmax takes the lower index).
# Leaving the last Gemm's output in float (ORT runs DQ -> Gemm without an output Q as QGemm with
# float output; edgeopt and ORT agree to 2.4e-7) removes the ties:
#   default + float logits                                59918 / 40.03 dB  (999 / 1001 images:
#     59918 / 59918)  detector unchanged (no Gemm: byte-identical file)
#   PyTorch ranges + float logits                         59934 / 42.44 (999 / 1001: 59934 / 59934)
#   per-group choice + float logits                       59925 / 42.69
# "default + float logits" passed the rule, so its test top-1 was looked at: 9145 of 10000 vs
# PyTorch's 9147 (changed 14 decisions, 7 right->wrong, 6 wrong->right; test agreement 0.9986,
# SQNR 39.95 dB): the test still fails. It is NOT the default: a full-integer TFLite / Edge TPU
# export (export --io int8, optimize's coral target) needs every tensor quantized; it is the recipe
# option activation: {float_gemm_output: true} (tests/unit/test_quant_float_gemm.c).
# Run it by hand: bash tests/cli/test_torch_ptq.sh build/edgeopt (about 40 s of CPU).
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
top1() { "$eo" eval "$1" --data "$fm/t10k-images-idx3-ubyte.gz" --task classify --dump-dir "$2" 2>&1 | awk '/top-1/{gsub(/[()]/, ""); print $3 "/" $5; exit}'; }
fp=$(top1 "$cls" "$work/d_fp") q=$(top1 "$work/int8.onnx" "$work/d_q")
tq=$($py -c "import json; print(json.load(open('$work/torch.json'))['ptq_top1'])")
tf=$($py -c "import json; print(json.load(open('$work/torch.json'))['fp32_top1'])")
echo "top-1 on 10k: FP32 edgeopt $fp torch-rebuild $tf | INT8 edgeopt $q | PyTorch PTQ $tq"
# for the record (not part of the rule): the less noisy closeness to FP32 of both, on the same 10k images
agree=$("$eo" eval "$work/int8.onnx" --reference "$cls" --data "$fm/t10k-images-idx3-ubyte.gz" --task compare --quiet 2>&1 |
  awk -F'|' 'NR>2 && $8 ~ /^ *[0-9.]+ *$/{gsub(/ /, "", $7); gsub(/ /, "", $8); print "top-1 agreement " $8 ", logits SQNR " $7 " dB"; exit}')
tv=$($py -c "import json; j = json.load(open('$work/torch.json')); print('top-1 agreement %.4f, logits SQNR %.2f dB' % (j['ptq_top1_agreement_fp32'], j['ptq_logits_sqnr_db']))")
echo "vs FP32 on 10k: edgeopt INT8 $agree | PyTorch PTQ $tv"
$py - "$work" <<'PY'
import json, sys, numpy as np
w = sys.argv[1]
y = np.load(f"{w}/d_fp/labels.npy").ravel()
pf = np.load(f"{w}/d_fp/scores.npy").reshape(len(y), -1).argmax(1)
pq = np.load(f"{w}/d_q/scores.npy").reshape(len(y), -1).argmax(1)
ch = pf != pq
t = json.load(open(f"{w}/torch.json"))
print("decisions changed vs FP32 (right->wrong, wrong->right): edgeopt %d (%d, %d) | PyTorch %d (%d, %d)"
      % (ch.sum(), (ch & (pf == y)).sum(), (ch & (pq == y)).sum(),
         t["ptq_changed"], t["ptq_right_to_wrong"], t["ptq_wrong_to_right"]))
PY
$py -c "import sys; sys.exit(0 if abs(($fp) - $tf) < 1e-9 else 1)"
check "the PyTorch rebuild reproduces the FP32 model (edgeopt $fp, torch $tf)" $?
$py -c "import sys; sys.exit(0 if ($q) >= $tq else 1)"
check "edgeopt INT8 top-1 ($q) >= PyTorch PTQ top-1 ($tq)" $?
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
