#!/usr/bin/env bash
# `edgeopt eval` and `edgeopt compare` end to end, on fixtures whose answers are known
# (scripts/make_eval_fixtures.py: models that read their detections / scores out of the pixels),
# with independent numpy oracles (scripts/oracle_map.py, scripts/oracle_metrics.py), bad inputs,
# and the shipped example models when they exist (correctness bars from issue 5: the detector's
# mAP@0.5 >= 0.80 on its test split, the classifier's top-1 >= 0.90 on the 10k Fashion-MNIST test set).
# usage: test_eval.sh EDGEOPT [--examples-full]
#   default: the fixtures, and the examples with the classifier on a seeded 2000-image subset
#   --examples-full: only the examples, the classifier on all 10k test images (registered as `slow`:
#   the sanitizer build skips it)
set -u
mode=${2:-}
. "$(dirname "$0")/lib.sh"  # cli_setup, pass/fail counters, check, expect, json_check
cli_setup "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
# pycheck NAME PYTHON: the Python code (with numpy as np, json, math; `W` the work folder) must exit 0;
# what it prints is shown
pycheck() {
  local name=$1 code=$2 out
  out=$(cd "$work" && $py -c "import json, math, sys
import numpy as np
W = '$work'
def J(f): return json.load(open(f))
$code" 2>&1)
  local rc=$?
  check "$name${out:+: ${out:0:600}}" $rc
  [ $rc -eq 0 ] && [ -n "$out" ] && echo "$out"   # figures printed by the check
  return 0
}

# JSON detection figures against oracle_map.py's map.npy (to 1e-6)
ORACLE_CMP='
def cmp_oracle(jfile, mfile, key=("detection",)):
    d = J(jfile)
    for k in key: d = d[k]
    m = np.load(mfile); nc = d["num_classes"]
    assert m.shape == (nc + 1, 14), m.shape
    un = lambda v: -1.0 if v is None else v
    for c, pc in enumerate(d["per_class"]):
        assert np.allclose([un(v) for v in pc["ap_at"]], m[c, :10], rtol=0, atol=1e-6), (c, pc["ap_at"], m[c, :10])
        assert (pc["tp"], pc["fp"]) == (m[c, 10], m[c, 11]), (c, pc["tp"], pc["fp"], m[c, 10:12])
        assert abs(un(pc["precision"]) - m[c, 12]) < 1e-6 and abs(un(pc["recall"]) - m[c, 13]) < 1e-6
        assert abs(un(pc["ap"]) - (m[c, :10].mean() if m[c, 0] >= 0 else -1)) < 1e-6
    assert np.allclose([un(v) for v in d["map_at"]], m[nc, :10], rtol=0, atol=1e-6), (d["map_at"], m[nc, :10])
    assert abs(d["map50"] - m[nc, 0]) < 1e-6 and abs(d["map"] - m[nc, :10].mean()) < 1e-6
    assert abs(d["precision"] - m[nc, 10]) < 1e-6 and abs(d["recall"] - m[nc, 11]) < 1e-6
    assert abs(d["precision_micro"] - m[nc, 12]) < 1e-6 and abs(d["recall_micro"] - m[nc, 13]) < 1e-6
    return d
'

# ---------------------------------------------------------------- the shipped examples
examples() {
  local det="$root/examples/detector.onnx" dd="$root/examples/data/detect"
  if [ -f "$det" ] && [ -d "$dd" ]; then
    "$eo" eval "$det" --data "$dd" --task detect --split test --json ed.json --dump-dir edd --quiet >ed.out 2>&1
    check "example detector: eval exits 0 ($(tail -2 ed.out))" $?
    $py "$root/scripts/oracle_map.py" edd
    pycheck "example detector: mAP@0.5 >= 0.80, and the oracle agrees" "$ORACLE_CMP
d = cmp_oracle('ed.json', 'edd/map.npy')
print('example detector: mAP@0.5 %.4f mAP@0.5:0.95 %.4f P %.4f R %.4f, %d images, %.1f images/s' % (d['map50'],
      d['map'], d['precision'], d['recall'], d['num_images'], J('ed.json')['speed']['images_per_s']), file=sys.stderr)
assert d['map50'] >= 0.80, d['map50']"
  else
    check "examples/detector.onnx and examples/data/detect are committed" 1
  fi
  local cls="$root/examples/classifier.onnx" fm=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
  if [ -f "$cls" ] && [ -f "$fm" ]; then
    local n=2000 lim=(--limit 2000 --seed 1)
    [ "$mode" = "--examples-full" ] && n=10000 lim=()
    "$eo" eval "$cls" --data "$fm" --task classify "${lim[@]}" --json ec.json --dump-dir ecd --quiet >ec.out 2>&1
    check "example classifier: eval exits 0 ($(tail -2 ec.out))" $?
    $py "$root/scripts/oracle_metrics.py" cls ecd
    pycheck "example classifier: top-1 >= 0.90 on $n images, and the oracle agrees" "
c = J('ec.json')['classification']; o = np.load('ecd/cls.npy')
assert c['top1'] == o[0] and c['top5'] == o[1], (c['top1'], o[0])
print('example classifier: top-1 %.4f top-5 %.4f on %d images, %.1f images/s' % (c['top1'], c['top5'],
      c['num_samples'], J('ec.json')['speed']['images_per_s']), file=sys.stderr)
assert c['num_samples'] == $n
assert c['top1'] >= 0.90, c['top1']"
  else
    check "examples/classifier.onnx and Fashion-MNIST (scripts/install-deps.sh) are present" 1
  fi
}

if [ "$mode" = "--examples-full" ]; then
  cd "$work"
  examples
  echo "test_eval --examples-full: $pass passed, $fail failed"
  [ "$fail" -eq 0 ]
  exit
fi

f="$work/fx"
$py "$root/scripts/make_eval_fixtures.py" "$f" || { echo "FAIL: fixture generation"; exit 1; }
cd "$work"

# ---------------------------------------------------------------- help and usage errors
expect 0 "Usage: edgeopt eval" "$eo" eval --help
expect 0 "Usage: edgeopt compare" "$eo" compare --help
out=$("$eo" --help); [[ "$out" == *"eval "* && "$out" == *"compare "* && "$out" == *"bench"* ]]; check "main help lists eval, compare (and bench)" $?
expect 2 "missing MODEL" "$eo" eval --data "$f/det_perfect" --task detect
expect 2 "missing --data" "$eo" eval "$f/det.onnx" --task detect
expect 2 "missing --task" "$eo" eval "$f/det.onnx" --data "$f/det_perfect"
expect 2 "--task segment: expected detect, classify or compare" "$eo" eval "$f/det.onnx" --data x --task segment
expect 2 "--limit 0: expected a positive integer" "$eo" eval "$f/det.onnx" --data x --task detect --limit 0
expect 2 "--fraction 1.5: expected a number in (0, 1]" "$eo" eval "$f/det.onnx" --data x --task detect --fraction 1.5
expect 2 "--conf x: expected a number in [0, 1]" "$eo" eval "$f/det.onnx" --data x --task detect --conf x
expect 2 "--split dev: expected train, val or test" "$eo" eval "$f/det.onnx" --data x --task detect --split dev
expect 2 "unknown option '--bogus'" "$eo" eval "$f/det.onnx" --data x --task detect --bogus
expect 2 "--decoder yolo9000: expected auto, yolov8" "$eo" eval "$f/det.onnx" --data x --task detect --decoder yolo9000
expect 2 "--task compare needs --reference" "$eo" eval "$f/det.onnx" --data x --task compare
expect 2 "--reference is only used by --task compare" "$eo" eval "$f/det.onnx" --data x --task detect --reference "$f/det.onnx"
expect 2 "expected two models" "$eo" compare "$f/det.onnx" --data x
expect 2 "--set needs a value" "$eo" eval "$f/det.onnx" --data x --task detect --set
expect 1 "cannot open" "$eo" eval "$f/none.onnx" --data "$f/det_perfect" --task detect
expect 1 "field 'bogus'" "$eo" eval "$f/det.onnx" --data "$f/det_perfect" --task detect --set bogus=1

# ---------------------------------------------------------------- detection
# perfect detections: every figure is 1
"$eo" eval "$f/det.onnx" --data "$f/det_perfect" --task detect --json p.json >p.out 2>p.err
check "detect perfect exits 0 ($(tail -2 p.err))" $?
for needle in "mAP@0.5 " "mAP@0.5:0.95" "precision" "recall" "circle" "square" "tri" "images/s" "yolov8 (36 candidates)"; do
  grep -qF -- "$needle" p.out; check "detect table shows '$needle'" $?
done
pycheck "perfect detector: mAP 1" '
d = J("p.json")["detection"]
assert d["map50"] == 1 and d["map"] == 1 and d["precision"] == 1 and d["recall"] == 1, d
assert d["fp"] == 0 and d["fn"] == 0 and d["num_gt"] == d["tp"] > 0
assert [c["name"] for c in d["per_class"]] == ["circle", "square", "tri"]
j = J("p.json"); assert j["data"]["images"] == 12 and j["data"]["format"] == "yolo" and j["decoder"] == "yolov8"
assert j["speed"]["images_per_s"] > 0 and j["preprocess"]["resize"] == "letterbox"'
# progress: not a TTY here, so at most one line per 10%
n=$(grep -c "images/s, ETA" p.err); [ "$n" -ge 1 ] && [ "$n" -le 10 ] && grep -q "100% (12/12)" p.err
check "progress: one line per 10% on a non-TTY stderr ($n lines)" $?

# on a terminal: a bar with images/s and ETA (util-linux `script` gives the TTY); --quiet: nothing
if command -v script >/dev/null; then
  script -qec "'$eo' eval '$f/det.onnx' --data '$f/det_random' --task detect >/dev/null" /dev/null >tty.err 2>&1
  grep -q $'\r\[=*\] 40/40 100%  [0-9.]* images/s  ETA 0:00' tty.err; check "TTY progress bar ($(tr '\r' '|' <tty.err | tail -c 200))" $?
  script -qec "'$eo' eval '$f/det.onnx' --data '$f/det_random' --task detect --quiet >/dev/null" /dev/null >ttyq.err 2>&1
  [ ! -s ttyq.err ]; check "TTY --quiet: no progress" $?
fi

# jittered, missed, duplicated and false detections: the dump is what the decoder must give
# (computed in the fixture script), and the oracle agrees with the JSON to 1e-6
"$eo" eval "$f/det.onnx" --data "$f/det_random/data.yaml" --task detect --quiet --json r.json --dump-dir dr >r.out 2>r.err
check "detect random exits 0 ($(tail -2 r.err))" $?
[ ! -s r.err ]; check "--quiet: nothing on stderr" $?
$py "$root/scripts/oracle_map.py" dr; check "oracle_map.py runs on the dump" $?
pycheck "detect random: JSON == oracle_map.py on the dump (1e-6)" "$ORACLE_CMP
d = cmp_oracle('r.json', 'dr/map.npy')
assert 0.1 < d['map50'] < 0.9 and d['map'] < d['map50'], d['map50']   # a case with something to get wrong"
pycheck "detect random: dumped detections and GT == the fixture's (letterbox undone, multi-label, NMS)" '
key = lambda a: a[np.lexsort(a.T[::-1])]
got, want = np.load("dr/dets.npy"), np.load("fx/det_random/expect_det.npy")
assert got.shape == want.shape, (got.shape, want.shape)
assert np.abs(key(got) - key(want)).max() < 1e-4, np.abs(key(got) - key(want)).max()
g, wg = np.load("dr/gts.npy"), np.load("fx/det_random/expect_gt.npy")
assert g.shape == wg.shape and np.abs(g - wg).max() < 1e-4
p = np.load("dr/params.npy"); assert list(p) == [3, 0.25, 40], p'
# a seeded subset: the same figures as the oracle on it, and --limit / --fraction sizes
"$eo" eval "$f/det.onnx" --data "$f/det_random" --task detect --quiet --json l.json --dump-dir dl --limit 10 --seed 3 --pr-conf 0.5 >/dev/null 2>&1
check "detect --limit 10 exits 0" $?
$py "$root/scripts/oracle_map.py" dl
pycheck "detect --limit 10 --pr-conf 0.5: oracle agrees, 10 images" "$ORACLE_CMP
d = cmp_oracle('l.json', 'dl/map.npy'); j = J('l.json')
assert j['data']['images'] == 10 and j['data']['total'] == 40 and d['operating_conf'] == 0.5
assert np.load('dl/params.npy')[2] == 10"
"$eo" eval "$f/det.onnx" --data "$f/det_random" --task detect --quiet --json fr.json --fraction 0.25 >/dev/null 2>&1
pycheck "--fraction 0.25 evaluates 10 of 40" 'assert J("fr.json")["data"]["images"] == 10'
# NMS options reach the decoder: max one detection per image
"$eo" eval "$f/det.onnx" --data "$f/det_random" --task detect --quiet --json m1.json --max-det 1 --conf 0.5 >/dev/null 2>&1
pycheck "--max-det 1 --conf 0.5: at most one detection per image, all above 0.5" '
d = J("m1.json"); e = np.load("fx/det_random/expect_det.npy")
want = sum(1 for i in range(40) if (e[e[:, 0] == i][:, 2] > 0.5).any())
assert d["detection"]["num_det"] == want, (d["detection"]["num_det"], want)
assert d["nms"] == {"conf": 0.5, "iou": 0.7, "max_det": 1}, d["nms"]'

# ---------------------------------------------------------------- classification (IDX)
"$eo" eval "$f/cls.onnx" --data "$f/cls_idx" --task classify --names "$f/cls_idx/names.txt" --json c.json \
  --dump-dir dc --quiet >c.out 2>c.err
check "classify IDX exits 0 ($(tail -2 c.err))" $?
for needle in "top-1" "top-5" "class-7" "Confusion matrix"; do grep -qF -- "$needle" c.out; check "classify table shows '$needle'" $?; done
mkdir -p oc && cp "$f/cls_idx/cls_scores.npy" oc/scores.npy && cp "$f/cls_idx/cls_labels.npy" oc/labels.npy
$py "$root/scripts/oracle_metrics.py" cls oc
pycheck "classify: JSON == oracle_metrics.py on the fixture's own scores (exact)" '
c = J("c.json")["classification"]; o = np.load("oc/cls.npy"); nc = 10
assert c["num_samples"] == 60 and c["num_classes"] == nc and c["top5_k"] == 5
assert (c["top1"], c["top5"]) == (o[0], o[1]) and abs(c["mean_class_acc"] - o[2]) < 1e-12, (c["top1"], o[:3])
per = [-1 if p["accuracy"] is None else p["accuracy"] for p in c["per_class"]]
assert np.allclose(per, o[3:3 + nc], atol=1e-12), (per, o[3:13])
assert (np.array(c["confusion"]) == o[3 + nc:].reshape(nc, nc)).all()
assert [p["name"] for p in c["per_class"]] == ["class-%d" % i for i in range(nc)]
assert J("c.json")["preprocess"]["resize"] == "stretch" and J("c.json")["data"]["format"] == "idx"
assert (np.load("dc/scores.npy") == np.load("oc/scores.npy")).all() and (np.load("dc/labels.npy") == np.load("oc/labels.npy")).all()'
# a flat [N,784] input takes the 28x28 images once told they are gray
"$eo" eval "$f/cls_flat.onnx" --data "$f/cls_idx/t10k-images-idx3-ubyte.gz" --task classify --set channels=gray --quiet --json cf.json >/dev/null 2>&1
pycheck "flat-input classifier: same top-1" 'assert J("cf.json")["classification"]["top1"] == J("c.json")["classification"]["top1"]'
expect 1 "give the preprocessing" "$eo" eval "$f/cls_flat.onnx" --data "$f/cls_idx" --task classify --quiet

# symbolic input sides: every image size prepares the session again; ImageFolder labels and names
"$eo" eval "$f/dyn.onnx" --data "$f/folder" --task classify --quiet --json dy.json >dy.out 2>&1
check "dynamic-size classifier on an ImageFolder exits 0 ($(tail -2 dy.out))" $?
pycheck "dynamic sizes: top-1 1, class names from the folders, no resize" '
j = J("dy.json"); c = j["classification"]
assert c["top1"] == 1 and c["num_samples"] == 10 and [p["name"] for p in c["per_class"]] == ["bright", "dark"]
assert j["data"]["format"] == "imagefolder" and j["preprocess"]["resize"] == "none" and j["preprocess"]["channels"] == "gray"'

# ---------------------------------------------------------------- compare
"$eo" compare "$f/cls.onnx" "$f/cls_cand.onnx" --data "$f/cls_idx" --quiet --json a.json >a.out 2>a.err
check "compare classifier vs candidate exits 0 ($(tail -2 a.err))" $?
for needle in "| Output" "Mean Abs Diff" "Mean Rel Diff" "SQNR (dB)" "Top-1 agree" "| logits"; do
  grep -qF -- "$needle" a.out; check "compare table shows '$needle'" $?
done
mkdir -p oa && cp "$f/cls_idx/cls_scores.npy" oa/ref.npy && cp "$f/cls_idx/cls_cand_scores.npy" oa/cand.npy
$py -c "import numpy as np; np.save('oa/classes.npy', np.array([10]))" && $py "$root/scripts/oracle_metrics.py" agree oa
pycheck "compare: agreement == oracle_metrics.py on the fixture's logits (1e-9 relative)" '
g = J("a.json")["agreement"]["outputs"][0]; o = np.load("oa/agree.npy")
assert g["name"] == "logits" and (g["count"], g["nonfinite"]) == (o[0], o[1])
for k, i in (("mean_abs_diff", 2), ("mean_rel_diff", 3), ("max_abs_diff", 4), ("cosine", 5), ("min_cosine", 6),
             ("sqnr_db", 7), ("top1_agreement", 8)):
    assert abs(g[k] - o[i]) <= 1e-9 * max(1, abs(o[i])), (k, g[k], o[i])
assert 0 < g["top1_agreement"] < 1 and J("a.json")["reference"].endswith("cls.onnx") and J("a.json")["model"].endswith("cls_cand.onnx")'
"$eo" eval "$f/cls_cand.onnx" --task compare --reference "$f/cls.onnx" --data "$f/cls_idx" --quiet --json a2.json >/dev/null 2>&1
pycheck "eval --task compare --reference == compare" '
a, b = J("a.json")["agreement"], J("a2.json")["agreement"]; assert a == b'
"$eo" compare "$f/cls.onnx" "$f/cls.onnx" --data "$f/cls_idx" --quiet --json s.json >s.out 2>&1
check "compare classifier with itself exits 0" $?
grep -q "| logits .* inf | *1.0000 |" s.out; check "self-compare table: SQNR inf, top-1 agreement 1.0000" $?
pycheck "classifier vs itself: SQNR inf, agreement 1" '
g = J("s.json")["agreement"]["outputs"][0]
assert g["sqnr_db"] == "inf" and g["top1_agreement"] == 1 and g["mean_abs_diff"] == 0 and g["max_abs_diff"] == 0 and g["cosine"] == 1
assert J("s.json")["agreement"]["detection"] is None'
"$eo" compare "$f/det.onnx" "$f/det.onnx" --data "$f/det_random" --quiet --json sd.json --dump-dir dsd >/dev/null 2>&1
check "compare detector with itself exits 0" $?
pycheck "detector vs itself: SQNR inf, pseudo-label mAP 1" '
a = J("sd.json")["agreement"]; g = a["outputs"][0]
assert g["sqnr_db"] == "inf" and g["cosine"] == 1 and g["top1_agreement"] is None
assert a["detection"]["map50"] == 1 and a["detection"]["map"] == 1 and a["detection"]["num_gt"] > 0'
"$eo" compare "$f/det.onnx" "$f/det_scaled.onnx" --data "$f/det_random" --quiet --json sc.json --dump-dir dsc --pseudo-conf 0.1 >/dev/null 2>&1
check "compare detector vs scaled boxes exits 0" $?
$py "$root/scripts/oracle_map.py" dsd && $py "$root/scripts/oracle_map.py" dsc
pycheck "compare detectors: pseudo-label mAP == oracle_map.py on the dump" "$ORACLE_CMP
cmp_oracle('sd.json', 'dsd/map.npy', ('agreement', 'detection'))
d = cmp_oracle('sc.json', 'dsc/map.npy', ('agreement', 'detection'))
assert d['map50'] < 1
ref = np.load('fx/det_random/expect_det.npy'); gts = np.load('dsc/gts.npy')
assert len(gts) == (ref[:, 2] >= 0.1).sum(), (len(gts), (ref[:, 2] >= 0.1).sum())   # pseudo-labels: reference >= 0.1
assert J('sc.json')['agreement']['pseudo_label_conf'] == 0.1"
# .npy tensors of assorted shapes through two dynamic-size models
"$eo" compare "$f/dyn.onnx" "$f/dyn_cand.onnx" --data "$f/npy" --quiet --json dn.json >dn.out 2>&1
check "compare on a folder of .npy tensors exits 0 ($(tail -2 dn.out))" $?
mkdir -p on && cp "$f/npy_ref.npy" on/ref.npy && cp "$f/npy_cand.npy" on/cand.npy
$py -c "import numpy as np; np.save('on/classes.npy', np.array([2]))" && $py "$root/scripts/oracle_metrics.py" agree on
pycheck "compare .npy: agreement == oracle_metrics.py (1e-5: numpy sums the mean in another order)" '
g = J("dn.json")["agreement"]["outputs"][0]; o = np.load("on/agree.npy")
assert J("dn.json")["data"]["format"] == "npy" and (g["count"], g["top1_rows"]) == (20, 10)
for k, i in (("mean_abs_diff", 2), ("mean_rel_diff", 3), ("max_abs_diff", 4), ("cosine", 5), ("min_cosine", 6),
             ("sqnr_db", 7), ("top1_agreement", 8)):
    assert abs(g[k] - o[i]) <= 1e-5 * max(1, abs(o[i])), (k, g[k], o[i])'
expect 2 "--decoder none is for compare" "$eo" eval "$f/det.onnx" --data "$f/det_random" --task detect --decoder none
"$eo" compare "$f/det.onnx" "$f/det.onnx" --data "$f/det_random" --quiet --json sn.json --decoder none >/dev/null 2>&1
pycheck "compare --decoder none: no detection metrics" 'assert J("sn.json")["agreement"]["detection"] is None'
expect 1 "does not fit model input 'input' [?,1,28,28]" "$eo" compare "$f/det.onnx" "$f/cls.onnx" --data "$f/cls_idx" --quiet
"$eo" compare "$f/cls.onnx" "$f/cls_flat.onnx" --data "$f/cls_idx" --quiet --json fl.json >/dev/null 2>&1
pycheck "compare [N,1,28,28] vs a flat [N,784] input: identical" '
g = J("fl.json")["agreement"]["outputs"][0]; assert g["sqnr_db"] == "inf" and g["top1_agreement"] == 1' 

# ---------------------------------------------------------------- bad input
b="$f/bad"
expect 1 "$b/missing: no such file or folder" "$eo" eval "$f/det.onnx" --data "$b/missing" --task detect --quiet
expect 1 "empty data set" "$eo" eval "$f/det.onnx" --data "$b/empty" --task detect --quiet
line=$(wc -l <"$b/fields/labels/val/0001.txt")
expect 1 "labels/val/0001.txt:$line: expected 5 fields" "$eo" eval "$f/det.onnx" --data "$b/fields" --task detect --quiet
expect 1 "labels/val/0002.txt:1: class id 7 >= nc = 3" "$eo" eval "$f/det.onnx" --data "$b/classid" --task detect --quiet
expect 1 "labels/val/0000.txt:2: cx = 1.25 is outside [0, 1]" "$eo" eval "$f/det.onnx" --data "$b/coord" --task detect --quiet
expect 1 "images/val/0001.png" "$eo" eval "$f/det.onnx" --data "$b/corrupt" --task detect --quiet
expect 1 "3 classes but the data set names 5" "$eo" eval "$f/det.onnx" --data "$b/nc" --task detect --quiet
expect 1 "0000.png: image is 64x48 but the model input is 64x64 and resize is none" \
  "$eo" eval "$f/det.onnx" --data "$f/det_random" --task detect --set resize=none --quiet
expect 1 "not one row of class scores" "$eo" eval "$f/det.onnx" --data "$f/cls_idx" --task classify --quiet
expect 1 "10 classes but the data set names 3" "$eo" eval "$f/cls.onnx" --data "$f/det_random" --task classify --quiet
mkdir -p nolab && cp "$f/cls_idx/t10k-images-idx3-ubyte.gz" nolab/
expect 1 "no label" "$eo" eval "$f/cls.onnx" --data nolab --task classify --quiet
expect 1 "cannot write" "$eo" eval "$f/det.onnx" --data "$f/det_perfect" --task detect --quiet --json "$work/no/such/dir/x.json"
"$eo" eval "$f/det.onnx" --data "$b/fields" --task detect --skip-bad --json k.json >k.out 2>&1
check "--skip-bad: a bad label file is skipped (exit 0)" $?
grep -q "1 bad item skipped" k.out && grep -q "0001.txt:$line: expected 5 fields" k.out
check "--skip-bad: the report counts and lists it" $?
pycheck "--skip-bad: JSON counts" "
j = J('k.json')['data']
assert j['bad'] == 1 and j['images'] == 2 and j['items'] == 3 and '0001.txt:$line:' in j['bad_messages'][0], j"
"$eo" eval "$f/det.onnx" --data "$b/corrupt" --task detect --skip-bad --quiet --json k2.json >/dev/null 2>&1
pycheck "--skip-bad: a corrupt image is skipped and named" '
j = J("k2.json")["data"]; assert j["bad"] == 1 and j["images"] == 2 and "0001.png" in j["bad_messages"][0], j'

examples

echo "test_eval: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
