/* Numpy-style broadcasting iterator for elementwise ops with up to EO_BCAST_MAX_IN inputs
 * (binary ops, Min/Max/Sum/Mean, Where, and anyone else who broadcasts: Expand, ...).
 *
 * eo_broadcast_init() pads every input to the output rank, drops size-1 output dims and merges
 * adjacent dims that are contiguous for every input, so the work becomes a few long rows:
 *   same shapes            -> one row of numel elements, every input stride 1
 *   scalar or [1,..,1]     -> one row, that input's stride 0
 *   [N,C,H,W] + [1,C,1,1]  -> N*C rows of H*W, the bias input has stride 0 in the row
 * Inside a row each input's element stride is 0 (broadcast) or 1 (contiguous), so kernels write
 * tight loops for (1,1), (1,0), (0,1) and vectorize.
 *
 *   eo_broadcast bc;
 *   eo_broadcast_init(&bc, out, 2, (const eo_tview *[]){a, b});  // shapes checked at infer
 *   eo_bcast_iter it;
 *   for (eo_broadcast_begin(&it, &bc); it.rows_left > 0; eo_broadcast_next(&it))
 *     row(bc.row, pa + it.off[0] * sa, bc.row_stride[0], pb + it.off[1] * sb, bc.row_stride[1],
 *         py + it.out_off * sy);
 *
 * Offsets are in elements. No allocation: an eo_broadcast can live on the stack or in op state.
 */
#ifndef EO_RUNTIME_BROADCAST_H
#define EO_RUNTIME_BROADCAST_H

#include "runtime/op.h"

#define EO_BCAST_MAX_IN 4

typedef struct eo_broadcast {
  int n_in;
  int rank;                                      /* after merging; >= 1 */
  int64_t dims[EO_MAX_RANK];                     /* merged output dims; dims[rank-1] is the row */
  int64_t strides[EO_BCAST_MAX_IN][EO_MAX_RANK]; /* element strides per merged dim (0 = broadcast) */
  int64_t numel;                                 /* output elements */
  int64_t row;                                   /* elements per row (dims[rank-1]) */
  int64_t row_stride[EO_BCAST_MAX_IN];           /* 0 or 1: stride of each input inside a row */
} eo_broadcast;

typedef struct eo_bcast_iter {
  const eo_broadcast *bc;
  int64_t rows_left;               /* rows still to visit, including the current one */
  int64_t out_off;                 /* element offset of the current row in the output */
  int64_t off[EO_BCAST_MAX_IN];    /* element offset of the current row's first element per input */
  int64_t idx[EO_MAX_RANK];
} eo_bcast_iter;

/* Output shape of broadcasting n inputs (NULL entries skipped); error naming the node if they do
 * not broadcast. */
eo_status eo_broadcast_shape_n(const eo_op_ctx *c, int n, eo_tview *const *in, int *rank, int64_t *dims);

/* Sets up iteration of `out`'s shape over n_in inputs (1..EO_BCAST_MAX_IN) whose shapes broadcast to
 * it (an invariant: check with eo_broadcast_shape(_n) at infer). */
void eo_broadcast_init(eo_broadcast *bc, const eo_tview *out, int n_in, const eo_tview *const *in);
/* Same, from raw shapes. */
void eo_broadcast_init_dims(eo_broadcast *bc, int out_rank, const int64_t *out_dims, int n_in,
                            const int *in_rank, const int64_t *const *in_dims);

/* Row kernel of a broadcasting binary op: y[i] = op(a[i * sa], b[i * sb]) for i < n, sa and sb in
 * {0, 1}. y may equal a when sa == 1 (accumulating in place, as Min/Max/Sum do). */
typedef void (*eo_bin_row_fn)(int64_t n, const void *a, int64_t sa, const void *b, int64_t sb, void *y);

/* The row kernel of binary op `op` for two inputs of `dtype`, NULL if there is none. Ops: Add, Sub,
 * Mul, Div, Pow, PRelu, Equal, Greater, Less, GreaterOrEqual, LessOrEqual, And, Or, Xor, and Min,
 * Max (NaN-propagating for floats). Defined in ops/binary.c. */
eo_bin_row_fn eo_binary_row(int op, int dtype);

/* Runs `row` over every row of bc (2 inputs); es* are element sizes in bytes. */
void eo_broadcast_binary(const eo_broadcast *bc, eo_bin_row_fn row, const void *a, size_t esa,
                         const void *b, size_t esb, void *y, size_t esy);

static inline void eo_broadcast_begin(eo_bcast_iter *it, const eo_broadcast *bc) {
  it->bc = bc;
  it->rows_left = bc->row > 0 ? bc->numel / bc->row : 0;
  it->out_off = 0;
  for (int k = 0; k < EO_BCAST_MAX_IN; k++) it->off[k] = 0;
  for (int d = 0; d < EO_MAX_RANK; d++) it->idx[d] = 0;
}

static inline void eo_broadcast_next(eo_bcast_iter *it) {
  const eo_broadcast *bc = it->bc;
  it->rows_left--;
  it->out_off += bc->row;
  for (int d = bc->rank - 2; d >= 0; d--) {
    if (++it->idx[d] < bc->dims[d]) {
      for (int k = 0; k < bc->n_in; k++) it->off[k] += bc->strides[k][d];
      return;
    }
    it->idx[d] = 0;
    for (int k = 0; k < bc->n_in; k++) it->off[k] -= bc->strides[k][d] * (bc->dims[d] - 1);
  }
}

#endif
