/* SSD-style anchor decoding as MediaPipe does it (SsdAnchorsCalculator + TensorsToDetections),
 * which covers BlazeFace (front 128x128 and back 256x256) and TF SSD box coders.
 *
 * Outputs: regressors [B, n_i, num_coords] and logits [B, n_i, nc], possibly split over several
 * outputs (BlazeFace front: 512 + 384 anchors). An output is a regressor when its last dim is
 * num_coords; regressor and score outputs pair up in output order and their rows follow the
 * anchors in generation order. Box k: (raw / scale) * anchor size + anchor center (normalized),
 * times the input size -> input pixels. Keypoints (coords past the first 4) are ignored. */
#include <math.h>
#include <string.h>

#include "eval/eval_internal.h"

eo_status eo_ssd_options_preset(const char *name, eo_ssd_options *o) {
  memset(o, 0, sizeof *o);
  int back = name && strcmp(name, "blazeface-back") == 0;
  if (!back && !(name && strcmp(name, "blazeface-front") == 0))
    return eo_error(EO_ERR_INVALID, "unknown SSD preset '%s': expected blazeface-front or blazeface-back",
                    name ? name : "(null)");
  // mediapipe/modules/face_detection/face_detection_{short_range,full_range... back}.pbtxt
  const int size = back ? 256 : 128;
  o->num_layers = 4;
  o->min_scale = back ? 0.15625f : 0.1484375f;
  o->max_scale = 0.75f;
  o->input_w = o->input_h = size;
  o->anchor_offset_x = o->anchor_offset_y = 0.5f;
  const int s0 = back ? 16 : 8, s1 = back ? 32 : 16;
  o->strides[0] = s0;
  o->strides[1] = o->strides[2] = o->strides[3] = s1;
  o->num_aspect_ratios = 1;
  o->aspect_ratios[0] = 1.0f;
  o->interpolated_scale_aspect_ratio = 1.0f;
  o->fixed_anchor_size = 1;
  o->num_coords = 16;
  o->reverse_output_order = 1;
  o->x_scale = o->y_scale = o->w_scale = o->h_scale = (float)size;
  o->sigmoid_score = 1;
  o->score_clipping_thresh = 100.f;
  return EO_OK;
}

static float calc_scale(float min_s, float max_s, int idx, int n) {
  if (n == 1) return (min_s + max_s) * 0.5f;
  return min_s + (max_s - min_s) * 1.0f * (float)idx / ((float)n - 1.0f);
}

static eo_status check_options(const eo_ssd_options *o) {
  if (o->num_layers < 1 || o->num_layers > EO_SSD_MAX_LAYERS)
    return eo_error(EO_ERR_INVALID, "ssd options: num_layers %d outside 1..%d", o->num_layers, EO_SSD_MAX_LAYERS);
  if (o->num_aspect_ratios < 0 || o->num_aspect_ratios > EO_SSD_MAX_ASPECT)
    return eo_error(EO_ERR_INVALID, "ssd options: num_aspect_ratios %d outside 0..%d", o->num_aspect_ratios,
                    EO_SSD_MAX_ASPECT);
  if (o->input_w < 1 || o->input_h < 1 || o->input_w > 65536 || o->input_h > 65536)
    return eo_error(EO_ERR_INVALID, "ssd options: input size %dx%d", o->input_w, o->input_h);
  for (int i = 0; i < o->num_layers; i++)
    if (o->strides[i] < 1) return eo_error(EO_ERR_INVALID, "ssd options: stride[%d] = %d", i, o->strides[i]);
  for (int i = 0; i < o->num_aspect_ratios; i++)
    if (!(o->aspect_ratios[i] > 0.f))
      return eo_error(EO_ERR_INVALID, "ssd options: aspect ratio %g must be > 0", (double)o->aspect_ratios[i]);
  if (o->num_coords < 4 || o->num_coords > 4096)
    return eo_error(EO_ERR_INVALID, "ssd options: num_coords %d must be >= 4", o->num_coords);
  if (!(o->x_scale != 0.f && o->y_scale != 0.f && o->w_scale != 0.f && o->h_scale != 0.f))
    return eo_error(EO_ERR_INVALID, "ssd options: x/y/w/h scales must be non-zero");
  return EO_OK;
}

