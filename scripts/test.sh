#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds an ASan+UBSan build and a libFuzzer build
# (clang) and the release build, then runs CTest in the release build. Its tests include the
# sanitizer build's unit, op and conformance tests (test `sanitizers`) and a bounded fuzz run
# (test `fuzz_loader`), so the run ends with one CTest summary over everything.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

bash scripts/install-deps.sh

CC=clang cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEO_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEO_FUZZ=ON >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz_load
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release \
  -DEO_SANITIZED_BUILD="$PWD/build-asan" -DEO_FUZZ_BINARY="$PWD/build-fuzz/fuzz_load" >/dev/null
cmake --build build -j"$jobs"

cd build && ctest --output-on-failure -j"$jobs"
