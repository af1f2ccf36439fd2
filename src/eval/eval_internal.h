/* Shared by the files of src/eval: the decoder object and the hooks each decoder layout provides. */
#ifndef EO_EVAL_INTERNAL_H
#define EO_EVAL_INTERNAL_H

#include "core/core.h"
#include "edgeopt/eval.h"

#define EO_DEC_MAX_OUTPUTS 16

struct eo_decoder {
  eo_decode_options o;
  eo_decoder_kind kind;
  /* Output signature fixed at create; run checks it. */
  int n_out;
  int rank[EO_DEC_MAX_OUTPUTS];
  int dtype[EO_DEC_MAX_OUTPUTS];
  int64_t dims[EO_DEC_MAX_OUTPUTS][EO_MAX_RANK];
  int64_t batch;     /* leading dim shared by the outputs the decoder reads */
  int num_cand;      /* N: boxes per image before thresholding */
  int nc;            /* classes */
  /* Which output plays which role (layout-specific; -1 = absent). */
  int boxes, scores, classes, count;
  /* SSD: regressor and score outputs in anchor order, and the anchors (x, y, w, h). */
  int n_groups;
  int reg_idx[EO_DEC_MAX_OUTPUTS], score_idx[EO_DEC_MAX_OUTPUTS];
  float *anchors;
  /* Candidates for NMS, sized at create for the worst case (every box x every class). */
  eo_detection *cand;
  size_t cand_cap;
};

/* A layout: setup checks the shapes and fills num_cand, nc and the roles (the candidates buffer
 * is sized by the caller from num_cand * (multi_label ? nc : 1)); collect appends every candidate
 * above conf for batch item `b` in model-input pixels. */
typedef struct eo_decoder_impl {
  eo_status (*setup)(eo_decoder *d, int n, const eo_tensor_view *outs);
  eo_status (*collect)(const eo_decoder *d, const eo_tensor_view *outs, int64_t b, eo_detection *cand,
                       int *count);
} eo_decoder_impl;

extern const eo_decoder_impl eo_decode_yolov8_impl;
extern const eo_decoder_impl eo_decode_yolov5_impl;
extern const eo_decoder_impl eo_decode_yolonas_impl;
extern const eo_decoder_impl eo_decode_ssd_impl;
extern const eo_decoder_impl eo_decode_generic_impl;

/* Shared helpers. */
const char *eo_dec_shape(const eo_tensor_view *v, char *buf, size_t cap);
/* Float data of batch item b of output v (rows of per-item numel). */
static inline const float *eo_dec_item(const eo_tensor_view *v, int64_t b) {
  int64_t per = eo_numel(v->rank, v->dims) / (v->dims[0] ? v->dims[0] : 1);
  return (const float *)v->data + b * per;
}
/* Generic layout, outputs found by shape: roles[0..3] = boxes, scores, classes, count (-1 if absent).
 * Returns 1 when exactly one assignment fits (see eo_decoder_guess), 0 otherwise. */
int eo_generic_roles(int n, const eo_tensor_view *outs, int roles[4]);
/* Appends the scores of one box: multi_label -> every class above conf; else the best class. */
int eo_dec_push_scores(const eo_decoder *d, const float box[4], const float *scores, int64_t stride,
                       eo_detection *out);

#endif
