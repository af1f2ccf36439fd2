/* Binary elementwise ops with numpy broadcasting: one table of (op, scalar expression) per dtype
 * class, instantiated per (op, dtype) as a row kernel (runtime/broadcast.h). In an expression `a`
 * and `b` are the operands in the compute type `ct`, `ut` the wrapping unsigned type.
 *
 * Integer semantics (C leaves these undefined; ONNX says nothing): + - * wrap; x / 0 == 0;
 * INT_MIN / -1 == INT_MIN; x ** negative == 0 except for bases 1 and -1.
 * Pow with different base and exponent dtypes goes through a generic double path, the result
 * taking the base's dtype (saturated for integer bases). */
#include <stdlib.h>
#include <tgmath.h>

#include "core/threads.h"
#include "runtime/broadcast.h"
#include "runtime/kernels/ref/eltwise.h"
#include "runtime/op.h"

static inline uint64_t ipow_u64(uint64_t base, uint64_t e) {
  uint64_t r = 1;
  while (e) {
    if (e & 1) r *= base;
    base *= base;
    e >>= 1;
  }
  return r;
}

static inline int64_t ipow_s64(int64_t base, int64_t e) {
  if (e < 0) return base == 1 ? 1 : base == -1 ? ((e & 1) ? -1 : 1) : 0;  // trunc(1 / base^-e)
  return (int64_t)ipow_u64((uint64_t)base, (uint64_t)e);
}

/* X(OP, sym, expression, output kind: SAME dtype or BOOL, ...) */
#define BIN_CMP_OPS(X, ...)                              \
  X(EQUAL, equal, a == b, BOOL, __VA_ARGS__)             \
  X(GREATER, greater, a > b, BOOL, __VA_ARGS__)          \
  X(LESS, less, a < b, BOOL, __VA_ARGS__)                \
  X(GREATER_OR_EQUAL, ge, a >= b, BOOL, __VA_ARGS__)     \
  X(LESS_OR_EQUAL, le, a <= b, BOOL, __VA_ARGS__)

#define BIN_OPS_F(X, ...)                                             \
  X(ADD, add, a + b, SAME, __VA_ARGS__)                               \
  X(SUB, sub, a - b, SAME, __VA_ARGS__)                               \
  X(MUL, mul, a * b, SAME, __VA_ARGS__)                               \
  X(DIV, div, a / b, SAME, __VA_ARGS__)                               \
  X(POW, pow, b == 2 ? a * a : pow(a, b), SAME, __VA_ARGS__)          \
  X(PRELU, prelu, a < 0 ? a * b : a, SAME, __VA_ARGS__)               \
  X(MIN, min, (a < b || a != a) ? a : b, SAME, __VA_ARGS__)           \
  X(MAX, max, (a > b || a != a) ? a : b, SAME, __VA_ARGS__)           \
  BIN_CMP_OPS(X, __VA_ARGS__)

#define BIN_OPS_S(X, ...)                                                                      \
  X(ADD, add, (ct)((ut)a + (ut)b), SAME, __VA_ARGS__)                                          \
  X(SUB, sub, (ct)((ut)a - (ut)b), SAME, __VA_ARGS__)                                          \
  X(MUL, mul, (ct)((ut)a * (ut)b), SAME, __VA_ARGS__)                                          \
  X(DIV, div, b == 0 ? (ct)0 : b == -1 ? (ct)(0u - (ut)a) : (ct)(a / b), SAME, __VA_ARGS__)    \
  X(POW, pow, (ct)ipow_s64(a, b), SAME, __VA_ARGS__)                                           \
  X(PRELU, prelu, a < 0 ? (ct)((ut)a * (ut)b) : a, SAME, __VA_ARGS__)                          \
  X(MIN, min, a < b ? a : b, SAME, __VA_ARGS__)                                                \
  X(MAX, max, a > b ? a : b, SAME, __VA_ARGS__)                                                \
  BIN_CMP_OPS(X, __VA_ARGS__)

