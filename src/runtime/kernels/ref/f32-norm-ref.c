/* Reference BatchNormalization (inference and batch statistics) and InstanceNormalization over
 * tensors viewed as [batch, c, inner]. Statistics accumulate in double so large planes keep
 * float precision. */
#include <math.h>

#include "runtime/kernels/ref/pool_kernels.h"

#define EO_DEFINE_NORMS(bn, bn_stats, in_norm, T)                                               \
  void bn(int64_t batch, int64_t c, int64_t inner, const T *x, const T *scale, const T *bias,   \
          const T *mean, const T *var, T eps, bool per_element, T *y) {                         \
    for (int64_t b = 0; b < batch; b++)                                                         \
      for (int64_t ch = 0; ch < c; ch++) {                                                      \
        const T *xp = x + (b * c + ch) * inner;                                                 \
        T *yp = y + (b * c + ch) * inner;                                                       \
        for (int64_t i = 0; i < inner; i++) {                                                   \
          int64_t k = per_element ? ch * inner + i : ch;                                        \
          yp[i] = (T)((xp[i] - mean[k]) / sqrt((double)var[k] + eps) * scale[k] + bias[k]);     \
        }                                                                                       \
      }                                                                                         \
  }                                                                                             \
  void bn_stats(int64_t batch, int64_t c, int64_t inner, const T *x, T *mean, T *var) {         \
    double count = (double)batch * (double)inner;                                               \
    for (int64_t ch = 0; ch < c; ch++) {                                                        \
      double s = 0, ss = 0;                                                                     \
      for (int64_t b = 0; b < batch; b++)                                                       \
        for (int64_t i = 0; i < inner; i++) s += x[(b * c + ch) * inner + i];                   \
      double mu = count > 0 ? s / count : 0;                                                    \
      for (int64_t b = 0; b < batch; b++)                                                       \
        for (int64_t i = 0; i < inner; i++) {                                                   \
          double d = x[(b * c + ch) * inner + i] - mu;                                          \
          ss += d * d;                                                                          \
        }                                                                                       \
      mean[ch] = (T)mu;                                                                         \
      var[ch] = (T)(count > 0 ? ss / count : 0);                                                \
    }                                                                                           \
  }                                                                                             \
  void in_norm(int64_t batch, int64_t c, int64_t inner, const T *x, const T *scale,             \
               const T *bias, T eps, T *y) {                                                    \
    for (int64_t b = 0; b < batch; b++)                                                         \
      for (int64_t ch = 0; ch < c; ch++) {                                                      \
        const T *xp = x + (b * c + ch) * inner;                                                 \
        T *yp = y + (b * c + ch) * inner;                                                       \
        double s = 0, ss = 0;                                                                   \
        for (int64_t i = 0; i < inner; i++) s += xp[i];                                         \
        double mu = inner > 0 ? s / (double)inner : 0;                                          \
        for (int64_t i = 0; i < inner; i++) ss += (xp[i] - mu) * (xp[i] - mu);                  \
        double var = inner > 0 ? ss / (double)inner : 0;                                        \
        double a = scale[ch] / sqrt(var + eps);                                                 \
        for (int64_t i = 0; i < inner; i++) yp[i] = (T)((xp[i] - mu) * a + bias[ch]);           \
      }                                                                                         \
  }

EO_DEFINE_NORMS(eo_f32_batchnorm__ref, eo_f32_batchnorm_stats__ref, eo_f32_instancenorm__ref, float)
EO_DEFINE_NORMS(eo_f64_batchnorm__ref, eo_f64_batchnorm_stats__ref, eo_f64_instancenorm__ref, double)
