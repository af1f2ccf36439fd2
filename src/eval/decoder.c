/* The decoder object: options, names, guessing the layout from output shapes, create/run/free.
 * The layouts themselves live in decode_<name>.c. */
#include <math.h>
#include <string.h>

#include "eval/eval_internal.h"

static const eo_decoder_impl *impl_of(eo_decoder_kind k) {
  switch (k) {
    case EO_DECODER_YOLOV8: return &eo_decode_yolov8_impl;
    case EO_DECODER_YOLOV5: return &eo_decode_yolov5_impl;
    case EO_DECODER_YOLONAS: return &eo_decode_yolonas_impl;
    case EO_DECODER_SSD: return &eo_decode_ssd_impl;
    case EO_DECODER_GENERIC: return &eo_decode_generic_impl;
    default: return NULL;
  }
}

static const struct {
  const char *name;
  eo_decoder_kind kind;
} kNames[] = {
    {"auto", EO_DECODER_AUTO},       {"yolov8", EO_DECODER_YOLOV8},   {"yolo11", EO_DECODER_YOLOV8},
    {"ultralytics", EO_DECODER_YOLOV8}, {"yolov5", EO_DECODER_YOLOV5}, {"yolo-nas", EO_DECODER_YOLONAS},
    {"yolonas", EO_DECODER_YOLONAS}, {"ssd", EO_DECODER_SSD},         {"blazeface", EO_DECODER_SSD},
    {"generic", EO_DECODER_GENERIC},
};

eo_status eo_decoder_kind_from_name(const char *name, eo_decoder_kind *out) {
  *out = EO_DECODER_AUTO;
  for (size_t i = 0; name && i < sizeof kNames / sizeof kNames[0]; i++) {
    if (strcmp(kNames[i].name, name) == 0) {
      *out = kNames[i].kind;
      return EO_OK;
    }
  }
  return eo_error(EO_ERR_INVALID,
                  "unknown decoder '%s': expected auto, yolov8 (yolo11), yolov5, yolo-nas, ssd (blazeface) or "
                  "generic",
                  name ? name : "(null)");
}

const char *eo_decoder_kind_name(eo_decoder_kind kind) {
  switch (kind) {
    case EO_DECODER_AUTO: return "auto";
    case EO_DECODER_YOLOV8: return "yolov8";
    case EO_DECODER_YOLOV5: return "yolov5";
    case EO_DECODER_YOLONAS: return "yolo-nas";
    case EO_DECODER_SSD: return "ssd";
    case EO_DECODER_GENERIC: return "generic";
  }
  return "?";
}

void eo_decode_options_init(eo_decode_options *o) {
  memset(o, 0, sizeof *o);
  o->kind = EO_DECODER_AUTO;
  o->nms.conf_threshold = 0.001f;
  o->nms.iou_threshold = 0.7f;
  o->nms.max_detections = 300;
  o->nms.max_candidates = 30000;
  o->multi_label = 1;
  eo_ssd_options_preset("blazeface-front", &o->ssd);
  o->generic.box_format = EO_BOX_XYXY;
  o->generic.boxes_output = o->generic.scores_output = -1;
  o->generic.classes_output = o->generic.count_output = -1;
}

const char *eo_dec_shape(const eo_tensor_view *v, char *buf, size_t cap) {
  return eo_shape_str(v->rank, v->dims, buf, cap);
}

/* All output shapes as "name [d,..], name [d,..]" for messages. */
static const char *shapes_str(int n, const eo_tensor_view *outs, char *buf, size_t cap) {
  size_t k = 0;
  buf[0] = 0;
  for (int i = 0; i < n && k + 1 < cap; i++) {
    char s[128];
    k += (size_t)snprintf(buf + k, cap - k, "%s%s %s", i ? ", " : "", outs[i].name ? outs[i].name : "?",
                          eo_dec_shape(&outs[i], s, sizeof s));
  }
  return buf;
}

