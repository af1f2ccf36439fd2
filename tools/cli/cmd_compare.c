/* edgeopt compare REFERENCE CANDIDATE --data DIR: `edgeopt eval CANDIDATE --task compare
 * --reference REFERENCE` under a shorter name (the options are eval's). */
#include "cli.h"

static const char *compare_help =
    "Usage: edgeopt compare REFERENCE.onnx CANDIDATE.onnx --data DATA [options]\n\n"
    "How far CANDIDATE (an optimized model) drifts from REFERENCE (the FP32 model) on the same inputs;\n"
    "no labels needed. Both models get the inputs the reference's preprocessing makes from DATA (images,\n"
    "an IDX file, a folder of .npy tensors). Reported per output, over every value of every input:\n"
    "  mean abs diff, mean relative diff (sum |ref - cand| / sum |ref|), max abs diff, cosine similarity\n"
    "  (pooled, and the worst single input), SQNR in dB (inf when identical);\n"
    "  top-1 agreement for class-score outputs [N, C];\n"
    "  for detectors (decoder given or told from the output shapes): CANDIDATE's mAP@0.5, mAP@0.5:0.95,\n"
    "  precision and recall against REFERENCE's detections as pseudo-labels.\n"
    "Same as: edgeopt eval CANDIDATE.onnx --task compare --reference REFERENCE.onnx --data DATA\n\n"
    "Options (see 'edgeopt eval --help' for details):\n"
    "  --data PATH  --format FMT  --split S  --labels FILE  --limit N  --fraction F  --seed S  --skip-bad\n"
    "  --preprocess FILE  --set NAME=VALUE\n"
    "  --decoder NAME|none  --conf C  --iou I  --max-det N  --pr-conf C  --pseudo-conf C (default 0.25)\n"
    "  --names FILE|a,b,...  --threads N  --json FILE  --dump-dir DIR  --quiet\n"
    "  -h, --help   this help\n\n"
    "Exit status: 0 done, 1 failure (models, data, outputs that cannot be paired), 2 usage error.\n";

int cmd_compare(int argc, char **argv) { return eval_command("compare", compare_help, argc, argv); }
