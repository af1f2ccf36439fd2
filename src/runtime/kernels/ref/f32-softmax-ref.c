/* Reference Softmax / LogSoftmax along the middle axis of [outer, n, inner].
 * Numerically stable: the row maximum is subtracted before exp, so exp never overflows and the sum
 * is at least 1. */
#include <math.h>

#include "runtime/kernels/ref/pool_kernels.h"

#define EO_DEFINE_SOFTMAX(name, T, EXP, LOG)                                                    \
  void name(int64_t outer, int64_t n, int64_t inner, const T *x, T *y, bool log_softmax) {      \
    for (int64_t o = 0; o < outer; o++) {                                                       \
      for (int64_t i = 0; i < inner; i++) {                                                     \
        const T *xr = x + o * n * inner + i;                                                    \
        T *yr = y + o * n * inner + i;                                                          \
        T m = xr[0];                                                                            \
        for (int64_t k = 1; k < n; k++)                                                         \
          if (xr[k * inner] > m) m = xr[k * inner];                                             \
        T sum = 0;                                                                              \
        for (int64_t k = 0; k < n; k++) {                                                       \
          T e = EXP(xr[k * inner] - m);                                                         \
          if (!log_softmax) yr[k * inner] = e;                                                  \
          sum += e;                                                                             \
        }                                                                                       \
        if (log_softmax) {                                                                      \
          T ls = LOG(sum);                                                                      \
          for (int64_t k = 0; k < n; k++) yr[k * inner] = xr[k * inner] - m - ls;               \
        } else {                                                                                \
          T inv = (T)1 / sum;                                                                   \
          for (int64_t k = 0; k < n; k++) yr[k * inner] *= inv;                                 \
        }                                                                                       \
      }                                                                                         \
    }                                                                                           \
  }

EO_DEFINE_SOFTMAX(eo_f32_softmax__ref, float, expf, logf)
EO_DEFINE_SOFTMAX(eo_f64_softmax__ref, double, exp, log)
