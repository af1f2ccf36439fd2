/* Reference float32 convolution (1-D/2-D/3-D, groups, strides, dilations, pads).
 *
 * General case: im2col of one group's input into a [Cg*kvol, P] column buffer, then one GEMM
 * Y_g[Mg, P] += W_g[Mg, Cg*kvol] * col (the ONNX weight layout already is that row-major A matrix,
 * so weights need no repacking). 1x1 stride-1 unpadded convolutions skip im2col. Depthwise
 * convolutions (one input and one output channel per group) run a direct loop instead: their GEMM
 * would have M = 1 and gain nothing from packing.
 */
#include <stdbool.h>
#include <string.h>

#include "runtime/activation.h"
#include "runtime/kernels/ref/ref_kernels.h"

static int64_t vol3(const int64_t *d) { return d[0] * d[1] * d[2]; }

/* Iterations t in [lo, hi) of [0, n) for which t*stride + off lies in [0, limit). */
static void valid_range(int64_t n, int64_t stride, int64_t off, int64_t limit, int64_t *lo, int64_t *hi) {
  int64_t l = off >= 0 ? 0 : (-off + stride - 1) / stride;
  int64_t h = limit - off <= 0 ? 0 : (limit - off + stride - 1) / stride;
  if (h > n) h = n;
  if (l > h) l = h;
  *lo = l;
  *hi = h;
}

/* y[0..n) += a * x[0..n); fixed-width chunks so the compiler vectorizes them at -O2. */
static void axpy(int64_t n, float a, const float *restrict x, float *restrict y) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; j++) y[i + j] += a * x[i + j];
  for (; i < n; i++) y[i] += a * x[i];
}

static bool conv_is_depthwise(const eo_conv_params *p) {
  return p->groups == p->c_in && p->groups == p->c_out;
}

static bool conv_is_pointwise(const eo_conv_params *p) {
  for (int d = 0; d < EO_CONV_MAX_SPATIAL; d++)
    if (p->k[d] != 1 || p->stride[d] != 1 || p->pad[d] != 0 || p->in[d] != p->out[d]) return false;
  return true;
}

size_t eo_f32_conv_scratch__ref(const eo_conv_params *p) {
  if (conv_is_depthwise(p)) return 0;
  int64_t cg = p->c_in / p->groups, mg = p->c_out / p->groups;
  int64_t kg = cg * vol3(p->k), np = vol3(p->out);
  size_t col = conv_is_pointwise(p) ? 0 : (size_t)(kg * np) * sizeof(float);
  return col + eo_f32_gemm_workspace__ref(mg, np, kg);
}

/* col[(c, k0, k1, k2), (o0, o1, o2)] = x[c, o*stride - pad + k*dil], zero outside the input. */
static void im2col(const eo_conv_params *p, int64_t cg, const float *x, float *col) {
  const int64_t *in = p->in, *out = p->out, *k = p->k, *s = p->stride, *dl = p->dil, *pd = p->pad;
  int64_t np = vol3(out), plane_in = vol3(in);
  float *row = col;
  for (int64_t c = 0; c < cg; c++) {
    const float *xc = x + c * plane_in;
    for (int64_t k0 = 0; k0 < k[0]; k0++)
      for (int64_t k1 = 0; k1 < k[1]; k1++)
        for (int64_t k2 = 0; k2 < k[2]; k2++, row += np) {
          int64_t off2 = k2 * dl[2] - pd[2], lo, hi;
          valid_range(out[2], s[2], off2, in[2], &lo, &hi);
          float *dst = row;
          for (int64_t o0 = 0; o0 < out[0]; o0++) {
            int64_t i0 = o0 * s[0] - pd[0] + k0 * dl[0];
            if (i0 < 0 || i0 >= in[0]) {
              memset(dst, 0, (size_t)(out[1] * out[2]) * sizeof(float));
              dst += out[1] * out[2];
              continue;
            }
            for (int64_t o1 = 0; o1 < out[1]; o1++, dst += out[2]) {
              int64_t i1 = o1 * s[1] - pd[1] + k1 * dl[1];
              if (i1 < 0 || i1 >= in[1]) {
                memset(dst, 0, (size_t)out[2] * sizeof(float));
                continue;
              }
              const float *src = xc + (i0 * in[1] + i1) * in[2] + off2;
              int64_t o2 = 0;
              for (; o2 < lo; o2++) dst[o2] = 0.0f;
              if (s[2] == 1)
                memcpy(dst + lo, src + lo, (size_t)(hi - lo) * sizeof(float));
              else
                for (o2 = lo; o2 < hi; o2++) dst[o2] = src[o2 * s[2]];
              for (o2 = hi; o2 < out[2]; o2++) dst[o2] = 0.0f;
            }
          }
        }
  }
}

