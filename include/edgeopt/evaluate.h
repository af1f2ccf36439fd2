/* edgeopt evaluate: run a model over a data set and measure its accuracy (the loop behind
 * `edgeopt eval` and `edgeopt compare`).
 *
 * Three tasks:
 *   detect    a detector on a labelled data set (YOLO): the model's outputs are decoded into boxes
 *             (eval.h's decoders, letterbox undone), then COCO-style mAP, precision, recall, per-class AP.
 *   classify  a classifier on a labelled data set (ImageFolder, IDX, labelled .npy): top-1, top-5,
 *             per-class accuracy, confusion matrix. Default resize: stretch (not letterbox).
 *   compare   a candidate (the model passed in) against a reference model on the same inputs, no labels
 *             needed: per-output agreement (mean abs/rel diff, max abs diff, cosine, SQNR), top-1
 *             agreement for class-score outputs [N, C], and for detectors the candidate's mAP against
 *             the reference's detections as pseudo-labels.
 *
 *     eo_eval_options o;
 *     eo_eval_options_init(&o);                  // Ultralytics-val decoder defaults, split "val"
 *     o.task = EO_EVAL_DETECT;
 *     o.data.limit = 500;                        // a seeded subset (data.h)
 *     o.num_sets = 1; o.sets = (const char *[]){"pad_value=0"};
 *     eo_eval_result *r = NULL;
 *     if (eo_evaluate(model, "data/data.yaml", &o, &r) != EO_OK) { puts(eo_last_error()); ... }
 *     printf("mAP@0.5 %.4f  %.1f images/s\n", r->detection->map50, r->images_per_s);
 *     eo_eval_result_free(r);
 *
 * Preprocessing: defaults from the model's first input (eo_preprocess_from_input; for compare the
 * reference's), then the file (preprocess_file), then the name=value overrides (sets), in that order.
 * A fixed-size input is letterboxed, except for classifiers (task classify, or compare with a
 * reference whose first output is [N, C]): stretched. A non-image input (rank != 4, e.g. [N, 784])
 * takes the generic defaults when a file or overrides are given (channels=gray ...); image items
 * are reshaped to such an input when the sizes agree. Data set items are
 * streamed (data.h): memory grows with the number of detections / scores kept for the metrics,
 * never with pixels. A model with symbolic input sides is prepared again whenever the image size
 * changes. Bad items fail the call with a message naming the file (and label line), unless
 * data.skip_bad is set: then they are skipped, counted and their first messages kept in the result.
 */
#ifndef EDGEOPT_EVALUATE_H
#define EDGEOPT_EVALUATE_H

#include "edgeopt/data.h"
#include "edgeopt/eval.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum eo_eval_task {
  EO_EVAL_DETECT = 0,
  EO_EVAL_CLASSIFY,
  EO_EVAL_COMPARE
} eo_eval_task;

/* "detect", "classify", "compare"; EO_ERR_INVALID naming the accepted values otherwise. */
eo_status eo_eval_task_from_name(const char *name, eo_eval_task *out);
const char *eo_eval_task_name(eo_eval_task t);

/* Called after every item with the number done (bad items skipped included) and the subset size. */
typedef void (*eo_eval_progress_fn)(void *user, int64_t done, int64_t total);

