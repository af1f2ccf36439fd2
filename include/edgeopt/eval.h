/* edgeopt eval: decode detector outputs into boxes, and measure accuracy.
 *
 * Four independent pieces, each working on plain arrays (no images, no data-set code):
 *
 *   decoders   model outputs (eo_tensor_view, float32) -> boxes in original-image pixels:
 *              YOLOv8/YOLO11, YOLOv5, YOLO-NAS, SSD/BlazeFace anchors, generic boxes+scores+classes;
 *              confidence threshold, class-aware greedy NMS, letterbox undone (eo_box_transform).
 *   detection  COCO-style AP (101-point interpolated precision, IoU 0.50:0.05:0.95), mAP@0.5,
 *              mAP@0.5:0.95, precision/recall at an operating threshold, per-class AP.
 *   classify   top-1, top-5, per-class accuracy, confusion matrix.
 *   agreement  candidate vs reference outputs without labels: mean abs/rel diff, max abs diff,
 *              cosine similarity, SQNR; top-1 agreement; detector mAP against pseudo-labels.
 *
 * The metric objects are streaming accumulators: add one image at a time, ask for a report at any
 * point (the report does not consume the accumulator). Memory grows with the number of detections
 * (12 bytes each), never with pixels.
 *
 *     eo_decode_options dopt;
 *     eo_decode_options_init(&dopt);                          // Ultralytics-val defaults, auto decoder
 *     eo_decoder *dec = NULL;
 *     eo_decoder_create(&dopt, n_out, views, &dec);           // views: shapes only (after prepare)
 *     eo_det_metrics *dm = NULL;
 *     eo_det_metrics_create(num_classes, 0.25f, &dm);         // 0.25: operating threshold for P/R
 *     for each image:
 *       ... run the session, fill views[i] with eo_session_output(s, i, &views[i]) ...
 *       eo_box_transform tf = {scale, scale, pad_x, pad_y, img_w, img_h};
 *       const eo_detection *dets; int nd;
 *       eo_decoder_run(dec, n_out, views, 0, &tf, &dets, &nd); // borrowed until the next run
 *       eo_det_metrics_add(dm, dets, nd, gts, ngt);
 *     eo_det_report *r = NULL;
 *     eo_det_metrics_report(dm, &r);  printf("mAP@0.5 %.4f\n", r->map50);
 *     eo_det_report_free(r); eo_det_metrics_free(dm); eo_decoder_free(dec);
 *
 * Coordinates: detections and ground truth are boxes x1 < x2, y1 < y2 in one pixel space (original
 * image pixels after eo_decoder_run). IoU = intersection / (area1 + area2 - intersection), with
 * negative widths clamped to 0; a zero union gives IoU 0.
 */
#ifndef EDGEOPT_EVAL_H
#define EDGEOPT_EVAL_H

#include "edgeopt/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------- */
/* Boxes */

typedef struct eo_detection {
  float x1, y1, x2, y2;
  float score;
  int class_id;
} eo_detection;

typedef struct eo_gt_box {
  float x1, y1, x2, y2;
  int class_id;
} eo_gt_box;

/* How the image was fitted into the model input (letterbox or stretch):
 *   model_x = orig_x * scale_x + pad_x,   model_y = orig_y * scale_y + pad_y.
 * eo_decoder_run inverts it: orig_x = (model_x - pad_x) / scale_x, then clips to [0, clip_w] and
 * [0, clip_h] (the original image size) when those are > 0, as Ultralytics' scale_boxes does. */
typedef struct eo_box_transform {
  float scale_x, scale_y;
  float pad_x, pad_y;
  float clip_w, clip_h;
} eo_box_transform;

/* IoU of two boxes given as {x1, y1, x2, y2}, computed in double. */
double eo_box_iou(const float a[4], const float b[4]);

/* ---------------------------------------------------------------------------------------------- */
/* NMS */

