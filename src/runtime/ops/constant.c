/* Constant: the output is the value of exactly one attribute: value (a tensor), value_float(s),
 * value_int(s) (opset 12+). value_string(s) and sparse_value are not supported. */
#include <string.h>

#include "runtime/kernels/ref/move_kernels.h"

typedef struct const_value {
  int dtype, rank;
  int64_t dims[EO_MAX_RANK];
  const void *data;
  size_t bytes;
} const_value;

static eo_status constant_value(const eo_op_ctx *c, const_value *v) {
  static const char *const names[] = {"value", "value_float", "value_floats", "value_int", "value_ints",
                                      "value_string", "value_strings", "sparse_value"};
  const eo_attr *a = NULL;
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    const eo_attr *b = eo_node_attr(c->node, names[i]);
    if (!b) continue;
    if (a) return eo_op_error(c, EO_ERR_INVALID, "both '%s' and '%s' are set; expected exactly one value", a->name, b->name);
    a = b;
  }
  if (!a) return eo_op_error(c, EO_ERR_INVALID, "no value attribute (value, value_float(s), value_int(s))");
  memset(v, 0, sizeof *v);
  if (strcmp(a->name, "value") == 0 && a->type == EO_ATTR_TENSOR && a->t) {
    const eo_tensor *t = a->t;
    v->dtype = t->dtype;
    v->rank = t->rank;
    memcpy(v->dims, t->dims, sizeof v->dims);
    v->data = t->data;
    if (t->dtype == EO_STRING || !eo_dtype_bytes(t->dtype, eo_numel(t->rank, t->dims), &v->bytes))
      return eo_op_error(c, EO_ERR_UNSUPPORTED, "'value' tensor of type %s is not supported", eo_dtype_name(t->dtype));
    if (v->bytes && (!t->data || t->nbytes < v->bytes))
      return eo_op_error(c, EO_ERR_INVALID, "'value' tensor holds %zu bytes, expected %zu", t->nbytes, v->bytes);
  } else if (strcmp(a->name, "value_float") == 0 && a->type == EO_ATTR_FLOAT) {
    v->dtype = EO_FLOAT;
    v->data = &a->f;
    v->bytes = sizeof(float);
  } else if (strcmp(a->name, "value_floats") == 0 && a->type == EO_ATTR_FLOATS) {
    v->dtype = EO_FLOAT;
    v->rank = 1;
    v->dims[0] = a->n;
    v->data = a->floats;
    v->bytes = (size_t)a->n * sizeof(float);
  } else if (strcmp(a->name, "value_int") == 0 && a->type == EO_ATTR_INT) {
    v->dtype = EO_INT64;
    v->data = &a->i;
    v->bytes = sizeof(int64_t);
  } else if (strcmp(a->name, "value_ints") == 0 && a->type == EO_ATTR_INTS) {
    v->dtype = EO_INT64;
    v->rank = 1;
    v->dims[0] = a->n;
    v->data = a->ints;
    v->bytes = (size_t)a->n * sizeof(int64_t);
  } else {
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "attribute '%s' (type %d) is not supported", a->name, a->type);
  }
  return EO_OK;
}

static eo_status constant_infer(eo_op_ctx *c) {
  const_value v;
  eo_status st = constant_value(c, &v);
  if (st) return st;
  eo_tview_set_shape(c->out[0], v.dtype, v.rank, v.dims);
  return EO_OK;
}

static void constant_forward(eo_op_ctx *c) {
  const_value v;
  constant_value(c, &v);
  if (v.bytes) memcpy(c->out[0]->data, v.data, v.bytes);
}

EO_DEFINE_OP(constant, .name = "Constant", .infer = constant_infer, .forward = constant_forward,
             .flops = eo_move_flops_zero);
