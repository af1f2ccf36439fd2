/* YOLO-NAS as super-gradients exports it: boxes [B, N, 4] x1 y1 x2 y2 in input pixels and
 * scores [B, N, nc] (probabilities). The boxes output is the one whose last dim is 4; when both
 * are 4 wide the first output is taken as the boxes (super-gradients' order). */
#include "eval/eval_internal.h"

static eo_status setup(eo_decoder *d, int n, const eo_tensor_view *outs) {
  if (n != 2) return eo_error(EO_ERR_SHAPE, "expected two outputs [1, boxes, 4] and [1, boxes, classes], got %d", n);
  int bi = outs[0].rank == 3 && outs[0].dims[2] == 4 ? 0 : 1;
  const eo_tensor_view *bx = &outs[bi], *sc = &outs[1 - bi];
  if (bx->dtype != EO_FLOAT || sc->dtype != EO_FLOAT)
    return eo_error(EO_ERR_SHAPE, "outputs are %s and %s, expected float32", eo_dtype_name(bx->dtype),
                    eo_dtype_name(sc->dtype));
  if (bx->rank != 3 || sc->rank != 3 || bx->dims[2] != 4 || bx->dims[0] < 1 || bx->dims[0] != sc->dims[0] ||
      bx->dims[1] != sc->dims[1] || sc->dims[2] < 1 || bx->dims[1] > (1 << 24) || sc->dims[2] > (1 << 20))
    return eo_error(EO_ERR_SHAPE, "expected [1, boxes, 4] and [1, boxes, classes] with the same number of boxes");
  d->batch = bx->dims[0];
  d->boxes = bi;
  d->scores = 1 - bi;
  d->nc = (int)sc->dims[2];
  d->num_cand = (int)bx->dims[1];
  return EO_OK;
}

static eo_status collect(const eo_decoder *d, const eo_tensor_view *outs, int64_t b, eo_detection *cand,
                         int *count) {
  const float *bx = eo_dec_item(&outs[d->boxes], b), *sc = eo_dec_item(&outs[d->scores], b);
  int k = 0;
  for (int64_t i = 0; i < d->num_cand; i++)
    k += eo_dec_push_scores(d, bx + 4 * i, sc + (int64_t)d->nc * i, 1, cand + k);
  *count = k;
  return EO_OK;
}

const eo_decoder_impl eo_decode_yolonas_impl = {setup, collect};
