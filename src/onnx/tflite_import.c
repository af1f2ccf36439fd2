/* TFLite import: .tflite flatbuffer -> ONNX ModelProto bytes -> the usual ONNX loading path.
 *
 * Translating into ONNX (rather than building the IR directly) keeps one loader: validation,
 * shape inference, inspect, save and the runtime all see an ordinary ONNX model, and
 * `edgeopt convert x.tflite` style uses come for free. The protobuf is written directly with a
 * tiny encoder (varints and length-delimited fields), so no ownership rules of protobuf-c's
 * structs apply here.
 *
 * Layout: activations stay NHWC exactly as in the file, so graph inputs and outputs keep
 * TFLite's names, shapes and layout and the same .npy feeds both runtimes. Ops whose ONNX form is
 * NCHW (Conv, pools) are wrapped in Transposes (a tensor's NCHW copy is made once and shared by
 * its consumers); constant weights are re-laid out at import instead.
 *
 * Full-INT8 files (int8/uint8 activations): every operator touching a quantized activation becomes
 * an edgeopt-internal Tfl* node (runtime/ops/tfl_*.c) carrying the file's integers and parameters
 * and computing what the TFLite interpreter computes, NHWC throughout; data movement (reshape,
 * transpose, concat, split, pad, max pool, nearest resize) uses the ordinary ops on int8 tensors.
 * Dynamic-range files (float activations, constant int8 weights): CONV_2D, DEPTHWISE_CONV_2D and
 * FULLY_CONNECTED become TflHybridConv nodes (runtime/ops/tfl_hybrid.c), the interpreter's hybrid
 * kernels that quantize the input at run time.
 *
 * Everything read from the file is untrusted: all positions go through the bounds-checked
 * flatbuffer reader, every index is checked against its vector, every buffer against its
 * tensor's shape; a malformed file gives EO_ERR_PARSE, never a crash.
 */
#include "onnx/tflite_import.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "core/core.h"
#include "export/flatbuffer.h"
#include "export/tflite_schema.h"
#include "runtime/ops/tfl_quant.h"  /* the integer helpers the Tfl* kernels use: tables computed here agree */

/* ONNX TensorProto.DataType values. */
enum { ONNX_FLOAT = 1, ONNX_UINT8 = 2, ONNX_INT8 = 3, ONNX_INT16 = 5, ONNX_INT32 = 6, ONNX_INT64 = 7,
       ONNX_BOOL = 9, ONNX_FLOAT16 = 10, ONNX_DOUBLE = 11 };
/* ONNX AttributeProto.AttributeType values. */
enum { ATTR_FLOAT = 1, ATTR_INT = 2, ATTR_STRING = 3, ATTR_INTS = 7 };

#define EO_TFL_MAX_IO 64  /* inputs or outputs of one operator (CONCATENATION can have many) */
#define ONNX_OPSET 14  /* HardSwish needs 14; Reduce* still take axes as an attribute */

/* ---- minimal protobuf writer ---- */
typedef struct {
  uint8_t *p;
  size_t n, cap;
  bool fail;
} pb;

