/* QLinearGlobalAveragePool (com.microsoft; also the fuse_qdq_ops pass's form of DQ ->
 * GlobalAveragePool -> Q): the int32 sum of each channel's image minus x_zero_point * image, times
 * x_scale / (y_scale * image) and requantized as ONNX Runtime's MLAS kernel does
 * (kernels/ref/qlinear_kernels.h). Inputs X [N, C, spatial...], x_scale, x_zero_point, y_scale,
 * y_zero_point; channels_last = 0 only. Parameters outside ORT's range (scale not in [2^-32, 256),
 * image >= 2^24) are rejected, as ORT rejects them. */
#include "runtime/kernels/ref/qlinear_kernels.h"
#include "runtime/ops/qlinear_util.h"

enum { IX, IXS, IXZ, IYS, IYZ };

static eo_status qgap_infer(eo_op_ctx *c) {
  const eo_tview *x = eo_ql_in(c, IX);
  if (!x || c->n_out < 1 || !c->out[0]) return eo_op_error(c, EO_ERR_INVALID, "needs input X and output Y");
  if (!eo_ql_is_q8(x->dtype))
    return eo_op_error(c, EO_ERR_SHAPE, "X must be int8 or uint8, got %s", eo_dtype_name(x->dtype));
  if (eo_attr_i(c->node, "channels_last", 0) != 0)
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "channels_last = 1 is not supported (NCHW only)");
  if (x->rank < 3) return eo_op_error(c, EO_ERR_SHAPE, "X must have rank >= 3, got %d", x->rank);
  eo_status st;
  if ((st = eo_ql_check(c, IXS, IXZ, x->dtype, "x")) || (st = eo_ql_check(c, IYS, IYZ, x->dtype, "y"))) return st;
  int64_t dims[EO_MAX_RANK];
  for (int d = 0; d < x->rank; d++) dims[d] = d < 2 ? x->dims[d] : 1;
  eo_tview_set_shape(c->out[0], x->dtype, x->rank, dims);
  return EO_OK;
}

static int64_t image_of(const eo_tview *x) { return eo_numel(x->rank - 2, x->dims + 2); }

static eo_status qgap_prepare(eo_op_ctx *c) {
  const eo_tview *xs = c->in[IXS], *ys = c->in[IYS];
  if (xs->data && ys->data && eo_q8_gavgpool_scale(eo_ql_scale(c, IXS), eo_ql_scale(c, IYS), image_of(c->in[IX])) == 0.0f)
    return eo_op_error(c, EO_ERR_INVALID, "x_scale / (y_scale * %lld) is outside [2^-32, 256) or the image is too large",
                       (long long)image_of(c->in[IX]));
  return EO_OK;
}

static void qgap_forward(eo_op_ctx *c) {
  const eo_tview *x = c->in[IX];
  float s = eo_q8_gavgpool_scale(eo_ql_scale(c, IXS), eo_ql_scale(c, IYS), image_of(x));
  // a run-time scale out of range (prepare could not check it) gives the zero point, not garbage
  eo_q8_gavgpool__ref(x->dtype == EO_INT8, x->dims[0] * x->dims[1], image_of(x), x->data, eo_ql_zp(c, IXZ), s,
                      eo_ql_zp(c, IYZ), c->out[0]->data);
}

EO_DEFINE_OP(qlinear_global_average_pool, .name = "QLinearGlobalAveragePool", .infer = qgap_infer,
             .prepare = qgap_prepare, .forward = qgap_forward);
