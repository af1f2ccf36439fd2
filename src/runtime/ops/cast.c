/* Cast(to) between every numeric dtype and bool. Values go through a small stack block of the
 * widest type of the source's class (double for floats, int64 for signed, uint64 for unsigned and
 * bool), so int64 <-> uint64 stay exact and there are 13 + 3 * 13 kernels, not 13 * 13.
 * float -> integer: truncate toward zero, NaN -> 0, out of range saturates (C leaves it undefined).
 * integer -> narrower integer: wraps (two's complement). anything -> bool: x != 0.
 * double -> float16/bfloat16 rounds through float32. Strings are unsupported.
 * float32 <-> float16 take the row kernels of f16-cvt.h (F16C where the CPU has it), and a
 * Cast(to=FLOAT) of a float32 input carrying the session-internal attribute EO_CAST_ROUND_ATTR (set
 * only by lower_fp16.c, never saved) rounds to float16 and back in one pass. */
#include <stdlib.h>
#include <string.h>

#include "runtime/kernels/ref/eltwise.h"
#include "runtime/kernels/ref/f16-cvt.h"
#include "runtime/op.h"

enum { K_F64, K_I64, K_U64 };
#define KIND_F K_F64
#define KIND_S K_I64
#define KIND_U K_U64
#define KIND_B K_U64
#define WIDE_F double
#define WIDE_S int64_t
#define WIDE_U uint64_t
#define WIDE_B uint64_t
#define LOAD_F(LD, x) (double)LD(x)
#define LOAD_S(LD, x) (int64_t)(x)
#define LOAD_U(LD, x) (uint64_t)(x)
#define LOAD_B(LD, x) (uint64_t)((x) != 0)
/* Store a wide value v of kind K into the dtype (class CLS). */
#define STORE_F_F64(T, C, ST, LO, HI, v) ST((C)(v))
#define STORE_F_I64(T, C, ST, LO, HI, v) ST((C)(v))
#define STORE_F_U64(T, C, ST, LO, HI, v) ST((C)(v))
#define STORE_S_F64(T, C, ST, LO, HI, v) EO_ELT_SAT_INT(T, LO, HI, v)
#define STORE_S_I64(T, C, ST, LO, HI, v) (T)(v)
#define STORE_S_U64(T, C, ST, LO, HI, v) (T)(v)
#define STORE_U_F64 STORE_S_F64
#define STORE_U_I64 STORE_S_I64
#define STORE_U_U64 STORE_S_U64
#define STORE_B_F64(T, C, ST, LO, HI, v) (T)((v) != 0)
#define STORE_B_I64 STORE_B_F64
#define STORE_B_U64 STORE_B_F64

#define BLOCK 256

typedef void (*load_fn)(const void *x, void *tmp, int64_t n);
typedef void (*store_fn)(const void *tmp, void *y, int64_t n);

#define CAST_STORE(sfx, T, C, CLS, ST, LO, HI, WT, K)                       \
  static void store_##sfx##_##K(const void *ptmp, void *py, int64_t n) {      \
    const WT *t = ptmp;                                                     \
    T *y = py;                                                              \
    for (int64_t i = 0; i < n; i++) y[i] = STORE_##CLS##_##K(T, C, ST, LO, HI, t[i]); \
  }

#define CAST_GEN(dt, sfx, T, C, U, CLS, LD, ST, LO, HI)               \
  static void load_##sfx(const void *px, void *ptmp, int64_t n) {     \
    const T *x = px;                                                  \
    WIDE_##CLS *t = ptmp;                                             \
    for (int64_t i = 0; i < n; i++) t[i] = LOAD_##CLS(LD, x[i]);      \
  }                                                                   \
  CAST_STORE(sfx, T, C, CLS, ST, LO, HI, double, F64)                 \
  CAST_STORE(sfx, T, C, CLS, ST, LO, HI, int64_t, I64)                \
  CAST_STORE(sfx, T, C, CLS, ST, LO, HI, uint64_t, U64)
EO_ELT_ALL_DTYPES(CAST_GEN)

