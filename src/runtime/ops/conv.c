/* Conv (opsets 1-22): float32, 1-D/2-D/3-D, groups (depthwise included), strides, dilations,
 * explicit or automatic padding (NOTSET, VALID, SAME_UPPER, SAME_LOWER), optional bias,
 * kernel_shape inferred from W, and a fused activation epilogue (node->fused_act).
 * Kernels: the fast plan of kernels/fast.h (weights packed here at prepare; depthwise, 1x1 and
 * im2col paths on the ISA the CPU has) when W is a constant; else, and with force_ref,
 * eo_f32_conv__ref (im2col + blocked GEMM, direct loop for depthwise). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/activation.h"
#include "runtime/kernels/fast.h"
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

/* Resolves the geometry from input shapes and attributes; out_dims gets Y's shape (rank of X). */
static eo_status conv_geometry(const eo_op_ctx *c, eo_conv_params *p, int64_t *out_dims) {
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
  int64_t cin = x->dims[1], m = w->dims[0];
  if (w->dims[1] * group != cin)
    return eo_op_error(c, EO_ERR_SHAPE, "W %s with group %lld expects %lld input channels, X %s has %lld",
                       eo_shape_str(w->rank, w->dims, s1, sizeof s1), (long long)group,
                       (long long)(w->dims[1] * group), eo_shape_str(x->rank, x->dims, s2, sizeof s2), (long long)cin);
  if (m % group != 0)
    return eo_op_error(c, EO_ERR_SHAPE, "W has %lld output channels, not divisible by group %lld", (long long)m,
                       (long long)group);
  if (b && (b->rank != 1 || b->dims[0] != m))
    return eo_op_error(c, EO_ERR_SHAPE, "B has shape %s, expected [%lld]", eo_shape_str(b->rank, b->dims, s1, sizeof s1),
                       (long long)m);

  int64_t ks[EO_CONV_MAX_SPATIAL], strides[EO_CONV_MAX_SPATIAL], dil[EO_CONV_MAX_SPATIAL];
  int64_t pads[2 * EO_CONV_MAX_SPATIAL];
  if ((st = read_ints(c, "kernel_shape", nsp, 1, 1, ks)) || (st = read_ints(c, "strides", nsp, 1, 1, strides)) ||
      (st = read_ints(c, "dilations", nsp, 1, 1, dil)) || (st = read_ints(c, "pads", 2 * nsp, 0, 0, pads)))
    return st;
  const int64_t *kattr;
  if (eo_attr_ints(c->node, "kernel_shape", &kattr) >= 0)
    for (int d = 0; d < nsp; d++)
      if (ks[d] != w->dims[2 + d])
        return eo_op_error(c, EO_ERR_SHAPE, "kernel_shape[%d] = %lld but W %s has %lld there", d, (long long)ks[d],
                           eo_shape_str(w->rank, w->dims, s1, sizeof s1), (long long)w->dims[2 + d]);
  const char *ap = eo_attr_s(c->node, "auto_pad", "NOTSET");
  bool upper = strcmp(ap, "SAME_UPPER") == 0, lower = strcmp(ap, "SAME_LOWER") == 0, valid = strcmp(ap, "VALID") == 0;
  if (!upper && !lower && !valid && strcmp(ap, "NOTSET") != 0 && ap[0])
    return eo_op_error(c, EO_ERR_INVALID, "auto_pad '%s', expected NOTSET, VALID, SAME_UPPER or SAME_LOWER", ap);

  /* Spatial dims right-aligned into 3 (1-D and 2-D get leading extents of 1). */
  int lead = EO_CONV_MAX_SPATIAL - nsp;
  for (int d = 0; d < EO_CONV_MAX_SPATIAL; d++) {
    p->in[d] = p->out[d] = p->k[d] = p->stride[d] = p->dil[d] = 1;
    p->pad[d] = 0;
  }
  out_dims[0] = x->dims[0];
  out_dims[1] = m;
  for (int d = 0; d < nsp; d++) {
    int64_t in = x->dims[2 + d], k = w->dims[2 + d], s = strides[d], ek = (k - 1) * dil[d] + 1;
    int64_t pb = pads[d], pe = pads[nsp + d], out;
    if (upper || lower) {
      /* Output covers ceil(in / stride) positions; the odd padding goes to the end (SAME_UPPER)
       * or the beginning (SAME_LOWER). */
      out = (in + s - 1) / s;
      int64_t total = (out - 1) * s + ek - in;
      if (total < 0) total = 0;
      pb = upper ? total / 2 : total - total / 2;
    } else {
      if (valid) pb = pe = 0;
      out = in + pb + pe < ek ? 0 : (in + pb + pe - ek) / s + 1;
    }
    if (out < 1)
      return eo_op_error(c, EO_ERR_SHAPE, "spatial dim %d: input %lld with pads %lld+%lld is smaller than the dilated kernel %lld",
                         d, (long long)in, (long long)pb, (long long)pe, (long long)ek);
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
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "fused activation %s cannot run in the Conv epilogue", eo_op_name(p->act_op));
  return EO_OK;
}

