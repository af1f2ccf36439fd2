/* Reference reductions (ReduceSum/Mean/Max/Min/Prod) and ArgMax/ArgMin over every dtype of
 * EO_RK_TYPES, from one template each. */
#include <math.h>

#include "runtime/kernels/ref/resize_kernels.h"

bool eo_rk_dtype_ok(int dtype) {
#define X(s, dt, T, V, LD, ST) if (dtype == dt) return true;
  EO_RK_TYPES(X)
#undef X
  return false;
}

/* Accumulator type and arithmetic class per dtype: F float (double accumulator, NaN propagates
 * through Max/Min), S signed (int64, sums and products wrap), U unsigned (uint64). */
#define ACC_f32 double
#define ACC_f64 double
#define ACC_f16 double
#define ACC_bf16 double
#define ACC_s8 int64_t
#define ACC_s16 int64_t
#define ACC_s32 int64_t
#define ACC_s64 int64_t
#define ACC_u8 uint64_t
#define ACC_u16 uint64_t
#define ACC_u32 uint64_t
#define ACC_u64 uint64_t
#define CLS_f32 F
#define CLS_f64 F
#define CLS_f16 F
#define CLS_bf16 F
#define CLS_s8 S
#define CLS_s16 S
#define CLS_s32 S
#define CLS_s64 S
#define CLS_u8 U
#define CLS_u16 U
#define CLS_u32 U
#define CLS_u64 U

#define RK_(op, cls) RK_##op##_##cls
#define RK(op, cls) RK_(op, cls)
#define RK_LO_F (-INFINITY)
#define RK_LO_S INT64_MIN
#define RK_LO_U 0
#define RK_HI_F INFINITY
#define RK_HI_S INT64_MAX
#define RK_HI_U UINT64_MAX
#define RK_ADD_F(a, v) ((a) + (v))
#define RK_ADD_S(a, v) ((int64_t)((uint64_t)(a) + (uint64_t)(int64_t)(v)))
#define RK_ADD_U(a, v) ((a) + (v))
#define RK_MUL_F(a, v) ((a) * (v))
#define RK_MUL_S(a, v) ((int64_t)((uint64_t)(a) * (uint64_t)(int64_t)(v)))
#define RK_MUL_U(a, v) ((a) * (v))
#define RK_MAX_F(a, v) ((v) > (a) || isnan(v) ? (v) : (a))
#define RK_MAX_S(a, v) ((v) > (a) ? (v) : (a))
#define RK_MAX_U(a, v) ((v) > (a) ? (v) : (a))
#define RK_MIN_F(a, v) ((v) < (a) || isnan(v) ? (v) : (a))
#define RK_MIN_S(a, v) ((v) < (a) ? (v) : (a))
#define RK_MIN_U(a, v) ((v) < (a) ? (v) : (a))
#define RK_DIV_F(a, n) ((a) / (double)(n))
#define RK_DIV_S(a, n) ((n) ? (a) / (int64_t)(n) : 0)
#define RK_DIV_U(a, n) ((n) ? (a) / (uint64_t)(n) : 0)

/* Merges neighbouring axes that are both reduced or both kept and drops size-1 axes, so the
 * innermost loop runs over one contiguous block. Returns the merged rank (>= 1). */
static int merge_axes(int rank, const int64_t *dims, const bool *red, int64_t *md, bool *mr) {
  int m = 0;
  for (int i = 0; i < rank; i++) {
    if (dims[i] == 1) continue;
    if (m > 0 && mr[m - 1] == red[i]) {
      md[m - 1] *= dims[i];
    } else {
      md[m] = dims[i];
      mr[m] = red[i];
      m++;
    }
  }
  if (m == 0) {
    md[0] = 1;
    mr[0] = false;
    m = 1;
  }
  return m;
}

/* Walks x in memory order; acc index follows the kept axes (stride 0 on reduced ones). */
#define RK_WALK(OP, LD)                                                                \
  do {                                                                               \
    int64_t idx[EO_MAX_RANK] = {0}, ob = 0;                                          \
    const int64_t inner = md[m - 1];                                                 \
    for (int64_t it = 0; it < outer; it++, px += inner) {                            \
      if (mr[m - 1]) {                                                               \
        A a = acc[ob];                                                               \
        for (int64_t j = 0; j < inner; j++) a = OP(a, (A)LD(px[j]));                 \
        acc[ob] = a;                                                                 \
      } else {                                                                       \
        for (int64_t j = 0; j < inner; j++) acc[ob + j] = OP(acc[ob + j], (A)LD(px[j])); \
      }                                                                              \
      for (int d = m - 2; d >= 0; d--) {                                             \
        ob += os[d];                                                                 \
        if (++idx[d] < md[d]) break;                                                 \
        ob -= os[d] * md[d];                                                         \
        idx[d] = 0;                                                                  \
      }                                                                              \
    }                                                                                \
  } while (0)

