/* Strided copy, portable fast path (same results as eo_xx_strided_copy__ref).
 * 1. Drop size-1 dims and merge dims that are contiguous in the input too, so a Slice of inner rows
 *    or an Expand over a leading axis becomes a few long rows.
 * 2. Rows whose input stride is 1 are one memcpy; stride 0 (broadcast) rows are a fill.
 * 3. A transpose (the input's unit-stride axis p is not the output's last) is copied in 16x16 tiles
 *    of the (p, last) plane, so both the strided reads and the writes stay in cache. */
#include <string.h>

#include "runtime/kernels/ref/move_kernels.h"

enum { BLOCK = 16 };  // 16x16 tiles: 32 would alias in L1 for power-of-two row strides

/* n elements, input stride s; K is the element size (a constant after inlining). */
static inline void copy_row_k(size_t K, int64_t n, int64_t s, const char *x, char *y) {
  for (int64_t i = 0; i < n; i++) memcpy(y + i * (int64_t)K, x + i * s * (int64_t)K, K);
}

static void copy_row(size_t es, int64_t n, int64_t s, const char *x, char *y) {
  if (s == 1) {
    memcpy(y, x, (size_t)n * es);
    return;
  }
  if (s == 0) {
    eo_xx_fill__ref(es, n, x, y);
    return;
  }
  switch (es) {
    case 1: copy_row_k(1, n, s, x, y); break;
    case 2: copy_row_k(2, n, s, x, y); break;
    case 4: copy_row_k(4, n, s, x, y); break;
    case 8: copy_row_k(8, n, s, x, y); break;
    default: copy_row_k(es, n, s, x, y); break;
  }
}

/* Tile of ni x nj: y[i * ys + j] = x[i + j * xs]. */
static inline void tile_k(size_t K, int64_t ni, int64_t nj, const char *x, int64_t xs, char *y, int64_t ys) {
  for (int64_t i = 0; i < ni; i++)
    for (int64_t j = 0; j < nj; j++)
      memcpy(y + (i * ys + j) * (int64_t)K, x + (i + j * xs) * (int64_t)K, K);
}

static void tile(size_t es, int64_t ni, int64_t nj, const char *x, int64_t xs, char *y, int64_t ys) {
  switch (es) {
    case 1: tile_k(1, ni, nj, x, xs, y, ys); break;
    case 2: tile_k(2, ni, nj, x, xs, y, ys); break;
    case 4: tile_k(4, ni, nj, x, xs, y, ys); break;
    case 8: tile_k(8, ni, nj, x, xs, y, ys); break;
    default: tile_k(es, ni, nj, x, xs, y, ys); break;
  }
}

void eo_xx_strided_copy__scalar(size_t es, int rank, const int64_t *dims, const int64_t *x_strides,
                                const void *x, void *y) {
  int64_t d[EO_MOVE_MAX_RANK], s[EO_MOVE_MAX_RANK], ys[EO_MOVE_MAX_RANK];
  int r = 0;
  for (int k = 0; k < rank; k++) {
    if (dims[k] == 0) return;
    if (dims[k] == 1) continue;
    if (r > 0 && s[r - 1] == x_strides[k] * dims[k]) {  // contiguous with the previous dim: merge
      d[r - 1] *= dims[k];
      s[r - 1] = x_strides[k];
      continue;
    }
    d[r] = dims[k];
    s[r] = x_strides[k];
    r++;
  }
  const char *xp = x;
  char *yp = y;
  if (r == 0) {
    memcpy(yp, xp, es);
    return;
  }
  eo_move_strides(r, d, ys);

  int p = -1;  // input's unit-stride axis, when it is not the output's last
  if (s[r - 1] != 1 && s[r - 1] != 0 && d[r - 1] >= 4)
    for (int k = 0; k < r - 1; k++)
      if (s[k] == 1 && d[k] >= 4) p = k;

  /* Odometer over every axis except the last (and p when tiling). */
  int64_t idx[EO_MOVE_MAX_RANK] = {0};
  int64_t xo = 0, yo = 0;
  for (;;) {
    if (p < 0) {
      copy_row(es, d[r - 1], s[r - 1], xp + xo * (int64_t)es, yp + yo * (int64_t)es);
    } else {
      for (int64_t i0 = 0; i0 < d[p]; i0 += BLOCK) {
        int64_t ni = d[p] - i0 < BLOCK ? d[p] - i0 : BLOCK;
        for (int64_t j0 = 0; j0 < d[r - 1]; j0 += BLOCK) {
          int64_t nj = d[r - 1] - j0 < BLOCK ? d[r - 1] - j0 : BLOCK;
          tile(es, ni, nj, xp + (xo + i0 + j0 * s[r - 1]) * (int64_t)es, s[r - 1],
               yp + (yo + i0 * ys[p] + j0) * (int64_t)es, ys[p]);
        }
      }
    }
    int k = r - 2;
    for (; k >= 0; k--) {
      if (k == p) continue;
      xo += s[k];
      yo += ys[k];
      if (++idx[k] < d[k]) break;
      xo -= s[k] * d[k];
      yo -= ys[k] * d[k];
      idx[k] = 0;
    }
    if (k < 0) return;
  }
}
