/* ConvInteger (opset 10): Y (int32) = Conv(X - x_zero_point, W - w_zero_point), int32 accumulation,
 * no bias. X and W int8 or uint8; x_zero_point a scalar, w_zero_point a scalar or one value per
 * output channel. Padded positions hold x_zero_point, so they add nothing (ONNX Runtime pads with
 * it too). Attributes as Conv's: auto_pad, dilations, group, kernel_shape, pads, strides; 1 to 3
 * spatial dims.
 * Kernels: with AVX-512 VNNI and W and w_zero_point constant, QLinearConv's integer kernels
 * (kernels/x86/qs8-fast.h) with an int32 epilogue: the depthwise kernel (any weight zero points),
 * or the VPDPBUSD GEMM on w - w_zp converted once to int8 (when every value fits: int8 weights with
 * zero point 0, uint8 weights with zero point 128 as quantize --mode dynamic writes them, ...);
 * x_zero_point is read at each run (DynamicQuantizeLinear makes it). Else, and with force_ref, the
 * reference direct loop below. All give the same int32s. */
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/threads.h"
#include "runtime/kernels/x86/qs8-fast.h"
#include "runtime/op.h"
#include "runtime/ops/conv_attrs.h"

#define SP EO_CONV_MAX_SPATIAL

typedef struct convi_geom {
  int64_t n, cin, m, group;
  int64_t in[SP], out[SP], k[SP], stride[SP], dil[SP], pad[SP]; /* spatial dims right-aligned */
} convi_geom;

static int32_t q8(int dt, const void *p, int64_t i) {
  return dt == EO_INT8 ? ((const int8_t *)p)[i] : ((const uint8_t *)p)[i];
}

static eo_status convi_geometry(const eo_op_ctx *c, convi_geom *g, int64_t *ydims) {
  const eo_tview *x = c->n_in > 0 ? c->in[0] : NULL, *w = c->n_in > 1 ? c->in[1] : NULL;
  char s1[160], s2[160];
  if (!x || !w || c->n_in > 4 || c->n_out != 1 || !c->out[0])
    return eo_op_error(c, EO_ERR_INVALID, "expects 2 to 4 inputs (x, w, x_zero_point, w_zero_point) and 1 output");
  for (int k = 0; k < 2; k++)
    if (c->in[k]->dtype != EO_INT8 && c->in[k]->dtype != EO_UINT8)
      return eo_op_error(c, EO_ERR_UNSUPPORTED, "%s must be int8 or uint8, got %s", k ? "w" : "x",
                         eo_dtype_name(c->in[k]->dtype));
  int nsp = x->rank - 2;
  if (nsp < 1 || nsp > SP || w->rank != x->rank)
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "x %s and w %s: expected equal ranks with 1..%d spatial dims",
                       eo_shape_str(x->rank, x->dims, s1, sizeof s1), eo_shape_str(w->rank, w->dims, s2, sizeof s2), SP);
  memset(g, 0, sizeof *g);
  g->n = x->dims[0], g->cin = x->dims[1], g->m = w->dims[0];
  g->group = eo_attr_i(c->node, "group", 1);
  if (g->group < 1 || g->cin != w->dims[1] * g->group || g->m % g->group)
    return eo_op_error(c, EO_ERR_SHAPE, "x %s, w %s and group %lld do not agree", eo_shape_str(x->rank, x->dims, s1, sizeof s1),
                       eo_shape_str(w->rank, w->dims, s2, sizeof s2), (long long)g->group);
  const eo_tview *xz = c->n_in > 2 ? c->in[2] : NULL, *wz = c->n_in > 3 ? c->in[3] : NULL;
  if (xz && (xz->dtype != x->dtype || eo_tview_numel(xz) != 1))
    return eo_op_error(c, EO_ERR_INVALID, "x_zero_point must be one %s value", eo_dtype_name(x->dtype));
  if (wz && (wz->dtype != w->dtype || wz->rank > 1 || (eo_tview_numel(wz) != 1 && eo_tview_numel(wz) != g->m)))
    return eo_op_error(c, EO_ERR_INVALID, "w_zero_point must be %s, a scalar or %lld values (one per output channel)",
                       eo_dtype_name(w->dtype), (long long)g->m);
  int64_t strides[SP], dil[SP], pads[2 * SP];
  eo_auto_pad ap;
  eo_status st;
  if ((st = eo_conv_read_attrs(c, nsp, strides, dil, pads, NULL)) || (st = eo_read_auto_pad(c, &ap))) return st;
  ydims[0] = g->n;
  ydims[1] = g->m;
  int lead = SP - nsp;
  for (int d = 0; d < SP; d++) g->in[d] = g->out[d] = g->k[d] = g->stride[d] = g->dil[d] = 1;
  for (int d = 0; d < nsp; d++) {
    int64_t in = x->dims[2 + d], ek = (w->dims[2 + d] - 1) * dil[d] + 1, out, pb;
    if ((st = eo_conv_out_dim(c, d, in, ek, strides[d], pads[d], pads[nsp + d], ap, &out, &pb))) return st;
    ydims[2 + d] = out;
    g->in[lead + d] = in, g->out[lead + d] = out, g->k[lead + d] = w->dims[2 + d];
    g->stride[lead + d] = strides[d], g->dil[lead + d] = dil[d], g->pad[lead + d] = pb;
  }
  return EO_OK;
}

