#!/usr/bin/env bash
# The README's first command: installs what is needed, builds edgeopt, and runs the main job on the
# shipped example: inspect the model, run it, and compare the outputs with ONNX Runtime's.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target edgeopt_cli >/dev/null
model=examples/tiny_cnn.onnx
input=examples/tiny_cnn_input.npy
out=$(mktemp -d)
echo "== edgeopt inspect $model"
build/edgeopt inspect "$model"
echo
echo "== edgeopt run $model"
build/edgeopt run "$model" --input "$input" --output-dir "$out/edgeopt"
echo
echo "== ONNX Runtime 1.30 on the same input"
name=$(build/edgeopt inspect "$model" --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["inputs"][0]["name"])')
node scripts/ort_run.js "$model" --input "$name=$input" --output-dir "$out/ort"
echo
echo "== edgeopt vs ONNX Runtime"
/usr/bin/python3 scripts/compare_npy.py "$out/edgeopt" "$out/ort" --rel 1e-4
rm -rf "$out"
