/* YOLOv8 / YOLO11 as Ultralytics exports them: one output [B, 4+nc, N] (channels first), rows
 * cx, cy, w, h in input pixels followed by nc class probabilities (sigmoid already applied). */
#include "eval/eval_internal.h"

static eo_status setup(eo_decoder *d, int n, const eo_tensor_view *outs) {
  if (n != 1) return eo_error(EO_ERR_SHAPE, "expected one output [1, 4+classes, boxes], got %d outputs", n);
  const eo_tensor_view *v = &outs[0];
  if (v->dtype != EO_FLOAT) return eo_error(EO_ERR_SHAPE, "output is %s, expected float32", eo_dtype_name(v->dtype));
  if (v->rank != 3 || v->dims[0] < 1 || v->dims[1] < 5 || v->dims[2] < 1 || v->dims[1] > (1 << 20) ||
      v->dims[2] > (1 << 24))
    return eo_error(EO_ERR_SHAPE, "expected one output [1, 4+classes, boxes] with classes >= 1");
  d->batch = v->dims[0];
  d->nc = (int)v->dims[1] - 4;
  d->num_cand = (int)v->dims[2];
  d->boxes = 0;
  return EO_OK;
}

static eo_status collect(const eo_decoder *d, const eo_tensor_view *outs, int64_t b, eo_detection *cand,
                         int *count) {
  const float *p = eo_dec_item(&outs[0], b);
  int64_t N = d->num_cand;
  int k = 0;
  for (int64_t i = 0; i < N; i++) {
    float cx = p[i], cy = p[N + i], hw = p[2 * N + i] / 2, hh = p[3 * N + i] / 2;
    const float box[4] = {cx - hw, cy - hh, cx + hw, cy + hh};
    k += eo_dec_push_scores(d, box, p + 4 * N + i, N, cand + k);
  }
  *count = k;
  return EO_OK;
}

const eo_decoder_impl eo_decode_yolov8_impl = {setup, collect};
