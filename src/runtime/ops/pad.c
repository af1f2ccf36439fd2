/* Pad (opset 2-10: 'pads' and 'value' attributes; 11+: inputs pads, constant_value, and axes at 18+).
 * Modes constant, reflect, edge, wrap (opset 19). pads = [b_0 .. b_{n-1}, e_0 .. e_{n-1}]; negative
 * pads crop, and the other modes pad from the cropped input (as ONNX Runtime does). */
#include <string.h>

#include "runtime/kernels/ref/move_kernels.h"

typedef struct pad_params {
  eo_pad_axis ax[EO_MAX_RANK];
  int mode;
} pad_params;

static eo_status pad_get(const eo_op_ctx *c, pad_params *p) {
  const eo_tview *x = c->in[0];
  const char *mode = eo_attr_s(c->node, "mode", "constant");
  if (strcmp(mode, "constant") == 0) p->mode = EO_PAD_CONSTANT;
  else if (strcmp(mode, "reflect") == 0) p->mode = EO_PAD_REFLECT;
  else if (strcmp(mode, "edge") == 0) p->mode = EO_PAD_EDGE;
  else if (strcmp(mode, "wrap") == 0) p->mode = EO_PAD_WRAP;
  else return eo_op_error(c, EO_ERR_INVALID, "mode '%s' is not one of constant, reflect, edge, wrap", mode);

  int64_t pads[2 * EO_MAX_RANK], axes[EO_MAX_RANK];
  int np = 0, na = -1;
  eo_status st;
  if (c->opset < 11) {
    const int64_t *a;
    np = eo_attr_ints(c->node, "pads", &a);
    if (np < 0) return eo_op_error(c, EO_ERR_INVALID, "attribute 'pads' is required");
    if (np > 2 * EO_MAX_RANK) return eo_op_error(c, EO_ERR_INVALID, "'pads' has %d values", np);
    if (np) memcpy(pads, a, (size_t)np * sizeof *a);
  } else {
    if ((st = eo_move_const_ints(c, 1, "pads", pads, 2 * EO_MAX_RANK, &np))) return st;
    if (c->opset >= 18 && c->n_in > 3 && c->in[3] && (st = eo_move_const_ints(c, 3, "axes", axes, EO_MAX_RANK, &na)))
      return st;
  }
  int n = na >= 0 ? na : x->rank;
  if (np != 2 * n)
    return eo_op_error(c, EO_ERR_INVALID, "'pads' has %d values, expected %d (2 per %s)", np, 2 * n,
                       na >= 0 ? "listed axis" : "input axis");
  bool seen[EO_MAX_RANK] = {false};
  for (int k = 0; k < x->rank; k++)
    p->ax[k] = (eo_pad_axis){.in_dim = x->dims[k], .out_dim = x->dims[k], .before = 0, .lo = 0, .len = x->dims[k]};
  for (int i = 0; i < n; i++) {
    int k = i;
    if (na >= 0 && (st = eo_norm_axis(c, axes[i], x->rank, &k))) return st;
    if (seen[k]) return eo_op_error(c, EO_ERR_INVALID, "axis %d is listed twice", k);
    seen[k] = true;
    int64_t b = pads[i], e = pads[i + n], d = x->dims[k];
    eo_pad_axis *a = &p->ax[k];
    a->lo = b < 0 ? -b : 0;
    a->len = d - a->lo - (e < 0 ? -e : 0);
    a->before = b > 0 ? b : 0;
    if (a->len < 0)
      return eo_op_error(c, EO_ERR_SHAPE, "pads %lld, %lld crop more than axis %d of size %lld", (long long)b, (long long)e,
                         k, (long long)d);
    a->out_dim = a->len + a->before + (e > 0 ? e : 0);
    if (a->len == 0 && a->out_dim > 0 && p->mode != EO_PAD_CONSTANT)
      return eo_op_error(c, EO_ERR_SHAPE, "mode '%s' cannot pad axis %d, which is empty", mode, k);
  }
  return EO_OK;
}

static eo_status pad_infer(eo_op_ctx *c) {
  if (c->n_in < 1 || !c->in[0]) return eo_op_error(c, EO_ERR_INVALID, "expected input 'data'");
  const eo_tview *x = c->in[0];
  size_t es;
  pad_params p;
  eo_status st = eo_move_elem_size(c, x->dtype, &es);
  if (st || (st = pad_get(c, &p))) return st;
  if (c->opset >= 11 && c->n_in > 2 && c->in[2]) {
    const eo_tview *v = c->in[2];
    if (v->dtype != x->dtype)
      return eo_op_error(c, EO_ERR_SHAPE, "constant_value is %s, data is %s", eo_dtype_name(v->dtype), eo_dtype_name(x->dtype));
    if (eo_tview_numel(v) > 1)
      return eo_op_error(c, EO_ERR_SHAPE, "constant_value must be a scalar, found %lld elements", (long long)eo_tview_numel(v));
  }
  int64_t dims[EO_MAX_RANK];
  for (int k = 0; k < x->rank; k++) dims[k] = p.ax[k].out_dim;
  eo_tview_set_shape(c->out[0], x->dtype, x->rank, dims);
  return EO_OK;
}

/* The opset 2-10 'value' attribute (a float) in the data's type. */
static void pad_store_value(int dtype, double v, void *out) {
  switch (dtype) {
#define PAD_STORE(DT, T) \
  case DT: { T t = (T)v; memcpy(out, &t, sizeof t); break; }
    PAD_STORE(EO_FLOAT, float) PAD_STORE(EO_DOUBLE, double) PAD_STORE(EO_INT8, int8_t) PAD_STORE(EO_UINT8, uint8_t)
    PAD_STORE(EO_INT16, int16_t) PAD_STORE(EO_UINT16, uint16_t) PAD_STORE(EO_INT32, int32_t)
    PAD_STORE(EO_UINT32, uint32_t) PAD_STORE(EO_INT64, int64_t) PAD_STORE(EO_UINT64, uint64_t)
#undef PAD_STORE
    case EO_BOOL: *(uint8_t *)out = v != 0; break;
    case EO_FLOAT16: { uint16_t h = eo_f32_to_f16((float)v); memcpy(out, &h, 2); break; }
    case EO_BFLOAT16: { uint16_t h = eo_f32_to_bf16((float)v); memcpy(out, &h, 2); break; }
    default: break;  // other types: zero bytes
  }
}

static void pad_forward(eo_op_ctx *c) {
  const eo_tview *x = c->in[0];
  pad_params p;
  pad_get(c, &p);
  size_t es = eo_dtype_size(x->dtype);
  _Alignas(16) unsigned char value[16] = {0};
  if (c->opset < 11)
    pad_store_value(x->dtype, eo_attr_f(c->node, "value", 0.0f), value);
  else if (c->n_in > 2 && c->in[2] && eo_tview_numel(c->in[2]) == 1)
    memcpy(value, c->in[2]->data, es);
  eo_xx_pad__ref(es, x->rank, p.ax, p.mode, value, x->data, c->out[0]->data);
}

EO_DEFINE_OP(pad, .name = "Pad", .infer = pad_infer, .forward = pad_forward, .flops = eo_move_flops_zero);