#define BIN_OPS_U(X, ...)                                                     \
  X(ADD, add, (ct)((ut)a + (ut)b), SAME, __VA_ARGS__)                         \
  X(SUB, sub, (ct)((ut)a - (ut)b), SAME, __VA_ARGS__)                         \
  X(MUL, mul, (ct)((ut)a * (ut)b), SAME, __VA_ARGS__)                         \
  X(DIV, div, b == 0 ? (ct)0 : (ct)(a / b), SAME, __VA_ARGS__)                \
  X(POW, pow, (ct)ipow_u64(a, b), SAME, __VA_ARGS__)                          \
  X(PRELU, prelu, ((void)b, a), SAME, __VA_ARGS__)                            \
  X(MIN, min, a < b ? a : b, SAME, __VA_ARGS__)                               \
  X(MAX, max, a > b ? a : b, SAME, __VA_ARGS__)                               \
  BIN_CMP_OPS(X, __VA_ARGS__)

#define BIN_OPS_B(X, ...)                            \
  X(EQUAL, equal, !a == !b, BOOL, __VA_ARGS__)       \
  X(AND, and, a && b, BOOL, __VA_ARGS__)             \
  X(OR, or, a || b, BOOL, __VA_ARGS__)               \
  X(XOR, xor, !a != !b, BOOL, __VA_ARGS__)

#define BIN_OUT_SAME(T) T
#define BIN_OUT_BOOL(T) uint8_t
#define BIN_ST_SAME(ST, x) ST(x)
#define BIN_ST_BOOL(ST, x) (uint8_t)((x) ? 1 : 0)

/* The four stride cases as separate loops so the contiguous ones vectorize. */
#define BIN_ROW(OP, op, EXPR, KIND, sfx, T, C, U, LD, ST)                                         \
  static void bin_##op##_##sfx(int64_t n, const void *pa, int64_t sa, const void *pb, int64_t sb, \
                               void *py) {                                                        \
    typedef C ct;                                                                                 \
    typedef U ut;                                                                                 \
    (void)sizeof(ut);                                                                             \
    const T *xa = pa, *xb = pb;                                                                   \
    BIN_OUT_##KIND(T) *y = py;                                                                    \
    if (sa && sb) {                                                                               \
      for (int64_t i = 0; i < n; i++) {                                                           \
        ct a = LD(xa[i]), b = LD(xb[i]);                                                          \
        y[i] = BIN_ST_##KIND(ST, EXPR);                                                           \
      }                                                                                           \
    } else if (sa) {                                                                              \
      ct b = LD(xb[0]);                                                                           \
      for (int64_t i = 0; i < n; i++) {                                                           \
        ct a = LD(xa[i]);                                                                         \
        y[i] = BIN_ST_##KIND(ST, EXPR);                                                           \
      }                                                                                           \
    } else if (sb) {                                                                              \
      ct a = LD(xa[0]);                                                                           \
      for (int64_t i = 0; i < n; i++) {                                                           \
        ct b = LD(xb[i]);                                                                         \
        y[i] = BIN_ST_##KIND(ST, EXPR);                                                           \
      }                                                                                           \
    } else {                                                                                      \
      ct a = LD(xa[0]), b = LD(xb[0]);                                                            \
      BIN_OUT_##KIND(T) r = BIN_ST_##KIND(ST, EXPR);                                              \
      for (int64_t i = 0; i < n; i++) y[i] = r;                                                   \
    }                                                                                             \
  }

#define BIN_GEN(dt, sfx, T, C, U, CLS, LD, ST, LO, HI) BIN_OPS_##CLS(BIN_ROW, sfx, T, C, U, LD, ST)
EO_ELT_ALL_DTYPES(BIN_GEN)

typedef struct bin_entry {
  int op, dtype;
  eo_bin_row_fn row;
} bin_entry;

#define BIN_ENTRY(OP, op, EXPR, KIND, sfx, dt) {EO_OP_##OP, dt, bin_##op##_##sfx},
#define BIN_TAB(dt, sfx, T, C, U, CLS, LD, ST, LO, HI) BIN_OPS_##CLS(BIN_ENTRY, sfx, dt)
static const bin_entry bin_table[] = {EO_ELT_ALL_DTYPES(BIN_TAB)};

eo_bin_row_fn eo_binary_row(int op, int dtype) {
  for (size_t i = 0; i < sizeof bin_table / sizeof bin_table[0]; i++)
    if (bin_table[i].op == op && bin_table[i].dtype == dtype) return bin_table[i].row;
  return NULL;
}

static bool bin_ok(int op, int dtype) { return eo_binary_row(op, dtype) != NULL; }

