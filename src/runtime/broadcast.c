#include "runtime/broadcast.h"

#include <stdlib.h>
#include <string.h>

eo_status eo_broadcast_shape_n(const eo_op_ctx *c, int n, eo_tview *const *in, int *rank, int64_t *dims) {
  int r = 0;
  int64_t d[EO_MAX_RANK];
  for (int i = 0; i < n; i++) {
    if (!in[i]) continue;
    int64_t tmp[EO_MAX_RANK];
    int rt;
    eo_status st = eo_broadcast_shape(c, r, d, in[i]->rank, in[i]->dims, &rt, tmp);
    if (st) return st;
    r = rt;
    memcpy(d, tmp, sizeof(int64_t) * (size_t)r);
  }
  *rank = r;
  memcpy(dims, d, sizeof(int64_t) * (size_t)r);
  return EO_OK;
}

void eo_broadcast_init_dims(eo_broadcast *bc, int out_rank, const int64_t *out_dims, int n_in,
                            const int *in_rank, const int64_t *const *in_dims) {
  EO_ASSERT(n_in >= 1 && n_in <= EO_BCAST_MAX_IN && out_rank >= 0 && out_rank <= EO_MAX_RANK);
  memset(bc, 0, sizeof *bc);
  bc->n_in = n_in;
  bc->numel = eo_numel(out_rank, out_dims);
  if (bc->numel <= 0) {  // nothing to visit (or an invalid shape, which infer rejected)
    bc->numel = 0;
    bc->rank = 1;
    return;
  }
  // Element strides of each input against the output's axes (0 where the input broadcasts).
  int64_t st[EO_BCAST_MAX_IN][EO_MAX_RANK];
  for (int k = 0; k < n_in; k++) {
    EO_ASSERT(in_rank[k] <= out_rank);
    int64_t s = 1;
    for (int d = out_rank - 1; d >= 0; d--) {
      int id = d - (out_rank - in_rank[k]);
      int64_t dim = id >= 0 ? in_dims[k][id] : 1;
      EO_ASSERT(dim == 1 || dim == out_dims[d]);
      st[k][d] = dim == 1 ? 0 : s;
      s *= dim;
    }
  }
  // Drop size-1 output axes, then merge an axis into the previous kept one when every input walks
  // them as one contiguous (or one broadcast) run.
  int r = 0;
  for (int d = 0; d < out_rank; d++) {
    if (out_dims[d] == 1) continue;
    bool merge = r > 0;
    for (int k = 0; k < n_in && merge; k++) merge = bc->strides[k][r - 1] == st[k][d] * out_dims[d];
    if (merge) {
      bc->dims[r - 1] *= out_dims[d];
      for (int k = 0; k < n_in; k++) bc->strides[k][r - 1] = st[k][d];
    } else {
      bc->dims[r] = out_dims[d];
      for (int k = 0; k < n_in; k++) bc->strides[k][r] = st[k][d];
      r++;
    }
  }
  if (r == 0) {  // every axis is 1: a single element
    bc->dims[0] = 1;
    r = 1;
  }
  bc->rank = r;
  bc->row = bc->dims[r - 1];
  for (int k = 0; k < n_in; k++) bc->row_stride[k] = bc->strides[k][r - 1];
}

void eo_broadcast_init(eo_broadcast *bc, const eo_tview *out, int n_in, const eo_tview *const *in) {
  int ranks[EO_BCAST_MAX_IN];
  const int64_t *dims[EO_BCAST_MAX_IN];
  EO_ASSERT(n_in >= 1 && n_in <= EO_BCAST_MAX_IN);
  for (int k = 0; k < n_in; k++) {
    ranks[k] = in[k]->rank;
    dims[k] = in[k]->dims;
  }
  eo_broadcast_init_dims(bc, out->rank, out->dims, n_in, ranks, dims);
}

void eo_broadcast_binary(const eo_broadcast *bc, eo_bin_row_fn row, const void *a, size_t esa,
                         const void *b, size_t esb, void *y, size_t esy) {
  const char *pa = a, *pb = b;
  char *py = y;
  eo_bcast_iter it;
  for (eo_broadcast_begin(&it, bc); it.rows_left > 0; eo_broadcast_next(&it))
    row(bc->row, pa + (size_t)it.off[0] * esa, bc->row_stride[0], pb + (size_t)it.off[1] * esb,
        bc->row_stride[1], py + (size_t)it.out_off * esy);
}
