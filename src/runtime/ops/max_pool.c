/* MaxPool (opsets 1-22): 1D/2D/3D (any spatial rank up to EO_POOL_MAX_ND), kernel_shape, strides,
 * pads, auto_pad, dilations, ceil_mode, storage_order, optional int64 Indices output.
 * Also defines eo_pool_geometry, the window/output-shape rules shared with AveragePool. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/kernels/fast.h"
#include "runtime/kernels/q8-maxpool.h"
#include "runtime/kernels/ref/pool_kernels.h"
#include "runtime/ops/conv_attrs.h"

static int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

/* Attribute values are bounded by INT32_MAX to keep the window arithmetic below free of overflow
 * on hostile files. */
static eo_status read_ints(const eo_op_ctx *c, const char *name, int n, int64_t min_v, int64_t def, int64_t *out) {
  return eo_read_ints_attr(c, name, n, min_v, INT32_MAX, def, out);
}

eo_status eo_pool_geometry(const eo_op_ctx *c, bool is_max, eo_pool_params *p, int64_t *out_dims) {
  const eo_tview *x = c->in[0];
  eo_status st;
  memset(p, 0, sizeof *p);
  const int64_t *ks;
  int nd = eo_attr_ints(c->node, "kernel_shape", &ks);
  if (nd < 0) return eo_op_error(c, EO_ERR_INVALID, "attribute kernel_shape is required");
  if (nd < 1 || nd > EO_POOL_MAX_ND)
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "kernel_shape has %d spatial dims, expected 1..%d", nd,
                       EO_POOL_MAX_ND);
  if (x->rank != nd + 2)
    return eo_op_error(c, EO_ERR_SHAPE, "input X has rank %d, expected %d (N, C and %d spatial dims of kernel_shape)",
                       x->rank, nd + 2, nd);
  p->nd = nd;
  int64_t pads[2 * EO_POOL_MAX_ND];
  if ((st = read_ints(c, "kernel_shape", nd, 1, 1, p->kernel)) || (st = read_ints(c, "strides", nd, 1, 1, p->stride)) ||
      (st = read_ints(c, "dilations", nd, 1, 1, p->dilation)) || (st = read_ints(c, "pads", 2 * nd, 0, 0, pads)))
    return st;
  eo_auto_pad ap;
  if ((st = eo_read_auto_pad(c, &ap))) return st;
  int64_t ceil_mode = eo_attr_i(c->node, "ceil_mode", 0);
  if (ceil_mode != 0 && ceil_mode != 1)
    return eo_op_error(c, EO_ERR_INVALID, "ceil_mode = %lld, expected 0 or 1", (long long)ceil_mode);
  if (is_max) {
    int64_t so = eo_attr_i(c->node, "storage_order", 0);
    if (so != 0 && so != 1)
      return eo_op_error(c, EO_ERR_INVALID, "storage_order = %lld, expected 0 or 1", (long long)so);
    p->indices_col_major = so == 1;
  } else {
    int64_t cip = eo_attr_i(c->node, "count_include_pad", 0);
    if (cip != 0 && cip != 1)
      return eo_op_error(c, EO_ERR_INVALID, "count_include_pad = %lld, expected 0 or 1", (long long)cip);
    p->count_include_pad = cip == 1;
  }

  p->nc = x->dims[0] * x->dims[1];
  out_dims[0] = x->dims[0];
  out_dims[1] = x->dims[1];
  for (int d = 0; d < nd; d++) {
    int64_t in = x->dims[2 + d], s = p->stride[d];
    int64_t dk = (p->kernel[d] - 1) * p->dilation[d] + 1; /* effective (dilated) window size */
    if (in < 1)
      return eo_op_error(c, EO_ERR_SHAPE, "spatial dim %d of X is %lld, expected >= 1", d, (long long)in);
    p->in[d] = in;
    int64_t out;
    if (ap == EO_AUTO_PAD_SAME_UPPER || ap == EO_AUTO_PAD_SAME_LOWER) {
      int64_t total;
      out = eo_same_pad(in, s, dk, ap == EO_AUTO_PAD_SAME_UPPER, &p->pad_begin[d], &total);
      p->pad_end[d] = total - p->pad_begin[d];
    } else {
      if (ap != EO_AUTO_PAD_VALID) {
        p->pad_begin[d] = pads[d];
        p->pad_end[d] = pads[nd + d];
      }
      int64_t span = in + p->pad_begin[d] + p->pad_end[d] - dk;
      if (span < 0)
        return eo_op_error(c, EO_ERR_SHAPE,
                           "window of spatial dim %d (kernel %lld, dilation %lld: %lld) exceeds the padded input (%lld)",
                           d, (long long)p->kernel[d], (long long)p->dilation[d], (long long)dk,
                           (long long)(in + p->pad_begin[d] + p->pad_end[d]));
      out = (ceil_mode ? ceil_div(span, s) : span / s) + 1;
      /* ceil_mode: a window must start inside the input or the begin padding (PyTorch, ORT). */
      if (ceil_mode && (out - 1) * s >= in + p->pad_begin[d]) out--;
    }
    p->out[d] = out;
    out_dims[2 + d] = out;
  }
  return EO_OK;
}