#define DEF_REDUCE(s, dt, T, V, LD, ST)                                                          \
  static void reduce_##s(eo_reduce_kind kind, int m, const int64_t *md, const bool *mr,          \
                         const T *px, T *y, ACC_##s *acc) {                                      \
    typedef ACC_##s A;                                                                           \
    int64_t os[EO_MAX_RANK], out_n = 1, count = 1, outer = 1;                                    \
    for (int d = m - 1; d >= 0; d--) {                                                           \
      os[d] = mr[d] ? 0 : out_n;                                                                 \
      if (mr[d]) count *= md[d];                                                                 \
      else out_n *= md[d];                                                                       \
      if (d < m - 1) outer *= md[d];                                                             \
    }                                                                                            \
    A init = kind == EO_REDUCE_PROD ? (A)1                                                       \
             : kind == EO_REDUCE_MAX ? (A)RK(LO, CLS_##s)                                        \
             : kind == EO_REDUCE_MIN ? (A)RK(HI, CLS_##s) : (A)0;                                \
    for (int64_t o = 0; o < out_n; o++) acc[o] = init;                                           \
    if (md[m - 1] > 0) {                                                                         \
      switch (kind) {                                                                            \
        case EO_REDUCE_SUM: case EO_REDUCE_MEAN: RK_WALK(RK(ADD, CLS_##s), LD); break;               \
        case EO_REDUCE_PROD: RK_WALK(RK(MUL, CLS_##s), LD); break;                                   \
        case EO_REDUCE_MAX: RK_WALK(RK(MAX, CLS_##s), LD); break;                                    \
        case EO_REDUCE_MIN: RK_WALK(RK(MIN, CLS_##s), LD); break;                                    \
      }                                                                                          \
    }                                                                                            \
    for (int64_t o = 0; o < out_n; o++) {                                                        \
      A v = kind == EO_REDUCE_MEAN ? (A)RK(DIV, CLS_##s)(acc[o], count) : acc[o];                \
      y[o] = ST((V)v);                                                                           \
    }                                                                                            \
  }
EO_RK_TYPES(DEF_REDUCE)
#undef DEF_REDUCE

void eo_reduce__ref(eo_reduce_kind kind, int dtype, int rank, const int64_t *dims,
                    const bool *reduced, const void *x, void *y, void *acc) {
  int64_t md[EO_MAX_RANK];
  bool mr[EO_MAX_RANK];
  /* A zero-size axis stays in the merged dims: it empties the walk and zeroes out_n or count. */
  int m = merge_axes(rank, dims, reduced, md, mr);
  switch (dtype) {
#define X(s, dt, T, V, LD, ST) \
  case dt: reduce_##s(kind, m, md, mr, (const T *)x, (T *)y, (ACC_##s *)acc); break;
    EO_RK_TYPES(X)
#undef X
    default: break;
  }
}

/* ArgMax/ArgMin: strict comparison keeps the first index; >= / <= moves to the last one. */
#define DEF_ARG(s, dt, T, V, LD, ST)                                                             \
  static void arg_##s(bool is_max, bool last, int64_t outer, int64_t n, int64_t inner,          \
                      const T *x, int64_t *y) {                                                  \
    for (int64_t o = 0; o < outer; o++)                                                          \
      for (int64_t i = 0; i < inner; i++) {                                                      \
        const T *p = x + o * n * inner + i;                                                      \
        V best = LD(p[0]);                                                                       \
        int64_t bi = 0;                                                                          \
        for (int64_t j = 1; j < n; j++) {                                                        \
          V v = LD(p[j * inner]);                                                                \
          bool take = is_max ? (last ? v >= best : v > best) : (last ? v <= best : v < best);    \
          if (take) {                                                                            \
            best = v;                                                                            \
            bi = j;                                                                              \
          }                                                                                      \
        }                                                                                        \
        y[o * inner + i] = bi;                                                                   \
      }                                                                                          \
  }
EO_RK_TYPES(DEF_ARG)
#undef DEF_ARG

void eo_arg_reduce__ref(int dtype, bool is_max, bool select_last, int64_t outer, int64_t n,
                        int64_t inner, const void *x, int64_t *y) {
  switch (dtype) {
#define X(s, dt, T, V, LD, ST) \
  case dt: arg_##s(is_max, select_last, outer, n, inner, (const T *)x, y); break;
    EO_RK_TYPES(X)
#undef X
    default: break;
  }
}
