#!/usr/bin/env bash
# Bounded libFuzzer run over the model loader: seed corpus = the conformance models, plus truncated
# and bit-flipped copies. Fails on any crash, leak, sanitizer report or timeout.
# usage: run_fuzz.sh FUZZ_BINARY WORKDIR [SECONDS]
set -euo pipefail
bin=$1 work=$2 secs=${3:-60}
rm -rf "$work" && mkdir -p "$work/corpus" "$work/artifacts"
i=0
for f in /usr/share/libonnx-testdata/data/node/*/model.onnx /usr/share/libonnx-testdata/data/simple/*/model.onnx; do
  # only small models keep the fuzzer fast
  [ "$(stat -c %s "$f")" -lt 20000 ] || continue
  cp "$f" "$work/corpus/seed_$i.onnx"; i=$((i+1))
  [ $i -lt 400 ] || break
done
# inputs that once crashed: run first, every time
cp "$(dirname "$0")"/regressions/*.onnx "$work/corpus/"
# TFLite seeds: the loader reads .tflite too (translated to ONNX by src/onnx/tflite_import.c)
cp "$(dirname "$0")"/seeds/*.tflite "$work/corpus/"
echo "fuzz: $i seed models + $(ls "$(dirname "$0")"/regressions | wc -l) regressions, ${secs}s"
"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 -max_len=65536 \
  -artifact_prefix="$work/artifacts/" "$work/corpus" 2>"$work/fuzz.log" || {
  tail -40 "$work/fuzz.log"; echo "fuzz: FAILED (crash input under $work/artifacts)"; exit 1; }
tail -3 "$work/fuzz.log"
echo "fuzz: no crash, hang or leak in ${secs}s"
