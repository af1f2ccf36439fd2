/* Gather along one axis: x viewed as [outer, axis_dim, inner], each index copies an inner row. */
#include <string.h>

#include "runtime/kernels/ref/move_kernels.h"

void eo_xx_gather__ref(size_t es, int64_t outer, int64_t axis_dim, int64_t inner, const void *indices,
                       bool indices_i64, int64_t n_indices, const void *x, void *y) {
  size_t row = (size_t)inner * es;
  const char *xp = x;
  char *yp = y;
  for (int64_t o = 0; o < outer; o++) {
    const char *xo = xp + (size_t)o * (size_t)axis_dim * row;
    for (int64_t j = 0; j < n_indices; j++, yp += row) {
      int64_t k = indices_i64 ? ((const int64_t *)indices)[j] : ((const int32_t *)indices)[j];
      if (k < 0) k += axis_dim;
      if (k < 0 || k >= axis_dim)
        memset(yp, 0, row);  // infer rejects constant out-of-range indices; runtime ones read as 0
      else
        memcpy(yp, xo + (size_t)k * row, row);
    }
  }
}
