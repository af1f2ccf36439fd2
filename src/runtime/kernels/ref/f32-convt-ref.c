/* Reference float32 transposed convolution (1-D/2-D/3-D, groups, strides, dilations, pads).
 *
 * Per group: one GEMM col[Mg*kvol, P_in] = W_g^T * X_g (W_g is [Cg, Mg*kvol] row-major, read
 * transposed through the GEMM's strides), then col2im scatters every column entry to
 * y[m, i*stride - pad + k*dil], skipping positions outside the output (pads may be negative when
 * output_shape asks for a larger output; those positions keep only the bias).
 */
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

size_t eo_f32_convt_scratch__ref(const eo_conv_params *p) {
  int64_t cg = p->c_in / p->groups, mg = p->c_out / p->groups;
  int64_t rows = mg * vol3(p->k), np = vol3(p->in);
  return (size_t)(rows * np) * sizeof(float) + eo_f32_gemm_workspace__ref(rows, np, cg);
}

/* y[m, i*stride - pad + k*dil] += col[(m, k0, k1, k2), (i0, i1, i2)] for in-range outputs. */
static void col2im(const eo_conv_params *p, int64_t mg, const float *col, float *y) {
  const int64_t *in = p->in, *out = p->out, *k = p->k, *s = p->stride, *dl = p->dil, *pd = p->pad;
  int64_t np = vol3(in), plane_out = vol3(out);
  const float *row = col;
  for (int64_t m = 0; m < mg; m++) {
    float *ym = y + m * plane_out;
    for (int64_t k0 = 0; k0 < k[0]; k0++)
      for (int64_t k1 = 0; k1 < k[1]; k1++)
        for (int64_t k2 = 0; k2 < k[2]; k2++, row += np) {
          int64_t off2 = k2 * dl[2] - pd[2], lo, hi;
          valid_range(in[2], s[2], off2, out[2], &lo, &hi);
          for (int64_t i0 = 0; i0 < in[0]; i0++) {
            int64_t o0 = i0 * s[0] - pd[0] + k0 * dl[0];
            if (o0 < 0 || o0 >= out[0]) continue;
            for (int64_t i1 = 0; i1 < in[1]; i1++) {
              int64_t o1 = i1 * s[1] - pd[1] + k1 * dl[1];
              if (o1 < 0 || o1 >= out[1]) continue;
              const float *src = row + (i0 * in[1] + i1) * in[2];
              float *dst = ym + (o0 * out[1] + o1) * out[2] + off2;
              for (int64_t i2 = lo; i2 < hi; i2++) dst[i2 * s[2]] += src[i2];
            }
          }
        }
  }
}

void eo_f32_convt__ref(const eo_conv_params *p, const float *x, const float *w, const float *bias,
                       float *y, void *scratch) {
  int64_t cg = p->c_in / p->groups, mg = p->c_out / p->groups;
  int64_t rows = mg * vol3(p->k);
  int64_t np_in = vol3(p->in), np_out = vol3(p->out);
  float *col = (float *)scratch;
  float *ws = col + rows * np_in;
  for (int64_t b = 0; b < p->batch; b++) {
    float *yb = y + b * p->c_out * np_out;
    for (int64_t m = 0; m < p->c_out; m++) {
      float v = bias ? bias[m] : 0.0f;
      float *yr = yb + m * np_out;
      for (int64_t i = 0; i < np_out; i++) yr[i] = v;
    }
    for (int64_t g = 0; g < p->groups; g++) {
      const float *xg = x + (b * p->c_in + g * cg) * np_in;
      const float *wg = w + g * cg * rows;
      memset(col, 0, (size_t)(rows * np_in) * sizeof(float));
      eo_f32_gemm__ref(rows, np_in, cg, 1.0f, wg, 1, rows, xg, np_in, 1, col, np_in, ws);
      col2im(p, mg, col, yb + g * mg * np_out);
    }
    if (p->act_op >= 0) eo_f32_activation__ref(p->act_op, p->act_alpha, p->act_beta, yb, p->c_out * np_out);
  }
}
