/* ConvTranspose (opsets 1-22): float32, 1-D/2-D/3-D, groups, strides, dilations, pads,
 * output_padding, output_shape, auto_pad (NOTSET, VALID, SAME_UPPER, SAME_LOWER), optional bias,
 * and a fused activation epilogue. Kernel: eo_f32_convt__ref (GEMM + col2im). */
#include <stdlib.h>
#include <string.h>

#include "runtime/activation.h"
#include "runtime/kernels/ref/ref_kernels.h"
#include "runtime/op.h"

/* Reads an optional INTS attribute of exactly `n` values, each >= min_v; absent -> def. */
static eo_status read_ints(const eo_op_ctx *c, const char *name, int n, int64_t min_v, int64_t def, int64_t *out) {
  const int64_t *v;
  int cnt = eo_attr_ints(c->node, name, &v);
  if (cnt < 0) {
    for (int i = 0; i < n; i++) out[i] = def;
    return EO_OK;
  }
  if (cnt != n) return eo_op_error(c, EO_ERR_INVALID, "attribute %s has %d values, expected %d", name, cnt, n);
  for (int i = 0; i < n; i++) {
    if (v[i] < min_v)
      return eo_op_error(c, EO_ERR_INVALID, "attribute %s[%d] = %lld, expected >= %lld", name, i, (long long)v[i],
                         (long long)min_v);
    out[i] = v[i];
  }
  return EO_OK;
}

/* Python's t // 2 (the spec's formulas are written for it; total padding can be negative). */
static int64_t floor_half(int64_t t) { return t >= 0 ? t / 2 : -((-t + 1) / 2); }

static eo_status convt_geometry(const eo_op_ctx *c, eo_conv_params *p, int64_t *out_dims) {
  const eo_tview *x = c->in[0], *w = c->n_in > 1 ? c->in[1] : NULL, *b = c->n_in > 2 ? c->in[2] : NULL;
  char s1[160], s2[160];
  eo_status st;
  memset(p, 0, sizeof *p);
  if (!x || !w) return eo_op_error(c, EO_ERR_INVALID, "inputs X and W are required");
  if (!c->out[0]) return eo_op_error(c, EO_ERR_INVALID, "output Y is required");
  if (x->dtype != EO_FLOAT || w->dtype != EO_FLOAT || (b && b->dtype != EO_FLOAT))
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "X/W/B have dtypes %s/%s/%s, expected float32", eo_dtype_name(x->dtype),
                       eo_dtype_name(w->dtype), b ? eo_dtype_name(b->dtype) : "-");
  int nsp = x->rank - 2;
  if (nsp < 1 || nsp > EO_CONV_MAX_SPATIAL)
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "X has shape %s, expected rank 3..%d (N, C, 1..%d spatial dims)",
                       eo_shape_str(x->rank, x->dims, s1, sizeof s1), EO_CONV_MAX_SPATIAL + 2, EO_CONV_MAX_SPATIAL);
  if (w->rank != x->rank)
    return eo_op_error(c, EO_ERR_SHAPE, "W has shape %s, expected rank %d like X %s",
                       eo_shape_str(w->rank, w->dims, s1, sizeof s1), x->rank,
                       eo_shape_str(x->rank, x->dims, s2, sizeof s2));
  for (int i = 0; i < x->rank; i++)
    if (x->dims[i] < 0 || w->dims[i] < 1 || (i >= 2 && x->dims[i] < 1))
      return eo_op_error(c, EO_ERR_SHAPE, "X %s / W %s have unknown or empty dims",
                         eo_shape_str(x->rank, x->dims, s1, sizeof s1), eo_shape_str(w->rank, w->dims, s2, sizeof s2));
  int64_t group = eo_attr_i(c->node, "group", 1);
  if (group < 1) return eo_op_error(c, EO_ERR_INVALID, "group = %lld, expected >= 1", (long long)group);
  int64_t cin = x->dims[1], m = w->dims[1] * group;
  if (w->dims[0] != cin || cin % group != 0)
    return eo_op_error(c, EO_ERR_SHAPE, "W %s expects [C=%lld, M/group, k...] with C divisible by group %lld (X is %s)",
                       eo_shape_str(w->rank, w->dims, s1, sizeof s1), (long long)cin, (long long)group,
                       eo_shape_str(x->rank, x->dims, s2, sizeof s2));
  if (b && (b->rank != 1 || b->dims[0] != m))
    return eo_op_error(c, EO_ERR_SHAPE, "B has shape %s, expected [%lld]", eo_shape_str(b->rank, b->dims, s1, sizeof s1),
                       (long long)m);

  int64_t ks[EO_CONV_MAX_SPATIAL], strides[EO_CONV_MAX_SPATIAL], dil[EO_CONV_MAX_SPATIAL], opad[EO_CONV_MAX_SPATIAL];
  int64_t pads[2 * EO_CONV_MAX_SPATIAL];
  if ((st = read_ints(c, "kernel_shape", nsp, 1, 1, ks)) || (st = read_ints(c, "strides", nsp, 1, 1, strides)) ||
      (st = read_ints(c, "dilations", nsp, 1, 1, dil)) || (st = read_ints(c, "pads", 2 * nsp, 0, 0, pads)) ||
      (st = read_ints(c, "output_padding", nsp, 0, 0, opad)))
    return st;
  const int64_t *v;
  if (eo_attr_ints(c->node, "kernel_shape", &v) >= 0)
    for (int d = 0; d < nsp; d++)
      if (ks[d] != w->dims[2 + d])
        return eo_op_error(c, EO_ERR_SHAPE, "kernel_shape[%d] = %lld but W %s has %lld there", d, (long long)ks[d],
                           eo_shape_str(w->rank, w->dims, s1, sizeof s1), (long long)w->dims[2 + d]);
  /* output_shape lists the spatial dims; some exporters write the full [N, C, ...] shape. */
  const int64_t *os = NULL;
  int n_os = eo_attr_ints(c->node, "output_shape", &os);
  if (n_os == nsp + 2) {
    os += 2;
  } else if (n_os >= 0 && n_os != nsp) {
    return eo_op_error(c, EO_ERR_INVALID, "attribute output_shape has %d values, expected %d", n_os, nsp);
  }
  if (n_os < 0) os = NULL;
  const char *ap = eo_attr_s(c->node, "auto_pad", "NOTSET");
  bool upper = strcmp(ap, "SAME_UPPER") == 0, lower = strcmp(ap, "SAME_LOWER") == 0, valid = strcmp(ap, "VALID") == 0;
  if (!upper && !lower && !valid && strcmp(ap, "NOTSET") != 0 && ap[0])
    return eo_op_error(c, EO_ERR_INVALID, "auto_pad '%s', expected NOTSET, VALID, SAME_UPPER or SAME_LOWER", ap);

  int lead = EO_CONV_MAX_SPATIAL - nsp;
  for (int d = 0; d < EO_CONV_MAX_SPATIAL; d++) {
    p->in[d] = p->out[d] = p->k[d] = p->stride[d] = p->dil[d] = 1;
    p->pad[d] = 0;
  }
  out_dims[0] = x->dims[0];
  out_dims[1] = m;
  for (int d = 0; d < nsp; d++) {
    int64_t in = x->dims[2 + d], k = w->dims[2 + d], s = strides[d];
    int64_t natural = s * (in - 1) + opad[d] + (k - 1) * dil[d] + 1;
    int64_t pb = pads[d], pe = pads[nsp + d], out;
    if (os || upper || lower) {
      /* Pads derived from the requested size: the odd one at the end for SAME_UPPER, else at the
       * beginning. Negative totals (output larger than natural) extend the end with bias only. */
      out = os ? os[d] : in * s;
      int64_t total = natural - out;
      pb = upper ? floor_half(total) : total - floor_half(total);
    } else {
      if (valid) pb = pe = 0;
      out = natural - pb - pe;
    }
    if (out < 1)
      return eo_op_error(c, EO_ERR_SHAPE, "spatial dim %d: output size %lld, expected >= 1 (input %lld, pads %lld+%lld)", d,
                         (long long)out, (long long)in, (long long)pb, (long long)pe);
    out_dims[2 + d] = out;
    p->in[lead + d] = in;
    p->out[lead + d] = out;
    p->k[lead + d] = k;
    p->stride[lead + d] = s;
    p->dil[lead + d] = dil[d];
    p->pad[lead + d] = pb;
  }
  p->batch = x->dims[0];
  p->c_in = cin;
  p->c_out = m;
  p->groups = group;
  p->act_op = c->node->fused_act;
  p->act_alpha = c->node->act_alpha;
  p->act_beta = c->node->act_beta;
  if (p->act_op >= 0 && !eo_activation_fusable(p->act_op))
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "fused activation %s cannot run in the ConvTranspose epilogue",
                       eo_op_name(p->act_op));
  return EO_OK;
}