typedef struct eo_nms_options {
  float conf_threshold;   /* drop detections with score <= this */
  float iou_threshold;    /* suppress a box whose IoU with a kept, higher-scoring box is > this */
  int max_detections;     /* keep at most this many (<= 0: no limit) */
  int max_candidates;     /* only the best this many (by score) enter NMS (<= 0: no limit) */
  int class_agnostic;     /* 1: boxes of different classes suppress each other */
} eo_nms_options;

/* Greedy NMS in place: sorts dets[0..n) by score (descending; ties broken by class then
 * coordinates, so the result never depends on the input order), drops scores <= conf_threshold,
 * suppresses and compacts the survivors to dets[0..*kept). Needs no buffer of its own. Detections
 * with a NaN score or a non-finite coordinate are dropped. */
eo_status eo_nms(eo_detection *dets, int n, const eo_nms_options *opts, int *kept);

/* ---------------------------------------------------------------------------------------------- */
/* Decoders */

typedef enum eo_decoder_kind {
  EO_DECODER_AUTO = 0, /* from the output shapes (eo_decoder_guess) */
  EO_DECODER_YOLOV8,   /* one output [1, 4+nc, N]: cx, cy, w, h (input pixels), then nc class scores */
  EO_DECODER_YOLOV5,   /* one output [1, N, 5+nc]: cx, cy, w, h, objectness, nc class scores */
  EO_DECODER_YOLONAS,  /* two outputs [1, N, 4] x1 y1 x2 y2 (input pixels) and [1, N, nc] scores */
  EO_DECODER_SSD,      /* regressors + logits per anchor (BlazeFace, MediaPipe SSD); eo_ssd_options */
  EO_DECODER_GENERIC   /* boxes [1,N,4] + scores [1,N] + classes [1,N] (+ count [1]); eo_generic_options */
} eo_decoder_kind;

/* "auto", "yolov8" (also "yolo11", "ultralytics"), "yolov5", "yolo-nas" (also "yolonas"), "ssd"
 * (also "blazeface"), "generic". EO_ERR_INVALID with the list of names for anything else. */
eo_status eo_decoder_kind_from_name(const char *name, eo_decoder_kind *out);
const char *eo_decoder_kind_name(eo_decoder_kind kind);

/* MediaPipe's SsdAnchorsCalculatorOptions + TensorsToDetectionsCalculatorOptions (the subset that
 * gives boxes). Anchors are generated exactly as MediaPipe does; anchor k pairs with row k of the
 * regressor outputs concatenated in output order. */
#define EO_SSD_MAX_LAYERS 8
#define EO_SSD_MAX_ASPECT 8
typedef struct eo_ssd_options {
  /* anchors */
  int num_layers;
  int strides[EO_SSD_MAX_LAYERS];
  float min_scale, max_scale;
  int input_w, input_h;                 /* model input size in pixels (also scales boxes to pixels) */
  float anchor_offset_x, anchor_offset_y;
  int num_aspect_ratios;
  float aspect_ratios[EO_SSD_MAX_ASPECT];
  float interpolated_scale_aspect_ratio; /* > 0: one extra anchor per layer at sqrt(s_i * s_i+1) */
  int reduce_boxes_in_lowest_layer;
  int fixed_anchor_size;                /* 1: anchor w = h = 1 (BlazeFace) */
  /* box decoding */
  int num_coords;                       /* values per regressor row (4 + 2 * keypoints; 16 for BlazeFace) */
  int reverse_output_order;             /* 1: x, y, w, h (BlazeFace); 0: y, x, h, w (TF SSD) */
  float x_scale, y_scale, w_scale, h_scale;
  int apply_exponential_on_box_size;    /* 1: w = exp(raw / w_scale) * anchor_w (TF SSD box coder) */
  int sigmoid_score;                    /* 1: scores are logits */
  float score_clipping_thresh;          /* > 0: logits clipped to [-t, t] before the sigmoid */
} eo_ssd_options;

/* Presets: "blazeface-front" (face_detection_front / short_range, 128x128, 896 anchors) and
 * "blazeface-back" (256x256, 896 anchors). EO_ERR_INVALID for other names. */
eo_status eo_ssd_options_preset(const char *name, eo_ssd_options *out);

