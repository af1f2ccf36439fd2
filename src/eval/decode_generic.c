/* Generic "boxes + scores + classes" outputs, as post-processed exports give them (TensorFlow
 * Object Detection API, torchvision detection models, end-to-end YOLO exports split in three):
 *   boxes   [B, N, 4]   in EO_BOX_XYXY / YXYX / CXCYWH, times coord_scale (normalized -> pixels)
 *   scores  [B, N] or [B, N, 1] (one score per box), or [B, N, nc] (per class, no classes output)
 *   classes [B, N] or [B, N, 1], any integer or float dtype holding integral values (optional)
 *   count   [B] or [B, 1]: only the first count boxes are valid (optional)
 * Roles come from eo_generic_options indices, or else from shapes, dtypes and names. */
#include <math.h>
#include <string.h>

#include "eval/eval_internal.h"

static int is_vec(const eo_tensor_view *v, int64_t b, int64_t n) { /* [B,N] or [B,N,1] */
  return (v->rank == 2 && v->dims[0] == b && v->dims[1] == n) ||
         (v->rank == 3 && v->dims[0] == b && v->dims[1] == n && v->dims[2] == 1);
}
static int is_count(const eo_tensor_view *v, int64_t b) {
  return (v->rank == 1 && v->dims[0] == b) || (v->rank == 2 && v->dims[0] == b && v->dims[1] == 1);
}
static int has_word(const char *name, const char *w) { return name && strstr(name, w) != NULL; }

int eo_generic_roles(int n, const eo_tensor_view *outs, int roles[4]) {
  roles[0] = roles[1] = roles[2] = roles[3] = -1;
  int boxes = -1, vec[2] = {-1, -1}, nvec = 0, count = -1;
  for (int i = 0; i < n; i++)
    if (outs[i].rank == 3 && outs[i].dims[2] == 4) {
      if (boxes >= 0) return 0;
      boxes = i;
    }
  if (boxes < 0) return 0;
  int64_t B = outs[boxes].dims[0], N = outs[boxes].dims[1];
  for (int i = 0; i < n; i++) {
    if (i == boxes) continue;
    if (is_vec(&outs[i], B, N) && nvec < 2)
      vec[nvec++] = i;
    else if (is_count(&outs[i], B) && count < 0)
      count = i;
    else
      return 0;
  }
  if (nvec != 2) return 0;
  int i0 = eo_dtype_is_int(outs[vec[0]].dtype), i1 = eo_dtype_is_int(outs[vec[1]].dtype);
  int c0 = has_word(outs[vec[0]].name, "class"), c1 = has_word(outs[vec[1]].name, "class");
  int s0 = has_word(outs[vec[0]].name, "score"), s1 = has_word(outs[vec[1]].name, "score");
  int classes_first;
  if (i0 != i1)
    classes_first = i0;
  else if (c0 != c1 && s0 != s1 && c0 == s1)
    classes_first = c0;
  else
    return 0;
  roles[0] = boxes;
  roles[1] = classes_first ? vec[1] : vec[0];
  roles[2] = classes_first ? vec[0] : vec[1];
  roles[3] = count;
  return 1;
}

static eo_status setup(eo_decoder *d, int n, const eo_tensor_view *outs) {
  const eo_generic_options *g = &d->o.generic;
  int r[4] = {g->boxes_output, g->scores_output, g->classes_output, g->count_output};
  if (r[0] < 0) {
    if (!eo_generic_roles(n, outs, r)) {
      // Two outputs: boxes [B,N,4] + per-class scores [B,N,nc].
      int bi = n == 2 && outs[0].rank == 3 && outs[0].dims[2] == 4 ? 0 : 1;
      if (n != 2 || outs[bi].rank != 3 || outs[bi].dims[2] != 4)
        return eo_error(EO_ERR_SHAPE,
                        "cannot tell which output holds boxes, scores, classes and count: set the "
                        "generic decoder's output indices");
      r[0] = bi, r[1] = 1 - bi;
    }
  }
  for (int k = 0; k < 4; k++)
    if (r[k] >= n || (k < 2 && r[k] < 0))
      return eo_error(EO_ERR_INVALID, "generic decoder: %s output index %d out of range (%d outputs)",
                      (const char *[]){"boxes", "scores", "classes", "count"}[k], r[k], n);
  const eo_tensor_view *bx = &outs[r[0]], *sc = &outs[r[1]];
  if (bx->dtype != EO_FLOAT || sc->dtype != EO_FLOAT)
    return eo_error(EO_ERR_SHAPE, "boxes (%s) and scores (%s) must be float32", eo_dtype_name(bx->dtype),
                    eo_dtype_name(sc->dtype));
  if (bx->rank != 3 || bx->dims[2] != 4 || bx->dims[0] < 1 || bx->dims[1] > (1 << 24))
    return eo_error(EO_ERR_SHAPE, "boxes output %d must be [batch, boxes, 4]", r[0]);
  int64_t B = bx->dims[0], N = bx->dims[1];
  if (is_vec(sc, B, N)) {
    d->nc = r[2] >= 0 ? d->o.num_classes : 1;
  } else if (sc->rank == 3 && sc->dims[0] == B && sc->dims[1] == N && sc->dims[2] <= (1 << 20)) {
    if (r[2] >= 0) return eo_error(EO_ERR_SHAPE, "scores per class [batch, boxes, classes] and a classes output");
    d->nc = (int)sc->dims[2];
  } else {
    return eo_error(EO_ERR_SHAPE, "scores output %d must be [batch, boxes], [batch, boxes, 1] or "
                    "[batch, boxes, classes]", r[1]);
  }
  if (r[2] >= 0 && (!is_vec(&outs[r[2]], B, N) || !(eo_dtype_is_int(outs[r[2]].dtype) ||
                                                    eo_dtype_is_float(outs[r[2]].dtype))))
    return eo_error(EO_ERR_SHAPE, "classes output %d must be numeric [batch, boxes] or [batch, boxes, 1]", r[2]);
  if (r[3] >= 0 && (!is_count(&outs[r[3]], B) || !(eo_dtype_is_int(outs[r[3]].dtype) ||
                                                   eo_dtype_is_float(outs[r[3]].dtype))))
    return eo_error(EO_ERR_SHAPE, "count output %d must be numeric [batch] or [batch, 1]", r[3]);
  for (int k = 2; k < 4; k++)
    if (r[k] >= 0 && eo_dtype_size(outs[r[k]].dtype) == 0)
      return eo_error(EO_ERR_UNSUPPORTED, "output %d has dtype %s", r[k], eo_dtype_name(outs[r[k]].dtype));
  d->batch = B;
  d->num_cand = (int)N;
  d->boxes = r[0], d->scores = r[1], d->classes = r[2], d->count = r[3];
  return EO_OK;
}

