/* YOLOv5 (and v7) as exported: one output [B, N, 5+nc], rows cx, cy, w, h (input pixels),
 * objectness, nc class probabilities. Score = objectness * class probability; boxes with
 * objectness <= conf are skipped first, as Ultralytics' YOLOv5 NMS does. */
#include "eval/eval_internal.h"

static eo_status setup(eo_decoder *d, int n, const eo_tensor_view *outs) {
  if (n != 1) return eo_error(EO_ERR_SHAPE, "expected one output [1, boxes, 5+classes], got %d outputs", n);
  const eo_tensor_view *v = &outs[0];
  if (v->dtype != EO_FLOAT) return eo_error(EO_ERR_SHAPE, "output is %s, expected float32", eo_dtype_name(v->dtype));
  if (v->rank != 3 || v->dims[0] < 1 || v->dims[1] < 1 || v->dims[2] < 6 || v->dims[2] > (1 << 20) ||
      v->dims[1] > (1 << 24))
    return eo_error(EO_ERR_SHAPE, "expected one output [1, boxes, 5+classes] with classes >= 1");
  d->batch = v->dims[0];
  d->nc = (int)v->dims[2] - 5;
  d->num_cand = (int)v->dims[1];
  d->boxes = 0;
  return EO_OK;
}

static eo_status collect(const eo_decoder *d, const eo_tensor_view *outs, int64_t b, eo_detection *cand,
                         int *count) {
  const float *p = eo_dec_item(&outs[0], b);
  const int nc = d->nc, row = 5 + nc;
  const float conf = d->o.nms.conf_threshold;
  int k = 0;
  for (int64_t i = 0; i < d->num_cand; i++, p += row) {
    float obj = p[4];
    if (!(obj > conf)) continue;
    const float box[4] = {p[0] - p[2] / 2, p[1] - p[3] / 2, p[0] + p[2] / 2, p[1] + p[3] / 2};
    if (d->o.multi_label) {
      for (int c = 0; c < nc; c++) {
        float s = p[5 + c] * obj;
        if (s > conf) cand[k++] = (eo_detection){box[0], box[1], box[2], box[3], s, c};
      }
    } else {
      int best = 0;
      float bs = p[5];
      for (int c = 1; c < nc; c++)
        if (p[5 + c] > bs) bs = p[5 + c], best = c;
      float s = bs * obj;
      if (s > conf) cand[k++] = (eo_detection){box[0], box[1], box[2], box[3], s, best};
    }
  }
  *count = k;
  return EO_OK;
}

const eo_decoder_impl eo_decode_yolov5_impl = {setup, collect};