static eo_status max_pool_infer(eo_op_ctx *c) {
  const eo_tview *x = c->n_in > 0 ? c->in[0] : NULL;
  if (!x) return eo_op_error(c, EO_ERR_INVALID, "input X is required");
  if (x->dtype != EO_FLOAT && x->dtype != EO_DOUBLE && x->dtype != EO_FLOAT16 && x->dtype != EO_UINT8 &&
      x->dtype != EO_INT8)
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "X has dtype %s, expected float, double, float16, uint8 or int8",
                       eo_dtype_name(x->dtype));
  eo_pool_params p;
  int64_t dims[EO_MAX_RANK];
  eo_status st = eo_pool_geometry(c, true, &p, dims);
  if (st) return st;
  if (c->n_out > 0 && c->out[0]) eo_tview_set_shape(c->out[0], x->dtype, x->rank, dims);
  if (c->n_out > 1 && c->out[1]) eo_tview_set_shape(c->out[1], EO_INT64, x->rank, dims);
  return EO_OK;
}

/* Scratch: f32 copies of X and Y for float16 inputs; Y's buffer when only Indices is consumed
 * (Y is a required output, but the executor may leave it unrequested when nothing reads it). */
typedef struct max_pool_state {
  eo_pool_params p;             /* first: the reference paths read the state as eo_pool_params */
  const eo_f32_kernels_t *kr;   /* float32 1-D/2-D without Indices: vector kernel (kernels/fast.h) */
  eo_f32_dw_args fast;
  bool q8;                      /* uint8 / int8 1-D/2-D without Indices: kernels/q8-maxpool.c */
  eo_q8_maxpool_plan q8p;
} max_pool_state;