static eo_status convt_infer(eo_op_ctx *c) {
  eo_conv_params p;
  int64_t dims[EO_MAX_RANK];
  eo_status st = convt_geometry(c, &p, dims);
  if (st) return st;
  eo_tview_set_shape(c->out[0], EO_FLOAT, c->in[0]->rank, dims);
  return EO_OK;
}

static eo_status convt_prepare(eo_op_ctx *c) {
  eo_conv_params *p = malloc(sizeof *p);
  int64_t dims[EO_MAX_RANK];
  if (!p) return eo_op_error(c, EO_ERR_NOMEM, "out of memory");
  eo_status st = convt_geometry(c, p, dims);
  if (st) {
    free(p);
    return st;
  }
  c->state = p;
  c->scratch_bytes = eo_f32_convt_scratch__ref(p);
  return EO_OK;
}

static void convt_forward(eo_op_ctx *c) {
  const eo_tview *b = c->n_in > 2 ? c->in[2] : NULL;
  eo_f32_convt__ref(c->state, c->in[0]->data, c->in[1]->data, b ? b->data : NULL, c->out[0]->data, c->scratch);
}

static void convt_release(void *state) { free(state); }

/* 2 * MACs: every input element meets (M / group) * kvol weights. */
static int64_t convt_flops(const eo_op_ctx *c) {
  const eo_tview *w = c->in[1];
  return 2 * eo_tview_numel(c->in[0]) * eo_numel(w->rank - 1, w->dims + 1);
}

EO_DEFINE_OP(conv_transpose, .name = "ConvTranspose", .infer = convt_infer, .prepare = convt_prepare,
             .forward = convt_forward, .release = convt_release, .flops = convt_flops);
