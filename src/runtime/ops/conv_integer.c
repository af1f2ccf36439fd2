/* ConvInteger (opset 10): Y (int32) = Conv(X - x_zero_point, W - w_zero_point), int32 accumulation,
 * no bias. X and W int8 or uint8; x_zero_point a scalar, w_zero_point a scalar or one value per
 * output channel. Padded positions hold x_zero_point, so they add nothing (ONNX Runtime pads with
 * it too). Attributes as Conv's: auto_pad, dilations, group, kernel_shape, pads, strides; 1 to 3
 * spatial dims. Reference kernel: a direct loop (speed belongs to the fast runtime). */
#include <stdlib.h>
#include <string.h>

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

static eo_status convi_prepare(eo_op_ctx *c) {
  convi_geom *g = malloc(sizeof *g);
  int64_t dims[EO_MAX_RANK];
  if (!g) return eo_op_error(c, EO_ERR_NOMEM, "out of memory");
  eo_status st = convi_geometry(c, g, dims);
  if (st) free(g);
  else c->state = g;
  return st;
}

static void convi_forward(eo_op_ctx *c) {
  const convi_geom *g = c->state;
  const eo_tview *x = c->in[0], *w = c->in[1];
  const eo_tview *xz = c->n_in > 2 ? c->in[2] : NULL, *wz = c->n_in > 3 ? c->in[3] : NULL;
  int32_t zx = xz ? q8(xz->dtype, xz->data, 0) : 0;
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

static int64_t convi_flops(const eo_op_ctx *c) {
  const eo_tview *w = c->in[1];
  return 2 * eo_tview_numel(c->out[0]) * (eo_tview_numel(w) / (w->dims[0] ? w->dims[0] : 1));
}

EO_DEFINE_OP(conv_integer, .name = "ConvInteger", .infer = convi_infer, .prepare = convi_prepare,
             .forward = convi_forward, .release = free, .flops = convi_flops);
