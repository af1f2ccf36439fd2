/* QLinearConv (opset 10): convolution of quantized tensors with integer arithmetic as ONNX Runtime's
 * CPU provider does it (kernels/ref/qconv_kernels.h). Inputs: x, x_scale, x_zero_point, w, w_scale,
 * w_zero_point, y_scale, y_zero_point, B (int32, optional). x/w/y are int8 or uint8; x and y scales
 * and zero points per tensor; w's per tensor or per output channel. Attributes as Conv's.
 * Beyond the spec, for graphs made by the fuse_qdq pass: an absent zero point is 0 (y then uint8
 * as QuantizeLinear without a zero point). Scales may be run-time inputs: the per-channel
 * requantization scales are computed at each forward into scratch.
 * Kernels, when W and its zero point are constants: with AVX-512 VNNI, the depthwise kernel or the
 * VPDPBUSD GEMM (int8 weights with zero points 0; kernels/x86/qs8-fast.h), threaded on the session
 * pool; else with AVX2 eo_qs8_conv__avx2 (im2col, weights packed here, also threaded); else, and with force_ref,
 * eo_qs8_conv__ref. All give the same integers. */
#include <stdlib.h>

#include "core/cpu.h"
#include "core/threads.h"
#include "runtime/kernels/ref/qconv_kernels.h"
#include "runtime/kernels/x86/qs8-fast.h"
#include "runtime/op.h"
#include "runtime/ops/conv_attrs.h"

enum { IX, IXS, IXZ, IW, IWS, IWZ, IYS, IYZ, IB };

static const eo_tview *opt_in(const eo_op_ctx *c, int i) { return c->n_in > i ? c->in[i] : NULL; }

static bool is_q8(int dt) { return dt == EO_INT8 || dt == EO_UINT8; }

static int64_t count(const eo_tview *t) { return t ? eo_tview_numel(t) : 1; }

static eo_status check_param(const eo_op_ctx *c, int i, const char *what, int64_t allowed, bool is_scale) {
  const eo_tview *t = opt_in(c, i);
  if (!t) {
    if (is_scale) return eo_op_error(c, EO_ERR_INVALID, "%s is required", what);
    return EO_OK;
  }
  if (is_scale ? t->dtype != EO_FLOAT : !is_q8(t->dtype))
    return eo_op_error(c, EO_ERR_SHAPE, "%s must be %s, got %s", what, is_scale ? "float32" : "int8 or uint8",
                       eo_dtype_name(t->dtype));
  int64_t n = eo_tview_numel(t);
  if (t->rank > 1 || (n != 1 && n != allowed))
    return eo_op_error(c, EO_ERR_SHAPE, "%s must be a scalar%s, got %lld elements (rank %d)", what,
                       allowed > 1 ? " or 1-D per output channel" : "", (long long)n, t->rank);
  return EO_OK;
}

static eo_status qconv_geometry(eo_op_ctx *c, eo_conv_params *p, int64_t *out_dims) {
  const eo_tview *x = c->in[IX], *w = opt_in(c, IW), *b = opt_in(c, IB);
  char s1[160], s2[160];
  eo_status st;
  if (!x || !w || c->n_out < 1 || !c->out[0])
    return eo_op_error(c, EO_ERR_INVALID, "needs inputs x and w and output y");
  if (!is_q8(x->dtype) || !is_q8(w->dtype))
    return eo_op_error(c, EO_ERR_SHAPE, "x and w must be int8 or uint8, got %s and %s", eo_dtype_name(x->dtype),
                       eo_dtype_name(w->dtype));
  if (x->rank < 3 || x->rank > 2 + EO_CONV_MAX_SPATIAL || w->rank != x->rank)
    return eo_op_error(c, EO_ERR_SHAPE, "x %s and w %s must have the same rank, 3 to %d",
                       eo_shape_str(x->rank, x->dims, s1, sizeof s1), eo_shape_str(w->rank, w->dims, s2, sizeof s2),
                       2 + EO_CONV_MAX_SPATIAL);
  for (int d = 0; d < x->rank; d++)
    if (x->dims[d] < 1 || w->dims[d] < 1)
      return eo_op_error(c, EO_ERR_SHAPE, "x %s and w %s need known non-empty dims",
                         eo_shape_str(x->rank, x->dims, s1, sizeof s1), eo_shape_str(w->rank, w->dims, s2, sizeof s2));
  int nsp = x->rank - 2;
  int64_t group = eo_attr_i(c->node, "group", 1), cin = x->dims[1], m = w->dims[0];
  if (group < 1) return eo_op_error(c, EO_ERR_INVALID, "group = %lld, expected >= 1", (long long)group);
  if (w->dims[1] * group != cin || m % group != 0)
    return eo_op_error(c, EO_ERR_SHAPE, "W %s with group %lld does not fit X %s",
                       eo_shape_str(w->rank, w->dims, s1, sizeof s1), (long long)group,
                       eo_shape_str(x->rank, x->dims, s2, sizeof s2));
  if ((st = check_param(c, IXS, "x_scale", 1, true)) || (st = check_param(c, IXZ, "x_zero_point", 1, false)) ||
      (st = check_param(c, IWS, "w_scale", m, true)) || (st = check_param(c, IWZ, "w_zero_point", m, false)) ||
      (st = check_param(c, IYS, "y_scale", 1, true)) || (st = check_param(c, IYZ, "y_zero_point", 1, false)))
    return st;
  if (opt_in(c, IXZ) && c->in[IXZ]->dtype != x->dtype)
    return eo_op_error(c, EO_ERR_SHAPE, "x_zero_point is %s but x is %s", eo_dtype_name(c->in[IXZ]->dtype),
                       eo_dtype_name(x->dtype));
  if (opt_in(c, IWZ) && c->in[IWZ]->dtype != w->dtype)
    return eo_op_error(c, EO_ERR_SHAPE, "w_zero_point is %s but w is %s", eo_dtype_name(c->in[IWZ]->dtype),
                       eo_dtype_name(w->dtype));
  if (b && (b->dtype != EO_INT32 || b->rank != 1 || b->dims[0] != m))
    return eo_op_error(c, EO_ERR_SHAPE, "B must be int32 [%lld], got %s %s", (long long)m, eo_dtype_name(b->dtype),
                       eo_shape_str(b->rank, b->dims, s1, sizeof s1));

  // the shared Conv helpers read W at input 1: give them a view with (x, w)
  eo_tview *xw[2] = {c->in[IX], c->in[IW]};
  eo_op_ctx sub = *c;
  sub.in = xw;
  sub.n_in = 2;
  st = eo_conv_forward_geometry(&sub, nsp, m, group, out_dims, p);
  p->act_op = -1;  // the quantized output range is the activation
  return st;
}