static eo_status max_pool_prepare(eo_op_ctx *c) {
  max_pool_state *s = calloc(1, sizeof *s);
  if (!s) return eo_op_error(c, EO_ERR_NOMEM, "out of memory");
  eo_pool_params *p = &s->p;
  int64_t dims[EO_MAX_RANK];
  eo_status st = eo_pool_geometry(c, true, p, dims);
  if (st) {
    free(s);
    return st;
  }
  c->state = s;
  const eo_tview *x = c->in[0];
  if (x->dtype == EO_FLOAT && p->nd <= 2 && c->out[0] && !(c->n_out > 1 && c->out[1]) && !c->force_ref &&
      (s->kr = eo_f32_kernels(eo_cpu_isa()))) {
    int o = p->nd - 1;  // a 1-D pool is one row
    s->fast = (eo_f32_dw_args){.ih_n = o ? p->in[0] : 1, .iw_n = p->in[o], .oh_n = o ? p->out[0] : 1,
                               .ow_n = p->out[o], .kh = o ? p->kernel[0] : 1, .kw = p->kernel[o],
                               .sh = o ? p->stride[0] : 1, .sw = p->stride[o], .dh = o ? p->dilation[0] : 1,
                               .dw = p->dilation[o], .pad_t = o ? p->pad_begin[0] : 0, .pad_l = p->pad_begin[o]};
  }
  size_t ny = (size_t)eo_numel(x->rank, dims);
  if ((x->dtype == EO_UINT8 || x->dtype == EO_INT8) && p->nd <= 2 && c->out[0] && !(c->n_out > 1 && c->out[1]) &&
      !c->force_ref) {
    int o = p->nd - 1;
    s->q8 = true;
    s->q8p = (eo_q8_maxpool_plan){.ih = o ? p->in[0] : 1, .iw = p->in[o], .oh = o ? p->out[0] : 1, .ow = p->out[o],
                                  .kh = o ? p->kernel[0] : 1, .kw = p->kernel[o], .sh = o ? p->stride[0] : 1,
                                  .sw = p->stride[o], .dh = o ? p->dilation[0] : 1, .dw = p->dilation[o],
                                  .pad_t = o ? p->pad_begin[0] : 0, .pad_l = p->pad_begin[o],
                                  .is_signed = x->dtype == EO_INT8};
    eo_q8_maxpool_plan_init(&s->q8p);
    int workers = eo_threadpool_size(c->pool);
    c->scratch_bytes = s->q8p.ws_bytes * (size_t)(workers < 1 ? 1 : workers);
    return EO_OK;
  }
  if (eo_pk_is_half(x->dtype))
    c->scratch_bytes = eo_pk_align((size_t)eo_tview_numel(x) * sizeof(float)) + ny * sizeof(float);
  else if (!c->out[0])
    c->scratch_bytes = ny * eo_dtype_size(x->dtype);
  return EO_OK;
}

static void max_pool_forward(eo_op_ctx *c) {
  const max_pool_state *s = c->state;
  const eo_pool_params *p = &s->p;
  const eo_tview *x = c->in[0];
  if (s->kr) {
    eo_f32_maxpool2d(s->kr, &s->fast, p->nc, x->data, c->out[0]->data, c->pool);
    return;
  }
  if (s->q8) {
    eo_q8_maxpool2d(&s->q8p, p->nc, x->data, c->out[0]->data, c->scratch, c->pool);
    return;
  }
  void *y = c->out[0] ? c->out[0]->data : c->scratch;
  int64_t *ind = c->n_out > 1 && c->out[1] ? c->out[1]->data : NULL;
  switch (x->dtype) {
    case EO_FLOAT: eo_f32_maxpool__ref(p, x->data, y, ind); break;
    case EO_DOUBLE: eo_f64_maxpool__ref(p, x->data, y, ind); break;
    case EO_UINT8: eo_u8_maxpool__ref(p, x->data, y, ind); break;
    case EO_INT8: eo_s8_maxpool__ref(p, x->data, y, ind); break;
    default: { /* float16: through f32 */
      int64_t nx = eo_tview_numel(x), ny = p->nc;
      for (int d = 0; d < p->nd; d++) ny *= p->out[d];
      float *xf = c->scratch, *yf = (float *)((char *)c->scratch + eo_pk_align((size_t)nx * sizeof(float)));
      eo_pk_to_f32(x->dtype, x->data, xf, nx);
      eo_f32_maxpool__ref(p, xf, yf, ind);
      if (c->out[0]) eo_pk_from_f32(x->dtype, yf, c->out[0]->data, ny);
    }
  }
}

static double max_pool_flops(const eo_op_ctx *c) {
  const int64_t *ks;
  int nk = eo_attr_ints(c->node, "kernel_shape", &ks);
  double k = 1;
  for (int i = 0; i < nk; i++) k *= (double)ks[i];
  const eo_tview *y = c->out[0] ? c->out[0] : (c->n_out > 1 ? c->out[1] : NULL);
  return y ? (double)eo_tview_numel(y) * k : 0;
}

EO_DEFINE_OP(max_pool, .name = "MaxPool", .infer = max_pool_infer, .prepare = max_pool_prepare,
             .forward = max_pool_forward, .release = free, .flops = max_pool_flops);
