# Helpers shared by the CLI shell tests: source it, then end with
#   echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]
pass=0 fail=0
# cli_setup EDGEOPT [tmpdir]: the preamble of every test. Sets eo (must be an executable), root (the
# repository), py (/usr/bin/python3: the python3 on PATH lacks numpy/onnx) and work (a fresh folder,
# removed on exit); with "tmpdir", TMPDIR=$work/tmp as well, so that what the CLI leaves in its
# temporary folders is removed too (and a test can look for it there).
cli_setup() {
  eo=$1
  [ -x "$eo" ] || { echo "$(basename "$0"): no edgeopt binary at '$eo'"; exit 1; }
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  py=/usr/bin/python3
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  if [ "${2:-}" = tmpdir ]; then
    export TMPDIR="$work/tmp"
    mkdir -p "$TMPDIR"
  fi
}
# cli_need_tflite: after cli_setup; the TensorFlow Lite interpreter (WASM, npm @tensorflow/tfjs-tflite)
# must be installed; sets run_tfl, the command that runs a .tflite file in it (scripts/tflite_run.js).
cli_need_tflite() {
  run_tfl="node $root/scripts/tflite_run.js"
  [ -d "$root/.peers/node_modules/@tensorflow/tfjs-tflite" ] || { echo "FAIL: TFLite interpreter missing: run scripts/install-deps.sh"; exit 1; }
}
# model_input NPY MODEL: after cli_setup; saves a seeded random float32 input of MODEL's first graph
# input (symbolic dims 1; values in [0, 1), BlazeFace's "face_detection" files in [-1, 1)) and prints
# that input's name
model_input() {
  $py - "$2" "$1" <<'PY'
import sys, numpy as np, onnx
m = onnx.load(sys.argv[1]); init = {i.name for i in m.graph.initializer}
x = [i for i in m.graph.input if i.name not in init][0]
shape = [d.dim_value if d.HasField("dim_value") else 1 for d in x.type.tensor_type.shape.dim]
lo = -1.0 if "face_detection" in sys.argv[1] else 0.0  # BlazeFace takes [-1, 1]
np.save(sys.argv[2], np.random.default_rng(3).uniform(lo, 1.0, shape).astype(np.float32))
print(x.name)
PY
}
check() {  # check NAME CONDITION-EXIT-CODE
  if [ "$2" -eq 0 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $1"; fi
}
expect() {  # expect CODE NEEDLE CMD...: exit code CODE and NEEDLE in stdout+stderr
  local code=$1 needle=$2; shift 2
  local out; out=$("$@" 2>&1); local rc=$?
  [ $rc -eq "$code" ] && [[ "$out" == *"$needle"* ]]
  local ok=$?
  check "$* -> want exit $code and '$needle', got exit $rc: ${out:0:400}" $ok
}
# json_check FILE PYTHON-EXPRESSIONS...: each expression, over the parsed JSON `j`, must be true
json_check() {
  local file=$1; shift
  local e
  for e in "$@"; do
    /usr/bin/python3 - "$file" "$e" <<'PYEOF'
import json, math, sys
j = json.load(open(sys.argv[1]))
ok = eval(sys.argv[2])
if not ok:
    print("  false:", sys.argv[2])
sys.exit(0 if ok else 1)
PYEOF
    check "$file: $e" $?
  done
}
