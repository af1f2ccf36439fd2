/* Pad: every output element maps per axis to a source index (eo_pad_src_index) or to the constant.
 * Rows along the last axis copy their kept middle part with one memcpy. */
#include <string.h>

#include "runtime/kernels/ref/move_kernels.h"

void eo_xx_pad__ref(size_t es, int rank, const eo_pad_axis *ax, int mode, const void *value,
                    const void *x, void *y) {
  char *yp = y;
  const char *xp = x;
  if (rank == 0) {
    memcpy(yp, xp, es);
    return;
  }
  int64_t xs[EO_MAX_RANK], in_dims[EO_MAX_RANK], outer = 1;
  for (int k = 0; k < rank; k++) in_dims[k] = ax[k].in_dim;
  eo_move_strides(rank, in_dims, xs);
  for (int k = 0; k < rank - 1; k++) outer *= ax[k].out_dim;
  const eo_pad_axis *last = &ax[rank - 1];
  int64_t row = last->out_dim;
  if (row == 0) return;
  int64_t idx[EO_MAX_RANK] = {0};
  for (int64_t r = 0; r < outer; r++, yp += row * (int64_t)es) {
    int64_t off = 0;
    bool constant_row = false;
    for (int k = 0; k < rank - 1; k++) {
      int64_t s = eo_pad_src_index(&ax[k], mode, idx[k]);
      if (s < 0) constant_row = true;
      off += s * xs[k];
    }
    if (constant_row) {
      eo_xx_fill__ref(es, row, value, yp);
    } else {
      const char *xr = xp + off * (int64_t)es;
      for (int64_t o = 0; o < last->before && o < row; o++) {
        int64_t s = eo_pad_src_index(last, mode, o);
        memcpy(yp + o * (int64_t)es, s < 0 ? value : xr + s * (int64_t)es, es);
      }
      if (last->len > 0)
        memcpy(yp + last->before * (int64_t)es, xr + last->lo * (int64_t)es, (size_t)(last->len * (int64_t)es));
      for (int64_t o = last->before + last->len; o < row; o++) {
        int64_t s = eo_pad_src_index(last, mode, o);
        memcpy(yp + o * (int64_t)es, s < 0 ? value : xr + s * (int64_t)es, es);
      }
    }
    for (int k = rank - 2; k >= 0; k--) {
      if (++idx[k] < ax[k].out_dim) break;
      idx[k] = 0;
    }
  }
}
