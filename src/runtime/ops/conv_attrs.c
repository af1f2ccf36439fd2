/* Attribute and geometry parsing shared by Conv, ConvTranspose and the pools (conv_attrs.h). */
#include "runtime/ops/conv_attrs.h"

#include <string.h>

#include "runtime/activation.h"

eo_status eo_read_ints_attr(const eo_op_ctx *c, const char *name, int n, int64_t min_v, int64_t max_v, int64_t def,
                            int64_t *out) {
  const int64_t *v;
  int cnt = eo_attr_ints(c->node, name, &v);
  if (cnt < 0) {
    for (int i = 0; i < n; i++) out[i] = def;
    return EO_OK;
  }
  if (cnt != n) return eo_op_error(c, EO_ERR_INVALID, "attribute %s has %d values, expected %d", name, cnt, n);
  for (int i = 0; i < n; i++) {
    if (v[i] < min_v || v[i] > max_v) {
      if (max_v == INT64_MAX)
        return eo_op_error(c, EO_ERR_INVALID, "attribute %s[%d] = %lld, expected >= %lld", name, i, (long long)v[i],
                           (long long)min_v);
      return eo_op_error(c, EO_ERR_INVALID, "attribute %s[%d] = %lld, expected %lld..%lld", name, i, (long long)v[i],
                         (long long)min_v, (long long)max_v);
    }
    out[i] = v[i];
  }
  return EO_OK;
}

eo_status eo_read_auto_pad(const eo_op_ctx *c, eo_auto_pad *out) {
  const char *ap = eo_attr_s(c->node, "auto_pad", "NOTSET");
  if (strcmp(ap, "SAME_UPPER") == 0) *out = EO_AUTO_PAD_SAME_UPPER;
  else if (strcmp(ap, "SAME_LOWER") == 0) *out = EO_AUTO_PAD_SAME_LOWER;
  else if (strcmp(ap, "VALID") == 0) *out = EO_AUTO_PAD_VALID;
  else if (strcmp(ap, "NOTSET") == 0 || !ap[0]) *out = EO_AUTO_PAD_NOTSET;
  else return eo_op_error(c, EO_ERR_INVALID, "auto_pad '%s', expected NOTSET, VALID, SAME_UPPER or SAME_LOWER", ap);
  return EO_OK;
}

int64_t eo_same_pad(int64_t in, int64_t stride, int64_t ek, bool upper, int64_t *pad_begin, int64_t *pad_total) {
  int64_t out = (in + stride - 1) / stride; /* in >= 1 */
  int64_t total = (out - 1) * stride + ek - in;
  if (total < 0) total = 0;
  *pad_begin = upper ? total / 2 : total - total / 2;
  *pad_total = total;
  return out;
}

eo_status eo_conv_out_dim(const eo_op_ctx *c, int d, int64_t in, int64_t ek, int64_t stride, int64_t pb, int64_t pe,
                          eo_auto_pad ap, int64_t *out, int64_t *pad_begin) {
  int64_t o;
  if (ap == EO_AUTO_PAD_SAME_UPPER || ap == EO_AUTO_PAD_SAME_LOWER) {
    int64_t total;
    o = eo_same_pad(in, stride, ek, ap == EO_AUTO_PAD_SAME_UPPER, &pb, &total);
  } else {
    if (ap == EO_AUTO_PAD_VALID) pb = pe = 0;
    o = in + pb + pe < ek ? 0 : (in + pb + pe - ek) / stride + 1;
  }
  if (o < 1)
    return eo_op_error(c, EO_ERR_SHAPE, "spatial dim %d: input %lld with pads %lld+%lld is smaller than the dilated kernel %lld",
                       d, (long long)in, (long long)pb, (long long)pe, (long long)ek);
  *out = o;
  *pad_begin = pb;
  return EO_OK;
}

eo_status eo_conv_check_inputs(const eo_op_ctx *c, int *nsp, int64_t *group) {
  const eo_tview *x = c->in[0], *w = c->n_in > 1 ? c->in[1] : NULL, *b = c->n_in > 2 ? c->in[2] : NULL;
  char s1[160], s2[160];
  if (!x || !w) return eo_op_error(c, EO_ERR_INVALID, "inputs X and W are required");
  if (!c->out[0]) return eo_op_error(c, EO_ERR_INVALID, "output Y is required");
  if (x->dtype != EO_FLOAT || w->dtype != EO_FLOAT || (b && b->dtype != EO_FLOAT))
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "X/W/B have dtypes %s/%s/%s, expected float32", eo_dtype_name(x->dtype),
                       eo_dtype_name(w->dtype), b ? eo_dtype_name(b->dtype) : "-");
  *nsp = x->rank - 2;
  if (*nsp < 1 || *nsp > EO_CONV_MAX_SPATIAL)
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
  *group = eo_attr_i(c->node, "group", 1);
  if (*group < 1) return eo_op_error(c, EO_ERR_INVALID, "group = %lld, expected >= 1", (long long)*group);
  return EO_OK;
}

