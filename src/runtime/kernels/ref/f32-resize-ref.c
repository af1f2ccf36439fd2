/* Reference Resize kernels. Coordinates, taps and weights are computed once at prepare into one
 * eo_resize_axis per axis; these loops only gather and weigh. Linear and cubic resampling is
 * separable, so it runs one axis at a time (last axis first, like the ONNX reference
 * implementation), skipping axes whose mapping is the identity. */
#include <math.h>
#include <string.h>

#include "runtime/kernels/ref/resize_kernels.h"

int eo_resize_taps(eo_resize_mode mode) { return mode == EO_RESIZE_CUBIC ? 4 : mode == EO_RESIZE_LINEAR ? 2 : 1; }

/* Keys' cubic convolution kernel at distance d with coefficient A. */
static double cubic_weight(double d, double A) {
  d = fabs(d);
  if (d <= 1) return ((A + 2) * d - (A + 3)) * d * d + 1;
  if (d < 2) return ((A * d - 5 * A) * d + 8 * A) * d - 4 * A;
  return 0;
}

static int64_t clamp_idx(int64_t i, int64_t n) { return i < 0 ? 0 : i >= n ? n - 1 : i; }

/* The input coordinate of output coordinate x (ONNX coordinate_transformation_mode). */
static double original_coord(const eo_resize_cfg *cfg, int d, double x) {
  const double s = cfg->scale[d], len = cfg->len[d], in = (double)cfg->in[d];
  switch (cfg->ct) {
    case EO_CT_HALF_PIXEL: return (x + 0.5) / s - 0.5;
    case EO_CT_HALF_PIXEL_SYMMETRIC: {
      const double adjustment = (double)cfg->out[d] / len, center = in / 2;
      return center * (1 - adjustment) + (x + 0.5) / s - 0.5;
    }
    case EO_CT_PYTORCH_HALF_PIXEL: return cfg->out[d] > 1 ? (x + 0.5) / s - 0.5 : 0;
    case EO_CT_ALIGN_CORNERS: return len == 1 ? 0 : x * (in - 1) / (len - 1);
    case EO_CT_ASYMMETRIC: return x / s;
    case EO_CT_TF_HALF_PIXEL_FOR_NN: return (x + 0.5) / s;
    case EO_CT_TF_CROP_AND_RESIZE: {
      const double r0 = cfg->roi_start[d], r1 = cfg->roi_end[d];
      double xo = len == 1 ? (r1 - r0) * (in - 1) / 2 : x * (r1 - r0) * (in - 1) / (len - 1);
      return xo + r0 * (in - 1);
    }
  }
  return x;
}

void eo_resize_axis_fill(const eo_resize_cfg *cfg, int d, eo_resize_axis *ax) {
  const int64_t in = cfg->in[d], out = cfg->out[d];
  const int taps = eo_resize_taps(cfg->mode);
  ax->in = in;
  ax->out = out;
  ax->taps = taps;
  bool identity = in == out;
  for (int64_t o = 0; o < out; o++) {
    int64_t *ix = ax->idx + o * taps;
    float *w = ax->w + o * taps;
    double xo = original_coord(cfg, d, (double)o);
    if (ax->outside) ax->outside[o] = 0;
    if (cfg->ct == EO_CT_TF_CROP_AND_RESIZE && !(xo >= 0 && xo <= (double)(in - 1))) {
      if (ax->outside) ax->outside[o] = 1;  /* the whole output point is extrapolation_value */
      for (int t = 0; t < taps; t++) ix[t] = 0, w[t] = 0;
      identity = false;
      continue;
    }
    /* far outside the input every tap clamps to the edge anyway; keeps the cast defined */
    if (!(xo >= -4)) xo = -4;
    if (xo > (double)in + 4) xo = (double)in + 4;
    const double fl = floor(xo), r = xo - fl;
    const int64_t i0 = (int64_t)fl;
    switch (cfg->mode) {
      case EO_RESIZE_NEAREST: {
        int64_t k = i0;
        switch (cfg->nearest) {
          case EO_NEAREST_ROUND_PREFER_FLOOR: k = r <= 0.5 ? i0 : i0 + 1; break;
          case EO_NEAREST_ROUND_PREFER_CEIL: k = r < 0.5 ? i0 : i0 + 1; break;
          case EO_NEAREST_FLOOR: k = i0; break;
          case EO_NEAREST_CEIL: k = r > 0 ? i0 + 1 : i0; break;
          case EO_NEAREST_SIMPLE: k = cfg->scale[d] < 1 && r > 0 ? i0 + 1 : i0; break;
        }
        ix[0] = clamp_idx(k, in);
        w[0] = 1;
        break;
      }
      case EO_RESIZE_LINEAR:
        ix[0] = clamp_idx(i0, in);
        ix[1] = clamp_idx(i0 + 1, in);
        w[0] = (float)(1 - r);
        w[1] = (float)r;
        break;
      case EO_RESIZE_CUBIC: {
        double c[4], sum = 0;
        for (int t = 0; t < 4; t++) {
          const int64_t i = i0 - 1 + t;
          c[t] = cubic_weight(r + 1 - t, cfg->cubic_a);
          /* exclude_outside: taps past the border get no weight; the rest are renormalized */
          if (cfg->exclude_outside && (i < 0 || i >= in)) c[t] = 0;
          sum += c[t];
          ix[t] = clamp_idx(i, in);
        }
        for (int t = 0; t < 4; t++) w[t] = (float)(cfg->exclude_outside && sum != 0 ? c[t] / sum : c[t]);
        break;
      }
    }
    if (identity) {
      float on = 0;
      for (int t = 0; t < taps; t++) {
        if (ix[t] == o) on += w[t];
        else if (w[t] != 0) identity = false;
      }
      if (on != 1) identity = false;
    }
  }
  ax->identity = identity;
}