static eo_status convi_infer(eo_op_ctx *c) {
  convi_geom g;
  int64_t dims[EO_MAX_RANK];
  eo_status st = convi_geometry(c, &g, dims);
  if (!st) eo_tview_set_shape(c->out[0], EO_INT32, c->in[0]->rank, dims);
  return st;
}

typedef struct convi_state {
  convi_geom g;
  eo_qs8_conv_plan plan; /* plan.kind != 0: the fast kernels */
} convi_state;

static void convi_release(void *state) {
  convi_state *s = state;
  if (s && s->plan.kind) eo_qs8_conv_plan_free(&s->plan);
  free(s);
}

/* Plans the fast kernel into s->plan if it applies; false only when out of memory. */
static bool convi_plan(eo_op_ctx *c, convi_state *s) {
  const eo_tview *w = c->in[1], *wz = c->n_in > 3 ? c->in[3] : NULL;
  const convi_geom *g = &s->g;
  if (c->force_ref || eo_cpu_isa() < EO_ISA_AVX512 || !eo_cpu_info_get()->avx512vnni || !w->data || (wz && !wz->data))
    return true;
  eo_conv_params p = {.batch = g->n, .c_in = g->cin, .c_out = g->m, .groups = g->group, .act_op = -1};
  for (int d = 0; d < SP; d++) {
    p.in[d] = g->in[d], p.out[d] = g->out[d], p.k[d] = g->k[d];
    p.stride[d] = g->stride[d], p.dil[d] = g->dil[d], p.pad[d] = g->pad[d];
    if (p.in[d] < 1 || p.out[d] < 1 || p.k[d] < 1) return true;
  }
  if (p.batch < 1 || p.c_out < 1 || p.c_in < 1) return true;
  int64_t nw = eo_tview_numel(w), per = nw / p.c_out;
  int32_t *wzp = eo_malloc((size_t)p.c_out * sizeof(int32_t));
  if (!wzp) return false;
  for (int64_t oc = 0; oc < p.c_out; oc++) wzp[oc] = wz ? q8(wz->dtype, wz->data, eo_tview_numel(wz) == 1 ? 0 : oc) : 0;
  int nwk = eo_threadpool_size(c->pool);
  bool xs8 = c->in[0]->dtype == EO_INT8, ok = true;
  if (eo_qs8_dw_ok(&p)) {
    ok = eo_qs8_conv_plan_init_i32(&s->plan, EO_QS8_DW_AVX512, &p, xs8, w->dtype == EO_INT8, w->data, wzp, nwk);
  } else {
    // the GEMM wants int8 weights with zero point 0: w - w_zp when all of them fit
    int8_t *w8 = eo_malloc((size_t)(nw ? nw : 1));
    int32_t *zero = eo_calloc((size_t)p.c_out, sizeof(int32_t));
    bool fits = w8 && zero;
    for (int64_t i = 0; fits && i < nw; i++) {
      int32_t v = q8(w->dtype, w->data, i) - wzp[i / per];
      fits = v >= -128 && v <= 127;
      if (fits) w8[i] = (int8_t)v;
    }
    if (fits) ok = eo_qs8_conv_plan_init_i32(&s->plan, EO_QS8_GEMM_VNNI, &p, xs8, true, w8, zero, nwk);
    else ok = w8 && zero;
    free(w8);
    free(zero);
  }
  free(wzp);
  if (!ok) {
    eo_qs8_conv_plan_free(&s->plan);
    s->plan.kind = 0;
    return false;
  }
  if (s->plan.kind) {
    c->scratch_bytes = eo_qs8_conv_plan_scratch(&s->plan) + 64;  // + room to align to 64
    c->local_bytes = eo_qs8_conv_plan_local(&s->plan);
    c->packed_bytes = eo_qs8_conv_plan_packed_bytes(&s->plan);
    c->captured_inputs = 1u << 1;  // (non-zero scratch: forward takes the plan, never W)
  }
  return true;
}

