/* QLinearSigmoid (com.microsoft; also the fuse_qdq_ops pass's form of DQ -> Sigmoid -> Q): a 256-entry
 * lookup table, as ONNX Runtime builds it (dequantize each code, MLAS's logistic, QuantizeLinear;
 * kernels/ref/qlinear_kernels.h). Inputs X, X_scale, X_zero_point, Y_scale, Y_zero_point (zero points
 * optional); X and Y int8 or uint8 of one dtype. The table is built at prepare when the parameters
 * are constants, else at each forward in scratch. */
#include <string.h>

#include "core/threads.h"
#include "runtime/kernels/ref/qlinear_kernels.h"
#include "runtime/ops/qlinear_util.h"

enum { IX, IXS, IXZ, IYS, IYZ };

static eo_status qsig_infer(eo_op_ctx *c) {
  const eo_tview *x = eo_ql_in(c, IX);
  if (!x || c->n_out < 1 || !c->out[0]) return eo_op_error(c, EO_ERR_INVALID, "needs input X and output Y");
  if (!eo_ql_is_q8(x->dtype))
    return eo_op_error(c, EO_ERR_SHAPE, "X must be int8 or uint8, got %s", eo_dtype_name(x->dtype));
  eo_status st;
  if ((st = eo_ql_check(c, IXS, IXZ, x->dtype, "X")) || (st = eo_ql_check(c, IYS, IYZ, x->dtype, "Y"))) return st;
  eo_tview_set_shape(c->out[0], x->dtype, x->rank, x->dims);
  return EO_OK;
}

static bool params_const(const eo_op_ctx *c) {
  for (int i = IXS; i <= IYZ; i++)
    if (eo_ql_in(c, i) && !c->in[i]->data) return false;
  return true;
}

static void build(const eo_op_ctx *c, uint8_t *table) {
  eo_q8_lut_sigmoid(c->in[IX]->dtype == EO_INT8, eo_ql_scale(c, IXS), eo_ql_zp(c, IXZ), eo_ql_scale(c, IYS),
                    eo_ql_zp(c, IYZ), table);
}

/* state: the lookup kernel (picked once) and the table when the parameters are constants */
typedef struct qsig_state {
  eo_q8_lut_fn apply;
  bool fixed;
  uint8_t table[256];
} qsig_state;

static eo_status qsig_prepare(eo_op_ctx *c) {
  qsig_state *s = eo_malloc(sizeof *s);
  if (!s) return eo_op_error(c, EO_ERR_NOMEM, "out of memory");
  c->state = s;
  s->apply = eo_q8_lut_pick(c->force_ref);
  s->fixed = params_const(c);
  if (s->fixed)
    build(c, s->table);
  else
    c->scratch_bytes = 256;
  return EO_OK;
}

static void qsig_release(void *state) { free(state); }

/* Large tensors are split across the pool (see quantize_linear.c); a table lookup per byte, so any
 * split gives the same bytes. */
#define QSIG_TASK_ELEMS 16384

typedef struct qsig_job {
  eo_q8_lut_fn apply;
  const uint8_t *table, *x;
  uint8_t *y;
  int64_t n;
} qsig_job;

static void qsig_task(void *ctx, size_t index, int worker) {
  (void)worker;
  const qsig_job *J = ctx;
  int64_t i0 = (int64_t)index * QSIG_TASK_ELEMS, len = J->n - i0 < QSIG_TASK_ELEMS ? J->n - i0 : QSIG_TASK_ELEMS;
  J->apply(J->table, len, J->x + i0, J->y + i0);
}

static void qsig_forward(eo_op_ctx *c) {
  qsig_state *s = c->state;
  const uint8_t *table = s->table;
  if (!s->fixed) {
    build(c, c->scratch);
    table = c->scratch;
  }
  int64_t n = eo_tview_numel(c->in[IX]);
  if (n >= 2 * QSIG_TASK_ELEMS && eo_threadpool_size(c->pool) > 1) {
    qsig_job J = {s->apply, table, c->in[IX]->data, c->out[0]->data, n};
    eo_threadpool_run(c->pool, (size_t)((n + QSIG_TASK_ELEMS - 1) / QSIG_TASK_ELEMS), qsig_task, &J);
    return;
  }
  s->apply(table, n, c->in[IX]->data, c->out[0]->data);
}

EO_DEFINE_OP(qlinear_sigmoid, .name = "QLinearSigmoid", .infer = qsig_infer, .prepare = qsig_prepare,
             .forward = qsig_forward, .release = qsig_release);
