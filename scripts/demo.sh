#!/usr/bin/env bash
# The README's first command: installs what is needed, builds edgeopt, and runs the main job on the
# shipped example detector: inspect it, measure its accuracy on the committed test split, run the
# optimize pipeline (candidates benchmarked and validated against a 1% mAP floor, the best packaged,
# report.md/.json/.html written), and compare edgeopt's speed with ONNX Runtime's (outputs checked first).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target edgeopt_cli >/dev/null
model=examples/detector.onnx
echo "== edgeopt inspect $model"
build/edgeopt inspect "$model"
echo
echo "== edgeopt eval $model on examples/data/detect (test split)"
build/edgeopt eval "$model" --data examples/data/detect --split test --task detect
echo
echo "== edgeopt optimize $model (val split, 100 images, floor 1%)"
build/edgeopt optimize "$model" --data examples/data/detect --task detect --limit 100 --calib-limit 50 \
  --floor 1% --force -o build/demo-optimize
echo
echo "== edgeopt bench $model beside ONNX Runtime 1.30"
build/edgeopt bench "$model" --iters 50 --warmup 5 --peer ort
echo
echo "report: build/demo-optimize/report.html (and report.md, report.json)   package: build/demo-optimize/package/"
echo "resume an interrupted run: build/edgeopt optimize --resume build/demo-optimize"