/* One channel of a depthwise convolution, accumulated into y (already holding the bias). */
static void depthwise_channel(const eo_conv_params *p, const float *x, const float *w, float *y) {
  const int64_t *in = p->in, *out = p->out, *k = p->k, *s = p->stride, *dl = p->dil, *pd = p->pad;
  for (int64_t o0 = 0; o0 < out[0]; o0++)
    for (int64_t o1 = 0; o1 < out[1]; o1++) {
      float *yr = y + (o0 * out[1] + o1) * out[2];
      for (int64_t k0 = 0; k0 < k[0]; k0++) {
        int64_t i0 = o0 * s[0] - pd[0] + k0 * dl[0];
        if (i0 < 0 || i0 >= in[0]) continue;
        for (int64_t k1 = 0; k1 < k[1]; k1++) {
          int64_t i1 = o1 * s[1] - pd[1] + k1 * dl[1];
          if (i1 < 0 || i1 >= in[1]) continue;
          const float *xr = x + (i0 * in[1] + i1) * in[2];
          const float *wr = w + (k0 * k[1] + k1) * k[2];
          for (int64_t k2 = 0; k2 < k[2]; k2++) {
            int64_t off = k2 * dl[2] - pd[2], lo, hi;
            valid_range(out[2], s[2], off, in[2], &lo, &hi);
            float wv = wr[k2];
            if (s[2] == 1) {
              axpy(hi - lo, wv, xr + off + lo, yr + lo);
            } else {
              for (int64_t o2 = lo; o2 < hi; o2++) yr[o2] += wv * xr[o2 * s[2] + off];
            }
          }
        }
      }
    }
}

void eo_f32_conv__ref(const eo_conv_params *p, const float *x, const float *w, const float *bias,
                      float *y, void *scratch) {
  int64_t cg = p->c_in / p->groups, mg = p->c_out / p->groups;
  int64_t kvol = vol3(p->k), kg = cg * kvol;
  int64_t np = vol3(p->out), plane_in = vol3(p->in);
  bool depthwise = conv_is_depthwise(p), pointwise = conv_is_pointwise(p);
  float *col = (float *)scratch;
  float *ws = pointwise || !col ? col : col + kg * np;  // no scratch: depthwise, which needs none
  for (int64_t b = 0; b < p->batch; b++) {
    float *yb = y + b * p->c_out * np;
    for (int64_t m = 0; m < p->c_out; m++) {
      float v = bias ? bias[m] : 0.0f;
      float *yr = yb + m * np;
      for (int64_t i = 0; i < np; i++) yr[i] = v;
    }
    for (int64_t g = 0; g < p->groups; g++) {
      const float *xg = x + (b * p->c_in + g * cg) * plane_in;
      float *yg = yb + g * mg * np;
      const float *wg = w + g * mg * kg;
      if (depthwise) {
        depthwise_channel(p, xg, wg, yg);
        continue;
      }
      const float *bm = xg;
      if (!pointwise) {
        im2col(p, cg, xg, col);
        bm = col;
      }
      eo_f32_gemm__ref(mg, np, kg, 1.0f, wg, kg, 1, bm, np, 1, yg, np, ws);
    }
    if (p->act_op >= 0) eo_f32_activation__ref(p->act_op, p->act_alpha, p->act_beta, yb, p->c_out * np);
  }
}
