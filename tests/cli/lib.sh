# Assertion helpers shared by the CLI shell tests: source it, then end with
#   echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]
pass=0 fail=0
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