eo_status eo_decoder_guess(int n, const eo_tensor_view *outs, eo_decoder_kind *out) {
  *out = EO_DECODER_AUTO;
  char buf[1024];
  if (n == 1 && outs[0].rank == 3 && outs[0].dims[0] >= 1) {
    int64_t a = outs[0].dims[1], b = outs[0].dims[2];
    if (b > a && a >= 5) {
      *out = EO_DECODER_YOLOV8;
      return EO_OK;
    }
    if (a > b && b >= 7) {
      *out = EO_DECODER_YOLOV5;
      return EO_OK;
    }
  }
  if (n == 2) {
    for (int i = 0; i < 2; i++) {
      const eo_tensor_view *bx = &outs[i], *sc = &outs[1 - i];
      if (bx->rank == 3 && sc->rank == 3 && bx->dims[0] >= 1 && sc->dims[0] == bx->dims[0] && bx->dims[2] == 4 &&
          sc->dims[2] != 4 && sc->dims[2] >= 1 && bx->dims[1] == sc->dims[1]) {
        *out = EO_DECODER_YOLONAS;
        return EO_OK;
      }
    }
  }
  int roles[4];
  if ((n == 3 || n == 4) && eo_generic_roles(n, outs, roles)) {
    *out = EO_DECODER_GENERIC;
    return EO_OK;
  }
  return eo_error(EO_ERR_INVALID,
                  "cannot tell the detection decoder from the model outputs (%s): pass one explicitly "
                  "(yolov8, yolov5, yolo-nas, ssd or generic)",
                  shapes_str(n, outs, buf, sizeof buf));
}

eo_status eo_decoder_create(const eo_decode_options *opts, int n, const eo_tensor_view *outs,
                            eo_decoder **out) {
  *out = NULL;
  eo_decode_options defaults;
  if (!opts) {
    eo_decode_options_init(&defaults);
    opts = &defaults;
  }
  if (n <= 0 || n > EO_DEC_MAX_OUTPUTS)
    return eo_error(EO_ERR_INVALID, "decoder: %d outputs given (expected 1..%d)", n, EO_DEC_MAX_OUTPUTS);
  if (!(opts->nms.iou_threshold >= 0.f) || !(opts->nms.conf_threshold == opts->nms.conf_threshold))
    return eo_error(EO_ERR_INVALID, "decoder: IoU threshold %g / confidence %g must be numbers, IoU >= 0",
                    (double)opts->nms.iou_threshold, (double)opts->nms.conf_threshold);
  if (opts->num_classes < 0)
    return eo_error(EO_ERR_INVALID, "decoder: num_classes %d must be >= 0", opts->num_classes);
  eo_decoder_kind kind = opts->kind;
  if (kind == EO_DECODER_AUTO) {
    eo_status st = eo_decoder_guess(n, outs, &kind);
    if (st) return st;
  }
  const eo_decoder_impl *impl = impl_of(kind);
  if (!impl) return eo_error(EO_ERR_INVALID, "decoder: unknown kind %d", (int)kind);
  eo_decoder *d = eo_calloc(1, sizeof *d);
  if (!d) return eo_error(EO_ERR_NOMEM, "out of memory");
  eo_status st = EO_OK;
  d->o = *opts;
  d->kind = kind;
  d->n_out = n;
  d->boxes = d->scores = d->classes = d->count = -1;
  for (int i = 0; i < n; i++) {
    if (outs[i].rank < 1 || outs[i].rank > EO_MAX_RANK) {
      st = eo_error(EO_ERR_SHAPE, "decoder: output %d (%s) has rank %d", i, outs[i].name ? outs[i].name : "?",
               outs[i].rank);
      goto fail;
    }
    d->rank[i] = outs[i].rank;
    d->dtype[i] = outs[i].dtype;
    memcpy(d->dims[i], outs[i].dims, sizeof d->dims[i]);
  }
  st = impl->setup(d, n, outs);
  if (st) {
    char buf[1024];
    eo_error_wrap(st, "%s decoder, outputs %s", eo_decoder_kind_name(kind), shapes_str(n, outs, buf, sizeof buf));
    goto fail;
  }
  if (d->o.num_classes > 0 && d->nc != d->o.num_classes) {
    st = eo_error(EO_ERR_SHAPE, "%s decoder: the outputs hold %d classes but %d were requested",
             eo_decoder_kind_name(kind), d->nc, d->o.num_classes);
    goto fail;
  }
  size_t per = d->o.multi_label && d->nc > 1 ? (size_t)d->nc : 1;
  if (!eo_mul_size((size_t)d->num_cand, per, &d->cand_cap) || d->cand_cap > ((size_t)1 << 28)) {
    st = eo_error(EO_ERR_NOMEM, "decoder: %d boxes x %zu classes is too many candidates", d->num_cand, per);
    goto fail;
  }
  d->cand = eo_calloc(d->cand_cap ? d->cand_cap : 1, sizeof *d->cand);
  if (!d->cand) {
    st = eo_error(EO_ERR_NOMEM, "decoder: out of memory for %zu candidates", d->cand_cap);
    goto fail;
  }
  *out = d;
  return EO_OK;
fail:
  eo_decoder_free(d);
  return st;
}

