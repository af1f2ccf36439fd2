/* AveragePool (opsets 1-22): any spatial rank, kernel_shape, strides, pads, auto_pad, ceil_mode
 * (opset 10), count_include_pad (opset 7), dilations (opset 19). Geometry from eo_pool_geometry
 * (ops/max_pool.c), shared with MaxPool. */
#include <stdlib.h>

#include "runtime/kernels/ref/pool_kernels.h"

static eo_status average_pool_infer(eo_op_ctx *c) {
  const eo_tview *x = c->n_in > 0 ? c->in[0] : NULL;
  if (!x) return eo_op_error(c, EO_ERR_INVALID, "input X is required");
  if (x->dtype != EO_FLOAT && x->dtype != EO_DOUBLE && x->dtype != EO_FLOAT16)
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "X has dtype %s, expected float, double or float16",
                       eo_dtype_name(x->dtype));
  eo_pool_params p;
  int64_t dims[EO_MAX_RANK];
  eo_status st = eo_pool_geometry(c, false, &p, dims);
  if (st) return st;
  if (c->n_out < 1 || !c->out[0]) return eo_op_error(c, EO_ERR_INVALID, "output Y is required");
  eo_tview_set_shape(c->out[0], x->dtype, x->rank, dims);
  return EO_OK;
}

static eo_status average_pool_prepare(eo_op_ctx *c) {
  eo_pool_params *p = malloc(sizeof *p);
  if (!p) return eo_op_error(c, EO_ERR_NOMEM, "out of memory");
  int64_t dims[EO_MAX_RANK];
  eo_status st = eo_pool_geometry(c, false, p, dims);
  if (st) {
    free(p);
    return st;
  }
  c->state = p;
  if (eo_pk_is_half(c->in[0]->dtype))
    c->scratch_bytes = eo_pk_align((size_t)eo_tview_numel(c->in[0]) * sizeof(float)) +
                       (size_t)eo_tview_numel(c->out[0]) * sizeof(float);
  return EO_OK;
}

static void average_pool_forward(eo_op_ctx *c) {
  const eo_pool_params *p = c->state;
  const eo_tview *x = c->in[0];
  eo_tview *y = c->out[0];
  switch (x->dtype) {
    case EO_FLOAT: eo_f32_avgpool__ref(p, x->data, y->data); break;
    case EO_DOUBLE: eo_f64_avgpool__ref(p, x->data, y->data); break;
    default: { /* float16: through f32 */
      int64_t nx = eo_tview_numel(x), ny = eo_tview_numel(y);
      float *xf = c->scratch, *yf = (float *)((char *)c->scratch + eo_pk_align((size_t)nx * sizeof(float)));
      eo_pk_to_f32(x->dtype, x->data, xf, nx);
      eo_f32_avgpool__ref(p, xf, yf);
      eo_pk_from_f32(y->dtype, yf, y->data, ny);
    }
  }
}

static double average_pool_flops(const eo_op_ctx *c) {
  const int64_t *ks;
  int nk = eo_attr_ints(c->node, "kernel_shape", &ks);
  double k = 1;
  for (int i = 0; i < nk; i++) k *= (double)ks[i];
  return (double)eo_tview_numel(c->out[0]) * k;
}

EO_DEFINE_OP(average_pool, .name = "AveragePool", .infer = average_pool_infer, .prepare = average_pool_prepare,
             .forward = average_pool_forward, .release = free, .flops = average_pool_flops);
