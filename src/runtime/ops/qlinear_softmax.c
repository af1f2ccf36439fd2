/* QLinearSoftmax (com.microsoft; also the fuse_qdq pass's form of DQ -> Softmax -> Q): ONNX Runtime's
 * integer softmax with its float exp table and rounding (kernels/ref/qlinear_kernels.h). Inputs X,
 * X_scale, X_zero_point, Y_scale, Y_zero_point; attributes axis and opset (the source model's: below
 * 13 a row is everything from axis on, from 13 the axis alone, visited with a stride). */
#include "runtime/kernels/ref/qlinear_kernels.h"
#include "runtime/ops/qlinear_util.h"

enum { IX, IXS, IXZ, IYS, IYZ };

typedef struct qsm_geom {
  int64_t outer, d, inner;  /* x viewed as [outer, d, inner]; a row is d elements inner apart */
} qsm_geom;

static eo_status qsm_geometry(const eo_op_ctx *c, qsm_geom *g) {
  const eo_tview *x = c->in[IX];
  int64_t opset = eo_attr_i(c->node, "opset", c->opset);
  int axis;
  eo_status st = eo_norm_axis(c, eo_attr_i(c->node, "axis", opset < 13 ? 1 : -1), x->rank, &axis);
  if (st) return st;
  g->outer = eo_numel(axis, x->dims);
  if (opset < 13) {
    g->d = eo_numel(x->rank - axis, x->dims + axis);
    g->inner = 1;
  } else {
    g->d = x->dims[axis];
    g->inner = eo_numel(x->rank - axis - 1, x->dims + axis + 1);
  }
  return EO_OK;
}

static eo_status qsm_infer(eo_op_ctx *c) {
  const eo_tview *x = eo_ql_in(c, IX);
  if (!x || c->n_out < 1 || !c->out[0]) return eo_op_error(c, EO_ERR_INVALID, "needs input X and output Y");
  if (!eo_ql_is_q8(x->dtype))
    return eo_op_error(c, EO_ERR_SHAPE, "X must be int8 or uint8, got %s", eo_dtype_name(x->dtype));
  if (x->rank < 1) return eo_op_error(c, EO_ERR_SHAPE, "X must have rank >= 1");
  eo_status st;
  qsm_geom g;
  if ((st = eo_ql_check(c, IXS, IXZ, x->dtype, "X")) || (st = eo_ql_check(c, IYS, IYZ, x->dtype, "Y")) ||
      (st = qsm_geometry(c, &g)))
    return st;
  eo_tview_set_shape(c->out[0], x->dtype, x->rank, x->dims);
  return EO_OK;
}

typedef struct qsm_state {
  qsm_geom g;
  bool fixed;         /* table built here from a constant X_scale */
  float table[256];
} qsm_state;

static eo_status qsm_prepare(eo_op_ctx *c) {
  qsm_state *s = eo_calloc(1, sizeof *s);
  if (!s) return eo_op_error(c, EO_ERR_NOMEM, "out of memory");
  c->state = s;
  eo_status st = qsm_geometry(c, &s->g);
  if (st) return st;
  if ((s->fixed = c->in[IXS]->data != NULL))
    eo_q8_softmax_table(c->in[IX]->dtype == EO_INT8, eo_ql_scale(c, IXS), s->g.d, s->table);
  // a strided row is gathered into scratch, computed and scattered back; a run-time table too
  c->scratch_bytes = (s->g.inner > 1 ? 2 * (size_t)s->g.d : 0) + (s->fixed ? 0 : 256 * sizeof(float)) + 64;
  return EO_OK;
}

static void qsm_release(void *state) { free(state); }

static void qsm_forward(eo_op_ctx *c) {
  const qsm_state *s = c->state;
  const qsm_geom *g = &s->g;
  bool s8 = c->in[IX]->dtype == EO_INT8;
  const float *table = s->table;
  char *scr = c->scratch;
  if (!s->fixed) {
    float *t = (float *)scr;
    eo_q8_softmax_table(s8, eo_ql_scale(c, IXS), g->d, t);
    table = t;
    scr += 256 * sizeof(float);
  }
  float ys = eo_ql_scale(c, IYS);
  int32_t yz = eo_ql_zp(c, IYZ);
  const uint8_t *x = c->in[IX]->data;
  uint8_t *y = c->out[0]->data;
  if (g->inner == 1) {
    eo_q8_softmax__ref(s8, g->outer, g->d, x, table, ys, yz, y);
    return;
  }
  uint8_t *row = (uint8_t *)scr, *out = row + g->d;
  for (int64_t o = 0; o < g->outer; o++)
    for (int64_t in = 0; in < g->inner; in++) {
      const uint8_t *xp = x + o * g->d * g->inner + in;
      for (int64_t k = 0; k < g->d; k++) row[k] = xp[k * g->inner];
      eo_q8_softmax__ref(s8, 1, g->d, row, table, ys, yz, out);
      uint8_t *yp = y + o * g->d * g->inner + in;
      for (int64_t k = 0; k < g->d; k++) yp[k * g->inner] = out[k];
    }
}

EO_DEFINE_OP(qlinear_softmax, .name = "QLinearSoftmax", .infer = qsm_infer, .prepare = qsm_prepare,
             .forward = qsm_forward, .release = qsm_release);