static eo_status convi_prepare(eo_op_ctx *c) {
  convi_state *s = eo_calloc(1, sizeof *s);
  int64_t dims[EO_MAX_RANK];
  if (!s) return eo_op_error(c, EO_ERR_NOMEM, "out of memory");
  eo_status st = convi_geometry(c, &s->g, dims);
  if (st) {
    free(s);
    return st;
  }
  if (!convi_plan(c, s)) {
    free(s);
    return eo_op_error(c, EO_ERR_NOMEM, "out of memory packing the weights");
  }
  c->state = s;
  return EO_OK;
}

static void convi_forward(eo_op_ctx *c) {
  const convi_state *s = c->state;
  const convi_geom *g = &s->g;
  const eo_tview *x = c->in[0], *w = c->in[1];
  const eo_tview *xz = c->n_in > 2 ? c->in[2] : NULL, *wz = c->n_in > 3 ? c->in[3] : NULL;
  int32_t zx = xz ? q8(xz->dtype, xz->data, 0) : 0;
  if (s->plan.kind && c->scratch) {  // (a caller that gives no scratch gets the reference loop)
    eo_qconv_quant q = {.x_signed = x->dtype == EO_INT8, .x_zp = zx};
    void *scratch = (void *)(((uintptr_t)c->scratch + 63) & ~(uintptr_t)63);
    eo_qs8_conv_plan_run(&s->plan, &q, x->data, c->out[0]->data, scratch, c->pool);
    return;
  }
  int64_t cg = g->cin / g->group, mg = g->m / g->group;
  int64_t isz = g->in[0] * g->in[1] * g->in[2];
  int64_t ksz = g->k[0] * g->k[1] * g->k[2];
  int32_t *y = c->out[0]->data;
  for (int64_t b = 0; b < g->n; b++)
    for (int64_t m = 0; m < g->m; m++) {
      int32_t zw = wz ? q8(wz->dtype, wz->data, eo_tview_numel(wz) == 1 ? 0 : m) : 0;
      int64_t grp = m / mg;
      for (int64_t o0 = 0; o0 < g->out[0]; o0++)
        for (int64_t o1 = 0; o1 < g->out[1]; o1++)
          for (int64_t o2 = 0; o2 < g->out[2]; o2++) {
            int32_t acc = 0;
            for (int64_t ci = 0; ci < cg; ci++) {
              int64_t xb = (b * g->cin + grp * cg + ci) * isz, wb = (m * cg + ci) * ksz;
              for (int64_t k0 = 0; k0 < g->k[0]; k0++) {
                int64_t i0 = o0 * g->stride[0] - g->pad[0] + k0 * g->dil[0];
                if (i0 < 0 || i0 >= g->in[0]) continue;
                for (int64_t k1 = 0; k1 < g->k[1]; k1++) {
                  int64_t i1 = o1 * g->stride[1] - g->pad[1] + k1 * g->dil[1];
                  if (i1 < 0 || i1 >= g->in[1]) continue;
                  for (int64_t k2 = 0; k2 < g->k[2]; k2++) {
                    int64_t i2 = o2 * g->stride[2] - g->pad[2] + k2 * g->dil[2];
                    if (i2 < 0 || i2 >= g->in[2]) continue;
                    int32_t xv = q8(x->dtype, x->data, xb + (i0 * g->in[1] + i1) * g->in[2] + i2) - zx;
                    int32_t wv = q8(w->dtype, w->data, wb + (k0 * g->k[1] + k1) * g->k[2] + k2) - zw;
                    acc += xv * wv;
                  }
                }
              }
            }
            y[((b * g->m + m) * g->out[0] + o0) * g->out[1] * g->out[2] + o1 * g->out[2] + o2] = acc;
          }
    }
}

static double convi_flops(const eo_op_ctx *c) {
  const eo_tview *w = c->in[1];
  return 2.0 * (double)eo_tview_numel(c->out[0]) * (double)(eo_tview_numel(w) / (w->dims[0] ? w->dims[0] : 1));
}

EO_DEFINE_OP(conv_integer, .name = "ConvInteger", .infer = convi_infer, .prepare = convi_prepare,
             .forward = convi_forward, .release = convi_release, .flops = convi_flops);