/* MediaPipe's SsdAnchorsCalculator::GenerateAnchors (no explicit feature-map sizes): layers with
 * the same stride share one grid; per cell, their anchors in layer order. anchors may be NULL
 * (count only). */
static int generate(const eo_ssd_options *o, float *anchors) {
  int total = 0;
  int layer = 0;
  while (layer < o->num_layers) {
    float heights[EO_SSD_MAX_LAYERS * (EO_SSD_MAX_ASPECT + 3)], widths[EO_SSD_MAX_LAYERS * (EO_SSD_MAX_ASPECT + 3)];
    int na = 0;
    int last = layer;
    while (last < o->num_layers && o->strides[last] == o->strides[layer]) {
      float scale = calc_scale(o->min_scale, o->max_scale, last, o->num_layers);
      float ar[EO_SSD_MAX_ASPECT + 3], sc[EO_SSD_MAX_ASPECT + 3];
      int k = 0;
      if (last == 0 && o->reduce_boxes_in_lowest_layer) {
        ar[0] = 1.0f, ar[1] = 2.0f, ar[2] = 0.5f;
        sc[0] = 0.1f, sc[1] = scale, sc[2] = scale;
        k = 3;
      } else {
        for (int a = 0; a < o->num_aspect_ratios; a++) ar[k] = o->aspect_ratios[a], sc[k++] = scale;
        if (o->interpolated_scale_aspect_ratio > 0.f) {
          float next = last == o->num_layers - 1 ? 1.0f : calc_scale(o->min_scale, o->max_scale, last + 1, o->num_layers);
          sc[k] = sqrtf(scale * next);
          ar[k++] = o->interpolated_scale_aspect_ratio;
        }
      }
      for (int a = 0; a < k; a++) {
        float r = sqrtf(ar[a]);
        heights[na] = sc[a] / r;
        widths[na++] = sc[a] * r;
      }
      last++;
    }
    int stride = o->strides[layer];
    int fh = (int)ceilf(1.0f * (float)o->input_h / (float)stride);
    int fw = (int)ceilf(1.0f * (float)o->input_w / (float)stride);
    for (int y = 0; y < fh; y++)
      for (int x = 0; x < fw; x++)
        for (int a = 0; a < na; a++, total++) {
          if (!anchors) continue;
          float *p = anchors + 4 * (size_t)total;
          p[0] = ((float)x + o->anchor_offset_x) * 1.0f / (float)fw;
          p[1] = ((float)y + o->anchor_offset_y) * 1.0f / (float)fh;
          p[2] = o->fixed_anchor_size ? 1.0f : widths[a];
          p[3] = o->fixed_anchor_size ? 1.0f : heights[a];
        }
    layer = last;
  }
  return total;
}

eo_status eo_ssd_anchor_count(const eo_ssd_options *o, int *count) {
  *count = 0;
  eo_status st = check_options(o);
  if (st) return st;
  *count = generate(o, NULL);
  return EO_OK;
}

eo_status eo_ssd_anchors(const eo_ssd_options *o, int *count, float **anchors) {
  *anchors = NULL;
  eo_status st = eo_ssd_anchor_count(o, count);
  if (st) return st;
  float *a = eo_calloc((size_t)*count * 4 + 1, sizeof *a);
  if (!a) return eo_error(EO_ERR_NOMEM, "ssd: out of memory for %d anchors", *count);
  generate(o, a);
  *anchors = a;
  return EO_OK;
}

