/* QLinearSoftmax (com.microsoft; also the fuse_qdq pass's form of DQ -> Softmax -> Q): ONNX Runtime's
 * integer softmax with its float exp table and rounding (kernels/ref/qlinear_kernels.h). Inputs X,
 * X_scale, X_zero_point, Y_scale, Y_zero_point; attributes axis and opset (the source model's: below
 * 13 a row is everything from axis on, from 13 the axis alone, visited with a stride). Rows run
 * side by side on the pool in kernels/q8-softmax.c (same bytes); EO_FORCE_REF: the reference rows. */
#include "core/threads.h"
#include "runtime/kernels/q8-softmax.h"
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
  bool fixed_params;  /* and Y_scale, Y_zero_point constant too: fast-kernel parameters built here */
  float table[256];
  eo_q8_softmax_params prm;
} qsm_state;

static bool qsm_const(const eo_op_ctx *c, int i) { return !eo_ql_in(c, i) || c->in[i]->data != NULL; }

static eo_status qsm_prepare(eo_op_ctx *c) {
  qsm_state *s = eo_calloc(1, sizeof *s);
  if (!s) return eo_op_error(c, EO_ERR_NOMEM, "out of memory");
  c->state = s;
  eo_status st = qsm_geometry(c, &s->g);
  if (st) return st;
  bool s8 = c->in[IX]->dtype == EO_INT8;
  if ((s->fixed = c->in[IXS]->data != NULL)) eo_q8_softmax_table(s8, eo_ql_scale(c, IXS), s->g.d, s->table);
  if (c->force_ref) {
    // a strided row is gathered into scratch, computed and scattered back; a run-time table too
    c->scratch_bytes = (s->g.inner > 1 ? 2 * (size_t)s->g.d : 0) + (s->fixed ? 0 : 256 * sizeof(float)) + 64;
    return EO_OK;
  }
  if (s->fixed && qsm_const(c, IYS) && qsm_const(c, IYZ)) {
    s->fixed_params = true;
    eo_q8_softmax_params_init(&s->prm, s8, s->table, eo_ql_scale(c, IYS), eo_ql_zp(c, IYZ));
  } else {
    c->scratch_bytes = sizeof(eo_q8_softmax_params) + 256 * sizeof(float) + 64;
  }
  return EO_OK;
}

static void qsm_release(void *state) { free(state); }

/* Fast path: tasks of up to CHUNK rows; with inner > 1 the rows of one outer index lie interleaved
 * (element k of row r at k * inner + r), otherwise rows are contiguous. */
enum { CHUNK = 256 };

typedef struct qsm_job {
  const eo_q8_softmax_params *prm;
  const qsm_geom *g;
  const uint8_t *x;
  uint8_t *y;
  int64_t per;  /* tasks per outer index */
} qsm_job;

static void qsm_task(void *ctx, size_t index, int worker) {
  const qsm_job *J = ctx;
  const qsm_geom *g = J->g;
  if (g->inner > 1) {
    int64_t o = (int64_t)index / J->per, r0 = (int64_t)index % J->per * CHUNK;
    int64_t n = g->inner - r0 < CHUNK ? g->inner - r0 : CHUNK, off = o * g->d * g->inner + r0;
    eo_q8_softmax_rows(J->prm, n, g->d, 1, g->inner, J->x + off, J->y + off);
  } else {
    int64_t r0 = (int64_t)index * CHUNK, n = g->outer - r0 < CHUNK ? g->outer - r0 : CHUNK;
    eo_q8_softmax_rows(J->prm, n, g->d, g->d, 1, J->x + r0 * g->d, J->y + r0 * g->d);
  }
}

static void qsm_forward_ref(eo_op_ctx *c) {
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

static void qsm_forward(eo_op_ctx *c) {
  const qsm_state *s = c->state;
  const qsm_geom *g = &s->g;
  if (c->force_ref) {
    qsm_forward_ref(c);
    return;
  }
  const eo_q8_softmax_params *prm = &s->prm;
  if (!s->fixed_params) {
    eo_q8_softmax_params *p = c->scratch;  // the arena gives 64-byte aligned scratch
    const float *table = s->table;
    if (!s->fixed) {
      float *t = (float *)(p + 1);
      eo_q8_softmax_table(c->in[IX]->dtype == EO_INT8, eo_ql_scale(c, IXS), g->d, t);
      table = t;
    }
    eo_q8_softmax_params_init(p, c->in[IX]->dtype == EO_INT8, table, eo_ql_scale(c, IYS), eo_ql_zp(c, IYZ));
    prm = p;
  }
  qsm_job J = {prm, g, c->in[IX]->data, c->out[0]->data, (g->inner + CHUNK - 1) / CHUNK};
  int64_t tasks = g->inner > 1 ? g->outer * J.per : (g->outer + CHUNK - 1) / CHUNK;
  eo_threadpool_run(c->pool, (size_t)tasks, qsm_task, &J);
}

EO_DEFINE_OP(qlinear_softmax, .name = "QLinearSoftmax", .infer = qsm_infer, .prepare = qsm_prepare,
             .forward = qsm_forward, .release = qsm_release);
