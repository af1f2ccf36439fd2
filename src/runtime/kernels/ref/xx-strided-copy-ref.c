/* Reference strided copy: the specification of every layout-only move (Transpose, Slice, Expand,
 * Tile). One element at a time, odometer over the output index. */
#include <string.h>

#include "runtime/kernels/ref/move_kernels.h"

void eo_xx_strided_copy__ref(size_t es, int rank, const int64_t *dims, const int64_t *x_strides,
                             const void *x, void *y) {
  int64_t n = 1;
  for (int k = 0; k < rank; k++) n *= dims[k];
  int64_t idx[EO_MOVE_MAX_RANK] = {0};
  int64_t off = 0;  // input offset (elements) of the current output index
  const char *xp = x;
  char *yp = y;
  for (int64_t i = 0; i < n; i++) {
    memcpy(yp + i * (int64_t)es, xp + off * (int64_t)es, es);
    for (int k = rank - 1; k >= 0; k--) {
      off += x_strides[k];
      if (++idx[k] < dims[k]) break;
      off -= x_strides[k] * dims[k];
      idx[k] = 0;
    }
  }
}