#define CAST_SLOT(dt, sfx, T, C, U, CLS, LD, ST, LO, HI) \
  {dt, KIND_##CLS, load_##sfx, {store_##sfx##_F64, store_##sfx##_I64, store_##sfx##_U64}},
static const struct {
  int dtype, kind;
  load_fn load;
  store_fn store[3];  /* by the source's kind */
} cast_table[] = {EO_ELT_ALL_DTYPES(CAST_SLOT)};

static int cast_find(int dtype) {
  for (int i = 0; i < (int)(sizeof cast_table / sizeof cast_table[0]); i++)
    if (cast_table[i].dtype == dtype) return i;
  return -1;
}

typedef struct cast_state {
  load_fn load;
  store_fn store;
  size_t es_in, es_out;
  bool copy;
  eo_f16_to_f32_fn h2f;      /* float16 -> float32 */
  eo_f32_to_f16_fn f2h;      /* float32 -> float16 */
  eo_f32_round_f16_fn round; /* float32 -> float16 -> float32 */
} cast_state;

static eo_status cast_infer(eo_op_ctx *c) {
  if (c->n_in != 1 || !c->in[0] || c->n_out != 1 || !c->out[0])
    return eo_op_error(c, EO_ERR_INVALID, "expects 1 input and 1 output, got %d and %d", c->n_in, c->n_out);
  const eo_attr *a = eo_node_attr(c->node, "to");
  if (!a || a->type != EO_ATTR_INT) return eo_op_error(c, EO_ERR_INVALID, "missing integer attribute 'to'");
  int from = c->in[0]->dtype, to = (int)a->i;
  if (from == EO_STRING || to == EO_STRING)
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "casts from or to string are not supported (%s -> %s)",
                       eo_dtype_name(from), eo_dtype_name(to));
  if (cast_find(from) < 0 || cast_find(to) < 0)
    return eo_op_error(c, EO_ERR_UNSUPPORTED,
                       "cast %s -> %s is not supported (expected numeric or bool dtypes: float16, bfloat16, "
                       "float32, float64, int8..int64, uint8..uint64, bool)",
                       eo_dtype_name(from), a->i >= 0 && a->i <= 64 ? eo_dtype_name(to) : "?");
  if (eo_attr_i(c->node, EO_CAST_ROUND_ATTR, 0) && to != EO_FLOAT)
    return eo_op_error(c, EO_ERR_INVALID, "%s expects a Cast to float32, got to=%s", EO_CAST_ROUND_ATTR,
                       eo_dtype_name(to));
  eo_tview_set_shape(c->out[0], to, c->in[0]->rank, c->in[0]->dims);
  return EO_OK;
}

static eo_status cast_prepare(eo_op_ctx *c) {
  cast_state *s = calloc(1, sizeof *s);
  if (!s) return eo_op_error(c, EO_ERR_NOMEM, "out of memory");
  int from = cast_find(c->in[0]->dtype), to = cast_find(c->out[0]->dtype);
  s->copy = from == to;
  s->load = cast_table[from].load;
  s->store = cast_table[to].store[cast_table[from].kind];
  s->es_in = eo_dtype_size(c->in[0]->dtype);
  s->es_out = eo_dtype_size(c->out[0]->dtype);
  const eo_f16_kernels_t *k = eo_f16_kernels(c->force_ref);
  int dt_in = c->in[0]->dtype, dt_out = c->out[0]->dtype;
  if (dt_in == EO_FLOAT16 && dt_out == EO_FLOAT) s->h2f = k->f16_to_f32;
  if (dt_in == EO_FLOAT && dt_out == EO_FLOAT16) s->f2h = k->f32_to_f16;
  if (eo_attr_i(c->node, EO_CAST_ROUND_ATTR, 0)) s->round = k->round_f16;  // infer checked: dt_out is float32
  c->state = s;
  return EO_OK;
}

static void cast_forward(eo_op_ctx *c) {
  const cast_state *s = c->state;
  int64_t n = eo_tview_numel(c->out[0]);
  const char *x = c->in[0]->data;
  char *y = c->out[0]->data;
  if (s->h2f || s->f2h || (s->round && c->in[0]->dtype == EO_FLOAT)) {
    if (s->h2f) s->h2f((const uint16_t *)x, (float *)y, n);
    else if (s->f2h) s->f2h((const float *)x, (uint16_t *)y, n);
    else s->round((const float *)x, (float *)y, n);
    return;
  }
  if (s->copy) {
    memcpy(y, x, (size_t)n * s->es_out);
    return;
  }
  union {  // written and read as the source kind's type only
    double f[BLOCK];
    int64_t i[BLOCK];
    uint64_t u[BLOCK];
  } tmp;
  for (int64_t i = 0; i < n; i += BLOCK) {
    int64_t m = n - i < BLOCK ? n - i : BLOCK;
    s->load(x + (size_t)i * s->es_in, &tmp, m);
    s->store(&tmp, y + (size_t)i * s->es_out, m);
  }
  if (s->round) s->round((const float *)y, (float *)y, n);  // e.g. int64 -> float16 precision
}

EO_DEFINE_OP(cast, .name = "Cast", .infer = cast_infer, .prepare = cast_prepare, .forward = cast_forward, .release = free);