size_t eo_resize_scratch_bytes(int rank, const eo_resize_axis *axes) {
  int64_t cur[EO_MAX_RANK], best = 0;
  for (int d = 0; d < rank; d++) cur[d] = axes[d].in;
  for (int d = rank - 1; d >= 0; d--) {
    if (axes[d].identity) continue;
    cur[d] = axes[d].out;
    int64_t n = eo_numel(rank, cur);
    if (n > best) best = n;
  }
  return (size_t)best * 2 * sizeof(float);
}

/* Resamples axis d of src (shape cur) into dst. */
static void resize_pass(int rank, const int64_t *cur, int d, const eo_resize_axis *ax, float extrap,
                        const float *src, float *dst) {
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < d; i++) outer *= cur[i];
  for (int i = d + 1; i < rank; i++) inner *= cur[i];
  const int64_t n_in = cur[d];
  for (int64_t o = 0; o < outer; o++) {
    const float *s = src + o * n_in * inner;
    for (int64_t j = 0; j < ax->out; j++) {
      float *row = dst + (o * ax->out + j) * inner;
      if (ax->outside && ax->outside[j]) {
        for (int64_t i = 0; i < inner; i++) row[i] = extrap;
        continue;
      }
      for (int64_t i = 0; i < inner; i++) row[i] = 0;
      for (int t = 0; t < ax->taps; t++) {
        const float w = ax->w[j * ax->taps + t];
        if (w == 0) continue;
        const float *sr = s + ax->idx[j * ax->taps + t] * inner;
        for (int64_t i = 0; i < inner; i++) row[i] += w * sr[i];
      }
    }
  }
}

void eo_f32_resize__ref(int rank, const eo_resize_axis *axes, float extrapolation, const float *x,
                        float *y, void *scratch) {
  int64_t cur[EO_MAX_RANK];
  int last = -1;  /* the outermost non-identity axis: its pass writes y */
  for (int d = 0; d < rank; d++) {
    cur[d] = axes[d].in;
    if (last < 0 && !axes[d].identity) last = d;
  }
  if (last < 0) {
    memcpy(y, x, (size_t)eo_numel(rank, cur) * sizeof(float));
    return;
  }
  size_t half = eo_resize_scratch_bytes(rank, axes) / 2 / sizeof(float);
  float *buf[2] = {(float *)scratch, (float *)scratch + half};
  const float *src = x;
  int which = 0;
  for (int d = rank - 1; d >= 0; d--) {
    if (axes[d].identity) continue;
    float *dst = d == last ? y : buf[which];
    resize_pass(rank, cur, d, &axes[d], extrapolation, src, dst);
    cur[d] = axes[d].out;
    src = dst;
    which ^= 1;
  }
}

void eo_xN_resize_nearest__ref(int rank, const eo_resize_axis *axes, size_t elem_size,
                               const void *fill, const void *x, void *y) {
  int64_t in_stride[EO_MAX_RANK], pos[EO_MAX_RANK] = {0}, outer = 1;
  int64_t s = 1;
  for (int d = rank - 1; d >= 0; d--) {
    in_stride[d] = s;
    s *= axes[d].in;
  }
  if (rank == 0) {
    memcpy(y, x, elem_size);
    return;
  }
  for (int d = 0; d < rank - 1; d++) outer *= axes[d].out;
  const eo_resize_axis *lx = &axes[rank - 1];
  const char *px = x;
  char *py = y;
  for (int64_t it = 0; it < outer; it++) {
    int64_t base = 0;
    bool out = false;
    for (int d = 0; d < rank - 1; d++) {
      base += axes[d].idx[pos[d] * axes[d].taps] * in_stride[d];
      if (axes[d].outside && axes[d].outside[pos[d]]) out = true;
    }
    for (int64_t j = 0; j < lx->out; j++, py += elem_size) {
      const void *src = out || (lx->outside && lx->outside[j])
                            ? fill
                            : px + (size_t)(base + lx->idx[j * lx->taps]) * elem_size;
      switch (elem_size) {
        case 1: *(uint8_t *)py = *(const uint8_t *)src; break;
        case 2: memcpy(py, src, 2); break;
        case 4: memcpy(py, src, 4); break;
        case 8: memcpy(py, src, 8); break;
        default: memcpy(py, src, elem_size); break;
      }
    }
    for (int d = rank - 2; d >= 0; d--) {
      if (++pos[d] < axes[d].out) break;
      pos[d] = 0;
    }
  }
}
