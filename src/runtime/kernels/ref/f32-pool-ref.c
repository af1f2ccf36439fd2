/* Reference pooling kernels: MaxPool and AveragePool over any spatial rank (with strides, pads,
 * dilations), GlobalAveragePool and GlobalMaxPool. One body per op, instantiated per element type
 * through the macros below. */
#include <float.h>

#include "runtime/kernels/ref/pool_kernels.h"

/* ceil(a / b) for b > 0 and any sign of a. */
static int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

/* One output position's window: per spatial dim the input coordinate of tap 0 (negative inside the
 * begin padding) and the taps [lo, hi) that land inside the input. */
typedef struct pool_window {
  int64_t start[EO_POOL_MAX_ND], lo[EO_POOL_MAX_ND], hi[EO_POOL_MAX_ND];
  int64_t tap[EO_POOL_MAX_ND];   /* current tap of the walk, in [lo, hi) per dim */
  int64_t n_valid;               /* taps inside the input */
  int64_t n_padded;              /* taps inside the padded input [-pad_begin, in + pad_end) */
} pool_window;

static void window_at(const eo_pool_params *p, const int64_t *oc, pool_window *w) {
  w->n_valid = 1;
  w->n_padded = 1;
  for (int d = 0; d < p->nd; d++) {
    int64_t s = oc[d] * p->stride[d] - p->pad_begin[d], k = p->kernel[d], dl = p->dilation[d];
    int64_t lo = s >= 0 ? 0 : ceil_div(-s, dl);
    int64_t hi = ceil_div(p->in[d] - s, dl);
    int64_t hp = ceil_div(p->in[d] + p->pad_end[d] - s, dl);
    if (lo > k) lo = k;
    if (hi > k) hi = k;
    if (hi < lo) hi = lo;
    if (hp > k) hp = k;
    if (hp < 0) hp = 0;
    w->start[d] = s;
    w->lo[d] = lo;
    w->hi[d] = hi;
    w->n_valid *= hi - lo;
    w->n_padded *= hp;
  }
}

/* Row-major offset within the input plane of the current tap. */
static int64_t window_offset(const eo_pool_params *p, const pool_window *w) {
  int64_t off = 0;
  for (int d = 0; d < p->nd; d++) off = off * p->in[d] + w->start[d] + w->tap[d] * p->dilation[d];
  return off;
}

/* Starts the walk over the window's input taps (row-major); false if the window holds none. */
static bool window_first(const eo_pool_params *p, pool_window *w) {
  for (int d = 0; d < p->nd; d++) w->tap[d] = w->lo[d];
  return w->n_valid > 0;
}

static bool window_next(const eo_pool_params *p, pool_window *w) {
  for (int d = p->nd - 1; d >= 0; d--) {
    if (++w->tap[d] < w->hi[d]) return true;
    w->tap[d] = w->lo[d];
  }
  return false;
}

/* Advances the output coordinate odometer. */
static void out_next(const eo_pool_params *p, int64_t *oc) {
  for (int d = p->nd - 1; d >= 0; d--) {
    if (++oc[d] < p->out[d]) return;
    oc[d] = 0;
  }
}

static int64_t plane_size(int nd, const int64_t *dims) {
  int64_t n = 1;
  for (int d = 0; d < nd; d++) n *= dims[d];
  return n;
}

/* Row-major plane offset -> column-major (storage_order=1): first spatial dim varies fastest. */
static int64_t to_col_major(const eo_pool_params *p, int64_t off) {
  int64_t col = 0, mul = 1, coord[EO_POOL_MAX_ND];
  for (int d = p->nd - 1; d >= 0; d--) {
    coord[d] = off % p->in[d];
    off /= p->in[d];
  }
  for (int d = 0; d < p->nd; d++) {
    col += coord[d] * mul;
    mul *= p->in[d];
  }
  return col;
}

