/* Q8Lut: y[i] = table[x[i]] over 8-bit codes, an edgeopt-internal op (domain EO_INTERNAL_DOMAIN) that
 * only the session's ir/passes/fuse_qlut.c makes, from chains of per-tensor 8-bit ops whose result
 * depends on each code alone (QLinearSigmoid -> QLinearMul = SiLU, DQ -> HardSigmoid -> Q ->
 * QLinearMul = HardSwish; DQ -> Q around an op that only moves elements). The pass computes the
 * table by running those ops on the 256 codes, so the output is the chain's, byte for byte. Never
 * in a model file: the ONNX reader finds no op in that domain, and a node of this type in another
 * domain is refused here.
 * Inputs: X (int8 or uint8), T (uint8 [256] constant, indexed by X's byte). Y has X's dtype and shape. */
#include <string.h>

#include "core/threads.h"
#include "ir/passes/passes.h"
#include "runtime/kernels/ref/qlinear_kernels.h"
#include "runtime/op.h"

typedef struct q8lut_state {
  eo_q8_lut_fn apply;
  uint8_t table[256];
} q8lut_state;

static eo_status q8lut_infer(eo_op_ctx *c) {
  if (!c->node->domain || strcmp(c->node->domain, EO_INTERNAL_DOMAIN) != 0)
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "an edgeopt-internal op (domain %s), not for model files",
                       EO_INTERNAL_DOMAIN);
  if (c->n_in != 2 || !c->in[0] || !c->in[1] || c->n_out != 1 || !c->out[0])
    return eo_op_error(c, EO_ERR_INVALID, "expects inputs X and T and one output");
  const eo_tview *x = c->in[0], *t = c->in[1];
  if (x->dtype != EO_UINT8 && x->dtype != EO_INT8)
    return eo_op_error(c, EO_ERR_SHAPE, "X must be int8 or uint8, got %s", eo_dtype_name(x->dtype));
  if (t->dtype != EO_UINT8 || eo_tview_numel(t) != 256 || !t->data)
    return eo_op_error(c, EO_ERR_SHAPE, "T must be a constant uint8 table of 256 entries");
  eo_tview_set_shape(c->out[0], x->dtype, x->rank, x->dims);
  return EO_OK;
}

static eo_status q8lut_prepare(eo_op_ctx *c) {
  q8lut_state *s = eo_malloc(sizeof *s);
  if (!s) return eo_op_error(c, EO_ERR_NOMEM, "out of memory");
  s->apply = eo_q8_lut_pick(c->force_ref);
  memcpy(s->table, c->in[1]->data, 256);
  c->state = s;
  c->packed_bytes = 256;
  c->captured_inputs = 1u << 1;
  return EO_OK;
}

static void q8lut_release(void *state) { free(state); }

/* Large tensors are split across the pool as QLinearSigmoid does; a lookup per byte, so any split
 * gives the same bytes. */
#define Q8LUT_TASK_ELEMS 16384

typedef struct q8lut_job {
  eo_q8_lut_fn apply;
  const uint8_t *table, *x;
  uint8_t *y;
  int64_t n;
} q8lut_job;

static void q8lut_task(void *ctx, size_t index, int worker) {
  (void)worker;
  const q8lut_job *J = ctx;
  int64_t i0 = (int64_t)index * Q8LUT_TASK_ELEMS, len = J->n - i0 < Q8LUT_TASK_ELEMS ? J->n - i0 : Q8LUT_TASK_ELEMS;
  J->apply(J->table, len, J->x + i0, J->y + i0);
}

static void q8lut_forward(eo_op_ctx *c) {
  const q8lut_state *s = c->state;
  int64_t n = eo_tview_numel(c->in[0]);
  if (n >= 2 * Q8LUT_TASK_ELEMS && eo_threadpool_size(c->pool) > 1) {
    q8lut_job J = {s->apply, s->table, c->in[0]->data, c->out[0]->data, n};
    eo_threadpool_run(c->pool, (size_t)((n + Q8LUT_TASK_ELEMS - 1) / Q8LUT_TASK_ELEMS), q8lut_task, &J);
    return;
  }
  s->apply(s->table, n, c->in[0]->data, c->out[0]->data);
}

EO_DEFINE_OP(q8_lut, .name = "Q8Lut", .infer = q8lut_infer, .prepare = q8lut_prepare, .forward = q8lut_forward,
             .release = q8lut_release);