static void pb_raw(pb *b, const void *d, size_t n) {
  if (b->fail || !n) return;
  if (b->n + n > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + n) {
      if (cap > SIZE_MAX / 2) {
        b->fail = true;
        return;
      }
      cap *= 2;
    }
    uint8_t *q = eo_realloc(b->p, cap);
    if (!q) {
      b->fail = true;
      return;
    }
    b->p = q, b->cap = cap;
  }
  memcpy(b->p + b->n, d, n);
  b->n += n;
}
static void pb_varint(pb *b, uint64_t v) {
  uint8_t t[10];
  int k = 0;
  do {
    t[k++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
    v >>= 7;
  } while (v);
  pb_raw(b, t, (size_t)k);
}
static void pb_tag(pb *b, int field, int wire) { pb_varint(b, (uint64_t)field << 3 | (uint64_t)wire); }
static void pb_int(pb *b, int field, int64_t v) {
  pb_tag(b, field, 0);
  pb_varint(b, (uint64_t)v);
}
static void pb_bytes(pb *b, int field, const void *d, size_t n) {
  pb_tag(b, field, 2);
  pb_varint(b, n);
  pb_raw(b, d, n);
}
static void pb_str(pb *b, int field, const char *s) { pb_bytes(b, field, s, strlen(s)); }
static void pb_float(pb *b, int field, float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  uint8_t le[4] = {(uint8_t)u, (uint8_t)(u >> 8), (uint8_t)(u >> 16), (uint8_t)(u >> 24)};
  pb_tag(b, field, 5);
  pb_raw(b, le, 4);
}
/* Appends `child` as a sub-message and releases it. */
static void pb_msg(pb *b, int field, pb *child) {
  if (child->fail) b->fail = true;
  pb_bytes(b, field, child->p, child->n);
  free(child->p);
  *child = (pb){0};
}

static void attr_int(pb *a, const char *name, int64_t v) {
  pb c = {0};
  pb_str(&c, 1, name);
  pb_int(&c, 3, v);
  pb_int(&c, 20, ATTR_INT);
  pb_msg(a, 5, &c);
}
static void attr_ints(pb *a, const char *name, const int64_t *v, int n) {
  pb c = {0};
  pb_str(&c, 1, name);
  for (int i = 0; i < n; i++) pb_int(&c, 8, v[i]);
  pb_int(&c, 20, ATTR_INTS);
  pb_msg(a, 5, &c);
}
static void attr_float(pb *a, const char *name, float v) {
  pb c = {0};
  pb_str(&c, 1, name);
  pb_float(&c, 2, v);
  pb_int(&c, 20, ATTR_FLOAT);
  pb_msg(a, 5, &c);
}

/* ---- model view ---- */
typedef struct {
  int type;           /* TFLite TensorType */
  int rank;
  int64_t dims[EO_MAX_RANK];
  const uint8_t *data; /* constant data, NULL for activations */
  size_t nbytes;
  uint32_t quant;      /* QuantizationParameters table, 0 when none */
  char *name;          /* unique ONNX name */
  char *nchw;          /* name of its NCHW (or weight-layout) copy, once made */
  bool pending;        /* produced in NCHW only: its NHWC Transpose is emitted on first NHWC use */
  bool wanted;         /* its NHWC name was used (perhaps before its producer: files need not be
                          in execution order) */
  bool emitted;        /* constant already written as an initializer */
  char *raw;           /* name of its integer initializer (int8 kernels read constants undequantized) */
  bool dequantized;    /* a DEQUANTIZE output aliased to its constant input: float weights, not hybrid */
} tinfo;

typedef struct {
  eo_fb_view v;
  const char *src;
  uint32_t sg;
  tinfo *t;
  uint32_t nt;
  uint32_t opcodes, n_opcodes, buffers, n_buffers;
  pb graph;
  char **strs;  /* every string made here, freed at the end */
  int n_strs, cap_strs;
  bool oom;
  char errs[1536];  /* unsupported operators, listed together */
  size_t errs_len;
  int n_errs;
  int op_index;     /* operator being translated */
  const char *op_name;
  char node_name[96];
  int n_helper;     /* helper node counter within the operator */
  bool unmapped;    /* the operator has no translation */
  bool have_const[8];
} ctx;

static eo_status bad(ctx *c, const char *fmt, ...) EO_PRINTF(2, 3);
static eo_status bad(ctx *c, const char *fmt, ...) {
  char why[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  return eo_error(EO_ERR_PARSE, "%s: malformed TFLite file: %s", c->src, why);
}

static char *keep(ctx *c, char *s) {
  if (!s || eo_grow((void **)&c->strs, &c->cap_strs, c->n_strs + 1, sizeof(char *))) {
    free(s);
    c->oom = true;
    return NULL;
  }
  return c->strs[c->n_strs++] = s;
}
static char *fmt(ctx *c, const char *f, ...) EO_PRINTF(2, 3);
static char *fmt(ctx *c, const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  int n = vsnprintf(NULL, 0, f, ap);
  va_end(ap);
  if (n < 0) return keep(c, NULL);
  char *s = eo_malloc((size_t)n + 1);
  if (!s) return keep(c, NULL);
  va_start(ap, f);
  vsnprintf(s, (size_t)n + 1, f, ap);
  va_end(ap);
  return keep(c, s);
}

static const char *op_code_name(int code) {
  static const struct { int code; const char *name; } names[] = {
      {OP_ADD, "ADD"}, {OP_AVERAGE_POOL_2D, "AVERAGE_POOL_2D"}, {OP_CONCATENATION, "CONCATENATION"},
      {OP_CONV_2D, "CONV_2D"}, {OP_DEPTHWISE_CONV_2D, "DEPTHWISE_CONV_2D"}, {OP_DEPTH_TO_SPACE, "DEPTH_TO_SPACE"},
      {OP_DEQUANTIZE, "DEQUANTIZE"}, {OP_FLOOR, "FLOOR"}, {OP_FULLY_CONNECTED, "FULLY_CONNECTED"},
      {OP_L2_NORMALIZATION, "L2_NORMALIZATION"}, {OP_LOGISTIC, "LOGISTIC"}, {OP_MAX_POOL_2D, "MAX_POOL_2D"},
      {OP_MUL, "MUL"}, {OP_RELU, "RELU"}, {OP_RELU_N1_TO_1, "RELU_N1_TO_1"}, {OP_RELU6, "RELU6"},
      {OP_RESHAPE, "RESHAPE"}, {OP_RESIZE_BILINEAR, "RESIZE_BILINEAR"}, {OP_SOFTMAX, "SOFTMAX"},
      {OP_SPACE_TO_DEPTH, "SPACE_TO_DEPTH"}, {OP_TANH, "TANH"}, {OP_CUSTOM, "CUSTOM"}, {OP_PAD, "PAD"},
      {OP_GATHER, "GATHER"}, {OP_TRANSPOSE, "TRANSPOSE"}, {OP_MEAN, "MEAN"}, {OP_SUB, "SUB"}, {OP_DIV, "DIV"},
      {OP_SQUEEZE, "SQUEEZE"}, {OP_STRIDED_SLICE, "STRIDED_SLICE"}, {OP_EXP, "EXP"}, {OP_SPLIT, "SPLIT"},
      {OP_LOG_SOFTMAX, "LOG_SOFTMAX"}, {OP_CAST, "CAST"}, {OP_PRELU, "PRELU"}, {OP_MAXIMUM, "MAXIMUM"},
      {OP_MINIMUM, "MINIMUM"}, {OP_NEG, "NEG"}, {OP_PADV2, "PADV2"}, {OP_SLICE, "SLICE"},
      {OP_TRANSPOSE_CONV, "TRANSPOSE_CONV"}, {OP_EXPAND_DIMS, "EXPAND_DIMS"}, {OP_LOG, "LOG"}, {OP_SUM, "SUM"},
      {OP_SQRT, "SQRT"}, {OP_RSQRT, "RSQRT"}, {OP_POW, "POW"}, {OP_REDUCE_PROD, "REDUCE_PROD"},
      {OP_REDUCE_MAX, "REDUCE_MAX"}, {OP_PACK, "PACK"}, {OP_REDUCE_MIN, "REDUCE_MIN"}, {OP_SQUARE, "SQUARE"},
      {OP_RESIZE_NEAREST_NEIGHBOR, "RESIZE_NEAREST_NEIGHBOR"}, {OP_LEAKY_RELU, "LEAKY_RELU"},
      {OP_SQUARED_DIFFERENCE, "SQUARED_DIFFERENCE"}, {OP_ABS, "ABS"}, {OP_SPLIT_V, "SPLIT_V"}, {OP_ELU, "ELU"},
      {OP_QUANTIZE, "QUANTIZE"}, {OP_HARD_SWISH, "HARD_SWISH"}, {OP_BATCH_MATMUL, "BATCH_MATMUL"},
      {OP_GELU, "GELU"},
  };
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (names[i].code == code) return names[i].name;
  return NULL;
}

static const char *type_name(int type) {
  static const char *n[] = {"float32", "float16", "int32", "uint8", "int64", "string", "bool", "int16",
                            "complex64", "int8", "float64"};
  return type >= 0 && type < (int)(sizeof n / sizeof *n) ? n[type] : "unknown";
}
static size_t type_size(int type) {
  switch (type) {
    case TFL_FLOAT32: case TFL_INT32: return 4;
    case TFL_FLOAT16: case TFL_INT16: return 2;
    case TFL_UINT8: case TFL_INT8: case TFL_BOOL: return 1;
    case TFL_INT64: case TFL_FLOAT64: return 8;
    default: return 0;
  }
}
static int onnx_type(int type) {
  switch (type) {
    case TFL_FLOAT32: return ONNX_FLOAT;
    case TFL_FLOAT16: return ONNX_FLOAT16;
    case TFL_INT32: return ONNX_INT32;
    case TFL_UINT8: return ONNX_UINT8;
    case TFL_INT64: return ONNX_INT64;
    case TFL_BOOL: return ONNX_BOOL;
    case TFL_INT16: return ONNX_INT16;
    case TFL_INT8: return ONNX_INT8;
    case TFL_FLOAT64: return ONNX_DOUBLE;
    default: return 0;
  }
}

static float rd_f32(const uint8_t *p) {
  uint32_t u = eo_fb_rd_u32(p);
  float f;
  memcpy(&f, &u, 4);
  return f;
}
static int64_t rd_i64(const uint8_t *p) { return (int64_t)((uint64_t)eo_fb_rd_u32(p) | (uint64_t)eo_fb_rd_u32(p + 4) << 32); }

/* ---- reading tensors ---- */
static eo_status read_tensors(ctx *c) {
  eo_fb_view v = c->v;
  uint32_t tv = eo_fb_get_ref(v, c->sg, SUBGRAPH_TENSORS), td, nt;
  if (!tv) return bad(c, "subgraph 0 has no tensors");
  if (!eo_fb_vec(v, tv, 4, &nt, &td)) return bad(c, "subgraph 0's tensor list is out of bounds");
  c->nt = nt;
  if (!(c->t = eo_calloc((size_t)nt + 1, sizeof *c->t))) return eo_error(EO_ERR_NOMEM, "out of memory");
  eo_strmap names = {0};
  eo_status st = EO_OK;
  for (uint32_t i = 0; i < nt && !st; i++) {
    tinfo *t = &c->t[i];
    uint32_t tt = eo_fb_vec_ref(v, td, i);
    if (!tt) {
      st = bad(c, "tensor %u is out of bounds", i);
      break;
    }
    uint32_t len = 0;
    uint32_t sref = eo_fb_get_ref(v, tt, TENSOR_NAME);
    const char *nm = sref ? eo_fb_str(v, sref, &len) : NULL;
    if (sref && !nm) {
      st = bad(c, "tensor %u's name is out of bounds", i);
      break;
    }
    // ONNX names must be unique and non-empty: duplicates and empty names get the index.
    char *name;
    if (nm && len) {
      name = eo_strndup(nm, len);
    } else {
      char b[32];
      snprintf(b, sizeof b, "tensor_%u", i);
      name = eo_strdup(b);
    }
    if (name && eo_strmap_get(&names, name) >= 0) {
      char *dup = fmt(c, "%s:%u", name, i);
      free(name);
      name = dup ? eo_strdup(dup) : NULL;
    }
    if (!(t->name = keep(c, name)) || eo_strmap_put(&names, t->name, (int)i)) {
      st = eo_error(EO_ERR_NOMEM, "out of memory");
      break;
    }
    t->type = eo_fb_get_u8(v, tt, TENSOR_TYPE, TFL_FLOAT32);
    uint32_t shv = eo_fb_get_ref(v, tt, TENSOR_SHAPE), sd, rank = 0;
    if (shv && !eo_fb_vec(v, shv, 4, &rank, &sd)) {
      st = bad(c, "tensor '%s': shape is out of bounds", t->name);
      break;
    }
    if (rank > EO_MAX_RANK) {
      st = eo_error(EO_ERR_UNSUPPORTED, "%s: tensor '%s' has rank %u (at most %d supported)", c->src, t->name, rank,
                    EO_MAX_RANK);
      break;
    }
    t->rank = (int)rank;
    for (uint32_t d = 0; d < rank; d++) {
      int32_t dim = (int32_t)eo_fb_rd_u32(v.p + sd + 4 * d);
      if (dim < 0) {
        st = eo_error(EO_ERR_UNSUPPORTED, "%s: tensor '%s' has dim %u = %d (TFLite shapes must be concrete)", c->src,
                      t->name, d, dim);
        break;
      }
      t->dims[d] = dim;
    }
    if (st) break;
    t->quant = eo_fb_get_ref(v, tt, TENSOR_QUANTIZATION);
    if (eo_fb_get_u8(v, tt, TENSOR_IS_VARIABLE, 0)) {
      st = eo_error(EO_ERR_UNSUPPORTED, "%s: tensor '%s' is a variable (stateful models are not supported)", c->src,
                    t->name);
      break;
    }
    uint32_t bi = eo_fb_get_u32(v, tt, TENSOR_BUFFER, 0);
    if (bi == 0) continue;
    if (bi >= c->n_buffers) {
      st = bad(c, "tensor '%s' refers to buffer %u of %u", t->name, bi, c->n_buffers);
      break;
    }
    uint32_t bt = eo_fb_vec_ref(v, c->buffers, bi);
    if (!bt) {
      st = bad(c, "buffer %u is out of bounds", bi);
      break;
    }
    uint32_t dv = eo_fb_get_ref(v, bt, BUFFER_DATA), dn = 0, dd = 0;
    if (dv) {
      if (!eo_fb_vec(v, dv, 1, &dn, &dd)) {
        st = bad(c, "buffer %u (tensor '%s') is out of bounds", bi, t->name);
        break;
      }
    } else {
      // Files over 2 GB keep data after the flatbuffer: offset and size from the file start.
      uint64_t off = eo_fb_get_u64(v, bt, BUFFER_OFFSET, 0), sz = eo_fb_get_u64(v, bt, BUFFER_SIZE, 0);
      if (off > 1) {
        if (off > v.n || sz > v.n - off) {
          st = bad(c, "buffer %u (tensor '%s') lies outside the file", bi, t->name);
          break;
        }
        dd = (uint32_t)off, dn = (uint32_t)sz;
      }
    }
    if (!dn) continue;
    if (eo_fb_get_ref(v, tt, TENSOR_SPARSITY)) {
      st = eo_error(EO_ERR_UNSUPPORTED, "%s: constant '%s' is stored sparse (TFLite sparsity, DENSIFY): not supported",
                    c->src, t->name);
      break;
    }
    size_t es = type_size(t->type), need = es;
    for (int d = 0; d < t->rank; d++)
      if (!eo_mul_size(need, (size_t)t->dims[d], &need)) need = SIZE_MAX;
    if (!es || need != dn) {
      st = bad(c, "tensor '%s' (%s, %d dims) has a %u-byte buffer; its shape needs %zu bytes", t->name,
               type_name(t->type), t->rank, dn, es ? need : 0);
      break;
    }
    t->data = v.p + dd;
    t->nbytes = dn;
  }
  eo_strmap_free(&names);
  return st;
}

/* ---- graph emission ---- */
static void emit_init(ctx *c, const char *name, int dtype, int rank, const int64_t *dims, const void *data, size_t n) {
  pb tp = {0};
  for (int d = 0; d < rank; d++) pb_int(&tp, 1, dims[d]);
  pb_int(&tp, 2, dtype);
  pb_str(&tp, 8, name);
  pb_bytes(&tp, 9, data, n);
  pb_msg(&c->graph, 5, &tp);
}
static void emit_value_info(pb *g, int field, const char *name, int dtype, int rank, const int64_t *dims) {
  pb shape = {0}, tt = {0}, type = {0}, vi = {0};
  for (int d = 0; d < rank; d++) {
    pb dim = {0};
    pb_int(&dim, 1, dims[d]);
    pb_msg(&shape, 1, &dim);
  }
  pb_int(&tt, 1, dtype);
  pb_msg(&tt, 2, &shape);
  pb_msg(&type, 1, &tt);
  pb_str(&vi, 1, name);
  pb_msg(&vi, 2, &type);
  pb_msg(g, field, &vi);
}
/* One node named `name`; `attrs` (may be NULL) holds already-encoded attribute fields and is
 * released. */
static void emit_node_named(ctx *c, const char *name, const char *op, int n_in, const char *const *in, int n_out,
                            const char *const *out, pb *attrs) {
  pb n = {0};
  for (int i = 0; i < n_in; i++) pb_str(&n, 1, in[i] ? in[i] : "");
  for (int i = 0; i < n_out; i++) pb_str(&n, 2, out[i]);
  pb_str(&n, 3, name);
  pb_str(&n, 4, op);
  if (attrs) {
    if (attrs->fail) n.fail = true;
    pb_raw(&n, attrs->p, attrs->n);
    free(attrs->p);
    *attrs = (pb){0};
  }
  pb_msg(&c->graph, 1, &n);
}
/* A node of the operator being translated: its name, then "<name>/<op>" for helpers. */
static void emit_node(ctx *c, const char *op, int n_in, const char *const *in, int n_out, const char *const *out,
                      pb *attrs) {
  char name[128];
  if (c->n_helper++) snprintf(name, sizeof name, "%s/%s", c->node_name, op);
  else snprintf(name, sizeof name, "%s", c->node_name);
  emit_node_named(c, name, op, n_in, in, n_out, out, attrs);
}
static void node1(ctx *c, const char *op, const char *in, const char *out, pb *attrs) {
  emit_node(c, op, 1, &in, 1, &out, attrs);
}

/* Shared scalar constants for Clip bounds and the like. */
static const char *scalar(ctx *c, float v) {
  static const float vals[] = {0.f, 6.f, -1.f, 1.f};
  static const char *names[] = {"tfl_const_0", "tfl_const_6", "tfl_const_m1", "tfl_const_1"};
  for (int i = 0; i < 4; i++)
    if (vals[i] == v) {
      if (!c->have_const[i]) emit_init(c, names[i], ONNX_FLOAT, 0, NULL, &vals[i], 4);
      c->have_const[i] = true;
      return names[i];
    }
  return NULL;
}
static const char *i64_const(ctx *c, const char *base, const int64_t *v, int n) {
  const char *name = fmt(c, "%s/%s", c->node_name, base);
  if (!name) return "";
  int64_t d = n;
  emit_init(c, name, ONNX_INT64, 1, &d, v, (size_t)n * 8);
  return name;
}

static bool tensor_ok(ctx *c, int idx) { return idx >= 0 && (uint32_t)idx < c->nt; }

/* Float values of a constant (float32, float16, or int8/uint8/int32 with quantization); NULL
 * with an error when it cannot be dequantized. Caller frees. */
static float *const_floats(ctx *c, int idx, eo_status *st) {
  tinfo *t = &c->t[idx];
  size_t n = t->nbytes / type_size(t->type);
  float *f = eo_calloc(n + 1, sizeof(float));
  if (!f) {
    *st = eo_error(EO_ERR_NOMEM, "out of memory");
    return NULL;
  }
  if (t->type == TFL_FLOAT32) {
    for (size_t i = 0; i < n; i++) f[i] = rd_f32(t->data + 4 * i);
    return f;
  }
  if (t->type == TFL_FLOAT16) {
    for (size_t i = 0; i < n; i++) f[i] = eo_f16_to_f32((uint16_t)(t->data[2 * i] | t->data[2 * i + 1] << 8));
    return f;
  }
  eo_fb_view v = c->v;
  uint32_t sv = t->quant ? eo_fb_get_ref(v, t->quant, QUANT_SCALE) : 0, zv = t->quant ? eo_fb_get_ref(v, t->quant, QUANT_ZERO_POINT) : 0;
  uint32_t ns = 0, sd = 0, nz = 0, zd = 0;
  bool typed = t->type == TFL_INT8 || t->type == TFL_UINT8 || t->type == TFL_INT32 || t->type == TFL_INT16;
  if (!typed || !sv || !eo_fb_vec(v, sv, 4, &ns, &sd) || ns == 0 || (zv && !eo_fb_vec(v, zv, 8, &nz, &zd))) {
    free(f);
    *st = eo_error(EO_ERR_UNSUPPORTED, "%s: op %d (%s): constant '%s' is %s without usable quantization parameters",
                   c->src, c->op_index, c->op_name, t->name, type_name(t->type));
    return NULL;
  }
  int qd = eo_fb_get_i32(v, t->quant, QUANT_DIMENSION, 0);
  int64_t inner = 1, axis_len = 1;
  if (ns > 1) {
    if (qd < 0 || qd >= t->rank || t->dims[qd] != (int64_t)ns || (nz > 1 && nz != ns)) {
      free(f);
      *st = bad(c, "tensor '%s': %u scales for quantized dimension %d of a rank-%d tensor", t->name, ns, qd, t->rank);
      return NULL;
    }
    axis_len = ns;
    for (int d = qd + 1; d < t->rank; d++) inner *= t->dims[d];
  }
  for (size_t i = 0; i < n; i++) {
    size_t ch = ns > 1 ? (size_t)(((int64_t)i / inner) % axis_len) : 0;
    float scale = rd_f32(v.p + sd + 4 * ch);
    int64_t zp = nz ? rd_i64(v.p + zd + 8 * (nz > 1 ? ch : 0)) : 0;
    int64_t q;
    switch (t->type) {
      case TFL_INT8: q = (int8_t)t->data[i]; break;
      case TFL_UINT8: q = t->data[i]; break;
      case TFL_INT16: q = (int16_t)(t->data[2 * i] | t->data[2 * i + 1] << 8); break;
      default: q = (int32_t)eo_fb_rd_u32(t->data + 4 * i); break;
    }
    f[i] = scale * (float)(q - zp);
  }
  return f;
}

/* ONNX name of tensor `idx` as an op input: constants are written as initializers on first use
 * (float16 and quantized ones as float32), activations must be float32 or int32/int64. */
static eo_status use(ctx *c, int idx, const char **name) {
  *name = "";
  if (!tensor_ok(c, idx))
    return bad(c, "op %d (%s) lacks an input it needs", c->op_index, c->op_name);
  tinfo *t = &c->t[idx];
  *name = t->name;
  t->wanted = true;
  if (t->pending) {  // first reader of the NHWC form: transpose the NCHW result back
    pb a = {0};
    int64_t perm[4] = {0, 2, 3, 1};
    attr_ints(&a, "perm", perm, 4);
    const char *nm = fmt(c, "%s/to_nhwc", t->name);
    if (!nm) return eo_error(EO_ERR_NOMEM, "out of memory");
    emit_node_named(c, nm, "Transpose", 1, (const char *const *)&t->nchw, 1, (const char *const *)&t->name, &a);
    t->pending = false;
  }
  if (t->emitted) return EO_OK;
  if (!t->data) {
    if (t->type == TFL_FLOAT32 || t->type == TFL_INT32 || t->type == TFL_INT64 || t->type == TFL_BOOL ||
        t->type == TFL_INT8 || t->type == TFL_UINT8)
      return EO_OK;  // int8/uint8 activations reach only the integer translations (translate_q)
    return eo_error(EO_ERR_UNSUPPORTED, "%s: op %d (%s) reads tensor '%s' of type %s%s: not supported", c->src,
                    c->op_index, c->op_name, t->name, type_name(t->type), t->quant ? " (quantized)" : "");
  }
  t->emitted = true;
  bool deq = t->type == TFL_FLOAT16 || ((t->type == TFL_INT8 || t->type == TFL_UINT8 || t->type == TFL_INT16) && t->quant);
  if (!deq) {
    if (!onnx_type(t->type))
      return eo_error(EO_ERR_UNSUPPORTED, "%s: constant '%s' has type %s", c->src, t->name, type_name(t->type));
    emit_init(c, t->name, onnx_type(t->type), t->rank, t->dims, t->data, t->nbytes);
    return EO_OK;
  }
  eo_status st = EO_OK;
  float *f = const_floats(c, idx, &st);
  if (!f) return st;
  emit_init(c, t->name, ONNX_FLOAT, t->rank, t->dims, f, t->nbytes / type_size(t->type) * 4);
  free(f);
  return EO_OK;
}

/* Integer values of a small constant (int32/int64), e.g. axes, perm, paddings. */
static eo_status const_ints(ctx *c, int idx, int64_t *out, int max, int *n) {
  tinfo *t = &c->t[idx];
  if (!t->data || (t->type != TFL_INT32 && t->type != TFL_INT64))
    return eo_error(EO_ERR_UNSUPPORTED, "%s: op %d (%s): input '%s' must be a constant int32 tensor", c->src,
                    c->op_index, c->op_name, t->name);
  size_t es = type_size(t->type), cnt = t->nbytes / es;
  if (cnt > (size_t)max) return bad(c, "op %d (%s): constant '%s' has %zu values (at most %d expected)", c->op_index,
                                    c->op_name, t->name, cnt, max);
  for (size_t i = 0; i < cnt; i++)
    out[i] = es == 4 ? (int32_t)eo_fb_rd_u32(t->data + 4 * i) : rd_i64(t->data + 8 * i);
  *n = (int)cnt;
  return EO_OK;
}

/* NCHW view of a rank-4 NHWC tensor (or of a conv weight, with `perm`): constants are permuted
 * at import, activations get one shared Transpose. */
static eo_status permuted(ctx *c, int idx, const int *perm, const char *suffix, const char **name) {
  tinfo *t = &c->t[idx];
  if (t->rank != 4)
    return eo_error(EO_ERR_UNSUPPORTED, "%s: op %d (%s): tensor '%s' has rank %d, expected 4", c->src, c->op_index,
                    c->op_name, t->name, t->rank);
  if (t->nchw) {
    *name = t->nchw;
    return EO_OK;
  }
  char *nm = fmt(c, "%s/%s", t->name, suffix);
  if (!nm) return eo_error(EO_ERR_NOMEM, "out of memory");
  if (t->data) {
    eo_status st = EO_OK;
    float *f = t->type == TFL_FLOAT32 || t->type == TFL_FLOAT16 || t->quant ? const_floats(c, idx, &st) : NULL;
    if (!f) return st ? st : eo_error(EO_ERR_UNSUPPORTED, "%s: weight '%s' has type %s", c->src, t->name, type_name(t->type));
    int64_t od[4], s[4] = {t->dims[1] * t->dims[2] * t->dims[3], t->dims[2] * t->dims[3], t->dims[3], 1};
    for (int i = 0; i < 4; i++) od[i] = t->dims[perm[i]];
    size_t n = (size_t)(od[0] * od[1] * od[2] * od[3]);
    float *g = eo_calloc(n + 1, sizeof(float));
    if (!g) {
      free(f);
      return eo_error(EO_ERR_NOMEM, "out of memory");
    }
    size_t k = 0;
    for (int64_t a = 0; a < od[0]; a++)
      for (int64_t b = 0; b < od[1]; b++)
        for (int64_t e = 0; e < od[2]; e++)
          for (int64_t d = 0; d < od[3]; d++) {
            int64_t ix[4] = {a, b, e, d}, off = 0;
            for (int i = 0; i < 4; i++) off += ix[i] * s[perm[i]];
            g[k++] = f[off];
          }
    emit_init(c, nm, ONNX_FLOAT, 4, od, g, n * 4);
    free(f);
    free(g);
  } else {
    const char *in;
    eo_status st = use(c, idx, &in);
    if (st) return st;
    pb a = {0};
    int64_t p[4] = {perm[0], perm[1], perm[2], perm[3]};
    attr_ints(&a, "perm", p, 4);
    node1(c, "Transpose", in, nm, &a);
  }
  *name = t->nchw = nm;
  return EO_OK;
}
static const int TO_NCHW[4] = {0, 3, 1, 2};

/* Fused activation after `in`, into `out`; false for an unknown activation. */
static bool emit_act(ctx *c, int act, const char *in, const char *out) {
  switch (act) {
    case ACT_RELU: node1(c, "Relu", in, out, NULL); return true;
    case ACT_TANH: node1(c, "Tanh", in, out, NULL); return true;
    case ACT_RELU6:
    case ACT_RELU_N1_TO_1: {
      const char *ins[3] = {in, scalar(c, act == ACT_RELU6 ? 0.f : -1.f), scalar(c, act == ACT_RELU6 ? 6.f : 1.f)};
      emit_node(c, "Clip", 3, ins, 1, &out, NULL);
      return true;
    }
    default: return false;
  }
}
/* Name the core op writes to, given the final output and a fused activation / trailing transpose. */
static const char *stage(ctx *c, const char *out, const char *what, bool needed) {
  return needed ? fmt(c, "%s/%s", out, what) : out;
}

/* SAME padding as TFLite computes it: total = max((out-1)*s + (k-1)*d + 1 - in, 0), the extra
 * pixel at the end. */
static void same_pads(int64_t in, int64_t k, int64_t s, int64_t d, int64_t *before, int64_t *after) {
  int64_t out = (in + s - 1) / s, total = (out - 1) * s + (k - 1) * d + 1 - in;
  if (total < 0) total = 0;
  *before = total / 2, *after = total - total / 2;
}

typedef struct {
  int code;
  uint32_t opt;      /* options table, 0 when absent */
  int opt_type;
  int n_in, n_out;
  int in[EO_TFL_MAX_IO], out[EO_TFL_MAX_IO];
} op_view;

static eo_status unsupported(ctx *c, const char *why) {
  if (c->errs_len < sizeof c->errs && c->n_errs < 16)
    c->errs_len += (size_t)snprintf(c->errs + c->errs_len, sizeof c->errs - c->errs_len, "%s%s", c->n_errs ? "; " : "",
                                    why);
  c->n_errs++;
  return EO_OK;
}

static void back_to_nhwc(ctx *c, const char *nchw, tinfo *y);

static eo_status conv_like(ctx *c, const op_view *o, bool depthwise, bool pool) {
  eo_fb_view v = c->v;
  tinfo *x = &c->t[o->in[0]], *y = &c->t[o->out[0]];
  if (x->rank != 4 || y->rank != 4)
    return eo_error(EO_ERR_UNSUPPORTED, "%s: op %d (%s): input '%s' and output '%s' must be rank 4 (NHWC)", c->src,
                    c->op_index, c->op_name, x->name, y->name);
  int pad = eo_fb_get_u8(v, o->opt, 0, PAD_SAME);
  int64_t sw = eo_fb_get_i32(v, o->opt, 1, 1), sh = eo_fb_get_i32(v, o->opt, 2, 1), kh, kw, dw = 1, dh = 1;
  int act;
  pb a = {0};
  const char *xin, *w = NULL, *b = NULL;
  eo_status st = permuted(c, o->in[0], TO_NCHW, "nchw", &xin);
  if (st) return st;
  int64_t group = 1;
  if (pool) {
    kw = eo_fb_get_i32(v, o->opt, POOL_FILTER_W, 1), kh = eo_fb_get_i32(v, o->opt, POOL_FILTER_H, 1);
    act = eo_fb_get_u8(v, o->opt, POOL_ACTIVATION, ACT_NONE);
  } else {
    if (o->n_in < 2 || o->in[1] < 0) return bad(c, "op %d (%s) has no weights", c->op_index, c->op_name);
    tinfo *wt = &c->t[o->in[1]];
    if (wt->rank != 4) return bad(c, "op %d (%s): weights '%s' have rank %d, expected 4", c->op_index, c->op_name,
                                  wt->name, wt->rank);
    kh = wt->dims[1], kw = wt->dims[2];
    static const int OHWI_TO_OIHW[4] = {0, 3, 1, 2}, DW_TO_OIHW[4] = {3, 0, 1, 2};
    if ((st = permuted(c, o->in[1], depthwise ? DW_TO_OIHW : OHWI_TO_OIHW, "oihw", &w))) return st;
    if (o->n_in > 2 && o->in[2] >= 0 && (st = use(c, o->in[2], &b))) return st;
    int ai = depthwise ? DW_ACTIVATION : CONV2D_ACTIVATION;
    act = eo_fb_get_u8(v, o->opt, ai, ACT_NONE);
    dw = eo_fb_get_i32(v, o->opt, depthwise ? DW_DILATION_W : CONV2D_DILATION_W, 1);
    dh = eo_fb_get_i32(v, o->opt, depthwise ? DW_DILATION_H : CONV2D_DILATION_H, 1);
    int64_t cin = x->dims[3];
    if (depthwise) {
      group = cin;
      if (!cin || wt->dims[3] % cin)
        return bad(c, "op %d (%s): %lld output channels are not a multiple of %lld input channels", c->op_index,
                   c->op_name, (long long)wt->dims[3], (long long)cin);
    } else {
      if (!wt->dims[3] || cin % wt->dims[3])
        return bad(c, "op %d (%s): %lld input channels for %lld-channel filters", c->op_index, c->op_name,
                   (long long)cin, (long long)wt->dims[3]);
      group = cin / wt->dims[3];
    }
  }
  if (sw < 1 || sh < 1 || kw < 1 || kh < 1 || dw < 1 || dh < 1 || sw > 1 << 16 || sh > 1 << 16 || dw > 1 << 16 ||
      dh > 1 << 16 || kw > 1 << 20 || kh > 1 << 20)
    return bad(c, "op %d (%s): stride %lldx%lld, kernel %lldx%lld, dilation %lldx%lld", c->op_index, c->op_name,
               (long long)sh, (long long)sw, (long long)kh, (long long)kw, (long long)dh, (long long)dw);
  int64_t pads[4] = {0, 0, 0, 0};
  if (pad == PAD_SAME) {
    same_pads(x->dims[1], kh, sh, dh, &pads[0], &pads[2]);
    same_pads(x->dims[2], kw, sw, dw, &pads[1], &pads[3]);
  } else if (pad != PAD_VALID) {
    return bad(c, "op %d (%s): padding %d", c->op_index, c->op_name, pad);
  }
  int64_t k[2] = {kh, kw}, s[2] = {sh, sw}, d[2] = {dh, dw};
  attr_ints(&a, "kernel_shape", k, 2);
  attr_ints(&a, "strides", s, 2);
  attr_ints(&a, "pads", pads, 4);
  if (!pool) {
    attr_ints(&a, "dilations", d, 2);
    attr_int(&a, "group", group);
  }
  if (act != ACT_NONE && act != ACT_RELU && act != ACT_RELU6 && act != ACT_RELU_N1_TO_1 && act != ACT_TANH) {
    free(a.p);
    return eo_error(EO_ERR_UNSUPPORTED, "%s: op %d (%s): fused activation %d", c->src, c->op_index, c->op_name, act);
  }
  const char *out_nchw = fmt(c, "%s/nchw", y->name);
  const char *core = stage(c, out_nchw ? out_nchw : "", "preact", act != ACT_NONE);
  if (!core || !out_nchw) {
    free(a.p);
    return eo_error(EO_ERR_NOMEM, "out of memory");
  }
  if (pool) {
    node1(c, o->code == OP_MAX_POOL_2D ? "MaxPool" : "AveragePool", xin, core, &a);
  } else {
    const char *ins[3] = {xin, w, b};
    emit_node(c, "Conv", b ? 3 : 2, ins, 1, &core, &a);
  }
  if (act != ACT_NONE) emit_act(c, act, core, out_nchw);
  back_to_nhwc(c, out_nchw, y);  // consumers wanting NCHW reuse out_nchw
  return EO_OK;
}

/* Whether a layout-free op (elementwise, no broadcasting across dims) can run in NCHW: its output
 * is rank 4, every input is either a same-shape tensor whose NCHW copy exists (the output of a
 * conv, pool or earlier such op) or a one-element constant, and at least one is the former. Then
 * chains conv -> add -> relu -> conv stay NCHW, with no Transpose in between. */
static bool nchw_chain(ctx *c, const op_view *o, int n_in) {
  const tinfo *y = &c->t[o->out[0]];
  if (y->rank != 4) return false;
  int chained = 0;
  for (int i = 0; i < n_in; i++) {
    if (!tensor_ok(c, o->in[i])) return false;
    const tinfo *t = &c->t[o->in[i]];
    if (t->data && eo_numel(t->rank, t->dims) == 1) continue;
    if (t->data || !t->nchw || t->rank != 4 || memcmp(t->dims, y->dims, 4 * sizeof *y->dims) != 0) return false;
    chained++;
  }
  return chained > 0;
}

/* Records that an op's result exists in NCHW only; the Transpose back to the file's NHWC tensor
 * is emitted by use() when (and if) something reads the NHWC form. */
static void back_to_nhwc(ctx *c, const char *nchw, tinfo *y) {
  y->nchw = (char *)nchw;
  y->pending = true;
  if (y->wanted) {  // already read as NHWC by an operator listed earlier
    const char *unused;
    use(c, (int)(y - c->t), &unused);
  }
}

/* Elementwise op with a fused activation (options field 0 for Add/Sub/Mul/Div/Concat's field 1).
 * `layout_free`: the op may run on NCHW copies (see nchw_chain). */
static eo_status with_act_l(ctx *c, const op_view *o, const char *op, int act_field, pb *attrs, int n_in,
                            bool layout_free) {
  const char *ins[EO_TFL_MAX_IO];
  bool nchw = layout_free && nchw_chain(c, o, n_in);
  for (int i = 0; i < n_in; i++) {
    if (nchw && c->t[o->in[i]].nchw) {
      ins[i] = c->t[o->in[i]].nchw;
      continue;
    }
    eo_status st = use(c, o->in[i], &ins[i]);
    if (st) {
      free(attrs ? attrs->p : NULL);
      return st;
    }
  }
  int act = act_field >= 0 ? eo_fb_get_u8(c->v, o->opt, act_field, ACT_NONE) : ACT_NONE;
  if (act != ACT_NONE && act != ACT_RELU && act != ACT_RELU6 && act != ACT_RELU_N1_TO_1 && act != ACT_TANH) {
    free(attrs ? attrs->p : NULL);
    return eo_error(EO_ERR_UNSUPPORTED, "%s: op %d (%s): fused activation %d", c->src, c->op_index, c->op_name, act);
  }
  tinfo *y = &c->t[o->out[0]];
  const char *out = nchw ? fmt(c, "%s/nchw", y->name) : y->name;
  const char *core = out ? stage(c, out, "preact", act != ACT_NONE) : NULL;
  if (!core) {
    free(attrs ? attrs->p : NULL);
    return eo_error(EO_ERR_NOMEM, "out of memory");
  }
  emit_node(c, op, n_in, ins, 1, &core, attrs);
  if (act != ACT_NONE) emit_act(c, act, core, out);
  if (nchw) back_to_nhwc(c, out, y);
  return EO_OK;
}
static eo_status with_act(ctx *c, const op_view *o, const char *op, int act_field, pb *attrs, int n_in) {
  return with_act_l(c, o, op, act_field, attrs, n_in, false);
}

static eo_status reshape_to_output(ctx *c, const op_view *o) {
  const char *in;
  eo_status st = use(c, o->in[0], &in);
  if (st) return st;
  tinfo *y = &c->t[o->out[0]];
  const char *shape = i64_const(c, "shape", y->dims, y->rank);
  const char *ins[2] = {in, shape};
  emit_node(c, "Reshape", 2, ins, 1, (const char *const *)&y->name, NULL);
  return EO_OK;
}

/* RESIZE_BILINEAR / RESIZE_NEAREST_NEIGHBOR -> Resize in NCHW to the declared output size, with
 * the coordinate mapping TFLite's kernels use (half_pixel_centers / align_corners / neither). */
static eo_status resize(ctx *c, const op_view *o) {
  tinfo *x = &c->t[o->in[0]], *y = &c->t[o->out[0]];
  if (x->rank != 4 || y->rank != 4)
    return eo_error(EO_ERR_UNSUPPORTED, "%s: op %d (%s): input '%s' and output '%s' must be rank 4 (NHWC)", c->src,
                    c->op_index, c->op_name, x->name, y->name);
  bool bilinear = o->code == OP_RESIZE_BILINEAR;
  bool align = eo_fb_get_u8(c->v, o->opt, bilinear ? RESIZE_BILINEAR_ALIGN_CORNERS : RESIZE_NEAREST_ALIGN_CORNERS, 0);
  bool half = eo_fb_get_u8(c->v, o->opt, bilinear ? RESIZE_BILINEAR_HALF_PIXEL : RESIZE_NEAREST_HALF_PIXEL, 0);
  const char *xin;
  eo_status st = permuted(c, o->in[0], TO_NCHW, "nchw", &xin);
  if (st) return st;
  int64_t sizes[4] = {y->dims[0], y->dims[3], y->dims[1], y->dims[2]};
  const char *sz = i64_const(c, "sizes", sizes, 4), *out_nchw = fmt(c, "%s/nchw", y->name);
  if (!out_nchw) return eo_error(EO_ERR_NOMEM, "out of memory");
  pb a = {0};
  {
    pb at = {0};
    pb_str(&at, 1, "mode");
    pb_str(&at, 4, bilinear ? "linear" : "nearest");
    pb_int(&at, 20, ATTR_STRING);
    pb_msg(&a, 5, &at);
  }
  const char *ct = align ? "align_corners" : half ? (bilinear ? "half_pixel" : "tf_half_pixel_for_nn") : "asymmetric";
  {
    pb at = {0};
    pb_str(&at, 1, "coordinate_transformation_mode");
    pb_str(&at, 4, ct);
    pb_int(&at, 20, ATTR_STRING);
    pb_msg(&a, 5, &at);
  }
  if (!bilinear) {
    pb at = {0};
    pb_str(&at, 1, "nearest_mode");
    pb_str(&at, 4, align ? "round_prefer_ceil" : "floor");
    pb_int(&at, 20, ATTR_STRING);
    pb_msg(&a, 5, &at);
  }
  const char *ins[4] = {xin, NULL, NULL, sz};
  emit_node(c, "Resize", 4, ins, 1, &out_nchw, &a);
  back_to_nhwc(c, out_nchw, y);
  return EO_OK;
}

/* ---- full-INT8 files: TFLite's integer kernels (the Tfl* ops, runtime/ops/tfl_*.c) ----
 * Activations stay int8/uint8 NHWC; constants are written with their integers (raw()), and every
 * node carries its quantization parameters as attributes, so edgeopt computes what the TFLite
 * interpreter computes. */

enum { TFL_MODE_XNNPACK = EO_TFL_MODE_XNNPACK, TFL_MODE_BUILTIN = EO_TFL_MODE_BUILTIN };

static bool is_q8act(const tinfo *t) { return !t->data && (t->type == TFL_INT8 || t->type == TFL_UINT8); }

/* Per-tensor parameters (scale[0], zero_point[0]) of tensor idx; false without a scale. */
static bool qparam(ctx *c, int idx, float *scale, int64_t *zp) {
  const tinfo *t = &c->t[idx];
  uint32_t sv = t->quant ? eo_fb_get_ref(c->v, t->quant, QUANT_SCALE) : 0, zv, ns, sd, nz = 0, zd = 0;
  if (!sv || !eo_fb_vec(c->v, sv, 4, &ns, &sd) || ns < 1) return false;
  zv = eo_fb_get_ref(c->v, t->quant, QUANT_ZERO_POINT);
  if (zv && !eo_fb_vec(c->v, zv, 8, &nz, &zd)) return false;
  *scale = rd_f32(c->v.p + sd);
  *zp = nz ? rd_i64(c->v.p + zd) : 0;
  return *scale > 0 && isfinite(*scale);
}

static eo_status qmissing(ctx *c, int idx) {
  return eo_error(EO_ERR_UNSUPPORTED, "%s: op %d (%s): tensor '%s' (%s) has no usable quantization parameters",
                  c->src, c->op_index, c->op_name, c->t[idx].name, type_name(c->t[idx].type));
}

/* The integers of a constant as an initializer of its own type ("<name>/int"). */
static eo_status raw(ctx *c, int idx, const char **name) {
  tinfo *t = &c->t[idx];
  if (!t->data || !onnx_type(t->type))
    return eo_error(EO_ERR_UNSUPPORTED, "%s: op %d (%s): input '%s' must be a constant (found %s %s)", c->src,
                    c->op_index, c->op_name, t->name, t->data ? "constant" : "activation", type_name(t->type));
  if (!t->raw) {
    if (!(t->raw = fmt(c, "%s/int", t->name))) return eo_error(EO_ERR_NOMEM, "out of memory");
    emit_init(c, t->raw, onnx_type(t->type), t->rank, t->dims, t->data, t->nbytes);
  }
  *name = t->raw;
  return EO_OK;
}

/* An int8 op's operand: activations by name, constants by their integers. */
static eo_status qin(ctx *c, int idx, const char **name) {
  if (!tensor_ok(c, idx)) return bad(c, "op %d (%s) lacks an input it needs", c->op_index, c->op_name);
  return c->t[idx].data ? raw(c, idx, name) : use(c, idx, name);
}

/* Scalar parameters of tensor idx as attributes "<pfx>_scale" and "<pfx>_zp". */
static eo_status qattrs(ctx *c, pb *a, const char *pfx, int idx) {
  float s;
  int64_t z;
  if (!qparam(c, idx, &s, &z)) return qmissing(c, idx);
  char n[32];
  snprintf(n, sizeof n, "%s_scale", pfx);
  attr_float(a, n, s);
  snprintf(n, sizeof n, "%s_zp", pfx);
  attr_int(a, n, z);
  return EO_OK;
}

/* A fused activation as the quantized output range, as TFLite computes it: zp + round(bound /
 * scale), rounding half away from zero. */
static eo_status qact(ctx *c, pb *a, int act, int y) {
  if (act == ACT_NONE) return EO_OK;
  float s;
  int64_t z;
  if (!qparam(c, y, &s, &z)) return qmissing(c, y);
  float lo, hi;
  switch (act) {
    case ACT_RELU: lo = 0, hi = INFINITY; break;
    case ACT_RELU6: lo = 0, hi = 6; break;
    case ACT_RELU_N1_TO_1: lo = -1, hi = 1; break;
    default:
      return eo_error(EO_ERR_UNSUPPORTED, "%s: op %d (%s): fused activation %d on an int8 output", c->src, c->op_index,
                      c->op_name, act);
  }
  attr_int(a, "act_min", z + (int64_t)roundf(lo / s));
  if (isfinite(hi)) attr_int(a, "act_max", z + (int64_t)roundf(hi / s));
  return EO_OK;
}

/* The strides, dilations and padding of a CONV_2D (kind 0) or DEPTHWISE_CONV_2D (kind 1) with NHWC x and
 * weights w, as attributes in a (SAME resolved to explicit pads); *act gets its fused activation. */
static eo_status conv_geometry(ctx *c, const op_view *o, int kind, const tinfo *x, const tinfo *w, pb *a, int *act) {
  eo_fb_view v = c->v;
  int64_t sw = eo_fb_get_i32(v, o->opt, 1, 1), sh = eo_fb_get_i32(v, o->opt, 2, 1);
  int64_t dw = eo_fb_get_i32(v, o->opt, kind == 1 ? DW_DILATION_W : CONV2D_DILATION_W, 1);
  int64_t dh = eo_fb_get_i32(v, o->opt, kind == 1 ? DW_DILATION_H : CONV2D_DILATION_H, 1);
  int pad = eo_fb_get_u8(v, o->opt, 0, PAD_SAME);
  *act = eo_fb_get_u8(v, o->opt, kind == 1 ? DW_ACTIVATION : CONV2D_ACTIVATION, ACT_NONE);
  if (sw < 1 || sh < 1 || dw < 1 || dh < 1 || sw > 1 << 16 || sh > 1 << 16 || dw > 1 << 16 || dh > 1 << 16 ||
      (pad != PAD_SAME && pad != PAD_VALID))
    return bad(c, "op %d (%s): stride %lldx%lld, dilation %lldx%lld, padding %d", c->op_index, c->op_name,
               (long long)sh, (long long)sw, (long long)dh, (long long)dw, pad);
  int64_t pads[4] = {0, 0, 0, 0}, s2[2] = {sh, sw}, d2[2] = {dh, dw};
  if (pad == PAD_SAME) {
    same_pads(x->dims[1], w->dims[1], sh, dh, &pads[0], &pads[2]);
    same_pads(x->dims[2], w->dims[2], sw, dw, &pads[1], &pads[3]);
  }
  attr_ints(a, "strides", s2, 2);
  attr_ints(a, "dilations", d2, 2);
  attr_ints(a, "pads", pads, 4);
  return EO_OK;
}

/* A FULLY_CONNECTED's fused activation into *act; its weights must be a plain [O,K] matrix. */
static eo_status fc_geometry(ctx *c, const op_view *o, const tinfo *w, int *act) {
  *act = eo_fb_get_u8(c->v, o->opt, FC_ACTIVATION, ACT_NONE);
  if (w->rank != 2 || eo_fb_get_u8(c->v, o->opt, FC_WEIGHTS_FORMAT, 0))
    return eo_error(EO_ERR_UNSUPPORTED, "%s: op %d (%s): weights must be a plain [O,K] matrix", c->src, c->op_index,
                    c->op_name);
  return EO_OK;
}

static eo_status q_conv(ctx *c, const op_view *o, int kind) {
  eo_fb_view v = c->v;
  if (o->n_in < 2 || !tensor_ok(c, o->in[1])) return bad(c, "op %d (%s) has no weights", c->op_index, c->op_name);
  int xi = o->in[0], wi = o->in[1], bi = o->n_in > 2 ? o->in[2] : -1, yi = o->out[0];
  tinfo *x = &c->t[xi], *w = &c->t[wi], *y = &c->t[yi];
  if (!w->data || (w->type != TFL_INT8 && w->type != TFL_UINT8) || (bi >= 0 && c->t[bi].type != TFL_INT32) ||
      x->type != y->type)
    return eo_error(EO_ERR_UNSUPPORTED, "%s: op %d (%s): expected constant int8/uint8 weights, int32 bias and "
                    "matching input/output types (found %s weights, %s input, %s output)", c->src, c->op_index,
                    c->op_name, type_name(w->type), type_name(x->type), type_name(y->type));
  pb a = {0};
  eo_status st;
  int act;
  attr_int(&a, "kind", kind);
  if (kind != 2) {
    if (x->rank != 4 || w->rank != 4 || y->rank != 4) {
      free(a.p);
      return bad(c, "op %d (%s): input, weights and output must be rank 4", c->op_index, c->op_name);
    }
    if ((st = conv_geometry(c, o, kind, x, w, &a, &act))) {
      free(a.p);
      return st;
    }
  } else if ((st = fc_geometry(c, o, w, &act))) {
    free(a.p);
    return st;
  }
  // Weight scales (per tensor or per output channel) and the weight zero point (one value).
  uint32_t sv = w->quant ? eo_fb_get_ref(v, w->quant, QUANT_SCALE) : 0;
  uint32_t zv = w->quant ? eo_fb_get_ref(v, w->quant, QUANT_ZERO_POINT) : 0;
  uint32_t ns = 0, sd = 0, nz = 0, zd = 0;
  if (!sv || !eo_fb_vec(v, sv, 4, &ns, &sd) || ns < 1 || (zv && !eo_fb_vec(v, zv, 8, &nz, &zd)) || ns > 1 << 20) {
    free(a.p);
    return qmissing(c, wi);
  }
  float *ws = eo_calloc(ns, sizeof *ws);
  if (!ws) {
    free(a.p);
    return eo_error(EO_ERR_NOMEM, "out of memory");
  }
  for (uint32_t k = 0; k < ns; k++) ws[k] = rd_f32(v.p + sd + 4 * k);
  int64_t wz = nz ? rd_i64(v.p + zd) : 0;
  for (uint32_t k = 1; k < nz; k++)
    if (rd_i64(v.p + zd + 8 * k) != wz) {
      free(ws);
      free(a.p);
      return eo_error(EO_ERR_UNSUPPORTED, "%s: op %d (%s): per-channel weight zero points differ", c->src, c->op_index,
                      c->op_name);
    }
  {
    pb at = {0};
    pb_str(&at, 1, "w_scales");
    for (uint32_t k = 0; k < ns; k++) pb_float(&at, 7, ws[k]);
    pb_int(&at, 20, 6 /* FLOATS */);
    pb_msg(&a, 5, &at);
  }
  free(ws);
  attr_int(&a, "w_zp", wz);
  attr_int(&a, "mode", TFL_MODE_XNNPACK);
  const char *xin, *win, *bin = NULL;
  if ((st = qattrs(c, &a, "x", xi)) || (st = qattrs(c, &a, "y", yi)) || (st = qact(c, &a, act, yi)) ||
      (st = use(c, xi, &xin)) || (st = raw(c, wi, &win)) || (bi >= 0 && (st = raw(c, bi, &bin)))) {
    free(a.p);
    return st;
  }
  const char *yout = y->name;
  if (kind == 2 && x->rank != 2) {  // FULLY_CONNECTED flattens its input to [-1, K]
    int64_t sh2[2] = {-1, w->dims[1]};
    const char *shape = i64_const(c, "in_shape", sh2, 2), *ins[2] = {xin, shape}, *x2 = fmt(c, "%s/2d", y->name);
    if (!x2) {
      free(a.p);
      return eo_error(EO_ERR_NOMEM, "out of memory");
    }
    emit_node(c, "Reshape", 2, ins, 1, &x2, NULL);
    xin = x2;
  }
  if (kind == 2 && y->rank != 2 && !(yout = fmt(c, "%s/2d_out", y->name))) {
    free(a.p);
    return eo_error(EO_ERR_NOMEM, "out of memory");
  }
  const char *ins[3] = {xin, win, bin};
  emit_node(c, "TflConv", bin ? 3 : 2, ins, 1, &yout, &a);
  if (yout != y->name) {
    const char *shape = i64_const(c, "out_shape", y->dims, y->rank), *rs[2] = {yout, shape};
    emit_node(c, "Reshape", 2, rs, 1, (const char *const *)&y->name, NULL);
  }
  return EO_OK;
}

/* Which kernel the interpreter runs: XNNPACK takes ADD/SUB when both input/output scale ratios lie
 * in [2^-10, 2^8) and MUL when the product ratio lies in [2^-16, 2^8); otherwise TFLite's own. */
static int binary_mode(ctx *c, const op_view *o) {
  float sa, sb, sy;
  int64_t z;
  if (!qparam(c, o->in[0], &sa, &z) || !qparam(c, o->in[1], &sb, &z) || !qparam(c, o->out[0], &sy, &z))
    return TFL_MODE_BUILTIN;  // qattrs reports the missing parameters
  if (o->code == OP_MUL) {
    float r = sa * sb / sy;
    return r >= 0x1p-16f && r < 0x1p8f ? TFL_MODE_XNNPACK : TFL_MODE_BUILTIN;
  }
  float ra = sa / sy, rb = sb / sy;
  return ra >= 0x1p-10f && ra < 0x1p8f && rb >= 0x1p-10f && rb < 0x1p8f ? TFL_MODE_XNNPACK : TFL_MODE_BUILTIN;
}

static eo_status q_binary(ctx *c, const op_view *o) {
  if (o->n_in != 2) return bad(c, "op %d (%s) has %d inputs", c->op_index, c->op_name, o->n_in);
  pb a = {0};
  eo_status st;
  const char *ins[2];
  int act = eo_fb_get_u8(c->v, o->opt, ADD_ACTIVATION, ACT_NONE);
  if (o->code == OP_SUB) attr_int(&a, "sub", 1);
  attr_int(&a, "mode", binary_mode(c, o));
  if ((st = qattrs(c, &a, "a", o->in[0])) || (st = qattrs(c, &a, "b", o->in[1])) ||
      (st = qattrs(c, &a, "y", o->out[0])) || (st = qact(c, &a, act, o->out[0])) || (st = qin(c, o->in[0], &ins[0])) ||
      (st = qin(c, o->in[1], &ins[1]))) {
    free(a.p);
    return st;
  }
  emit_node(c, o->code == OP_MUL ? "TflMul" : "TflAdd", 2, ins, 1, (const char *const *)&c->t[o->out[0]].name, &a);
  return EO_OK;
}

/* Data movement on int8 tensors is exact only when the output keeps the input's parameters. */
static eo_status q_same(ctx *c, int x, int y) {
  float sx, sy;
  int64_t zx, zy;
  if (!qparam(c, x, &sx, &zx) || !qparam(c, y, &sy, &zy) || sx != sy || zx != zy)
    return eo_error(EO_ERR_UNSUPPORTED, "%s: op %d (%s): input '%s' and output '%s' have different quantization "
                    "parameters (a rescaling %s is not supported)", c->src, c->op_index, c->op_name, c->t[x].name,
                    c->t[y].name, c->op_name);
  return EO_OK;
}

static eo_status q_pad(ctx *c, const op_view *o) {
  int64_t p[2 * EO_MAX_RANK], pads[2 * EO_MAX_RANK];
  int n, rank = c->t[o->in[0]].rank;
  eo_status st;
  if (o->n_in < 2 || o->in[1] < 0) return bad(c, "op %d (%s) has no paddings", c->op_index, c->op_name);
  if ((st = const_ints(c, o->in[1], p, 2 * EO_MAX_RANK, &n)) || (st = q_same(c, o->in[0], o->out[0]))) return st;
  if (n != 2 * rank) return bad(c, "op %d (%s): %d padding values for rank %d", c->op_index, c->op_name, n, rank);
  for (int d = 0; d < rank; d++) pads[d] = p[2 * d], pads[rank + d] = p[2 * d + 1];
  const char *x, *val = NULL;
  if ((st = use(c, o->in[0], &x))) return st;
  if (o->code == OP_PADV2 && o->n_in > 2 && o->in[2] >= 0) {
    if ((st = raw(c, o->in[2], &val))) return st;
  } else {  // TFLite pads quantized tensors with the output's zero point
    float s;
    int64_t z;
    if (!qparam(c, o->out[0], &s, &z)) return qmissing(c, o->out[0]);
    const tinfo *y = &c->t[o->out[0]];
    uint8_t b = (uint8_t)(y->type == TFL_INT8 ? (uint8_t)(int8_t)z : (uint8_t)z);
    if (!(val = fmt(c, "%s/pad_value", c->node_name))) return eo_error(EO_ERR_NOMEM, "out of memory");
    emit_init(c, val, onnx_type(y->type), 0, NULL, &b, 1);
  }
  const char *pn = i64_const(c, "pads", pads, 2 * rank), *ins[3] = {x, pn, val};
  emit_node(c, "Pad", 3, ins, 1, (const char *const *)&c->t[o->out[0]].name, NULL);
  return EO_OK;
}

/* SPLIT (axis, x) and SPLIT_V (x, sizes, axis): ONNX Split with the sizes the outputs declare. */
static eo_status split_op(ctx *c, const op_view *o) {
  bool v = o->code == OP_SPLIT_V;
  int xi = v ? o->in[0] : (o->n_in > 1 ? o->in[1] : -1), ai = v ? (o->n_in > 2 ? o->in[2] : -1) : o->in[0];
  if (!tensor_ok(c, xi) || !tensor_ok(c, ai))
    return bad(c, "op %d (%s) lacks its input or axis", c->op_index, c->op_name);
  int64_t axis;
  int n;
  eo_status st = const_ints(c, ai, &axis, 1, &n);
  if (st) return st;
  int rank = c->t[xi].rank;
  if (n != 1 || axis < -rank || axis >= rank) return bad(c, "op %d (%s): bad axis", c->op_index, c->op_name);
  if (axis < 0) axis += rank;
  int64_t sizes[EO_TFL_MAX_IO], total = 0;
  const char *outs[EO_TFL_MAX_IO];
  for (int k = 0; k < o->n_out; k++) {
    if (!tensor_ok(c, o->out[k]) || c->t[o->out[k]].rank != rank) return bad(c, "op %d (%s): output %d", c->op_index,
                                                                            c->op_name, k);
    sizes[k] = c->t[o->out[k]].dims[axis], total += sizes[k];
    outs[k] = c->t[o->out[k]].name;
    if (is_q8act(&c->t[xi]) && (st = q_same(c, xi, o->out[k]))) return st;
  }
  if (total != c->t[xi].dims[axis])
    return bad(c, "op %d (%s): outputs hold %lld of %lld along axis %lld", c->op_index, c->op_name, (long long)total,
               (long long)c->t[xi].dims[axis], (long long)axis);
  const char *x;
  if ((st = use(c, xi, &x))) return st;
  const char *sz = i64_const(c, "split", sizes, o->n_out), *ins[2] = {x, sz};
  pb a = {0};
  attr_int(&a, "axis", axis);
  emit_node(c, "Split", 2, ins, o->n_out, outs, &a);
  return EO_OK;
}

/* SLICE (x, begin, size) and STRIDED_SLICE (x, begin, end, strides; begin/end/shrink masks): ONNX
 * Slice, then a Reshape when STRIDED_SLICE drops shrunk dims. Pure data movement: int8 tensors too. */
static eo_status slice_op(ctx *c, const op_view *o) {
  bool strided = o->code == OP_STRIDED_SLICE;
  if (o->n_in < (strided ? 4 : 3)) return bad(c, "op %d (%s) has %d inputs", c->op_index, c->op_name, o->n_in);
  int xi = o->in[0], yi = o->out[0];
  tinfo *x = &c->t[xi], *y = &c->t[yi];
  int r = x->rank;
  int64_t bv[EO_MAX_RANK], ev[EO_MAX_RANK], sv[EO_MAX_RANK];
  int nb, ne = r, ns = r;
  eo_status st;
  for (int k = 1; k < (strided ? 4 : 3); k++)
    if (!tensor_ok(c, o->in[k])) return bad(c, "op %d (%s) lacks input %d", c->op_index, c->op_name, k);
  if ((st = const_ints(c, o->in[1], bv, EO_MAX_RANK, &nb)) || (st = const_ints(c, o->in[2], ev, EO_MAX_RANK, &ne)) ||
      (strided && (st = const_ints(c, o->in[3], sv, EO_MAX_RANK, &ns))))
    return st;
  if (nb != r || ne != r || ns != r)
    return bad(c, "op %d (%s): %d/%d/%d begin/end/stride values for rank %d", c->op_index, c->op_name, nb, ne, ns, r);
  int bm = 0, em = 0, sm = 0;
  if (strided) {
    eo_fb_view v = c->v;
    bm = eo_fb_get_i32(v, o->opt, STRIDED_SLICE_BEGIN_MASK, 0), em = eo_fb_get_i32(v, o->opt, STRIDED_SLICE_END_MASK, 0);
    sm = eo_fb_get_i32(v, o->opt, STRIDED_SLICE_SHRINK_AXIS_MASK, 0);
    if (eo_fb_get_i32(v, o->opt, STRIDED_SLICE_ELLIPSIS_MASK, 0) || eo_fb_get_i32(v, o->opt, STRIDED_SLICE_NEW_AXIS_MASK, 0) ||
        eo_fb_get_u8(v, o->opt, STRIDED_SLICE_OFFSET, 0)) {
      char why[96];
      snprintf(why, sizeof why, "op %d STRIDED_SLICE (ellipsis, new-axis or offset mask)", c->op_index);
      return unsupported(c, why);
    }
  }
  int64_t starts[EO_MAX_RANK], ends[EO_MAX_RANK], steps[EO_MAX_RANK], axes[EO_MAX_RANK], kept[EO_MAX_RANK];
  int nk = 0;
  for (int d = 0; d < r; d++) {
    int64_t dim = x->dims[d], s = strided ? sv[d] : 1, b = bv[d], e;
    if (s == 0) return bad(c, "op %d (%s): stride 0 on dim %d", c->op_index, c->op_name, d);
    if (!strided) {  // size -1: to the end
      if (b < 0 || b > dim || ev[d] < -1 || (ev[d] >= 0 && b + ev[d] > dim))
        return bad(c, "op %d (%s): dim %d: begin %lld, size %lld for %lld", c->op_index, c->op_name, d, (long long)b,
                   (long long)ev[d], (long long)dim);
      e = ev[d] < 0 ? dim : b + ev[d];
    } else {
      // TFLite's StartForAxis / StopForAxis: masks, negative indices from the end, clamping
      if (bm >> d & 1) b = s > 0 ? 0 : dim - 1;
      else {
        if (b < 0) b += dim;
        b = s > 0 ? (b < 0 ? 0 : b > dim ? dim : b) : (b < -1 ? -1 : b > dim - 1 ? dim - 1 : b);
      }
      if (sm >> d & 1) {
        e = b + 1, s = 1;
      } else if (em >> d & 1) {
        e = s > 0 ? dim : -1;
      } else {
        e = ev[d] < 0 ? ev[d] + dim : ev[d];
        e = s > 0 ? (e < 0 ? 0 : e > dim ? dim : e) : (e < -1 ? -1 : e > dim - 1 ? dim - 1 : e);
      }
    }
    int64_t len = s > 0 ? (e > b ? (e - b + s - 1) / s : 0) : (b > e ? (b - e - s - 1) / -s : 0);
    if (!(sm >> d & 1)) kept[nk++] = len;
    axes[d] = d, starts[d] = b, steps[d] = s;
    ends[d] = e < 0 ? -dim - 1 : e;  // ONNX reads -1 as the last index: "before index 0" is -dim-1
  }
  if (nk != y->rank || memcmp(kept, y->dims, (size_t)nk * sizeof *kept))
    return bad(c, "op %d (%s): the slice does not give output '%s''s shape", c->op_index, c->op_name, y->name);
  if (is_q8act(x) && (st = q_same(c, xi, yi))) return st;
  const char *in;
  if ((st = use(c, xi, &in))) return st;
  const char *out = sm ? fmt(c, "%s/sliced", y->name) : y->name;
  if (!out) return eo_error(EO_ERR_NOMEM, "out of memory");
  const char *ins[5] = {in, i64_const(c, "starts", starts, r), i64_const(c, "ends", ends, r), i64_const(c, "axes", axes, r),
                        i64_const(c, "steps", steps, r)};
  emit_node(c, "Slice", 5, ins, 1, &out, NULL);
  if (sm) {
    const char *rs[2] = {out, i64_const(c, "shape", y->dims, y->rank)};
    emit_node(c, "Reshape", 2, rs, 1, (const char *const *)&y->name, NULL);
  }
  return EO_OK;
}

/* GATHER (x, indices; axis, batch_dims 0): ONNX Gather. Data movement: int8 tensors too. */
static eo_status gather_op(ctx *c, const op_view *o) {
  if (o->n_in < 2 || !tensor_ok(c, o->in[1])) return bad(c, "op %d (%s) has no indices", c->op_index, c->op_name);
  int xi = o->in[0], yi = o->out[0];
  int r = c->t[xi].rank;
  int64_t axis = eo_fb_get_i32(c->v, o->opt, GATHER_AXIS, 0);
  if (eo_fb_get_i32(c->v, o->opt, GATHER_BATCH_DIMS, 0)) {
    char why[96];
    snprintf(why, sizeof why, "op %d GATHER (batch_dims)", c->op_index);
    return unsupported(c, why);
  }
  if (axis < -r || axis >= r) return bad(c, "op %d (%s): axis %lld for rank %d", c->op_index, c->op_name,
                                         (long long)axis, r);
  int it = c->t[o->in[1]].type;
  if (it != TFL_INT32 && it != TFL_INT64)
    return eo_error(EO_ERR_UNSUPPORTED, "%s: op %d (%s): indices of type %s", c->src, c->op_index, c->op_name,
                    type_name(it));
  eo_status st;
  if (is_q8act(&c->t[xi]) && (st = q_same(c, xi, yi))) return st;
  const char *ins[2];
  if ((st = use(c, xi, &ins[0])) || (st = use(c, o->in[1], &ins[1]))) return st;
  pb a = {0};
  attr_int(&a, "axis", axis);
  emit_node(c, "Gather", 2, ins, 1, (const char *const *)&c->t[yi].name, &a);
  return EO_OK;
}

/* An int8/uint8 elementwise operator given by its output values: y = table[x - lowest] (Cast to
 * int32, Add, Gather), exact for any per-value formula the interpreter applies. With n_tab > 1 the
 * operator differs per channel (the last dim, of n_tab): table k holds channel k's 256 values and the
 * offset added is k * 256 - lowest. */
static eo_status q_table(ctx *c, const op_view *o, const int32_t *table, int64_t n_tab) {
  tinfo *x = &c->t[o->in[0]], *y = &c->t[o->out[0]];
  bool u8 = x->type == TFL_UINT8;
  size_t n = (size_t)n_tab * 256;
  uint8_t *tb = eo_malloc(n);
  int32_t *off = eo_malloc((size_t)n_tab * 4);
  if (!tb || !off) {
    free(tb), free(off);
    return eo_error(EO_ERR_NOMEM, "out of memory");
  }
  for (size_t i = 0; i < n; i++) tb[i] = (uint8_t)(u8 ? (uint8_t)table[i] : (uint8_t)(int8_t)table[i]);
  for (int64_t k = 0; k < n_tab; k++) off[k] = (int32_t)(k * 256 + (u8 ? 0 : 128));
  const char *in;
  eo_status st = use(c, o->in[0], &in);
  const char *tn = fmt(c, "%s/table", c->node_name), *on = fmt(c, "%s/offset", c->node_name);
  const char *xi = fmt(c, "%s/i32", y->name), *ix = fmt(c, "%s/index", y->name);
  if (!st && (!tn || !on || !xi || !ix)) st = eo_error(EO_ERR_NOMEM, "out of memory");
  if (!st) {
    int64_t dn = (int64_t)n;
    emit_init(c, tn, onnx_type(y->type), 1, &dn, tb, n);
    emit_init(c, on, ONNX_INT32, n_tab > 1 ? 1 : 0, &n_tab, off, (size_t)n_tab * 4);
    pb a = {0};
    attr_int(&a, "to", ONNX_INT32);
    node1(c, "Cast", in, xi, &a);
    const char *add[2] = {xi, on}, *g[2] = {tn, ix};
    emit_node(c, "Add", 2, add, 1, &ix, NULL);
    emit_node(c, "Gather", 2, g, 1, (const char *const *)&y->name, NULL);
  }
  free(tb), free(off);
  return st;
}

/* LEAKY_RELU on int8/uint8. XNNPACK takes it when input/output scale s = sx/sy lies in [2^-8, 2^7]
 * and alpha*s in [-(2^7 - 2^-8), 2^7] with |alpha*s| >= 2^-8: y = (bias + (x - zx) * m) >> 8 with
 * m = lrintf(256 s) for x >= zx, lrintf(256 alpha s) below, bias = zy * 256 + 128. Otherwise
 * TFLite's own kernel: zy + MultiplyByQuantizedMultiplier(x - zx, s or alpha s). */
static eo_status q_leaky_relu(ctx *c, const op_view *o) {
  float sx, sy, alpha = eo_fb_get_f32(c->v, o->opt, LEAKY_RELU_ALPHA, 0.f);
  int64_t zx, zy;
  if (!qparam(c, o->in[0], &sx, &zx)) return qmissing(c, o->in[0]);
  if (!qparam(c, o->out[0], &sy, &zy)) return qmissing(c, o->out[0]);
  bool u8 = c->t[o->in[0]].type == TFL_UINT8;
  int32_t lo = u8 ? 0 : -128, hi = u8 ? 255 : 127, table[256];
  float ps = sx / sy, ns = ps * alpha;
  bool xnn = ps >= 0x1p-8f && ps <= 0x1p7f && ns >= -0x1.FFFC00p+6f && ns <= 0x1p7f && fabsf(ns) >= 0x1p-8f;
  int32_t qp = 0, qn = 0;
  int shp = 0, shn = 0;
  if (!xnn) {
    double am = (double)(sx * alpha / sy), im = (double)(sx / sy);
    if (!(am > 0) || !(im > 0)) {
      char why[160];
      snprintf(why, sizeof why, "op %d LEAKY_RELU (int8 with alpha %g outside XNNPACK's range)", c->op_index,
               (double)alpha);
      return unsupported(c, why);
    }
    eo_tfl_quantize_multiplier(im, &qp, &shp);
    eo_tfl_quantize_multiplier(am, &qn, &shn);
  }
  int32_t mp = (int32_t)lrintf(256.f * ps), mn = (int32_t)lrintf(256.f * ns), bias = (int32_t)zy * 256 + 128;
  for (int i = 0; i < 256; i++) {
    int32_t v = (i + lo) - (int32_t)zx, r;
    if (xnn) r = eo_tfl_asr(bias + v * (v >= 0 ? mp : mn), 8);
    else r = (int32_t)zy + (v >= 0 ? eo_tfl_mbqm(v, qp, shp) : eo_tfl_mbqm(v, qn, shn));
    table[i] = r < lo ? lo : r > hi ? hi : r;
  }
  return q_table(c, o, table, 1);
}

/* gemmlowp's int16 fixed-point steps, as TFLite's int8 HardSwish uses them. */
static int16_t srdhm16(int16_t a, int16_t b) {  /* SaturatingRoundingDoublingHighMul */
  if (a == INT16_MIN && b == INT16_MIN) return INT16_MAX;
  int32_t ab = (int32_t)a * b, nudge = ab >= 0 ? 1 << 14 : 1 - (1 << 14);
  return (int16_t)((ab + nudge) / (1 << 15));
}
static int16_t sdhm16(int16_t a, int16_t b) {  /* SaturatingDoublingHighMul (no rounding) */
  if (a == INT16_MIN && b == INT16_MIN) return INT16_MAX;
  return (int16_t)((int32_t)a * b / (1 << 15));
}
static int16_t sls16(int16_t x, int e) {  /* SaturatingLeftShift */
  int32_t v = (int32_t)x * (1 << e);
  return (int16_t)(v > INT16_MAX ? INT16_MAX : v < INT16_MIN ? INT16_MIN : v);
}
static int16_t rdbpot16(int16_t x, int e) {  /* RoundingDivideByPOT */
  int32_t mask = (1 << e) - 1, rem = x & mask, thr = (mask >> 1) + (x < 0 ? 1 : 0);
  return (int16_t)((x >> e) + (rem > thr ? 1 : 0));
}
/* TFLite's QuantizeMultiplier then DownScaleInt32ToInt16Multiplier. */
static void mult16(double m, int16_t *q, int *e) {
  int32_t q32;
  eo_tfl_quantize_multiplier(m, &q32, e);
  *q = q32 >= INT32_MAX - (1 << 15) ? INT16_MAX : (int16_t)((q32 + (1 << 15)) >> 16);
}

/* HARD_SWISH on int8/uint8: TFLite's own kernel (reference_ops::HardSwish, the int16 fixed-point
 * "reluish" form with its parameters from HardSwishPrepare); XNNPACK's delegate takes float only. */
static eo_status q_hard_swish(ctx *c, const op_view *o) {
  float sx, sy;
  int64_t zx, zy;
  if (!qparam(c, o->in[0], &sx, &zx)) return qmissing(c, o->in[0]);
  if (!qparam(c, o->out[0], &sy, &zy)) return qmissing(c, o->out[0]);
  bool u8 = c->t[o->in[0]].type == TFL_UINT8;
  int32_t lo = u8 ? 0 : -128, hi = u8 ? 255 : 127, table[256];
  float hires = (1.0f / 128.0f) * sx, reluish_scale = 3.0f / 32768.0f;
  int16_t oq, rq;
  int oe, re;
  mult16((double)(hires / sy), &oq, &oe);
  mult16((double)(hires / reluish_scale), &rq, &re);
  if (oe > 0) {  // HardSwishPrepare requires output_multiplier_exponent <= 0
    char why[128];
    snprintf(why, sizeof why, "op %d HARD_SWISH (int8 output scale below input scale / 128)", c->op_index);
    return unsupported(c, why);
  }
  for (int i = 0; i < 256; i++) {
    int16_t v = (int16_t)((i + lo) - (int32_t)zx);
    int16_t hv = (int16_t)(v * (1 << 7));
    int16_t pre = srdhm16(hv, oq);
    int16_t r = hv;
    if (re > 0) r = sls16(r, re - 1);
    r = srdhm16(r, rq);
    if (re > 0) r = sls16(r, 1);
    if (re < 0) r = rdbpot16(r, -re > 15 ? 15 : -re);
    r = (int16_t)(((int32_t)r + (1 << 15)) >> 1);
    int16_t out = sdhm16(r, pre);
    int32_t y = (int32_t)rdbpot16(out, -oe > 15 ? 15 : -oe) + (int32_t)zy;
    table[i] = y < lo ? lo : y > hi ? hi : y;
  }
  return q_table(c, o, table, 1);
}

/* PRELU on int8/uint8 with a constant slope of one value or one per channel (last dim): TFLite's
 * own kernel (BroadcastPrelu4DSlow; XNNPACK's delegate takes float PRELU only):
 * y = zy + MultiplyByQuantizedMultiplier(x - zx, sx/sy) for x >= zx, else
 * zy + MultiplyByQuantizedMultiplier((x - zx) * (a - za), sx*sa/sy), one table per channel. */
static eo_status q_prelu(ctx *c, const op_view *o) {
  if (o->n_in < 2 || !tensor_ok(c, o->in[1])) return bad(c, "op %d (%s) has no slope", c->op_index, c->op_name);
  const tinfo *x = &c->t[o->in[0]], *al = &c->t[o->in[1]];
  float sx, sy, sa;
  int64_t zx, zy, za;
  char why[160];
  int64_t na = al->data ? eo_numel(al->rank, al->dims) : 0, ch = x->rank ? x->dims[x->rank - 1] : 1;
  bool per_ch = na == ch && na > 1;
  for (int d = 0; per_ch && d < al->rank - 1; d++) per_ch = al->dims[d] == 1;
  if (!al->data || al->type != x->type || (na != 1 && !per_ch) || al->rank > x->rank) {
    snprintf(why, sizeof why, "op %d PRELU (int8 with a slope that is not a constant of one value or one per channel)",
             c->op_index);
    return unsupported(c, why);
  }
  if (!qparam(c, o->in[0], &sx, &zx)) return qmissing(c, o->in[0]);
  if (!qparam(c, o->in[1], &sa, &za)) return qmissing(c, o->in[1]);
  if (!qparam(c, o->out[0], &sy, &zy)) return qmissing(c, o->out[0]);
  bool u8 = x->type == TFL_UINT8;
  int32_t lo = u8 ? 0 : -128, hi = u8 ? 255 : 127, q1, q2;
  int s1, s2;
  eo_tfl_quantize_multiplier((double)(sx / sy), &q1, &s1);
  eo_tfl_quantize_multiplier((double)(sx * sa / sy), &q2, &s2);
  int32_t *table = eo_malloc((size_t)na * 256 * sizeof *table);
  if (!table) return eo_error(EO_ERR_NOMEM, "out of memory");
  for (int64_t k = 0; k < na; k++) {
    int32_t a = (u8 ? (int32_t)al->data[k] : (int32_t)(int8_t)al->data[k]) - (int32_t)za;
    for (int i = 0; i < 256; i++) {
      int32_t v = (i + lo) - (int32_t)zx;
      int32_t r = (int32_t)zy + (v >= 0 ? eo_tfl_mbqm(v, q1, s1) : eo_tfl_mbqm(v * a, q2, s2));
      table[k * 256 + i] = r < lo ? lo : r > hi ? hi : r;
    }
  }
  eo_status st = q_table(c, o, table, na);
  free(table);
  return st;
}

static eo_status q_unsupported(ctx *c, const op_view *o) {
  int t = is_q8act(&c->t[o->out[0]]) ? o->out[0] : o->in[0];
  char why[160];
  snprintf(why, sizeof why, "op %d %s (%s activations)", c->op_index, c->op_name, type_name(c->t[t].type));
  return unsupported(c, why);
}

/* An operator touching int8/uint8 activations. */
static eo_status translate_q(ctx *c, const op_view *o) {
  eo_fb_view v = c->v;
  eo_status st;
  int xi = o->in[0], yi = o->out[0];
  tinfo *x = &c->t[xi], *y = &c->t[yi];
  const char *in0;
  pb a = {0};
  for (int k = 0; k < o->n_in && o->code != OP_QUANTIZE && o->code != OP_DEQUANTIZE; k++) {
    const tinfo *t = tensor_ok(c, o->in[k]) ? &c->t[o->in[k]] : NULL;
    if (t && is_q8act(t) && t->type != y->type) {  // integer kernels keep the activation type
      char why[256];
      snprintf(why, sizeof why, "op %d %s (%s '%.60s' in, %s '%.60s' out)", c->op_index, c->op_name,
               type_name(t->type), t->name, type_name(y->type), y->name);
      return unsupported(c, why);
    }
  }
  switch (o->code) {
    case OP_CONV_2D: return q_conv(c, o, 0);
    case OP_DEPTHWISE_CONV_2D: return q_conv(c, o, 1);
    case OP_FULLY_CONNECTED: return q_conv(c, o, 2);
    case OP_ADD:
    case OP_SUB:
    case OP_MUL: return q_binary(c, o);
    case OP_LOGISTIC:
    case OP_TANH: {
      pb at = {0};
      pb_str(&at, 1, "fn");
      pb_str(&at, 4, o->code == OP_LOGISTIC ? "sigmoid" : "tanh");
      pb_int(&at, 20, ATTR_STRING);
      pb_msg(&a, 5, &at);
      attr_int(&a, "mode", TFL_MODE_BUILTIN);  // XNNPACK's delegate takes float LOGISTIC/TANH only
      if ((st = qattrs(c, &a, "x", xi)) || (st = qattrs(c, &a, "y", yi)) || (st = use(c, xi, &in0))) break;
      node1(c, "TflLut", in0, y->name, &a);
      return EO_OK;
    }
    case OP_QUANTIZE: {
      if (!is_q8act(y)) return q_unsupported(c, o);
      attr_int(&a, "to", onnx_type(y->type));
      // XNNPACK converts float32 and requantizes within one type when the scale ratio is in
      // [2^-8, 2^7]; int8 <-> uint8 and other ratios run TFLite's own kernel.
      float xs = 0, ys = 0;
      int64_t zz;
      bool xnn = x->type == TFL_FLOAT32;
      if (!xnn && x->type == y->type && qparam(c, xi, &xs, &zz) && qparam(c, yi, &ys, &zz)) {
        float r = xs / ys;
        xnn = r >= 0x1p-8f && r <= 0x1p7f;
      }
      attr_int(&a, "mode", xnn ? TFL_MODE_XNNPACK : TFL_MODE_BUILTIN);
      if ((x->type != TFL_FLOAT32 && (st = qattrs(c, &a, "x", xi))) || (st = qattrs(c, &a, "y", yi)) ||
          (st = use(c, xi, &in0)))
        break;
      node1(c, "TflQuantize", in0, y->name, &a);
      return EO_OK;
    }
    case OP_DEQUANTIZE: {
      float s;
      int64_t z;
      if (y->type != TFL_FLOAT32) return q_unsupported(c, o);
      if (!qparam(c, xi, &s, &z)) return qmissing(c, xi);
      const char *sn = fmt(c, "%s/scale", c->node_name), *zn = fmt(c, "%s/zero_point", c->node_name);
      if (!sn || !zn) return eo_error(EO_ERR_NOMEM, "out of memory");
      uint8_t zb = (uint8_t)(x->type == TFL_INT8 ? (uint8_t)(int8_t)z : (uint8_t)z);
      emit_init(c, sn, ONNX_FLOAT, 0, NULL, &s, 4);
      emit_init(c, zn, onnx_type(x->type), 0, NULL, &zb, 1);
      if ((st = use(c, xi, &in0))) return st;
      const char *ins[3] = {in0, sn, zn};
      emit_node(c, "DequantizeLinear", 3, ins, 1, (const char *const *)&y->name, NULL);
      return EO_OK;
    }
    case OP_AVERAGE_POOL_2D:
    case OP_MAX_POOL_2D: {
      if ((st = q_same(c, xi, yi))) return st;
      int act = eo_fb_get_u8(v, o->opt, POOL_ACTIVATION, ACT_NONE);
      if (o->code == OP_MAX_POOL_2D && act == ACT_NONE) return conv_like(c, o, false, true);  // max moves integers
      if (x->rank != 4 || y->rank != 4) return bad(c, "op %d (%s): rank-4 input and output expected", c->op_index,
                                                   c->op_name);
      if (o->code == OP_MAX_POOL_2D) return q_unsupported(c, o);
      int64_t sw = eo_fb_get_i32(v, o->opt, POOL_STRIDE_W, 1), sh = eo_fb_get_i32(v, o->opt, POOL_STRIDE_H, 1);
      int64_t kw = eo_fb_get_i32(v, o->opt, POOL_FILTER_W, 1), kh = eo_fb_get_i32(v, o->opt, POOL_FILTER_H, 1);
      int pad = eo_fb_get_u8(v, o->opt, POOL_PADDING, PAD_SAME);
      if (sw < 1 || sh < 1 || kw < 1 || kh < 1 || sw > 1 << 16 || sh > 1 << 16 || kw > 1 << 16 || kh > 1 << 16)
        return bad(c, "op %d (%s): stride or filter", c->op_index, c->op_name);
      int64_t pads[4] = {0, 0, 0, 0}, k2[2] = {kh, kw}, s2[2] = {sh, sw};
      if (pad == PAD_SAME) {
        same_pads(x->dims[1], kh, sh, 1, &pads[0], &pads[2]);
        same_pads(x->dims[2], kw, sw, 1, &pads[1], &pads[3]);
      }
      attr_ints(&a, "kernel", k2, 2);
      attr_ints(&a, "strides", s2, 2);
      attr_ints(&a, "pads", pads, 4);
      attr_int(&a, "mode", TFL_MODE_BUILTIN);
      if ((st = qattrs(c, &a, "x", xi)) || (st = qact(c, &a, act, yi)) || (st = use(c, xi, &in0))) break;
      node1(c, "TflAveragePool", in0, y->name, &a);
      return EO_OK;
    }
    case OP_MEAN: {
      int64_t axes[EO_MAX_RANK];
      int n;
      if (o->n_in < 2 || o->in[1] < 0) return bad(c, "op %d (%s) has no axes", c->op_index, c->op_name);
      if ((st = const_ints(c, o->in[1], axes, EO_MAX_RANK, &n))) return st;
      for (int k = 0; k < n; k++)
        if (axes[k] < 0) axes[k] += x->rank;
      if (x->rank != 4 || n != 2 || !((axes[0] == 1 && axes[1] == 2) || (axes[0] == 2 && axes[1] == 1))) {
        char why[160];
        snprintf(why, sizeof why, "op %d MEAN (%s activations, axes other than {1,2} of a rank-4 tensor)", c->op_index,
                 type_name(x->type));
        return unsupported(c, why);
      }
      attr_int(&a, "keepdims", eo_fb_get_u8(v, o->opt, REDUCER_KEEP_DIMS, 0));
      attr_int(&a, "mode", TFL_MODE_XNNPACK);
      if ((st = qattrs(c, &a, "x", xi)) || (st = qattrs(c, &a, "y", yi)) || (st = use(c, xi, &in0))) break;
      node1(c, "TflMean", in0, y->name, &a);
      return EO_OK;
    }
    case OP_RESHAPE:
    case OP_SQUEEZE:
    case OP_EXPAND_DIMS:
      if ((st = q_same(c, xi, yi))) return st;
      return reshape_to_output(c, o);
    case OP_TRANSPOSE: {
      int64_t perm[EO_MAX_RANK];
      int n;
      if (o->n_in < 2 || o->in[1] < 0) return bad(c, "op %d (%s) has no permutation", c->op_index, c->op_name);
      if ((st = q_same(c, xi, yi)) || (st = const_ints(c, o->in[1], perm, EO_MAX_RANK, &n)) || (st = use(c, xi, &in0)))
        return st;
      attr_ints(&a, "perm", perm, n);
      node1(c, "Transpose", in0, y->name, &a);
      return EO_OK;
    }
    case OP_CONCATENATION: {
      int rank = y->rank;
      int64_t axis = eo_fb_get_i32(v, o->opt, CONCAT_AXIS, 0);
      if (axis < -rank || axis >= rank) return bad(c, "op %d (%s): axis %lld for rank %d", c->op_index, c->op_name,
                                                   (long long)axis, rank);
      if (eo_fb_get_u8(v, o->opt, CONCAT_ACTIVATION, ACT_NONE) != ACT_NONE) return q_unsupported(c, o);
      const char *ins[EO_TFL_MAX_IO];
      for (int k = 0; k < o->n_in; k++) {
        if (!tensor_ok(c, o->in[k])) return bad(c, "op %d (%s): input %d", c->op_index, c->op_name, k);
        if ((st = q_same(c, o->in[k], yi)) || (st = qin(c, o->in[k], &ins[k]))) return st;
      }
      attr_int(&a, "axis", axis);
      emit_node(c, "Concat", o->n_in, ins, 1, (const char *const *)&y->name, &a);
      return EO_OK;
    }
    case OP_SOFTMAX:
      attr_float(&a, "beta", eo_fb_get_f32(v, o->opt, SOFTMAX_BETA, 0.f));
      if ((st = qattrs(c, &a, "x", xi)) || (st = qattrs(c, &a, "y", yi)) || (st = use(c, xi, &in0))) break;
      node1(c, "TflSoftmax", in0, y->name, &a);
      return EO_OK;
    case OP_PAD:
    case OP_PADV2: return q_pad(c, o);
    case OP_SLICE:
    case OP_STRIDED_SLICE: return slice_op(c, o);
    case OP_GATHER: return gather_op(c, o);
    case OP_LEAKY_RELU: return q_leaky_relu(c, o);
    case OP_HARD_SWISH: return q_hard_swish(c, o);
    case OP_PRELU: return q_prelu(c, o);
    case OP_RESIZE_NEAREST_NEIGHBOR:
      if ((st = q_same(c, xi, yi))) return st;
      return resize(c, o);
    default: return q_unsupported(c, o);
  }
  free(a.p);
  return st;
}

/* ---- dynamic-range (hybrid) files: float activations, int8 weights (runtime/ops/tfl_hybrid.c) ----
 * CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED with constant int8 weights run TFLite's hybrid
 * kernels in the interpreter (the input quantized at run time), so they become TflHybridConv nodes in
 * TFLite's layouts, carrying the weights' integers and scales. Weights behind a DEQUANTIZE are float
 * weights (the interpreter dequantizes them) and stay on the float path. */

static bool is_hybrid(ctx *c, const op_view *o) {
  if (o->code != OP_CONV_2D && o->code != OP_DEPTHWISE_CONV_2D && o->code != OP_FULLY_CONNECTED) return false;
  if (o->n_in < 2 || !tensor_ok(c, o->in[1]) || !tensor_ok(c, o->in[0])) return false;
  const tinfo *x = &c->t[o->in[0]], *w = &c->t[o->in[1]];
  return !x->data && x->type == TFL_FLOAT32 && w->data && !w->dequantized && w->quant &&
         (w->type == TFL_INT8 || w->type == TFL_UINT8);
}

static eo_status hybrid_conv(ctx *c, const op_view *o) {
  eo_fb_view v = c->v;
  int kind = o->code == OP_CONV_2D ? 0 : o->code == OP_DEPTHWISE_CONV_2D ? 1 : 2;
  int xi = o->in[0], wi = o->in[1], bi = o->n_in > 2 ? o->in[2] : -1, yi = o->out[0];
  tinfo *x = &c->t[xi], *w = &c->t[wi], *y = &c->t[yi];
  char why[160];
  if (w->type != TFL_INT8) {
    snprintf(why, sizeof why, "op %d %s (hybrid with %s weights)", c->op_index, c->op_name, type_name(w->type));
    return unsupported(c, why);
  }
  if (y->type != TFL_FLOAT32 || (bi >= 0 && (!tensor_ok(c, bi) || c->t[bi].type != TFL_FLOAT32)))
    return eo_error(EO_ERR_UNSUPPORTED, "%s: op %d (%s): a hybrid operator (float input, int8 weights '%s') needs "
                    "a float32 output and bias", c->src, c->op_index, c->op_name, w->name);
  pb a = {0};
  int act;
  int64_t o_ch;
  eo_status st;
  attr_int(&a, "kind", kind);
  if (kind != 2) {
    if (x->rank != 4 || w->rank != 4 || y->rank != 4) {
      free(a.p);
      return bad(c, "op %d (%s): input, weights and output must be rank 4", c->op_index, c->op_name);
    }
    o_ch = kind == 1 ? w->dims[3] : w->dims[0];
    if (kind == 0 && w->dims[3] != x->dims[3]) {  // conv.cc: no grouped hybrid convolution
      free(a.p);
      snprintf(why, sizeof why, "op %d %s (grouped hybrid convolution: %lld input channels, %lld per filter)",
               c->op_index, c->op_name, (long long)x->dims[3], (long long)w->dims[3]);
      return unsupported(c, why);
    }
    if ((st = conv_geometry(c, o, kind, x, w, &a, &act))) {
      free(a.p);
      return st;
    }
  } else {
    if ((st = fc_geometry(c, o, w, &act))) {
      free(a.p);
      return st;
    }
    o_ch = w->dims[0];
  }
  // Weight scales: one, or one per output channel; the hybrid kernels take symmetric weights.
  uint32_t sv = eo_fb_get_ref(v, w->quant, QUANT_SCALE), zv = eo_fb_get_ref(v, w->quant, QUANT_ZERO_POINT);
  uint32_t ns = 0, sd = 0, nz = 0, zd = 0;
  if (!sv || !eo_fb_vec(v, sv, 4, &ns, &sd) || ns < 1 || (zv && !eo_fb_vec(v, zv, 8, &nz, &zd)) ||
      (ns != 1 && (int64_t)ns != o_ch)) {
    free(a.p);
    return qmissing(c, wi);
  }
  for (uint32_t k = 0; k < nz; k++)
    if (rd_i64(v.p + zd + 8 * k) != 0) {
      free(a.p);
      return eo_error(EO_ERR_UNSUPPORTED, "%s: op %d (%s): hybrid weights '%s' have a nonzero zero point", c->src,
                      c->op_index, c->op_name, w->name);
    }
  bool differ = false;
  {
    pb at = {0};
    pb_str(&at, 1, "w_scales");
    for (uint32_t k = 0; k < ns; k++) {
      float s = rd_f32(v.p + sd + 4 * k);
      differ |= s != rd_f32(v.p + sd);
      pb_float(&at, 7, s);
    }
    pb_int(&at, 20, 6 /* FLOATS */);
    pb_msg(&a, 5, &at);
  }
  // Which input quantization the interpreter runs: conv per channel only when the scales differ
  // (conv.cc is_hybrid_per_channel), depthwise always per channel, fc by its option.
  int asym = kind == 1 ? 1 : kind == 0 ? differ : eo_fb_get_u8(v, o->opt, FC_ASYMMETRIC_QUANTIZE_INPUTS, 0) != 0;
  attr_int(&a, "asymmetric", asym);
  bool tanh_after = act == ACT_TANH;
  switch (act) {
    case ACT_NONE: case ACT_TANH: break;
    case ACT_RELU: attr_float(&a, "act_min", 0.f); break;
    case ACT_RELU6: attr_float(&a, "act_min", 0.f), attr_float(&a, "act_max", 6.f); break;
    case ACT_RELU_N1_TO_1: attr_float(&a, "act_min", -1.f), attr_float(&a, "act_max", 1.f); break;
    default:
      free(a.p);
      return eo_error(EO_ERR_UNSUPPORTED, "%s: op %d (%s): fused activation %d", c->src, c->op_index, c->op_name, act);
  }
  const char *xin, *win, *bin = NULL;
  if ((st = use(c, xi, &xin)) || (st = raw(c, wi, &win)) || (bi >= 0 && (st = use(c, bi, &bin)))) {
    free(a.p);
    return st;
  }
  if (kind == 2 && x->rank != 2) {  // FULLY_CONNECTED flattens its input to [-1, K]
    int64_t sh2[2] = {-1, w->dims[1]};
    const char *shape = i64_const(c, "in_shape", sh2, 2), *ins[2] = {xin, shape}, *x2 = fmt(c, "%s/2d", y->name);
    if (!x2) {
      free(a.p);
      return eo_error(EO_ERR_NOMEM, "out of memory");
    }
    emit_node(c, "Reshape", 2, ins, 1, &x2, NULL);
    xin = x2;
  }
  bool reshape_out = kind == 2 && y->rank != 2;
  const char *yout = reshape_out ? fmt(c, "%s/2d_out", y->name) : y->name;
  const char *core = yout ? stage(c, yout, "preact", tanh_after) : NULL;
  if (!core) {
    free(a.p);
    return eo_error(EO_ERR_NOMEM, "out of memory");
  }
  const char *ins[3] = {xin, win, bin};
  emit_node(c, "TflHybridConv", bin ? 3 : 2, ins, 1, &core, &a);
  if (tanh_after) emit_act(c, ACT_TANH, core, yout);
  if (reshape_out) {
    const char *shape = i64_const(c, "out_shape", y->dims, y->rank), *rs[2] = {yout, shape};
    emit_node(c, "Reshape", 2, rs, 1, (const char *const *)&y->name, NULL);
  }
  return EO_OK;
}

static eo_status translate_op(ctx *c, const op_view *o) {
  for (int k = 0; k < o->n_in; k++)  // anything touching int8/uint8 activations runs TFLite's integer kernels
    if (tensor_ok(c, o->in[k]) && is_q8act(&c->t[o->in[k]]) && o->code != OP_SPLIT && o->code != OP_SPLIT_V)
      return translate_q(c, o);
  if (o->code == OP_SPLIT || o->code == OP_SPLIT_V) return split_op(c, o);
  if (is_q8act(&c->t[o->out[0]])) return translate_q(c, o);
  if (is_hybrid(c, o)) return hybrid_conv(c, o);
  eo_fb_view v = c->v;
  eo_status st;
  const char *in0 = NULL, *out0 = c->t[o->out[0]].name;
  pb a = {0};
  switch (o->code) {
    case OP_CONV_2D: return conv_like(c, o, false, false);
    case OP_DEPTHWISE_CONV_2D: return conv_like(c, o, true, false);
    case OP_MAX_POOL_2D:
    case OP_AVERAGE_POOL_2D: return conv_like(c, o, false, true);
    case OP_RESIZE_BILINEAR:
    case OP_RESIZE_NEAREST_NEIGHBOR: return resize(c, o);
    case OP_ADD: return with_act_l(c, o, "Add", ADD_ACTIVATION, NULL, 2, true);
    case OP_SUB: return with_act_l(c, o, "Sub", ADD_ACTIVATION, NULL, 2, true);
    case OP_MUL: return with_act_l(c, o, "Mul", ADD_ACTIVATION, NULL, 2, true);
    case OP_DIV: return with_act_l(c, o, "Div", ADD_ACTIVATION, NULL, 2, true);
    case OP_MAXIMUM: return with_act_l(c, o, "Max", -1, NULL, 2, true);
    case OP_MINIMUM: return with_act_l(c, o, "Min", -1, NULL, 2, true);
    case OP_SQUARED_DIFFERENCE: {
      const char *x, *y;
      if ((st = use(c, o->in[0], &x)) || (st = use(c, o->in[1], &y))) return st;
      const char *d = fmt(c, "%s/diff", out0), *ins[2] = {x, y};
      if (!d) return eo_error(EO_ERR_NOMEM, "out of memory");
      emit_node(c, "Sub", 2, ins, 1, &d, NULL);
      const char *sq[2] = {d, d};
      emit_node(c, "Mul", 2, sq, 1, &out0, NULL);
      return EO_OK;
    }
    case OP_LOGISTIC: return with_act_l(c, o, "Sigmoid", -1, NULL, 1, true);
    case OP_TANH: return with_act_l(c, o, "Tanh", -1, NULL, 1, true);
    case OP_RELU: return with_act_l(c, o, "Relu", -1, NULL, 1, true);
    case OP_EXP: return with_act_l(c, o, "Exp", -1, NULL, 1, true);
    case OP_LOG: return with_act_l(c, o, "Log", -1, NULL, 1, true);
    case OP_ABS: return with_act_l(c, o, "Abs", -1, NULL, 1, true);
    case OP_NEG: return with_act_l(c, o, "Neg", -1, NULL, 1, true);
    case OP_SQRT: return with_act_l(c, o, "Sqrt", -1, NULL, 1, true);
    case OP_FLOOR: return with_act_l(c, o, "Floor", -1, NULL, 1, true);
    case OP_HARD_SWISH: return with_act_l(c, o, "HardSwish", -1, NULL, 1, true);
    case OP_ELU: return with_act_l(c, o, "Elu", -1, NULL, 1, true);
    case OP_PRELU: return with_act(c, o, "PRelu", -1, NULL, 2);
    case OP_RSQRT: {
      if ((st = use(c, o->in[0], &in0))) return st;
      const char *s = fmt(c, "%s/sqrt", out0);
      if (!s) return eo_error(EO_ERR_NOMEM, "out of memory");
      node1(c, "Sqrt", in0, s, NULL);
      node1(c, "Reciprocal", s, out0, NULL);
      return EO_OK;
    }
    case OP_SQUARE: {
      if ((st = use(c, o->in[0], &in0))) return st;
      const char *ins[2] = {in0, in0};
      emit_node(c, "Mul", 2, ins, 1, &out0, NULL);
      return EO_OK;
    }
    case OP_LEAKY_RELU:
      attr_float(&a, "alpha", eo_fb_get_f32(v, o->opt, LEAKY_RELU_ALPHA, 0.f));
      return with_act_l(c, o, "LeakyRelu", -1, &a, 1, true);
    case OP_RELU6:
    case OP_RELU_N1_TO_1:
      if ((st = use(c, o->in[0], &in0))) return st;
      emit_act(c, o->code == OP_RELU6 ? ACT_RELU6 : ACT_RELU_N1_TO_1, in0, out0);
      return EO_OK;
    case OP_FULLY_CONNECTED: {
      if (o->n_in < 2 || o->in[1] < 0) return bad(c, "op %d (%s) has no weights", c->op_index, c->op_name);
      tinfo *x = &c->t[o->in[0]], *w = &c->t[o->in[1]], *y = &c->t[o->out[0]];
      if (w->rank != 2) return bad(c, "op %d (%s): weights '%s' have rank %d, expected 2", c->op_index, c->op_name,
                                   w->name, w->rank);
      if (eo_fb_get_u8(v, o->opt, FC_WEIGHTS_FORMAT, 0))
        return eo_error(EO_ERR_UNSUPPORTED, "%s: op %d (%s): shuffled weights format", c->src, c->op_index, c->op_name);
      const char *xi, *wi, *bi = NULL;
      if ((st = use(c, o->in[0], &xi)) || (st = use(c, o->in[1], &wi))) return st;
      if (o->n_in > 2 && o->in[2] >= 0 && (st = use(c, o->in[2], &bi))) return st;
      const char *x2 = xi;
      if (x->rank != 2) {
        int64_t sh[2] = {-1, w->dims[1]};
        const char *shape = i64_const(c, "in_shape", sh, 2), *ins[2] = {xi, shape};
        if (!(x2 = fmt(c, "%s/2d", y->name))) return eo_error(EO_ERR_NOMEM, "out of memory");
        emit_node(c, "Reshape", 2, ins, 1, &x2, NULL);
      }
      bool reshape_out = y->rank != 2;
      const char *gout = reshape_out ? fmt(c, "%s/2d", y->name) : y->name;
      if (!gout) return eo_error(EO_ERR_NOMEM, "out of memory");
      pb ga = {0};
      attr_int(&ga, "transB", 1);
      // Gemm writes `gout`, the activation follows it, then the reshape to the declared shape.
      int act = eo_fb_get_u8(v, o->opt, FC_ACTIVATION, ACT_NONE);
      if (act != ACT_NONE && act != ACT_RELU && act != ACT_RELU6 && act != ACT_RELU_N1_TO_1 && act != ACT_TANH) {
        free(ga.p);
        return eo_error(EO_ERR_UNSUPPORTED, "%s: op %d (%s): fused activation %d", c->src, c->op_index, c->op_name, act);
      }
      const char *core = stage(c, gout, "preact", act != ACT_NONE), *ins[3] = {x2, wi, bi};
      if (!core) return eo_error(EO_ERR_NOMEM, "out of memory");
      emit_node(c, "Gemm", bi ? 3 : 2, ins, 1, &core, &ga);
      if (act != ACT_NONE) emit_act(c, act, core, gout);
      if (reshape_out) {
        const char *shape = i64_const(c, "out_shape", y->dims, y->rank), *rs[2] = {gout, shape};
        emit_node(c, "Reshape", 2, rs, 1, (const char *const *)&y->name, NULL);
      }
      return EO_OK;
    }
    case OP_RESHAPE:
    case OP_SQUEEZE:
    case OP_EXPAND_DIMS: return reshape_to_output(c, o);
    case OP_SLICE:
    case OP_STRIDED_SLICE: return slice_op(c, o);
    case OP_GATHER: return gather_op(c, o);
    case OP_TRANSPOSE: {
      int64_t perm[EO_MAX_RANK];
      int n;
      if (o->n_in < 2 || o->in[1] < 0) return bad(c, "op %d (%s) has no permutation", c->op_index, c->op_name);
      if ((st = const_ints(c, o->in[1], perm, EO_MAX_RANK, &n)) || (st = use(c, o->in[0], &in0))) return st;
      attr_ints(&a, "perm", perm, n);
      node1(c, "Transpose", in0, out0, &a);
      return EO_OK;
    }
    case OP_CONCATENATION: {
      int rank = c->t[o->out[0]].rank;
      int64_t axis = eo_fb_get_i32(v, o->opt, CONCAT_AXIS, 0);
      if (axis < -rank || axis >= rank) return bad(c, "op %d (%s): axis %lld for rank %d", c->op_index, c->op_name,
                                                   (long long)axis, rank);
      attr_int(&a, "axis", axis);
      return with_act(c, o, "Concat", CONCAT_ACTIVATION, &a, o->n_in);
    }
    case OP_SOFTMAX: {
      if ((st = use(c, o->in[0], &in0))) return st;
      float beta = eo_fb_get_f32(v, o->opt, SOFTMAX_BETA, 0.f);
      const char *x = in0;
      if (beta != 1.f) {
        const char *bn = fmt(c, "%s/beta", out0), *scaled = fmt(c, "%s/scaled", out0);
        if (!bn || !scaled) return eo_error(EO_ERR_NOMEM, "out of memory");
        emit_init(c, bn, ONNX_FLOAT, 0, NULL, &beta, 4);
        const char *ins[2] = {in0, bn};
        emit_node(c, "Mul", 2, ins, 1, &scaled, NULL);
        x = scaled;
      }
      attr_int(&a, "axis", -1);
      node1(c, "Softmax", x, out0, &a);
      return EO_OK;
    }
    case OP_MEAN:
    case OP_REDUCE_MAX:
    case OP_REDUCE_MIN:
    case OP_REDUCE_PROD:
    case OP_SUM: {
      int64_t axes[EO_MAX_RANK];
      int n;
      if (o->n_in < 2 || o->in[1] < 0) return bad(c, "op %d (%s) has no axes", c->op_index, c->op_name);
      if ((st = const_ints(c, o->in[1], axes, EO_MAX_RANK, &n)) || (st = use(c, o->in[0], &in0))) return st;
      attr_int(&a, "keepdims", eo_fb_get_u8(v, o->opt, REDUCER_KEEP_DIMS, 0));
      if (o->code == OP_SUM) {  // opset 13+: ReduceSum takes axes as an input
        const char *ax = i64_const(c, "axes", axes, n), *ins[2] = {in0, ax};
        emit_node(c, "ReduceSum", 2, ins, 1, &out0, &a);
        return EO_OK;
      }
      attr_ints(&a, "axes", axes, n);
      node1(c, o->code == OP_MEAN ? "ReduceMean" : o->code == OP_REDUCE_MAX ? "ReduceMax"
               : o->code == OP_REDUCE_MIN ? "ReduceMin" : "ReduceProd", in0, out0, &a);
      return EO_OK;
    }
    case OP_PAD:
    case OP_PADV2: {
      int64_t p[2 * EO_MAX_RANK], pads[2 * EO_MAX_RANK];
      int n, rank = c->t[o->in[0]].rank;
      if (o->n_in < 2 || o->in[1] < 0) return bad(c, "op %d (%s) has no paddings", c->op_index, c->op_name);
      if ((st = const_ints(c, o->in[1], p, 2 * EO_MAX_RANK, &n))) return st;
      if (n != 2 * rank) return bad(c, "op %d (%s): %d padding values for rank %d", c->op_index, c->op_name, n, rank);
      // An input with an NCHW copy is padded in NCHW (dims permuted), keeping conv chains NCHW.
      tinfo *x = &c->t[o->in[0]], *y = &c->t[o->out[0]];
      bool nchw = rank == 4 && x->nchw && !x->data && y->rank == 4;
      if (!nchw && (st = use(c, o->in[0], &in0))) return st;
      static const int nhwc_of[4] = {0, 3, 1, 2};
      for (int d = 0; d < rank; d++) {
        int sd = nchw ? nhwc_of[d] : d;
        pads[d] = p[2 * sd], pads[rank + d] = p[2 * sd + 1];
      }
      const char *pn = i64_const(c, "pads", pads, 2 * rank), *val = NULL;
      if (o->code == OP_PADV2 && o->n_in > 2 && o->in[2] >= 0 && (st = use(c, o->in[2], &val))) return st;
      const char *out = nchw ? fmt(c, "%s/nchw", y->name) : out0;
      if (!out) return eo_error(EO_ERR_NOMEM, "out of memory");
      const char *ins[3] = {nchw ? x->nchw : in0, pn, val};
      emit_node(c, "Pad", val ? 3 : 2, ins, 1, &out, NULL);
      if (nchw) back_to_nhwc(c, out, y);
      return EO_OK;
    }
    case OP_DEQUANTIZE: {
      tinfo *x = &c->t[o->in[0]], *y = &c->t[o->out[0]];
      // float16 / int8 weights: link_dequant_weights made the output a constant, written
      // (as float32) where it is used.
      if (x->data && y->data) return EO_OK;
      if (y->type != TFL_FLOAT32)
        return eo_error(EO_ERR_UNSUPPORTED, "%s: op %d (%s): output '%s' is %s", c->src, c->op_index, c->op_name,
                        y->name, type_name(y->type));
      if (x->data)
        return bad(c, "op %d (%s): constant '%s' (%s) does not fit output '%s'", c->op_index, c->op_name, x->name,
                   type_name(x->type), y->name);
      if (x->type == TFL_FLOAT16) {
        attr_int(&a, "to", ONNX_FLOAT);
        node1(c, "Cast", x->name, out0, &a);
        return EO_OK;
      }
      return eo_error(EO_ERR_UNSUPPORTED, "%s: op %d (%s): dequantizing activation '%s' (%s): quantized activations "
                      "are not supported", c->src, c->op_index, c->op_name, x->name, type_name(x->type));
    }
    default: break;
  }
  c->unmapped = true;
  return EO_OK;
}

/* The float data behind a DEQUANTIZE output, for weights read through permuted(): the alias is
 * resolved by pointing the output at its source constant before translation. */
static void link_dequant_weights(ctx *c, uint32_t ops, uint32_t n_ops, const int *codes) {
  for (uint32_t i = 0; i < n_ops; i++) {
    uint32_t op = eo_fb_vec_ref(c->v, ops, i);
    uint32_t oc = eo_fb_get_u32(c->v, op, OPERATOR_OPCODE, 0);
    if (!op || oc >= c->n_opcodes || codes[oc] != OP_DEQUANTIZE) continue;
    uint32_t iv = eo_fb_get_ref(c->v, op, OPERATOR_INPUTS), ov = eo_fb_get_ref(c->v, op, OPERATOR_OUTPUTS), ni, id, no,
             od;
    if (!eo_fb_vec(c->v, iv, 4, &ni, &id) || !eo_fb_vec(c->v, ov, 4, &no, &od) || ni < 1 || no < 1) continue;
    int x = (int32_t)eo_fb_rd_u32(c->v.p + id), y = (int32_t)eo_fb_rd_u32(c->v.p + od);
    if (!tensor_ok(c, x) || !tensor_ok(c, y) || !c->t[x].data || c->t[y].data) continue;
    tinfo *src = &c->t[x], *dst = &c->t[y];
    int64_t n1 = eo_numel(src->rank, src->dims), n2 = eo_numel(dst->rank, dst->dims);
    if (n1 != n2 || dst->type != TFL_FLOAT32) continue;
    // The output reads as the source's constant data (dequantized on use) with its own shape.
    dst->data = src->data;
    dst->nbytes = src->nbytes;
    dst->type = src->type;
    dst->quant = src->quant;
    dst->dequantized = true;
  }
}

eo_status eo_tflite_to_onnx(const void *data, size_t size, const char *label, void **onnx, size_t *onnx_size) {
  *onnx = NULL;
  *onnx_size = 0;
  ctx cc = {.v = {data, size}, .src = label ? label : "<buffer>"}, *c = &cc;
  eo_fb_view v = c->v;
  eo_status st = EO_OK;
  int *codes = NULL;
  pb model = {0};
  uint32_t root = eo_fb_root(v, "TFL3");
  if (!root) return bad(c, "the root table is out of bounds (truncated file?)");
  uint32_t version = eo_fb_get_u32(v, root, MODEL_VERSION, 0);
  if (version != 3)
    return eo_error(EO_ERR_UNSUPPORTED, "%s: TFLite schema version %u (3 expected)", c->src, version);
  uint32_t sgv = eo_fb_get_ref(v, root, MODEL_SUBGRAPHS), sgd, nsg;
  if (!sgv || !eo_fb_vec(v, sgv, 4, &nsg, &sgd) || nsg == 0) return bad(c, "no subgraphs");
  if (!(c->sg = eo_fb_vec_ref(v, sgd, 0))) return bad(c, "subgraph 0 is out of bounds");
  uint32_t bv = eo_fb_get_ref(v, root, MODEL_BUFFERS), ocv = eo_fb_get_ref(v, root, MODEL_OPCODES);
  if (bv && !eo_fb_vec(v, bv, 4, &c->n_buffers, &c->buffers)) return bad(c, "the buffer list is out of bounds");
  if (!ocv || !eo_fb_vec(v, ocv, 4, &c->n_opcodes, &c->opcodes)) return bad(c, "no operator codes");
  if ((st = read_tensors(c))) goto done;
  if (!(codes = eo_calloc((size_t)c->n_opcodes + 1, sizeof(int)))) {
    st = eo_error(EO_ERR_NOMEM, "out of memory");
    goto done;
  }
  for (uint32_t i = 0; i < c->n_opcodes; i++) {
    uint32_t oc = eo_fb_vec_ref(v, c->opcodes, i);
    if (!oc) {
      st = bad(c, "operator code %u is out of bounds", i);
      goto done;
    }
    // builtin_code (int) superseded deprecated_builtin_code (byte, capped at 127).
    int dep = (int8_t)eo_fb_get_u8(v, oc, OPCODE_DEPRECATED_BUILTIN, 0), code = eo_fb_get_i32(v, oc, OPCODE_BUILTIN, 0);
    codes[i] = code > dep ? code : dep;
  }
  uint32_t opv = eo_fb_get_ref(v, c->sg, SUBGRAPH_OPERATORS), opd = 0, nops = 0;
  if (opv && !eo_fb_vec(v, opv, 4, &nops, &opd)) {
    st = bad(c, "the operator list is out of bounds");
    goto done;
  }
  link_dequant_weights(c, opd, nops, codes);

  for (uint32_t i = 0; i < nops; i++) {
    uint32_t op = eo_fb_vec_ref(v, opd, i);
    if (!op) {
      st = bad(c, "operator %u is out of bounds", i);
      goto done;
    }
    op_view o = {0};
    uint32_t oc = eo_fb_get_u32(v, op, OPERATOR_OPCODE, 0);
    if (oc >= c->n_opcodes) {
      st = bad(c, "operator %u uses opcode %u of %u", i, oc, c->n_opcodes);
      goto done;
    }
    o.code = codes[oc];
    c->op_index = (int)i;
    const char *nm = op_code_name(o.code);
    char codebuf[32];
    if (!nm) snprintf(codebuf, sizeof codebuf, "builtin %d", o.code);
    c->op_name = nm ? nm : codebuf;
    snprintf(c->node_name, sizeof c->node_name, "%s_%u", nm ? nm : "op", i);
    c->n_helper = 0;
    c->unmapped = false;
    for (int k = 0; k < EO_TFL_MAX_IO; k++) o.in[k] = o.out[k] = -1;
    for (int io = 0; io < 2; io++) {
      uint32_t vec = eo_fb_get_ref(v, op, io ? OPERATOR_OUTPUTS : OPERATOR_INPUTS), n = 0, d = 0;
      if (vec && !eo_fb_vec(v, vec, 4, &n, &d)) {
        st = bad(c, "operator %u's %s are out of bounds", i, io ? "outputs" : "inputs");
        goto done;
      }
      if (n > EO_TFL_MAX_IO) {
        st = eo_error(EO_ERR_UNSUPPORTED, "%s: op %u (%s) has %u %s (at most %d supported)", c->src, i, c->op_name, n,
                      io ? "outputs" : "inputs", EO_TFL_MAX_IO);
        goto done;
      }
      for (uint32_t k = 0; k < n; k++) {
        int x = (int32_t)eo_fb_rd_u32(v.p + d + 4 * k);
        if (x != -1 && !tensor_ok(c, x)) {
          st = bad(c, "operator %u refers to tensor %d of %u", i, x, c->nt);
          goto done;
        }
        (io ? o.out : o.in)[k] = x;
      }
      *(io ? &o.n_out : &o.n_in) = (int)n;
    }
    if (o.n_in < 1 || o.in[0] < 0 || o.n_out < 1 || o.out[0] < 0) {
      st = bad(c, "operator %u (%s) has no input or output", i, c->op_name);
      goto done;
    }
    o.opt_type = eo_fb_get_u8(v, op, OPERATOR_OPTIONS_TYPE, OPT_NONE);
    o.opt = eo_fb_get_ref(v, op, OPERATOR_OPTIONS);
    if (o.code == OP_CUSTOM) {
      uint32_t ocr = eo_fb_vec_ref(v, c->opcodes, oc), len = 0, s = eo_fb_get_ref(v, ocr, OPCODE_CUSTOM);
      const char *cn = s ? eo_fb_str(v, s, &len) : NULL;
      char why[160];
      snprintf(why, sizeof why, "op %u CUSTOM '%.*s'", i, cn ? (int)(len > 64 ? 64 : len) : 0, cn ? cn : "");
      unsupported(c, why);
      continue;
    }
    if (o.n_out != 1 && o.code != OP_SPLIT && o.code != OP_SPLIT_V) {
      char why[96];
      snprintf(why, sizeof why, "op %u %s (%d outputs)", i, c->op_name, o.n_out);
      unsupported(c, why);
      continue;
    }
    if ((st = translate_op(c, &o))) goto done;
    if (c->unmapped) {
      char why[96];
      snprintf(why, sizeof why, "op %u %s", i, c->op_name);
      unsupported(c, why);
    }
    if (c->oom || c->graph.fail) {
      st = eo_error(EO_ERR_NOMEM, "out of memory");
      goto done;
    }
  }
  if (c->n_errs) {
    st = eo_error(EO_ERR_UNSUPPORTED, "%s: %d TFLite operator%s edgeopt cannot read: %s%s", c->src, c->n_errs,
                  c->n_errs > 1 ? "s" : "", c->errs, c->n_errs > 16 ? " and more" : "");
    goto done;
  }
  // Graph inputs and outputs, with the file's names, types and NHWC shapes.
  for (int io = 0; io < 2; io++) {
    uint32_t vec = eo_fb_get_ref(v, c->sg, io ? SUBGRAPH_OUTPUTS : SUBGRAPH_INPUTS), n = 0, d = 0;
    if (!vec || !eo_fb_vec(v, vec, 4, &n, &d) || (io && n == 0)) {
      st = bad(c, "subgraph 0 has no %s list", io ? "output" : "input");
      goto done;
    }
    for (uint32_t k = 0; k < n; k++) {
      int x = (int32_t)eo_fb_rd_u32(v.p + d + 4 * k);
      if (!tensor_ok(c, x)) {
        st = bad(c, "subgraph %s %u is tensor %d of %u", io ? "output" : "input", k, x, c->nt);
        goto done;
      }
      tinfo *t = &c->t[x];
      if (io && t->pending) {  // an output computed in NCHW: its NHWC Transpose
        const char *unused;
        if ((st = use(c, x, &unused))) goto done;
      }
      if (t->data) {  // a constant listed as input (an initializer) or output (written here)
        const char *unused;
        c->op_index = -1, c->op_name = "graph";
        if (io && (st = use(c, x, &unused))) goto done;
        if (!io) continue;
      }
      int dt = t->data && (t->type == TFL_FLOAT16 || t->quant) ? ONNX_FLOAT : onnx_type(t->type);
      if (!dt || (!io && t->type != TFL_FLOAT32 && t->type != TFL_INT32 && t->type != TFL_INT64 &&
                  t->type != TFL_BOOL && t->type != TFL_INT8 && t->type != TFL_UINT8)) {
        st = eo_error(EO_ERR_UNSUPPORTED, "%s: graph %s '%s' has type %s%s: not supported", c->src,
                      io ? "output" : "input", t->name, type_name(t->type), t->quant ? " (quantized)" : "");
        goto done;
      }
      emit_value_info(&c->graph, io ? 12 : 11, t->name, dt, t->rank, t->dims);
    }
  }
  pb_str(&c->graph, 2, "tflite");
  // Model: producer "TFLite" plus the file's description (the converter's name).
  pb_int(&model, 1, 8);  // IR version 8 (ONNX 1.13+) covers opset 14
  uint32_t dref = eo_fb_get_ref(v, root, MODEL_DESCRIPTION), dl = 0;
  const char *desc = dref ? eo_fb_str(v, dref, &dl) : NULL;
  const char *prod = fmt(c, "TFLite%s%.*s", desc && dl ? " " : "", desc ? (int)(dl > 100 ? 100 : dl) : 0, desc ? desc : "");
  pb_str(&model, 2, prod ? prod : "TFLite");
  pb_str(&model, 3, "schema v3");
  pb_msg(&model, 7, &c->graph);
  pb ops = {0};
  pb_str(&ops, 1, "");
  pb_int(&ops, 2, ONNX_OPSET);
  pb_msg(&model, 8, &ops);
  if (model.fail || c->oom) {
    st = eo_error(EO_ERR_NOMEM, "out of memory");
    goto done;
  }
  *onnx = model.p;
  *onnx_size = model.n;
  model.p = NULL;
done:
  free(model.p);
  free(c->graph.p);
  free(codes);
  for (int i = 0; i < c->n_strs; i++) free(c->strs[i]);
  free(c->strs);
  free(c->t);
  return st;
}

bool eo_is_tflite(const void *data, size_t size) {
  return size >= 8 && memcmp((const uint8_t *)data + 4, "TFL3", 4) == 0;
}