static eo_status setup(eo_decoder *d, int n, const eo_tensor_view *outs) {
  const eo_ssd_options *o = &d->o.ssd;
  eo_status st = check_options(o);
  if (st) return st;
  int nreg = 0, nsc = 0, nc = -1;
  int64_t B = outs[0].rank == 3 ? outs[0].dims[0] : 0, reg_rows = 0;
  for (int i = 0; i < n; i++) {
    const eo_tensor_view *v = &outs[i];
    if (v->dtype != EO_FLOAT || v->rank != 3 || v->dims[0] != B || B < 1 || v->dims[1] < 1 || v->dims[2] < 1 ||
        v->dims[1] > (1 << 24) || v->dims[2] > 4096)
      return eo_error(EO_ERR_SHAPE, "output %d (%s) must be float32 [batch, anchors, values] like the others",
                      i, v->name ? v->name : "?");
    if (v->dims[2] == o->num_coords) {
      d->reg_idx[nreg++] = i;
      reg_rows += v->dims[1];
    } else {
      if (nc >= 0 && v->dims[2] != nc)
        return eo_error(EO_ERR_SHAPE, "score outputs have %d and %lld classes", nc, (long long)v->dims[2]);
      nc = (int)v->dims[2];
      d->score_idx[nsc++] = i;
    }
  }
  if (nreg == 0 || nsc == 0)
    return eo_error(EO_ERR_SHAPE, "expected regressor outputs (last dim num_coords = %d) and score outputs; "
                    "found %d and %d", o->num_coords, nreg, nsc);
  if (nreg != nsc) return eo_error(EO_ERR_SHAPE, "%d regressor outputs but %d score outputs", nreg, nsc);
  for (int g = 0; g < nreg; g++)
    if (outs[d->reg_idx[g]].dims[1] != outs[d->score_idx[g]].dims[1])
      return eo_error(EO_ERR_SHAPE, "regressor output %d has %lld anchors but its score output %d has %lld",
                      d->reg_idx[g], (long long)outs[d->reg_idx[g]].dims[1], d->score_idx[g],
                      (long long)outs[d->score_idx[g]].dims[1]);
  int na = 0;
  st = eo_ssd_anchors(o, &na, &d->anchors);
  if (st) return st;
  if (na != reg_rows)
    return eo_error(EO_ERR_SHAPE, "the anchor options generate %d anchors but the outputs hold %lld", na,
                    (long long)reg_rows);
  d->n_groups = nreg;
  d->batch = B;
  d->nc = nc;
  d->num_cand = na;
  return EO_OK;
}

static float score_of(const eo_ssd_options *o, float v) {
  if (!o->sigmoid_score) return v;
  float t = o->score_clipping_thresh;
  if (t > 0.f) v = v < -t ? -t : v > t ? t : v;
  return 1.0f / (1.0f + expf(-v));
}

static eo_status collect(const eo_decoder *d, const eo_tensor_view *outs, int64_t b, eo_detection *cand,
                         int *count) {
  const eo_ssd_options *o = &d->o.ssd;
  const int nc = d->nc, K = o->num_coords;
  const float conf = d->o.nms.conf_threshold;
  int k = 0, a = 0;
  for (int g = 0; g < d->n_groups; g++) {
    const eo_tensor_view *rv = &outs[d->reg_idx[g]], *sv = &outs[d->score_idx[g]];
    const float *reg = eo_dec_item(rv, b), *sc = eo_dec_item(sv, b);
    for (int64_t i = 0; i < rv->dims[1]; i++, a++) {
      const float *r = reg + i * K, *an = d->anchors + 4 * (size_t)a;
      float xc, yc, w, h;
      if (o->reverse_output_order)
        xc = r[0], yc = r[1], w = r[2], h = r[3];
      else
        yc = r[0], xc = r[1], h = r[2], w = r[3];
      xc = xc / o->x_scale * an[2] + an[0];
      yc = yc / o->y_scale * an[3] + an[1];
      if (o->apply_exponential_on_box_size) {
        h = expf(h / o->h_scale) * an[3];
        w = expf(w / o->w_scale) * an[2];
      } else {
        h = h / o->h_scale * an[3];
        w = w / o->w_scale * an[2];
      }
      const float box[4] = {(xc - w / 2) * (float)o->input_w, (yc - h / 2) * (float)o->input_h,
                            (xc + w / 2) * (float)o->input_w, (yc + h / 2) * (float)o->input_h};
      const float *s = sc + i * nc;
      if (d->o.multi_label) {
        for (int c = 0; c < nc; c++) {
          float v = score_of(o, s[c]);
          if (v > conf) cand[k++] = (eo_detection){box[0], box[1], box[2], box[3], v, c};
        }
      } else {
        // The sigmoid is monotone: the best logit is the best score.
        int best = 0;
        for (int c = 1; c < nc; c++)
          if (s[c] > s[best]) best = c;
        float v = score_of(o, s[best]);
        if (v > conf) cand[k++] = (eo_detection){box[0], box[1], box[2], box[3], v, best};
      }
    }
  }
  *count = k;
  return EO_OK;
}

const eo_decoder_impl eo_decode_ssd_impl = {setup, collect};
