#!/usr/bin/env bash
# The bench suite: `edgeopt bench --peer ort` over the fixed model list (bench/models.txt) at each
# thread count, then one table: bench/results/suite.md (readable) and suite.json (every figure).
#
#   bash bench/run_suite.sh [--edgeopt PATH] [--threads "1 2"] [--warmup 10] [--iters 100]
#                           [--only NAME,...] [--models FILE] [--out DIR]
#
# Without --edgeopt it builds (incrementally) and uses the Release binary in build/.
# A host estimate: timings depend on this machine and on whatever else it runs (the load average
# before and after every run is recorded). Not a test: nothing here fails on a slow figure. A model
# whose outputs disagree with ONNX Runtime is reported as such and not timed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
eo=""
threads="1 2"
warmup=10
iters=100
only=""
models="$root/bench/models.txt"
out="$root/bench/results"
usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --edgeopt) eo=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --iters) iters=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run_suite.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

if [ -z "$eo" ]; then  # default: the Release build in build/, brought up to date
  eo="$root/build/edgeopt"
  echo "== building $eo (Release)"
  [ -f "$root/build/CMakeCache.txt" ] || cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$root/build" -j"$(nproc)" --target edgeopt_cli >/dev/null
fi
[ -x "$eo" ] || { echo "run_suite.sh: no edgeopt binary at $eo" >&2; exit 2; }

# The list: NAME PRECISION FILE [ARGS...], comments and blank lines skipped, --only applied.
entries=()
while read -r name prec file rest; do
  case "$name" in ''|'#'*) continue ;; esac
  if [ -n "$only" ] && [[ ",$only," != *",$name,"* ]]; then continue; fi
  entries+=("$name|$prec|$file|$rest")
done <"$models"
[ ${#entries[@]} -gt 0 ] || { echo "run_suite.sh: no model selected from $models" >&2; exit 2; }

# Torchvision models are generated (seeded, deterministic) when missing.
gen=()
for e in "${entries[@]}"; do
  IFS='|' read -r name prec file rest <<<"$e"
  if [[ "$file" == build/models/* ]] && [ ! -f "$root/$file" ]; then gen+=("$(basename "$(dirname "$file")")"); fi
done
if [ ${#gen[@]} -gt 0 ]; then
  list=$(printf '%s\n' "${gen[@]}" | sort -u | paste -sd, -)
  echo "== generating $list (scripts/gen_models.py)"
  /usr/bin/python3 "$root/scripts/gen_models.py" --tiny '' --only "$list" --out "$root/build/models" >/dev/null
fi

# INT8 twins (build/bench-int8/) are quantized from the fp32 line of the same name when missing.
fp32_of() { for e in "${entries[@]}"; do IFS="|" read -r n p f r <<<"$e"; if [ "$n|$p" = "$1|fp32" ]; then echo "$f"; fi; done; }
for e in "${entries[@]}"; do
  IFS='|' read -r name prec file rest <<<"$e"
  [[ "$prec" == int8 && "$file" == build/bench-int8/* && ! -f "$root/$file" ]] || continue
  src=$(fp32_of "$name")
  if [ -z "$src" ] || [ ! -f "$root/$src" ]; then continue; fi
  mkdir -p "$root/build/bench-int8"
  case "$name" in
    detector) calib=(--calib "$root/examples/data/detect" --calib-limit 100) ;;
    classifier) calib=(--calib /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz --calib-limit 200) ;;
    *) cdir="$root/build/bench-int8/calib_$name"
       mkdir -p "$cdir"
       /usr/bin/python3 - "$root/$src" "$cdir" <<'PY'
import sys, numpy as np, onnx
m = onnx.load(sys.argv[1], load_external_data=False)
init = {t.name for t in m.graph.initializer}
x = next(i for i in m.graph.input if i.name not in init)
shape = [d.dim_value if d.dim_value > 0 else 1 for d in x.type.tensor_type.shape.dim]
rng = np.random.default_rng(7)
for k in range(16):
    np.save(f"{sys.argv[2]}/c{k}.npy", rng.uniform(-1, 1, shape).astype(np.float32))
PY
       calib=(--calib "$cdir") ;;
  esac
  echo "== quantizing $name to $file (static INT8)"
  "$eo" quantize "$root/$src" --mode int8 "${calib[@]}" -o "$root/$file" >/dev/null || echo "   (failed; reported as missing)"
done

# Runs in model order, each model's precisions back to back: the int8-over-fp32 speed-up compares
# two edgeopt runs, and a 2-vCPU VM's host can move the vCPUs between one core complex and two for
# minutes at a time, which changes 2-thread times by 20-30% (bench/README.md); runs minutes apart
# could then compare one placement with another.
ordered=()
for e in "${entries[@]}"; do
  IFS='|' read -r name _ <<<"$e"
  [[ " ${seen_names:-} " == *" $name "* ]] && continue
  seen_names="${seen_names:-} $name"
  for f in "${entries[@]}"; do [[ "$f" == "$name|"* ]] && ordered+=("$f"); done
done

raw="$out/raw"
mkdir -p "$raw"
manifest="$raw/manifest.tsv"
printf 'name\tprecision\tfile\tthreads\tstatus\tjson\tlog\tload_before\tload_after\n' >"$manifest"
load1() { cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo -1; }
total=$(( ${#entries[@]} * $(wc -w <<<"$threads") ))
k=0
for t in $threads; do
  for e in "${ordered[@]}"; do
    IFS='|' read -r name prec file rest <<<"$e"
    k=$((k + 1))
    tag="${name}_${prec}_t${t}"
    json="$raw/$tag.json"
    log="$raw/$tag.log"
    rm -f "$json" "$log"
    path=$file
    [[ "$path" == /* ]] || path="$root/$file"  # list paths are relative to the repository, or absolute
    if [ ! -f "$path" ]; then
      echo "[$k/$total] $name $prec, $t thread(s): missing $file"
      printf '%s\t%s\t%s\t%s\tmissing\t\t\t\t\n' "$name" "$prec" "$file" "$t" >>"$manifest"
      continue
    fi
    before=$(load1)
    # shellcheck disable=SC2086  # extra arguments from the list are split on purpose
    if "$eo" bench "$path" --threads "$t" --warmup "$warmup" --iters "$iters" --peer ort --json "$json" \
         $rest >"$log" 2>&1; then
      status=ok
    else
      status=fail
    fi
    after=$(load1)
    line=$(grep -E '^ +p50 ' "$log" | head -1 | awk '{printf "edgeopt %s ms, ORT %s ms, ratio %s", $2, $3, $4}' || true)
    [ "$status" = ok ] || line="FAILED: $(grep -v '^bench:' "$log" | tail -1)"
    echo "[$k/$total] $name $prec, $t thread(s): $line (load $before -> $after)"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$prec" "$file" "$t" "$status" "$json" "$log" "$before" \
      "$after" >>"$manifest"
  done
done

/usr/bin/python3 "$root/bench/suite.py" --manifest "$manifest" --root "$root" --out "$out"