eo_status eo_conv_read_attrs(const eo_op_ctx *c, int nsp, int64_t *strides, int64_t *dil, int64_t *pads,
                             int64_t *opad) {
  const eo_tview *w = c->in[1];
  int64_t ks[EO_CONV_MAX_SPATIAL];
  char s1[160];
  eo_status st;
  if ((st = eo_read_ints_attr(c, "kernel_shape", nsp, 1, INT64_MAX, 1, ks)) ||
      (st = eo_read_ints_attr(c, "strides", nsp, 1, INT64_MAX, 1, strides)) ||
      (st = eo_read_ints_attr(c, "dilations", nsp, 1, INT64_MAX, 1, dil)) ||
      (st = eo_read_ints_attr(c, "pads", 2 * nsp, 0, INT64_MAX, 0, pads)) ||
      (opad && (st = eo_read_ints_attr(c, "output_padding", nsp, 0, INT64_MAX, 0, opad))))
    return st;
  const int64_t *kattr;
  if (eo_attr_ints(c->node, "kernel_shape", &kattr) >= 0)
    for (int d = 0; d < nsp; d++)
      if (ks[d] != w->dims[2 + d])
        return eo_op_error(c, EO_ERR_SHAPE, "kernel_shape[%d] = %lld but W %s has %lld there", d, (long long)ks[d],
                           eo_shape_str(w->rank, w->dims, s1, sizeof s1), (long long)w->dims[2 + d]);
  return EO_OK;
}

eo_status eo_conv_params_fill(const eo_op_ctx *c, int nsp, int64_t c_out, int64_t group, const int64_t *strides,
                              const int64_t *dil, const int64_t *out_sp, const int64_t *pad_begin, eo_conv_params *p) {
  const eo_tview *x = c->in[0], *w = c->in[1];
  memset(p, 0, sizeof *p);
  int lead = EO_CONV_MAX_SPATIAL - nsp;
  for (int d = 0; d < EO_CONV_MAX_SPATIAL; d++) {
    p->in[d] = p->out[d] = p->k[d] = p->stride[d] = p->dil[d] = 1;
    p->pad[d] = 0;
  }
  for (int d = 0; d < nsp; d++) {
    p->in[lead + d] = x->dims[2 + d];
    p->out[lead + d] = out_sp[d];
    p->k[lead + d] = w->dims[2 + d];
    p->stride[lead + d] = strides[d];
    p->dil[lead + d] = dil[d];
    p->pad[lead + d] = pad_begin[d];
  }
  p->batch = x->dims[0];
  p->c_in = x->dims[1];
  p->c_out = c_out;
  p->groups = group;
  return eo_fused_activation(c, &p->act_op, &p->act_alpha, &p->act_beta);
}

eo_status eo_conv_forward_geometry(const eo_op_ctx *c, int nsp, int64_t c_out, int64_t group, int64_t *out_dims,
                                   eo_conv_params *p) {
  const eo_tview *x = c->in[0], *w = c->in[1];
  int64_t strides[EO_CONV_MAX_SPATIAL], dil[EO_CONV_MAX_SPATIAL], pads[2 * EO_CONV_MAX_SPATIAL];
  int64_t out_sp[EO_CONV_MAX_SPATIAL] = {0}, pad_begin[EO_CONV_MAX_SPATIAL] = {0};  // set for d < nsp
  eo_auto_pad ap;
  eo_status st;
  if ((st = eo_conv_read_attrs(c, nsp, strides, dil, pads, NULL)) || (st = eo_read_auto_pad(c, &ap))) return st;
  out_dims[0] = x->dims[0];
  out_dims[1] = c_out;
  for (int d = 0; d < nsp; d++) {
    int64_t ek = (w->dims[2 + d] - 1) * dil[d] + 1;
    if ((st = eo_conv_out_dim(c, d, x->dims[2 + d], ek, strides[d], pads[d], pads[nsp + d], ap, &out_sp[d],
                              &pad_begin[d])))
      return st;
    out_dims[2 + d] = out_sp[d];
  }
  return eo_conv_params_fill(c, nsp, c_out, group, strides, dil, out_sp, pad_begin, p);
}
