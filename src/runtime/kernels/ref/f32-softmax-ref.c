/* Reference Softmax / LogSoftmax along the middle axis of [outer, n, inner].
 * Numerically stable: the row maximum is subtracted before exp, so exp never overflows and the sum
 * is at least 1. The sum, its reciprocal and its log are taken in double: the float result then
 * does not depend on the order of the additions, so a vector kernel (lanes summed separately) can
 * match this specification to a few ulp for any n. The terms equal to 1 (the maximum's own, and
 * ties) are counted apart from the rest, so with one of them log(sum) is log1p(rest), exact to
 * rounding even when rest is tiny (a confident LogSoftmax output near -1e-10), where log(1 + rest)
 * would keep only the digits of rest that survive next to 1. */
#include <math.h>

#include "runtime/kernels/ref/pool_kernels.h"

#define EO_DEFINE_SOFTMAX(name, T, EXP)                                                         \
  void name(int64_t outer, int64_t n, int64_t inner, const T *x, T *y, bool log_softmax) {      \
    if (n <= 0) return;                                                                         \
    for (int64_t o = 0; o < outer; o++) {                                                       \
      for (int64_t i = 0; i < inner; i++) {                                                     \
        const T *xr = x + o * n * inner + i;                                                    \
        T *yr = y + o * n * inner + i;                                                          \
        T m = xr[0];                                                                            \
        for (int64_t k = 1; k < n; k++)                                                         \
          if (xr[k * inner] > m) m = xr[k * inner];                                             \
        double rest = 0;                                                                        \
        int64_t ones = 0;                                                                       \
        for (int64_t k = 0; k < n; k++) {                                                       \
          T e = EXP(xr[k * inner] - m);                                                         \
          if (!log_softmax) yr[k * inner] = e;                                                  \
          if (e == 1) ones++;                                                                   \
          else rest += (double)e;                                                               \
        }                                                                                       \
        if (log_softmax) {                                                                      \
          T ls = (T)(ones == 1 ? log1p(rest) : log((double)ones + rest));                       \
          for (int64_t k = 0; k < n; k++) yr[k * inner] = xr[k * inner] - m - ls;               \
        } else {                                                                                \
          T inv = (T)(1.0 / ((double)ones + rest));                                             \
          for (int64_t k = 0; k < n; k++) yr[k * inner] *= inv;                                 \
        }                                                                                       \
      }                                                                                         \
    }                                                                                           \
  }

EO_DEFINE_SOFTMAX(eo_f32_softmax__ref, float, expf)
EO_DEFINE_SOFTMAX(eo_f64_softmax__ref, double, exp)
