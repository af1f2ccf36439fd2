/* Scalar reference integer convolution: a direct loop, one int32 accumulator per output. */
#include <math.h>

#include "runtime/kernels/ref/qconv_kernels.h"

void eo_qs8_conv__ref(const eo_conv_params *p, const eo_qconv_quant *q, const void *x, const void *w, void *y) {
  const int8_t *xs = x, *ws = w;
  const uint8_t *xu = x, *wu = w;
  int8_t *ys = y;
  uint8_t *yu = y;
  int32_t qmin = q->y_signed ? -128 : 0, qmax = q->y_signed ? 127 : 255;
  int64_t cig = p->c_in / p->groups, cog = p->c_out / p->groups;
  int64_t insz = p->in[0] * p->in[1] * p->in[2];
  int64_t ksz = p->k[0] * p->k[1] * p->k[2];
  int64_t yi = 0;
  for (int64_t n = 0; n < p->batch; n++)
    for (int64_t oc = 0; oc < p->c_out; oc++) {
      int64_t g = oc / cog;
      int32_t wzp = q->w_zp[oc];
      for (int64_t o0 = 0; o0 < p->out[0]; o0++)
        for (int64_t o1 = 0; o1 < p->out[1]; o1++)
          for (int64_t o2 = 0; o2 < p->out[2]; o2++) {
            int32_t acc = q->bias ? q->bias[oc] : 0;
            for (int64_t ic = 0; ic < cig; ic++) {
              int64_t xb = (n * p->c_in + g * cig + ic) * insz, wb = (oc * cig + ic) * ksz;
              for (int64_t k0 = 0; k0 < p->k[0]; k0++) {
                int64_t i0 = o0 * p->stride[0] - p->pad[0] + k0 * p->dil[0];
                if (i0 < 0 || i0 >= p->in[0]) continue;
                for (int64_t k1 = 0; k1 < p->k[1]; k1++) {
                  int64_t i1 = o1 * p->stride[1] - p->pad[1] + k1 * p->dil[1];
                  if (i1 < 0 || i1 >= p->in[1]) continue;
                  for (int64_t k2 = 0; k2 < p->k[2]; k2++) {
                    int64_t i2 = o2 * p->stride[2] - p->pad[2] + k2 * p->dil[2];
                    if (i2 < 0 || i2 >= p->in[2]) continue;
                    int64_t xo = xb + (i0 * p->in[1] + i1) * p->in[2] + i2;
                    int64_t wo = wb + (k0 * p->k[1] + k1) * p->k[2] + k2;
                    int32_t xv = (q->x_signed ? xs[xo] : xu[xo]) - q->x_zp;
                    int32_t wv = (q->w_signed ? ws[wo] : wu[wo]) - wzp;
                    acc += xv * wv;
                  }
                }
              }
            }
            int32_t r = eo_qs8_requant(acc, q->scale[oc], q->y_zp, qmin, qmax);
            if (q->y_signed)
              ys[yi++] = (int8_t)r;
            else
              yu[yi++] = (uint8_t)r;
          }
    }
}
