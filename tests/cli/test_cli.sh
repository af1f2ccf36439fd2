#!/usr/bin/env bash
# The CLI as a person uses it: --help on every command, a real run, clear errors and non-zero exit
# codes on bad input, and nothing of the user's overwritten. usage: test_cli.sh EDGEOPT
set -u
. "$(dirname "$0")/lib.sh"  # cli_setup, pass/fail counters, check, expect, json_check
cli_setup "$1"

expect 0 "Usage: edgeopt COMMAND" "$eo" --help
expect 2 "Usage: edgeopt COMMAND" "$eo"
expect 2 "unknown command 'frobnicate'" "$eo" frobnicate
for cmd in inspect run; do
  expect 0 "Usage: edgeopt $cmd" "$eo" $cmd --help
  expect 2 "unknown option '--bogus'" "$eo" $cmd --bogus x
done

/usr/bin/python3 "$root/scripts/make_bad_models.py" "$work/bad" >/dev/null
model="$root/examples/tiny_cnn.onnx"
expect 0 "GlobalAveragePool" "$eo" inspect "$model"
expect 0 '"flops"' "$eo" inspect "$model" --json
expect 1 "not a valid ONNX protobuf" "$eo" inspect "$work/bad/truncated.onnx"
expect 1 "cycle" "$eo" inspect "$work/bad/cycle.onnx"
expect 1 "conv1.weight" "$eo" inspect "$work/bad/missing_initializer.onnx"
expect 1 "mystery_1" "$eo" inspect "$work/bad/unsupported.onnx"
expect 0 "FooBar" "$eo" inspect "$work/bad/unsupported.onnx" --allow-unsupported
expect 1 "cannot open" "$eo" inspect "$work/nope.onnx"

expect 0 "output" "$eo" run "$model" --input "$root/examples/tiny_cnn_input.npy" --output-dir "$work/out"
ls "$work/out"/*.npy >/dev/null 2>&1; check "run wrote .npy outputs" $?
expect 1 "not overwriting" "$eo" run "$model" --input "$root/examples/tiny_cnn_input.npy" --output-dir "$work/out"
expect 0 "output" "$eo" run "$model" --input "$root/examples/tiny_cnn_input.npy" --output-dir "$work/out" --force
expect 2 "missing --output-dir" "$eo" run "$model" --input "$root/examples/tiny_cnn_input.npy"
expect 2 "missing --input" "$eo" run "$model" --output-dir "$work/o2"
# an input of the wrong rank and of the wrong dtype
/usr/bin/python3 -c "import numpy as np; np.save('$work/r3.npy', np.zeros((3,32,32), np.float32)); np.save('$work/i64.npy', np.zeros((1,3,32,32), np.int64))"
expect 1 "rank" "$eo" run "$model" --input "$work/r3.npy" --output-dir "$work/o3"
expect 1 "expected float32" "$eo" run "$model" --input "$work/i64.npy" --output-dir "$work/o4"
expect 1 "cycle" "$eo" run "$work/bad/cycle.onnx" --input "$root/examples/tiny_cnn_input.npy" --output-dir "$work/o5"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