/* The first maximum wins (strict >), so ties report the lowest row-major index. */
#define EO_DEFINE_MAXPOOL(name, T, LOWEST)                                                      \
  void name(const eo_pool_params *p, const T *x, T *y, int64_t *indices) {                      \
    int64_t in_plane = plane_size(p->nd, p->in), out_plane = plane_size(p->nd, p->out);         \
    pool_window w;                                                                              \
    for (int64_t b = 0; b < p->nc; b++) {                                                       \
      const T *xp = x + b * in_plane;                                                           \
      int64_t oc[EO_POOL_MAX_ND] = {0};                                                         \
      for (int64_t o = 0; o < out_plane; o++, out_next(p, oc)) {                                \
        T best = LOWEST;                                                                        \
        int64_t best_off = -1;                                                                  \
        window_at(p, oc, &w);                                                                   \
        if (window_first(p, &w)) do {                                                           \
            int64_t off = window_offset(p, &w);                                                 \
            if (best_off < 0 || xp[off] > best) {                                               \
              best = xp[off];                                                                   \
              best_off = off;                                                                   \
            }                                                                                   \
          } while (window_next(p, &w));                                                         \
        y[b * out_plane + o] = best;                                                            \
        if (indices) {                                                                          \
          int64_t idx = best_off;                                                               \
          if (idx >= 0 && p->indices_col_major) idx = to_col_major(p, idx);                     \
          indices[b * out_plane + o] = idx < 0 ? -1 : b * in_plane + idx;                       \
        }                                                                                       \
      }                                                                                         \
    }                                                                                           \
  }

EO_DEFINE_MAXPOOL(eo_f32_maxpool__ref, float, -FLT_MAX)
EO_DEFINE_MAXPOOL(eo_f64_maxpool__ref, double, -DBL_MAX)
EO_DEFINE_MAXPOOL(eo_u8_maxpool__ref, uint8_t, 0)
EO_DEFINE_MAXPOOL(eo_s8_maxpool__ref, int8_t, INT8_MIN)

/* Accumulates in double; a window without taps (possible only with count_include_pad=0 and
 * padding wider than the kernel) gives 0. */
#define EO_DEFINE_AVGPOOL(name, T)                                                              \
  void name(const eo_pool_params *p, const T *x, T *y) {                                        \
    int64_t in_plane = plane_size(p->nd, p->in), out_plane = plane_size(p->nd, p->out);         \
    pool_window w;                                                                              \
    for (int64_t b = 0; b < p->nc; b++) {                                                       \
      const T *xp = x + b * in_plane;                                                           \
      int64_t oc[EO_POOL_MAX_ND] = {0};                                                         \
      for (int64_t o = 0; o < out_plane; o++, out_next(p, oc)) {                                \
        double sum = 0;                                                                         \
        window_at(p, oc, &w);                                                                   \
        if (window_first(p, &w)) do {                                                           \
            sum += xp[window_offset(p, &w)];                                                    \
          } while (window_next(p, &w));                                                         \
        int64_t count = p->count_include_pad ? w.n_padded : w.n_valid;                          \
        y[b * out_plane + o] = (T)(count > 0 ? sum / (double)count : 0.0);                      \
      }                                                                                         \
    }                                                                                           \
  }

EO_DEFINE_AVGPOOL(eo_f32_avgpool__ref, float)
EO_DEFINE_AVGPOOL(eo_f64_avgpool__ref, double)

#define EO_DEFINE_GLOBAL_POOLS(avg_name, max_name, T)                                           \
  void avg_name(int64_t nc, int64_t spatial, const T *x, T *y) {                                \
    for (int64_t b = 0; b < nc; b++) {                                                          \
      double sum = 0;                                                                           \
      for (int64_t i = 0; i < spatial; i++) sum += x[b * spatial + i];                          \
      y[b] = (T)(sum / (double)spatial);                                                        \
    }                                                                                           \
  }                                                                                             \
  void max_name(int64_t nc, int64_t spatial, const T *x, T *y) {                                \
    for (int64_t b = 0; b < nc; b++) {                                                          \
      T m = x[b * spatial];                                                                     \
      for (int64_t i = 1; i < spatial; i++)                                                     \
        if (x[b * spatial + i] > m) m = x[b * spatial + i];                                     \
      y[b] = m;                                                                                 \
    }                                                                                           \
  }

EO_DEFINE_GLOBAL_POOLS(eo_f32_global_avgpool__ref, eo_f32_global_maxpool__ref, float)
EO_DEFINE_GLOBAL_POOLS(eo_f64_global_avgpool__ref, eo_f64_global_maxpool__ref, double)
