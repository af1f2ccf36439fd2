/* GlobalAveragePool and GlobalMaxPool (opset 1+): X is [N, C, D1..Dn] (n >= 1), Y is
 * [N, C, 1..1] of the same rank. float, double, float16 (through f32 scratch). */
#include <stdlib.h>

#include "runtime/kernels/fast.h"
#include "runtime/kernels/ref/pool_kernels.h"

static eo_status global_pool_infer(eo_op_ctx *c) {
  const eo_tview *x = c->n_in > 0 ? c->in[0] : NULL;
  if (!x) return eo_op_error(c, EO_ERR_INVALID, "input X is required");
  if (x->dtype != EO_FLOAT && x->dtype != EO_DOUBLE && x->dtype != EO_FLOAT16)
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "X has dtype %s, expected float, double or float16",
                       eo_dtype_name(x->dtype));
  if (x->rank < 3)
    return eo_op_error(c, EO_ERR_SHAPE, "X has rank %d, expected >= 3 (N, C, spatial dims)", x->rank);
  int64_t dims[EO_MAX_RANK];
  for (int d = 0; d < x->rank; d++) {
    if (d >= 2 && x->dims[d] < 1)
      return eo_op_error(c, EO_ERR_SHAPE, "spatial dim %d of X is %lld, expected >= 1", d - 2,
                         (long long)x->dims[d]);
    dims[d] = d < 2 ? x->dims[d] : 1;
  }
  if (c->n_out < 1 || !c->out[0]) return eo_op_error(c, EO_ERR_INVALID, "output Y is required");
  eo_tview_set_shape(c->out[0], x->dtype, x->rank, dims);
  return EO_OK;
}

/* State: the vector kernels for a float32 GlobalAveragePool (NULL: reference kernels). */
static eo_status global_pool_prepare(eo_op_ctx *c) {
  if (c->in[0]->dtype == EO_FLOAT && !c->force_ref) {
    const eo_f32_kernels_t *kr = eo_f32_kernels(eo_cpu_isa());
    const eo_f32_kernels_t **s = kr ? malloc(sizeof *s) : NULL;
    if (kr && !s) return eo_op_error(c, EO_ERR_NOMEM, "out of memory");
    if (s) *s = kr;
    c->state = s;
  }
  if (eo_pk_is_half(c->in[0]->dtype))
    c->scratch_bytes = eo_pk_align((size_t)eo_tview_numel(c->in[0]) * sizeof(float)) +
                       (size_t)eo_tview_numel(c->out[0]) * sizeof(float);
  return EO_OK;
}

static void global_pool_run(eo_op_ctx *c, bool is_max) {
  const eo_tview *x = c->in[0];
  eo_tview *y = c->out[0];
  int64_t nc = x->dims[0] * x->dims[1], spatial = 1;
  for (int d = 2; d < x->rank; d++) spatial *= x->dims[d];
  if (c->state && !is_max && spatial > 0) {
    eo_f32_global_avgpool(*(const eo_f32_kernels_t **)c->state, nc, spatial, x->data, y->data, c->pool);
    return;
  }
  switch (x->dtype) {
    case EO_FLOAT:
      (is_max ? eo_f32_global_maxpool__ref : eo_f32_global_avgpool__ref)(nc, spatial, x->data, y->data);
      break;
    case EO_DOUBLE:
      (is_max ? eo_f64_global_maxpool__ref : eo_f64_global_avgpool__ref)(nc, spatial, x->data, y->data);
      break;
    default: { /* float16: through f32 */
      float *xf = c->scratch, *yf = (float *)((char *)c->scratch + eo_pk_align((size_t)(nc * spatial) * sizeof(float)));
      eo_pk_to_f32(x->dtype, x->data, xf, nc * spatial);
      (is_max ? eo_f32_global_maxpool__ref : eo_f32_global_avgpool__ref)(nc, spatial, xf, yf);
      eo_pk_from_f32(y->dtype, yf, y->data, nc);
    }
  }
}

static void global_average_pool_forward(eo_op_ctx *c) { global_pool_run(c, false); }
static void global_max_pool_forward(eo_op_ctx *c) { global_pool_run(c, true); }

static double global_pool_flops(const eo_op_ctx *c) { return eo_tview_numel(c->in[0]); }

EO_DEFINE_OP(global_average_pool, .name = "GlobalAveragePool", .infer = global_pool_infer,
             .prepare = global_pool_prepare, .forward = global_average_pool_forward, .release = free,
             .flops = global_pool_flops);
EO_DEFINE_OP(global_max_pool, .name = "GlobalMaxPool", .infer = global_pool_infer, .prepare = global_pool_prepare,
             .forward = global_max_pool_forward, .release = free, .flops = global_pool_flops);