/* Generic element access for Pow with mixed dtypes. */
static double ld_f64(int dtype, const void *p, int64_t i) {
  switch (dtype) {
#define LD_CASE(dt, sfx, T, C, U, CLS, LD, ST, LO, HI) \
  case dt: return (double)LD(((const T *)p)[i]);
    EO_ELT_ALL_DTYPES(LD_CASE)
#undef LD_CASE
    default: return 0;
  }
}

static void st_f64(int dtype, void *p, int64_t i, double v) {
  switch (dtype) {
#define ST_CASE_F(dt, sfx, T, C, U, CLS, LD, ST, LO, HI) \
  case dt: ((T *)p)[i] = ST((C)v); return;
#define ST_CASE_I(dt, sfx, T, C, U, CLS, LD, ST, LO, HI) \
  case dt: ((T *)p)[i] = EO_ELT_SAT_INT(T, LO, HI, v); return;
    EO_ELT_FLOAT_DTYPES(ST_CASE_F)
    EO_ELT_INT_DTYPES(ST_CASE_I)
#undef ST_CASE_F
#undef ST_CASE_I
    default: return;
  }
}

static bool pow_mixed_ok(int base, int expo) {
  return (eo_dtype_is_float(base) || eo_dtype_is_int(base)) && (eo_dtype_is_float(expo) || eo_dtype_is_int(expo));
}

typedef struct bin_state {
  eo_broadcast bc;
  eo_bin_row_fn row;  /* NULL: mixed-dtype Pow */
  int dta, dtb, dty;
  size_t esa, esb, esy;
} bin_state;

static bool is_cmp(int op) {
  return op == EO_OP_EQUAL || op == EO_OP_GREATER || op == EO_OP_LESS || op == EO_OP_GREATER_OR_EQUAL ||
         op == EO_OP_LESS_OR_EQUAL || op == EO_OP_AND || op == EO_OP_OR || op == EO_OP_XOR;
}

/* Before opset 7, B broadcast to A only with broadcast=1, aligned at `axis` (default: trailing
 * dims), and PRelu's 1-D slope is per channel (axis 1). Both are numpy broadcasting of B with
 * trailing 1s appended: *bv is B's view reshaped so. */
static eo_status legacy_b_view(const eo_op_ctx *c, int op, eo_tview *bv) {
  const eo_tview *a = c->in[0];
  *bv = *c->in[1];
  if (c->opset >= 7) return EO_OK;
  int axis;
  if (op == EO_OP_PRELU) {
    if (bv->rank != 1 || a->rank < 2 || bv->dims[0] != a->dims[1]) return EO_OK;
    axis = 1;
  } else if (eo_attr_i(c->node, "broadcast", 0)) {
    axis = (int)eo_attr_i(c->node, "axis", a->rank - bv->rank);
    if (axis < 0 || axis + bv->rank > a->rank)
      return eo_op_error(c, EO_ERR_SHAPE, "legacy broadcast: B of rank %d does not fit A of rank %d at axis %d",
                         bv->rank, a->rank, axis);
  } else {
    return EO_OK;  // no broadcast: the shapes must already be equal, which numpy rules accept
  }
  for (int i = bv->rank; i < a->rank - axis; i++) bv->dims[i] = 1;
  bv->rank = a->rank - axis;
  return EO_OK;
}

