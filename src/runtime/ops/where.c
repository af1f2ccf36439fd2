/* Where(cond, X, Y): y = cond ? X : Y with three-way broadcasting. Only bytes move, so one row
 * kernel per element size serves every dtype. */
#include <stdlib.h>

#include "runtime/broadcast.h"
#include "runtime/op.h"

typedef void (*where_row_fn)(int64_t n, const uint8_t *c, int64_t sc, const void *x, int64_t sx,
                             const void *y, int64_t sy, void *out);

#define WHERE_ROW(T, bits)                                                                         \
  static void where_row_##bits(int64_t n, const uint8_t *c, int64_t sc, const void *px, int64_t sx, \
                               const void *py, int64_t sy, void *pout) {                           \
    const T *x = px, *y = py;                                                                      \
    T *out = pout;                                                                                 \
    for (int64_t i = 0; i < n; i++) out[i] = c[i * sc] ? x[i * sx] : y[i * sy];                    \
  }
WHERE_ROW(uint8_t, 8)
WHERE_ROW(uint16_t, 16)
WHERE_ROW(uint32_t, 32)
WHERE_ROW(uint64_t, 64)

typedef struct where_state {
  eo_broadcast bc;
  where_row_fn row;
  size_t es;
} where_state;

static eo_status where_infer(eo_op_ctx *c) {
  if (c->n_in != 3 || !c->in[0] || !c->in[1] || !c->in[2] || c->n_out != 1 || !c->out[0])
    return eo_op_error(c, EO_ERR_INVALID, "expects 3 inputs and 1 output, got %d and %d", c->n_in, c->n_out);
  const eo_tview *cond = c->in[0], *x = c->in[1], *y = c->in[2];
  if (cond->dtype != EO_BOOL)
    return eo_op_error(c, EO_ERR_SHAPE, "condition must be bool, got %s", eo_dtype_name(cond->dtype));
  if (x->dtype != y->dtype)
    return eo_op_error(c, EO_ERR_SHAPE, "X and Y must have the same dtype, got %s and %s",
                       eo_dtype_name(x->dtype), eo_dtype_name(y->dtype));
  size_t es = eo_dtype_size(x->dtype);
  if (es != 1 && es != 2 && es != 4 && es != 8)
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "dtype %s is not supported (expected a numeric or bool dtype)",
                       eo_dtype_name(x->dtype));
  int rank;
  int64_t dims[EO_MAX_RANK];
  eo_status st = eo_broadcast_shape_n(c, 3, c->in, &rank, dims);
  if (st) return st;
  eo_tview_set_shape(c->out[0], x->dtype, rank, dims);
  return EO_OK;
}

static eo_status where_prepare(eo_op_ctx *c) {
  where_state *s = calloc(1, sizeof *s);
  if (!s) return eo_op_error(c, EO_ERR_NOMEM, "out of memory");
  const eo_tview *in[3] = {c->in[0], c->in[1], c->in[2]};
  eo_broadcast_init(&s->bc, c->out[0], 3, in);
  s->es = eo_dtype_size(c->out[0]->dtype);
  s->row = s->es == 1 ? where_row_8 : s->es == 2 ? where_row_16 : s->es == 4 ? where_row_32 : where_row_64;
  c->state = s;
  return EO_OK;
}

static void where_forward(eo_op_ctx *c) {
  const where_state *s = c->state;
  const eo_broadcast *bc = &s->bc;
  const uint8_t *cond = c->in[0]->data;
  const char *x = c->in[1]->data, *y = c->in[2]->data;
  char *out = c->out[0]->data;
  eo_bcast_iter it;
  for (eo_broadcast_begin(&it, bc); it.rows_left > 0; eo_broadcast_next(&it))
    s->row(bc->row, cond + it.off[0], bc->row_stride[0], x + (size_t)it.off[1] * s->es, bc->row_stride[1],
           y + (size_t)it.off[2] * s->es, bc->row_stride[2], out + (size_t)it.out_off * s->es);
}

EO_DEFINE_OP(where, .name = "Where", .infer = where_infer, .prepare = where_prepare, .forward = where_forward, .release = free);