static eo_status conv_infer(eo_op_ctx *c) {
  eo_conv_params p;
  int64_t dims[EO_MAX_RANK];
  eo_status st = conv_geometry(c, &p, dims);
  if (st) return st;
  eo_tview_set_shape(c->out[0], EO_FLOAT, c->in[0]->rank, dims);
  return EO_OK;
}

typedef struct conv_state {
  eo_conv_params p;
  eo_f32_conv_plan *plan;  /* NULL: reference kernel */
} conv_state;

static void conv_release(void *state) {
  conv_state *s = state;
  if (s) eo_f32_conv_plan_free(s->plan);
  free(s);
}

static eo_status conv_prepare(eo_op_ctx *c) {
  conv_state *s = calloc(1, sizeof *s);
  int64_t dims[EO_MAX_RANK];
  if (!s) return eo_op_error(c, EO_ERR_NOMEM, "out of memory");
  eo_status st = conv_geometry(c, &s->p, dims);
  if (st) {
    free(s);
    return st;
  }
  c->state = s;
  const eo_f32_kernels_t *kr = c->force_ref ? NULL : eo_f32_kernels(eo_cpu_isa());
  if (kr && c->in[1]->data && eo_numel(c->out[0]->rank, c->out[0]->dims) > 0) {
    if ((st = eo_f32_conv_plan_create(kr, &s->p, c->in[1]->data, eo_threadpool_size(c->pool), &s->plan))) {
      char msg[256];
      snprintf(msg, sizeof msg, "%s", eo_last_error());
      conv_release(s);
      c->state = NULL;
      return eo_op_error(c, st, "%s", msg);
    }
    c->scratch_bytes = eo_f32_conv_plan_scratch(s->plan);
  } else {
    c->scratch_bytes = eo_f32_conv_scratch__ref(&s->p);
  }
  return EO_OK;
}

static void conv_forward(eo_op_ctx *c) {
  const conv_state *s = c->state;
  const eo_tview *b = c->n_in > 2 ? c->in[2] : NULL;
  if (s->plan)
    eo_f32_conv_run(s->plan, c->in[0]->data, b ? b->data : NULL, c->out[0]->data, c->pool, c->scratch);
  else
    eo_f32_conv__ref(&s->p, c->in[0]->data, c->in[1]->data, b ? b->data : NULL, c->out[0]->data, c->scratch);
}

/* 2 * MACs: every output element sums Cg * kvol products. */
static int64_t conv_flops(const eo_op_ctx *c) {
  const eo_tview *w = c->in[1];
  return 2 * eo_tview_numel(c->out[0]) * (eo_numel(w->rank - 1, w->dims + 1));
}

EO_DEFINE_OP(conv, .name = "Conv", .infer = conv_infer, .prepare = conv_prepare, .forward = conv_forward,
             .release = conv_release, .flops = conv_flops);