/* Number of anchors the options generate (EO_ERR_INVALID for inconsistent options). */
eo_status eo_ssd_anchor_count(const eo_ssd_options *o, int *count);
/* Generates the anchors as {x_center, y_center, w, h} (normalized) into a malloc'd array of
 * 4 * *count floats the caller frees. */
eo_status eo_ssd_anchors(const eo_ssd_options *o, int *count, float **anchors);

typedef enum eo_box_format {
  EO_BOX_XYXY = 0, /* x1 y1 x2 y2 */
  EO_BOX_YXYX,     /* y1 x1 y2 x2 (TensorFlow Object Detection API) */
  EO_BOX_CXCYWH    /* center x, center y, width, height */
} eo_box_format;

typedef struct eo_generic_options {
  eo_box_format box_format;
  float coord_scale_x, coord_scale_y; /* multiply coordinates (input size for normalized boxes); 0 means 1 */
  /* Which output holds what (index into the outputs); -1: found by shape, dtype and name. */
  int boxes_output, scores_output, classes_output, count_output;
  int class_offset;                   /* subtracted from class ids (1 for 1-based labels) */
} eo_generic_options;

typedef struct eo_decode_options {
  eo_decoder_kind kind;
  int num_classes;         /* 0: from the output shapes; > 0: checked against them (generic with a
                              classes output: the bound for class ids, 0 = unbounded) */
  eo_nms_options nms;      /* conf 0.001, IoU 0.7, max 300 detections, 30000 candidates, class-aware */
  int multi_label;         /* 1: a box enters once per class scoring above conf (Ultralytics val);
                              0: once, with its best class */
  int no_nms;              /* 1: skip NMS (outputs already suppressed); conf and max still apply */
  eo_ssd_options ssd;      /* EO_DECODER_SSD; default: the "blazeface-front" preset */
  eo_generic_options generic;
} eo_decode_options;

/* Defaults of Ultralytics' validator: auto decoder, conf 0.001, IoU 0.7, max_det 300,
 * max_nms 30000, multi_label 1, class-aware NMS; generic: XYXY, outputs found by shape. */
void eo_decode_options_init(eo_decode_options *o);

/* The decoder the output shapes imply, or EO_ERR_INVALID naming the shapes and asking for an
 * explicit decoder when they fit none or several (the leading batch dim may be any size):
 *   one [1, A, B] output: B > A >= 5 -> yolov8 (A = 4+nc); A > B >= 7 -> yolov5 (B = 5+nc);
 *     B == 6 is refused (YOLOv5 with one class and end-to-end [N, x1 y1 x2 y2 score class]
 *     exports look the same);
 *   two [1, N, 4] and [1, N, nc] outputs (nc != 4) -> yolo-nas;
 *   one [1, N, 4], two [1, N] (or [1, N, 1]) and at most one [1] / [1, 1] output where the classes
 *     are told from the scores by an integer dtype or by the names ("class", "score") -> generic.
 * SSD is never guessed (it needs an anchor configuration). */
eo_status eo_decoder_guess(int n, const eo_tensor_view *outputs, eo_decoder_kind *out);

typedef struct eo_decoder eo_decoder;

/* Checks the output shapes against the decoder (auto: guessed), sizes every buffer (run allocates
 * nothing of its own) and for SSD generates the anchors. Only names, dtypes and dims of `outputs` are read.
 * opts may be NULL (defaults). Outputs must be float32, except generic classes/count (any int or
 * float). The batch dimension may be > 1 (eo_decoder_run picks one item). */
eo_status eo_decoder_create(const eo_decode_options *opts, int n, const eo_tensor_view *outputs,
                            eo_decoder **out);
eo_decoder_kind eo_decoder_get_kind(const eo_decoder *d);
int eo_decoder_num_classes(const eo_decoder *d);
/* Candidates per image before thresholding (N, or the anchor count). */
int eo_decoder_num_candidates(const eo_decoder *d);

/* Decodes batch item `batch` of `outputs` (same shapes as at create; data read): candidates above
 * conf, NMS, then boxes mapped through `tf` (NULL: none). *dets is borrowed from the decoder, valid
 * until the next run or free; sorted by score, descending. */