static int y_dtype(const eo_op_ctx *c) { return opt_in(c, IYZ) ? c->in[IYZ]->dtype : EO_UINT8; }

static eo_status qconv_infer(eo_op_ctx *c) {
  eo_conv_params p;
  int64_t dims[EO_MAX_RANK];
  eo_status st = qconv_geometry(c, &p, dims);
  if (st) return st;
  eo_tview_set_shape(c->out[0], y_dtype(c), c->in[IX]->rank, dims);
  return EO_OK;
}

typedef struct qconv_state {
  eo_conv_params p;
  int32_t *wpk;  /* w - w_zp packed for the AVX2 kernel; NULL: reference kernel */
  eo_qs8_conv_plan plan; /* plan.kind != 0: the AVX-512 VNNI / depthwise kernels */
} qconv_state;

static void qconv_release(void *state) {
  qconv_state *s = state;
  if (s) {
    free(s->wpk);
    if (s->plan.kind) eo_qs8_conv_plan_free(&s->plan);
  }
  free(s);
}

static int32_t zp_at(const eo_tview *t, int64_t i);

static eo_status qconv_prepare(eo_op_ctx *c) {
  qconv_state *s = eo_calloc(1, sizeof *s);
  if (!s) return eo_op_error(c, EO_ERR_NOMEM, "out of memory");
  int64_t dims[EO_MAX_RANK];
  eo_status st = qconv_geometry(c, &s->p, dims);
  if (st) {
    free(s);
    return st;
  }
  c->state = s;
  c->scratch_bytes = (size_t)s->p.c_out * (sizeof(float) + sizeof(int32_t));
  // the fast kernel needs the weights and their zero points at prepare (constants)
  const eo_tview *w = c->in[IW], *wz = opt_in(c, IWZ);
  if (!c->force_ref && eo_cpu_isa() >= EO_ISA_AVX512 && eo_cpu_info_get()->avx512vnni && w->data &&
      (!wz || wz->data)) {
    int32_t *wzp = eo_malloc((size_t)s->p.c_out * sizeof(int32_t));
    if (!wzp) {
      qconv_release(s);
      c->state = NULL;
      return eo_op_error(c, EO_ERR_NOMEM, "out of memory");
    }
    for (int64_t oc = 0; oc < s->p.c_out; oc++) wzp[oc] = zp_at(wz, oc);
    bool ws8 = w->dtype == EO_INT8;
    int kind = eo_qs8_dw_ok(&s->p) ? EO_QS8_DW_AVX512 : eo_qs8_vnni_ok(&s->p, ws8, wzp) ? EO_QS8_GEMM_VNNI : 0;
    bool ok = !kind || eo_qs8_conv_plan_init(&s->plan, kind, &s->p, c->in[IX]->dtype == EO_INT8, ws8, w->data, wzp,
                                             eo_threadpool_size(c->pool));
    free(wzp);
    if (!ok) {
      qconv_release(s);  // frees what the plan got
      c->state = NULL;
      return eo_op_error(c, EO_ERR_NOMEM, "out of memory packing the weights");
    }
    if (kind) {
      c->scratch_bytes = ((c->scratch_bytes + 63) & ~(size_t)63) + eo_qs8_conv_plan_scratch(&s->plan);
      c->local_bytes = eo_qs8_conv_plan_local(&s->plan);
      c->packed_bytes = eo_qs8_conv_plan_packed_bytes(&s->plan);
      c->captured_inputs = 1u << IW;  // forward still reads the weight scales and zero points
      return EO_OK;
    }
  }
  if (!c->force_ref && eo_cpu_isa() >= EO_ISA_AVX2 && w->data && (!wz || wz->data)) {
    int64_t nw = eo_tview_numel(w), per = nw / s->p.c_out;
    int16_t *w16 = eo_malloc((size_t)nw * sizeof(int16_t));
    s->wpk = eo_malloc((size_t)(s->p.c_out * ((per + 1) / 2)) * sizeof(int32_t));
    if (!w16 || !s->wpk) {
      free(w16);
      return eo_op_error(c, EO_ERR_NOMEM, "out of memory packing %lld weights", (long long)nw);
    }
    for (int64_t i = 0; i < nw; i++) {
      int32_t v = w->dtype == EO_INT8 ? ((const int8_t *)w->data)[i] : ((const uint8_t *)w->data)[i];
      w16[i] = (int16_t)(v - zp_at(wz, i / per));
    }
    eo_qs8_conv_pack__avx2(&s->p, w16, s->wpk);
    free(w16);
    // scales and zero points first, 64-byte aligned kernel scratch after them
    c->scratch_bytes = ((c->scratch_bytes + 63) & ~(size_t)63) + eo_qs8_conv_scratch__avx2(&s->p);
    c->packed_bytes = (size_t)(s->p.c_out * ((per + 1) / 2)) * sizeof(int32_t);
    c->captured_inputs = 1u << IW;
  }
  return EO_OK;
}

