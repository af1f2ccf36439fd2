#!/usr/bin/env bash
# The README's first command: installs what is needed, builds edgeopt, and runs the main job on the
# shipped example detector: inspect it, measure its accuracy on the committed test split, check that
# edgeopt's outputs agree with ONNX Runtime's and compare their speed (a host estimate).
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
echo "== edgeopt eval examples/classifier.onnx on the Fashion-MNIST test set"
build/edgeopt eval examples/classifier.onnx --task classify \
  --data /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz --names examples/fashion_mnist_names.txt
echo
echo "== edgeopt bench $model beside ONNX Runtime 1.30 (outputs checked first)"
build/edgeopt bench "$model" --iters 50 --warmup 5 --peer ort