eo_status eo_decoder_run(eo_decoder *d, int n, const eo_tensor_view *outputs, int batch,
                         const eo_box_transform *tf, const eo_detection **dets, int *count);
void eo_decoder_free(eo_decoder *d);

/* ---------------------------------------------------------------------------------------------- */
/* Detection metrics (COCO-style, pycocotools semantics for the "all areas" range)
 *
 * Per image and class, detections are matched greedily in descending score order (stable): each
 * takes the unmatched ground-truth box of its class with the highest IoU >= t (ties: lowest index);
 * a GT box is matched at most once. Thresholds t = linspace(0.5, 0.95, 10). Per class and t, all
 * detections are ranked by score (stable across images in the order they were added), precision is
 * made monotone from the right, and AP is its mean at the 101 recall points linspace(0, 1, 101)
 * (precision 0 past the highest recall reached). A class without GT gets AP -1 and is left out of
 * the means; its detections still count as false positives in the micro precision.
 * No per-image detection cap is applied here (the decoder's max_detections is the cap) and there
 * are no crowd or area ranges. */

#define EO_NUM_IOU_THRESHOLDS 10

typedef struct eo_det_metrics eo_det_metrics;

typedef struct eo_class_ap {
  int64_t num_gt, num_det;          /* GT boxes; detections at any score */
  double ap50, ap75, ap;            /* ap: mean over the 10 thresholds; all -1 without GT */
  double ap_at[EO_NUM_IOU_THRESHOLDS];
  int64_t tp, fp;                   /* at IoU 0.5, detections with score >= operating threshold */
  double precision, recall;         /* tp / (tp + fp) (0 if no detection), tp / num_gt; -1 without GT */
} eo_class_ap;

typedef struct eo_det_report {
  int num_classes;
  int classes_with_gt;
  int64_t num_images, num_gt, num_det;
  float operating_conf;
  double map50, map75, map;         /* means over classes with GT; -1 if no class has GT */
  double map_at[EO_NUM_IOU_THRESHOLDS];
  double precision, recall;         /* macro: means of the per-class values over classes with GT */
  double precision_micro, recall_micro; /* pooled over all classes */
  int64_t tp, fp, fn;               /* pooled, at IoU 0.5 and the operating threshold */
  eo_class_ap *per_class;           /* num_classes entries, owned by the report */
} eo_det_report;

/* The 10 IoU thresholds, bit-identical to numpy's linspace(0.5, 0.95, 10). */
double eo_iou_threshold(int i);

/* operating_conf: detections with score >= this count for precision/recall (mAP uses all). */
eo_status eo_det_metrics_create(int num_classes, float operating_conf, eo_det_metrics **out);
/* Adds one image: its detections (any order, any count) and its GT boxes (borrowed). Class ids
 * outside [0, num_classes) and non-finite scores or coordinates are refused with EO_ERR_INVALID
 * (the accumulator is unchanged). */
eo_status eo_det_metrics_add(eo_det_metrics *m, const eo_detection *dets, int ndet, const eo_gt_box *gts,
                             int ngt);
/* Computes the report of everything added so far; the caller frees it with eo_det_report_free. */
eo_status eo_det_metrics_report(const eo_det_metrics *m, eo_det_report **out);
void eo_det_report_free(eo_det_report *r);
void eo_det_metrics_free(eo_det_metrics *m);

/* ---------------------------------------------------------------------------------------------- */
/* Classification metrics
 *
 * Ranks follow a stable descending sort of the scores (ties: lower class index first), so top-1 is
 * numpy's argmax. top-5 means top-min(5, num_classes). */

typedef struct eo_cls_metrics eo_cls_metrics;

typedef struct eo_cls_report {
  int num_classes;
  int64_t num_samples;
  int top5_k;                 /* min(5, num_classes) */
  double top1, top5;          /* fractions; 0 when no samples */
  double mean_class_acc;      /* mean of per_class_acc over classes with samples */
  int64_t *per_class_count;   /* samples per true class */
  double *per_class_acc;      /* top-1 recall per true class; -1 without samples */
  int64_t *confusion;         /* num_classes x num_classes, row = true class, column = top-1 */
} eo_cls_report;