eo_decoder_kind eo_decoder_get_kind(const eo_decoder *d) { return d->kind; }
int eo_decoder_num_classes(const eo_decoder *d) { return d->nc; }
int eo_decoder_num_candidates(const eo_decoder *d) { return d->num_cand; }

void eo_decoder_free(eo_decoder *d) {
  if (!d) return;
  free(d->anchors);
  free(d->cand);
  free(d);
}

int eo_dec_push_scores(const eo_decoder *d, const float box[4], const float *scores, int64_t stride,
                       eo_detection *out) {
  float conf = d->o.nms.conf_threshold;
  int k = 0;
  if (d->o.multi_label) {
    for (int c = 0; c < d->nc; c++) {
      float s = scores[c * stride];
      if (s > conf) out[k++] = (eo_detection){box[0], box[1], box[2], box[3], s, c};
    }
    return k;
  }
  int best = 0;
  float bs = scores[0];
  for (int c = 1; c < d->nc; c++) {
    float s = scores[c * stride];
    if (s > bs || bs != bs) {
      bs = s;
      best = c;
    }
  }
  if (bs > conf) out[k++] = (eo_detection){box[0], box[1], box[2], box[3], bs, best};
  return k;
}

eo_status eo_decoder_run(eo_decoder *d, int n, const eo_tensor_view *outs, int batch,
                         const eo_box_transform *tf, const eo_detection **dets, int *count) {
  *dets = NULL;
  *count = 0;
  if (n != d->n_out)
    return eo_error(EO_ERR_INVALID, "%s decoder: %d outputs given, %d at create", eo_decoder_kind_name(d->kind), n,
                    d->n_out);
  for (int i = 0; i < n; i++) {
    if (outs[i].rank != d->rank[i] || outs[i].dtype != d->dtype[i] ||
        memcmp(outs[i].dims, d->dims[i], sizeof(int64_t) * (size_t)d->rank[i]) != 0) {
      char a[128], b[128];
      return eo_error(EO_ERR_SHAPE, "%s decoder: output %d (%s) is %s %s, at create it was %s %s",
                      eo_decoder_kind_name(d->kind), i, outs[i].name ? outs[i].name : "?",
                      eo_dtype_name(outs[i].dtype), eo_dec_shape(&outs[i], a, sizeof a), eo_dtype_name(d->dtype[i]),
                      eo_shape_str(d->rank[i], d->dims[i], b, sizeof b));
    }
    if (!outs[i].data && eo_numel(outs[i].rank, outs[i].dims) > 0)
      return eo_error(EO_ERR_INVALID, "%s decoder: output %d has no data", eo_decoder_kind_name(d->kind), i);
  }
  if (batch < 0 || batch >= d->batch)
    return eo_error(EO_ERR_INVALID, "%s decoder: batch item %d out of range (batch %lld)",
                    eo_decoder_kind_name(d->kind), batch, (long long)d->batch);
  if (tf && !(tf->scale_x > 0.f && tf->scale_y > 0.f && isfinite(tf->pad_x) && isfinite(tf->pad_y)))
    return eo_error(EO_ERR_INVALID, "box transform: scale %g x %g must be > 0 and pads finite",
                    (double)tf->scale_x, (double)tf->scale_y);
  int nc = 0;
  eo_status st = impl_of(d->kind)->collect(d, outs, batch, d->cand, &nc);
  if (st) return st;
  EO_ASSERT((size_t)nc <= d->cand_cap);
  eo_nms_options nms = d->o.nms;
  if (d->o.no_nms) nms.iou_threshold = INFINITY;
  int kept = 0;
  st = eo_nms(d->cand, nc, &nms, &kept);
  if (st) return st;
  if (tf) {
    for (int i = 0; i < kept; i++) {
      eo_detection *e = &d->cand[i];
      float v[4] = {(e->x1 - tf->pad_x) / tf->scale_x, (e->y1 - tf->pad_y) / tf->scale_y,
                    (e->x2 - tf->pad_x) / tf->scale_x, (e->y2 - tf->pad_y) / tf->scale_y};
      for (int k = 0; k < 4; k++) {
        float lim = k & 1 ? tf->clip_h : tf->clip_w;
        if (lim > 0.f) v[k] = v[k] < 0.f ? 0.f : v[k] > lim ? lim : v[k];
      }
      e->x1 = v[0], e->y1 = v[1], e->x2 = v[2], e->y2 = v[3];
    }
  }
  *dets = d->cand;
  *count = kept;
  return EO_OK;
}