typedef struct eo_eval_options {
  eo_eval_task task;
  eo_dataset_options data;         /* format, split, labels, limit, fraction, seed, skip_bad (data.h) */
  const char *preprocess_file;     /* YAML/JSON preprocessing config; NULL: none */
  int num_sets;
  const char *const *sets;         /* "name=value" preprocessing overrides (eo_preprocess_set) */
  eo_decode_options decode;        /* detect / compare: decoder kind, conf, IoU, max detections */
  float operating_conf;            /* score threshold for precision / recall (default 0.25) */
  int threads;                     /* session threads; 0: one per online core */
  /* compare */
  const eo_model *reference;       /* borrowed; required for EO_EVAL_COMPARE */
  int compare_detections;          /* -1 (default): decode detections when the decoder kind is set or
                                      can be guessed from the outputs; 0: never; 1: always */
  float pseudo_label_conf;         /* reference detections >= this become pseudo-labels (0.25) */
  /* class names for the report: num_class_names entries (borrowed); when 0, the data set's names.
   * detect / classify: a count other than the model's classes is an error; compare: ignored then. */
  int num_class_names;
  const char *const *class_names;
  /* Writes the metric inputs for independent checks into this folder (created if missing):
   *   detect/compare-detector: dets.npy float64 [K,7] (image, class, score, x1, y1, x2, y2),
   *     gts.npy float64 [G,6] (image, class, x1, y1, x2, y2), params.npy float64 [3] (num_classes,
   *     operating_conf, num_images): scripts/oracle_map.py's input. Images are numbered in visiting
   *     order among the items evaluated (skipped items take no number); for compare the ground truth
   *     is the reference's pseudo-labels.
   *   classify: scores.npy float32 [S, nc], labels.npy int64 [S] (scripts/oracle_metrics.py cls).
   *   compare without detections: nothing.
   * NULL: no dump. */
  const char *dump_dir;
  /* Another runtime's accuracy through the same decoder, NMS and metrics (e.g. a TFLite interpreter):
   * dump_inputs writes the candidate's inputs exactly as bound to its session, one file per model
   * input, DIR/<input name>.npy (characters outside [A-Za-z0-9._-] become '_', as `edgeopt run`
   * names outputs), shape [K, <input shape>]: row k is the k-th item evaluated (visiting order; bad
   * items skipped take no row). All items must bind the same shape. NULL: no dump.
   * outputs_from reads the candidate's raw outputs from a folder instead of running it:
   * DIR/<output name>.npy (same name rule), shape [K, <output shape>], row k for the k-th item
   * evaluated, K equal to the number of items evaluated (the rows dump_inputs writes for the same
   * data options). The model is still needed (its input shapes check the data, its output names
   * find the files); its session is not created. The files are read into memory. NULL: run it. */
  const char *dump_inputs;
  const char *outputs_from;
  eo_eval_progress_fn progress;
  void *progress_user;
} eo_eval_options;

/* Detect task, split "val", decoder defaults of eo_decode_options_init (Ultralytics val: conf 0.001,
 * IoU 0.7, 300 detections), operating_conf 0.25, pseudo_label_conf 0.25, compare_detections -1,
 * every other field 0 / NULL. */
void eo_eval_options_init(eo_eval_options *o);

typedef struct eo_eval_result {
  eo_eval_task task;
  /* exactly one of these, by task (owned) */
  eo_det_report *detection;
  eo_cls_report *classification;
  eo_agree_report *agreement;      /* its ->detection is set for a detector compare */
  int num_classes;
  char **class_names;              /* num_classes entries; NULL entries where no name is known */
  char **output_names;             /* compare: agreement->num_outputs names of the candidate's outputs */
  /* data */
  const char *dataset_format;      /* "yolo", "idx", ... (static) */
  int64_t dataset_total;           /* items in the split */
  int64_t num_items;               /* items in the subset (evaluated + bad) */
  int64_t num_images;              /* items evaluated */
  int64_t num_bad;                 /* bad items skipped (skip_bad) */
  int num_bad_messages;
  char **bad_messages;             /* the first EO_DATASET_MAX_BAD_MESSAGES messages */
  /* what ran */
  eo_preprocess preprocess;        /* as used (defaults + file + overrides) */
  eo_decoder_kind decoder;         /* detect / compare-detector: the decoder used; AUTO otherwise */
  int num_candidates;              /* detector: boxes per image before thresholding */
  float pseudo_label_conf;         /* compare-detector: the threshold the pseudo-labels were made with */
  /* speed: wall time of the whole loop (read, decode, preprocess, inference(s), metrics) */
  double seconds;
  double images_per_s;
  double inference_ms;             /* mean time in eo_session_run per item (both models for compare) */
  int threads;                     /* session threads asked for (0: one per core) */
} eo_eval_result;

/* Runs the task over the data set at `data_path` (see data.h for the formats) and returns the
 * metrics in *out (the caller frees it with eo_eval_result_free). m (and opts->reference) are
 * borrowed. opts may be NULL only for nothing (it carries the task): EO_ERR_INVALID.
 * Errors name what is wrong: the data set (file, label line), the model/data mismatch (classes,
 * input size, output layout), a decoder that cannot be guessed (asks for one), an unlabelled item. */
eo_status eo_evaluate(const eo_model *m, const char *data_path, const eo_eval_options *opts,
                      eo_eval_result **out);
void eo_eval_result_free(eo_eval_result *r); /* NULL-safe */

/* The result as a JSON document (schema_version 1; the same names as the structs above; AP and
 * precision/recall of a class without ground truth are null; an infinite SQNR is the string "inf"
 * or "-inf", since JSON has no infinity). *out is malloc'd; the caller frees it. */
eo_status eo_eval_result_to_json(const eo_eval_result *r, char **out);

#ifdef __cplusplus
}
#endif
#endif