eo_status eo_cls_metrics_create(int num_classes, eo_cls_metrics **out);
/* One sample: scores[0..n) (logits or probabilities; n must equal num_classes) and its label.
 * NaN scores and labels outside [0, num_classes) are refused with EO_ERR_INVALID. */
eo_status eo_cls_metrics_add(eo_cls_metrics *m, const float *scores, int n, int label);
/* Top-1 class of scores[0..n) (first maximum); -1 if n <= 0. */
int eo_argmax(const float *scores, int n);
eo_status eo_cls_metrics_report(const eo_cls_metrics *m, eo_cls_report **out);
void eo_cls_report_free(eo_cls_report *r);
void eo_cls_metrics_free(eo_cls_metrics *m);

/* ---------------------------------------------------------------------------------------------- */
/* Agreement of a candidate model with a reference model (no labels)
 *
 * Per output, over every element of every sample added (one pooled vector):
 *   mean_abs_diff  = mean |ref - cand|
 *   mean_rel_diff  = sum |ref - cand| / sum |ref|   (relative L1; robust where ref is near 0)
 *   max_abs_diff   = max |ref - cand|
 *   cosine         = sum ref*cand / sqrt(sum ref^2 * sum cand^2)   (1 if both are all zero, 0 if one is)
 *   sqnr_db        = 10 log10(sum ref^2 / sum (ref - cand)^2): +INFINITY when identical,
 *                    -INFINITY when ref is all zero and cand is not
 *   min_cosine     = the lowest cosine of a single sample (a per-image worst case)
 * Elements where either value is NaN or infinite are left out of the sums and counted in
 * `nonfinite`. Outputs marked as class scores (eo_agree_metrics_set_classes) also get top-1 agreement
 * (rows of num_classes values, argmax equal). Detector agreement: the reference's detections with
 * score >= pseudo_label_conf are the ground truth for the candidate's detections (eo_det_metrics). */

typedef struct eo_agree_metrics eo_agree_metrics;

typedef struct eo_output_agreement {
  int64_t count, nonfinite;
  double mean_abs_diff, mean_rel_diff, max_abs_diff;
  double cosine, min_cosine, sqnr_db;
  int64_t top1_rows, top1_agree;   /* class-score outputs; 0 otherwise */
  double top1_agreement;           /* top1_agree / top1_rows; -1 if not a class-score output */
} eo_output_agreement;

typedef struct eo_agree_report {
  int num_outputs;
  eo_output_agreement *outputs;    /* num_outputs entries, owned */
  eo_det_report *detection;        /* NULL unless detections were added; owned */
} eo_agree_report;

typedef struct eo_agree_options {
  int num_outputs;
  int num_classes;          /* > 0 enables eo_agree_metrics_add_detections (classes of the detector) */
  float pseudo_label_conf;  /* reference detections at or above become pseudo-labels; default 0.25 */
  float operating_conf;     /* candidate threshold for precision/recall; default 0.25 */
} eo_agree_options;

eo_status eo_agree_metrics_create(const eo_agree_options *opts, eo_agree_metrics **out);
/* Marks output i as class scores in rows of num_classes values (top-1 agreement). */
eo_status eo_agree_metrics_set_classes(eo_agree_metrics *a, int output, int num_classes);
/* One sample of output i: ref and cand hold n floats each (borrowed). */
eo_status eo_agree_metrics_add(eo_agree_metrics *a, int output, const float *ref, const float *cand,
                               size_t n);
/* One image's detections from the reference and the candidate. */
eo_status eo_agree_metrics_add_detections(eo_agree_metrics *a, const eo_detection *ref, int nref,
                                          const eo_detection *cand, int ncand);
eo_status eo_agree_metrics_report(const eo_agree_metrics *a, eo_agree_report **out);
void eo_agree_report_free(eo_agree_report *r);
void eo_agree_metrics_free(eo_agree_metrics *a);

#ifdef __cplusplus
}
#endif
#endif