static int32_t zp_at(const eo_tview *t, int64_t i) {
  if (!t) return 0;
  if (eo_tview_numel(t) == 1) i = 0;
  return t->dtype == EO_INT8 ? ((const int8_t *)t->data)[i] : ((const uint8_t *)t->data)[i];
}

static void qconv_forward(eo_op_ctx *c) {
  const qconv_state *st = c->state;
  const eo_conv_params *p = &st->p;
  float *scale = c->scratch;
  int32_t *wzp = (int32_t *)(scale + p->c_out);
  const eo_tview *ws = c->in[IWS];
  float xs = *(const float *)c->in[IXS]->data, ys = *(const float *)c->in[IYS]->data;
  bool per_ch = count(ws) != 1;
  for (int64_t oc = 0; oc < p->c_out; oc++) {
    // float32 in this order, as ORT computes output_scales
    scale[oc] = xs * ((const float *)ws->data)[per_ch ? oc : 0] / ys;
    wzp[oc] = zp_at(opt_in(c, IWZ), oc);
  }
  const eo_tview *b = opt_in(c, IB);
  eo_qconv_quant q = {.x_signed = c->in[IX]->dtype == EO_INT8,
                      .w_signed = c->in[IW]->dtype == EO_INT8,
                      .y_signed = c->out[0]->dtype == EO_INT8,
                      .x_zp = zp_at(opt_in(c, IXZ), 0),
                      .y_zp = zp_at(opt_in(c, IYZ), 0),
                      .w_zp = wzp,
                      .bias = b ? b->data : NULL,
                      .scale = scale};
  if (st->plan.kind) {
    size_t off = ((size_t)p->c_out * (sizeof(float) + sizeof(int32_t)) + 63) & ~(size_t)63;
    eo_qs8_conv_plan_run(&st->plan, &q, c->in[IX]->data, c->out[0]->data, (char *)c->scratch + off, c->pool);
  } else if (st->wpk) {
    size_t off = ((size_t)p->c_out * (sizeof(float) + sizeof(int32_t)) + 63) & ~(size_t)63;
    eo_qs8_conv__avx2(p, &q, c->in[IX]->data, st->wpk, c->out[0]->data, (char *)c->scratch + off, c->pool);
  } else {
    eo_qs8_conv__ref(p, &q, c->in[IX]->data, c->in[IW]->data, c->out[0]->data);
  }
}

static double qconv_flops(const eo_op_ctx *c) {
  const eo_tview *w = c->in[IW];
  double per_out = 1;
  for (int d = 1; d < w->rank; d++) per_out *= (double)w->dims[d];
  return 2.0 * per_out * (double)eo_tview_numel(c->out[0]);
}

EO_DEFINE_OP(qlinear_conv, .name = "QLinearConv", .infer = qconv_infer, .prepare = qconv_prepare,
             .forward = qconv_forward, .release = qconv_release, .flops = qconv_flops);