/* Element i of a numeric tensor as a double. */
static double value_at(const eo_tensor_view *v, int64_t i) {
  const void *p = v->data;
  switch (v->dtype) {
    case EO_FLOAT: return ((const float *)p)[i];
    case EO_DOUBLE: return ((const double *)p)[i];
    case EO_FLOAT16: return eo_f16_to_f32(((const uint16_t *)p)[i]);
    case EO_BFLOAT16: return eo_bf16_to_f32(((const uint16_t *)p)[i]);
    case EO_INT8: return ((const int8_t *)p)[i];
    case EO_UINT8: return ((const uint8_t *)p)[i];
    case EO_INT16: return ((const int16_t *)p)[i];
    case EO_UINT16: return ((const uint16_t *)p)[i];
    case EO_INT32: return ((const int32_t *)p)[i];
    case EO_UINT32: return ((const uint32_t *)p)[i];
    case EO_INT64: return (double)((const int64_t *)p)[i];
    case EO_UINT64: return (double)((const uint64_t *)p)[i];
    default: return NAN;
  }
}

static eo_status collect(const eo_decoder *d, const eo_tensor_view *outs, int64_t b, eo_detection *cand,
                         int *count) {
  const eo_generic_options *g = &d->o.generic;
  const float *bx = eo_dec_item(&outs[d->boxes], b), *sc = eo_dec_item(&outs[d->scores], b);
  const int64_t N = d->num_cand;
  const int per_class = outs[d->scores].rank == 3 && outs[d->scores].dims[2] > 1;
  int64_t valid = N;
  if (d->count >= 0) {
    double c = value_at(&outs[d->count], b);
    if (!(c >= 0)) return eo_error(EO_ERR_INVALID, "generic decoder: count output holds %g", c);
    if (c < (double)N) valid = (int64_t)c;
  }
  const float sx = g->coord_scale_x > 0 ? g->coord_scale_x : 1.f, sy = g->coord_scale_y > 0 ? g->coord_scale_y : 1.f;
  int k = 0;
  for (int64_t i = 0; i < valid; i++) {
    const float *p = bx + 4 * i;
    float box[4];
    switch (g->box_format) {
      case EO_BOX_YXYX: box[0] = p[1], box[1] = p[0], box[2] = p[3], box[3] = p[2]; break;
      case EO_BOX_CXCYWH:
        box[0] = p[0] - p[2] / 2, box[1] = p[1] - p[3] / 2, box[2] = p[0] + p[2] / 2, box[3] = p[1] + p[3] / 2;
        break;
      default: box[0] = p[0], box[1] = p[1], box[2] = p[2], box[3] = p[3]; break;
    }
    box[0] *= sx, box[2] *= sx, box[1] *= sy, box[3] *= sy;
    if (per_class) {
      k += eo_dec_push_scores(d, box, sc + (int64_t)d->nc * i, 1, cand + k);
      continue;
    }
    float s = sc[i];
    if (!(s > d->o.nms.conf_threshold)) continue;
    int cls = 0;
    if (d->classes >= 0) {
      const eo_tensor_view *cv = &outs[d->classes];
      double c = value_at(cv, b * N + i) - g->class_offset;
      if (!(c == floor(c)) || c < 0 || (d->nc > 0 && c >= d->nc) || c > 1e9)
        return eo_error(EO_ERR_INVALID, "generic decoder: output %s box %lld has class %g (after offset %d), "
                        "expected an integer in [0, %d)", cv->name ? cv->name : "classes", (long long)i, c,
                        g->class_offset, d->nc > 0 ? d->nc : 1000000000);
      cls = (int)c;
    }
    cand[k++] = (eo_detection){box[0], box[1], box[2], box[3], s, cls};
  }
  *count = k;
  return EO_OK;
}

const eo_decoder_impl eo_decode_generic_impl = {setup, collect};