static eo_status bin_infer(eo_op_ctx *c, int op) {
  if (c->n_in != 2 || !c->in[0] || !c->in[1] || c->n_out != 1 || !c->out[0])
    return eo_op_error(c, EO_ERR_INVALID, "expects 2 inputs and 1 output, got %d and %d", c->n_in, c->n_out);
  eo_tview b_legacy;
  eo_status lst = legacy_b_view(c, op, &b_legacy);
  if (lst) return lst;
  const eo_tview *a = c->in[0], *b = &b_legacy;
  if (op == EO_OP_POW && a->dtype != b->dtype) {
    if (!pow_mixed_ok(a->dtype, b->dtype))
      return eo_op_error(c, EO_ERR_UNSUPPORTED, "base %s and exponent %s: expected numeric dtypes",
                         eo_dtype_name(a->dtype), eo_dtype_name(b->dtype));
  } else if (a->dtype != b->dtype) {
    return eo_op_error(c, EO_ERR_SHAPE, "inputs must have the same dtype, got %s and %s",
                       eo_dtype_name(a->dtype), eo_dtype_name(b->dtype));
  } else if (!bin_ok(op, a->dtype)) {
    char buf[256];
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "input dtype %s is not supported (expected one of: %s)",
                       eo_dtype_name(a->dtype), eo_elt_dtype_list(bin_ok, op, buf, sizeof buf));
  }
  int rank;
  int64_t dims[EO_MAX_RANK];
  eo_status st = eo_broadcast_shape(c, a->rank, a->dims, b->rank, b->dims, &rank, dims);
  if (st) return st;
  if (op == EO_OP_PRELU) {  // slope broadcasts to X, never the other way
    bool same = rank == a->rank;
    for (int i = 0; same && i < rank; i++) same = dims[i] == a->dims[i];
    if (!same) {
      char sa[128], sb[128];
      return eo_op_error(c, EO_ERR_SHAPE, "slope %s must broadcast to X %s",
                         eo_shape_str(b->rank, b->dims, sb, sizeof sb), eo_shape_str(a->rank, a->dims, sa, sizeof sa));
    }
  }
  eo_tview_set_shape(c->out[0], is_cmp(op) ? EO_BOOL : a->dtype, rank, dims);
  return EO_OK;
}

static eo_status bin_prepare(eo_op_ctx *c, int op) {
  bin_state *s = calloc(1, sizeof *s);
  if (!s) return eo_op_error(c, EO_ERR_NOMEM, "out of memory");
  eo_tview b_legacy;
  legacy_b_view(c, op, &b_legacy);  // infer has checked it
  const eo_tview *in[2] = {c->in[0], &b_legacy};
  eo_broadcast_init(&s->bc, c->out[0], 2, in);
  s->dta = in[0]->dtype;
  s->dtb = in[1]->dtype;
  s->dty = c->out[0]->dtype;
  s->esa = eo_dtype_size(s->dta);
  s->esb = eo_dtype_size(s->dtb);
  s->esy = eo_dtype_size(s->dty);
  s->row = s->dta == s->dtb ? eo_binary_row(op, s->dta) : NULL;
  c->state = s;
  return EO_OK;
}

static void pow_mixed(const bin_state *s, const void *a, const void *b, void *y) {
  bool ints = !eo_dtype_is_float(s->dta) && !eo_dtype_is_float(s->dtb);
  eo_bcast_iter it;
  for (eo_broadcast_begin(&it, &s->bc); it.rows_left > 0; eo_broadcast_next(&it)) {
    for (int64_t i = 0; i < s->bc.row; i++) {
      int64_t ia = it.off[0] + i * s->bc.row_stride[0], ib = it.off[1] + i * s->bc.row_stride[1];
      double r;
      if (ints) {  // exact: int64 ** int64 is outside double's 53 bits
        int64_t v = ipow_s64(eo_tview_get_i64(&(eo_tview){.dtype = s->dta, .data = (void *)a}, ia),
                             eo_tview_get_i64(&(eo_tview){.dtype = s->dtb, .data = (void *)b}, ib));
        if (s->dty == EO_INT64) {
          ((int64_t *)y)[it.out_off + i] = v;
          continue;
        }
        r = (double)v;
      } else {
        r = pow(ld_f64(s->dta, a, ia), ld_f64(s->dtb, b, ib));
      }
      st_f64(s->dty, y, it.out_off + i, r);
    }
  }
}

/* Large outputs are cut into fixed runs of output elements, one task each (a run may span rows:
 * each row piece finds its input offsets by unravelling its row index). Elementwise, so any split
 * gives the same values. */
#define BIN_TASK_ELEMS 16384 /* 64 KiB of float output per task: amortizes the dispatch */

typedef struct bin_job {
  const bin_state *s;
  const char *a, *b;
  char *y;
  int64_t plane, bands; /* bands > 0: task t covers band t of every plane of `plane` elements */
} bin_job;

/* Output elements [e, end). */
static void bin_range(const bin_job *J, int64_t e, int64_t end) {
  const bin_state *s = J->s;
  const eo_broadcast *bc = &s->bc;
  while (e < end) {
    int64_t r = e / bc->row, i0 = e % bc->row, n = bc->row - i0 < end - e ? bc->row - i0 : end - e;
    int64_t oa = i0 * bc->row_stride[0], ob = i0 * bc->row_stride[1];
    for (int d = bc->rank - 2; d >= 0; d--) {
      int64_t ix = r % bc->dims[d];
      r /= bc->dims[d];
      oa += ix * bc->strides[0][d];
      ob += ix * bc->strides[1][d];
    }
    s->row(n, J->a + (size_t)oa * s->esa, bc->row_stride[0], J->b + (size_t)ob * s->esb, bc->row_stride[1],
           J->y + (size_t)e * s->esy);
    e += n;
  }
}

