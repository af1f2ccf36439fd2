#include <stdarg.h>
#include <string.h>

#include "runtime/op.h"

/* Every op listed in ops.def must be defined by a file under ops/: a missing one fails the link. */
#define EO_OP(id, onnx, sym) extern const eo_op_def eo_op_##sym;
#include "runtime/ops.def"
#undef EO_OP

static const eo_op_def *const registry[EO_OP_COUNT] = {
#define EO_OP(id, onnx, sym) [EO_OP_##id] = &eo_op_##sym,
#include "runtime/ops.def"
#undef EO_OP
};

static const char *const op_names[EO_OP_COUNT] = {
#define EO_OP(id, onnx, sym) [EO_OP_##id] = onnx,
#include "runtime/ops.def"
#undef EO_OP
};

const eo_op_def *eo_op_get(int op) { return op >= 0 && op < EO_OP_COUNT ? registry[op] : NULL; }

const char *eo_op_name(int op) { return op >= 0 && op < EO_OP_COUNT ? op_names[op] : "?"; }

int eo_op_lookup(const char *domain, const char *op_type) {
  // ONNX Runtime contrib ops edgeopt runs from files: found in com.microsoft only
  static const char *const contrib[] = {"MatMulNBits", "QLinearAdd", "QLinearMul", "QLinearSigmoid", "QLinearConcat",
                                        "QLinearGlobalAveragePool", "QLinearSoftmax", "QGemm", NULL};
  bool ms = domain && strcmp(domain, "com.microsoft") == 0, in_contrib = false;
  for (int i = 0; contrib[i]; i++) in_contrib |= strcmp(contrib[i], op_type) == 0;
  if (ms != in_contrib) return -1;
  if (!ms && domain && *domain && strcmp(domain, "ai.onnx") != 0) return -1;
  for (int i = 0; i < EO_OP_COUNT; i++)
    if (strcmp(op_names[i], op_type) == 0) return i;
  return -1;
}

int64_t eo_attr_i(const eo_node *n, const char *name, int64_t def) {
  const eo_attr *a = eo_node_attr(n, name);
  return a && a->type == EO_ATTR_INT ? a->i : def;
}

float eo_attr_f(const eo_node *n, const char *name, float def) {
  const eo_attr *a = eo_node_attr(n, name);
  return a && a->type == EO_ATTR_FLOAT ? a->f : def;
}

const char *eo_attr_s(const eo_node *n, const char *name, const char *def) {
  const eo_attr *a = eo_node_attr(n, name);
  return a && a->type == EO_ATTR_STRING ? a->s : def;
}

int eo_attr_ints(const eo_node *n, const char *name, const int64_t **vals) {
  const eo_attr *a = eo_node_attr(n, name);
  if (!a || a->type != EO_ATTR_INTS) return -1;
  *vals = a->ints;
  return a->n;
}

int eo_attr_floats(const eo_node *n, const char *name, const float **vals) {
  const eo_attr *a = eo_node_attr(n, name);
  if (!a || a->type != EO_ATTR_FLOATS) return -1;
  *vals = a->floats;
  return a->n;
}

eo_status eo_op_error(const eo_op_ctx *c, eo_status code, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return eo_error(code, "node '%s' (%s): %s", c->node->name ? c->node->name : "", c->node->op_type, msg);
}

int64_t eo_tview_numel(const eo_tview *t) { return eo_numel(t->rank, t->dims); }

void eo_tview_set_shape(eo_tview *t, int dtype, int rank, const int64_t *dims) {
  t->dtype = dtype;
  t->rank = rank;
  for (int i = 0; i < rank; i++) t->dims[i] = dims[i];
}

eo_status eo_broadcast_shape(const eo_op_ctx *c, int ra, const int64_t *a, int rb, const int64_t *b,
                             int *rout, int64_t *out) {
  int r = ra > rb ? ra : rb;
  for (int i = 0; i < r; i++) {
    int64_t da = i < r - ra ? 1 : a[i - (r - ra)];
    int64_t db = i < r - rb ? 1 : b[i - (r - rb)];
    if (da != db && da != 1 && db != 1) {
      char sa[128], sb[128];
      return eo_op_error(c, EO_ERR_SHAPE, "shapes %s and %s do not broadcast (dim %d: %lld vs %lld)",
                         eo_shape_str(ra, a, sa, sizeof sa), eo_shape_str(rb, b, sb, sizeof sb), i,
                         (long long)da, (long long)db);
    }
    out[i] = da == 1 ? db : da;
  }
  *rout = r;
  return EO_OK;
}

eo_status eo_norm_axis(const eo_op_ctx *c, int64_t axis, int rank, int *out) {
  if (axis < -rank || axis >= (rank ? rank : 1))
    return eo_op_error(c, EO_ERR_INVALID, "axis %lld out of range for rank %d", (long long)axis, rank);
  *out = (int)(axis < 0 ? axis + rank : axis);
  return EO_OK;
}

int64_t eo_tview_get_i64(const eo_tview *t, int64_t i) {
  const void *p = t->data;
  switch (t->dtype) {
    case EO_INT64: return ((const int64_t *)p)[i];
    case EO_INT32: return ((const int32_t *)p)[i];
    case EO_INT16: return ((const int16_t *)p)[i];
    case EO_INT8: return ((const int8_t *)p)[i];
    case EO_UINT8: case EO_BOOL: return ((const uint8_t *)p)[i];
    case EO_UINT16: return ((const uint16_t *)p)[i];
    case EO_UINT32: return ((const uint32_t *)p)[i];
    case EO_UINT64: return (int64_t)((const uint64_t *)p)[i];
    default: return eo_dtype_is_float(t->dtype) ? (int64_t)eo_tview_get_f64(t, i) : 0;
  }
}

double eo_tview_get_f64(const eo_tview *t, int64_t i) {
  const void *p = t->data;
  switch (t->dtype) {
    case EO_FLOAT: return ((const float *)p)[i];
    case EO_DOUBLE: return ((const double *)p)[i];
    case EO_FLOAT16: return eo_f16_to_f32(((const uint16_t *)p)[i]);
    case EO_BFLOAT16: return eo_bf16_to_f32(((const uint16_t *)p)[i]);
    default: return eo_dtype_is_int(t->dtype) || t->dtype == EO_BOOL ? (double)eo_tview_get_i64(t, i) : 0;
  }
}