static void bin_task(void *ctx, size_t index, int worker) {
  (void)worker;
  const bin_job *J = ctx;
  const int64_t numel = J->s->bc.numel;
  if (J->bands) {
    const int64_t b0 = (int64_t)index * J->plane / J->bands, b1 = ((int64_t)index + 1) * J->plane / J->bands;
    for (int64_t q = 0; q < numel; q += J->plane) bin_range(J, q + b0, q + b1);
    return;
  }
  const int64_t e = (int64_t)index * BIN_TASK_ELEMS;
  bin_range(J, e, e + BIN_TASK_ELEMS < numel ? e + BIN_TASK_ELEMS : numel);
}

/* Same-shape feature maps (rank 3 and more: a residual Add) split by bands of each plane's
 * positions, 2 per worker, in order: a worker then adds the rows the convolutions before it wrote on
 * the same core (they split output positions), where runs of the flat tensor gave each worker whole
 * channels, half of them written by the other core (slow when the two vCPUs sit on two core
 * complexes: see dw_bands in kernels/f32-conv-fast.c). Bands of 128 elements or more: pieces of
 * planes cost a call each, and broadcast rows (a squeeze-excitation scale) would be cut as well.
 * Elements per plane, or 0. */
static int64_t bin_plane(const bin_state *s, const eo_tview *y, int workers) {
  int64_t plane = 1;
  for (int d = 2; d < y->rank; d++) plane *= y->dims[d];
  return y->rank >= 3 && s->bc.rank == 1 && plane >= 2 * workers * 128 ? plane : 0;
}

static void bin_forward(eo_op_ctx *c, int op) {
  const bin_state *s = c->state;
  const int workers = eo_threadpool_size(c->pool);
  if (s->row && s->bc.row > 0 && s->bc.numel >= 2 * BIN_TASK_ELEMS && workers > 1) {
    const int64_t plane = bin_plane(s, c->out[0], workers);
    bin_job J = {s, c->in[0]->data, c->in[1]->data, c->out[0]->data, plane, plane ? 2 * workers : 0};
    const size_t tasks = J.bands ? (size_t)J.bands : (size_t)((s->bc.numel + BIN_TASK_ELEMS - 1) / BIN_TASK_ELEMS);
    eo_threadpool_run(c->pool, tasks, bin_task, &J);
  } else if (s->row)
    eo_broadcast_binary(&s->bc, s->row, c->in[0]->data, s->esa, c->in[1]->data, s->esb, c->out[0]->data, s->esy);
  else
    pow_mixed(s, c->in[0]->data, c->in[1]->data, c->out[0]->data);
}

#define BIN_DEFS(X)                                                                            \
  X(ADD, add, "Add") X(SUB, sub, "Sub") X(MUL, mul, "Mul") X(DIV, div, "Div") X(POW, pow, "Pow") \
  X(PRELU, prelu, "PRelu") X(EQUAL, equal, "Equal") X(GREATER, greater, "Greater")             \
  X(LESS, less, "Less") X(GREATER_OR_EQUAL, greater_or_equal, "GreaterOrEqual")                \
  X(LESS_OR_EQUAL, less_or_equal, "LessOrEqual") X(AND, and, "And") X(OR, or, "Or")            \
  X(XOR, xor, "Xor")

#define BIN_DEF(OP, sym, onnx_name)                                                             \
  static eo_status sym##_infer(eo_op_ctx *c) { return bin_infer(c, EO_OP_##OP); }          \
  static eo_status sym##_prepare(eo_op_ctx *c) { return bin_prepare(c, EO_OP_##OP); }      \
  static void sym##_forward(eo_op_ctx *c) { bin_forward(c, EO_OP_##OP); }                  \
  EO_DEFINE_OP(sym, .name = onnx_name, .infer = sym##_infer, .prepare = sym##_prepare, .forward = sym##_forward, .release = free);
BIN_DEFS(BIN_DEF)
