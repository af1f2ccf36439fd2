/* Strided copy, portable fast path (same results as eo_xx_strided_copy__ref).
 * 1. Drop size-1 dims and merge dims that are contiguous in the input too, so a Slice of inner rows
 *    or an Expand over a leading axis becomes a few long rows.
 * 2. Rows whose input stride is 1 are one memcpy; stride 0 (broadcast) rows are a fill.
 * 3. A transpose (the input's unit-stride axis p is not the output's last) is copied in 16x16 tiles
 *    of the (p, last) plane, so both the strided reads and the writes stay in cache. */
#include <string.h>

#include "core/threads.h"
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

/* ---- Copies split across a thread pool --------------------------------------------------------
 * A copy moves bits, so any split gives the same bytes; splitting pays only for copies large enough
 * that the pool's wake-up is small beside them, and on two cores mostly because each core then
 * pulls half of what the other core just wrote. Tasks are chunks of about EO_COPY_TASK_BYTES. */
enum { EO_COPY_TASK_BYTES = 16 * 1024, EO_COPY_MAX_TASKS = 64 };

static size_t copy_tasks(size_t bytes, int64_t cap) {
  size_t t = bytes / EO_COPY_TASK_BYTES;
  if (t > EO_COPY_MAX_TASKS) t = EO_COPY_MAX_TASKS;
  if ((int64_t)t > cap) t = (size_t)cap;
  return t < 1 ? 1 : t;
}

typedef struct strided_job {
  size_t es;
  int rank, k;         /* axis k is cut into chunks of `chunk` */
  int64_t chunk;
  int64_t y_step;      /* output elements per index of axis k */
  const int64_t *dims, *x_strides;
  const char *x;
  char *y;
} strided_job;

static void strided_task(void *ctx, size_t t, int worker) {
  (void)worker;
  const strided_job *j = ctx;
  int64_t d[EO_MOVE_MAX_RANK];
  memcpy(d, j->dims, (size_t)j->rank * sizeof *d);
  const int64_t start = (int64_t)t * j->chunk;
  d[j->k] = d[j->k] - start < j->chunk ? d[j->k] - start : j->chunk;
  eo_xx_strided_copy__scalar(j->es, j->rank, d, j->x_strides, j->x + start * j->x_strides[j->k] * (int64_t)j->es,
                             j->y + start * j->y_step * (int64_t)j->es);
}

void eo_xx_strided_copy__mt(size_t es, int rank, const int64_t *dims, const int64_t *x_strides, const void *x,
                            void *y, struct eo_threadpool *pool) {
  int64_t n = 1;
  int k = -1;
  for (int i = 0; i < rank; i++) {
    n *= dims[i];
    if (k < 0 && dims[i] > 1) k = i;
  }
  size_t tasks = k < 0 || n <= 0 ? 1 : copy_tasks((size_t)n * es, dims[k]);
  if (tasks < 2) {
    eo_xx_strided_copy__scalar(es, rank, dims, x_strides, x, y);
    return;
  }
  strided_job j = {.es = es, .rank = rank, .k = k, .dims = dims, .x_strides = x_strides, .x = x, .y = y, .y_step = 1};
  for (int i = k + 1; i < rank; i++) j.y_step *= dims[i];
  j.chunk = (dims[k] + (int64_t)tasks - 1) / (int64_t)tasks;
  eo_threadpool_run(pool, (size_t)((dims[k] + j.chunk - 1) / j.chunk), strided_task, &j);
}

typedef struct parts_job {
  int64_t outer;
  int n;
  const size_t *bytes;
  void *const *parts;
  char *whole;
  bool to_whole;
  size_t row, total, chunk;
} parts_job;

/* Bytes [t*chunk, (t+1)*chunk) of the whole buffer, walked part by part. */
static void parts_task(void *ctx, size_t t, int worker) {
  (void)worker;
  const parts_job *j = ctx;
  size_t pos = t * j->chunk, end = pos + j->chunk < j->total ? pos + j->chunk : j->total;
  size_t o = pos / j->row, off = pos - o * j->row, pstart = 0;
  int i = 0;
  while (off >= pstart + j->bytes[i]) pstart += j->bytes[i++];  // off < row: stops before n
  while (pos < end) {
    const size_t in_part = off - pstart;
    size_t len = j->bytes[i] - in_part;
    if (len > end - pos) len = end - pos;
    if (len && j->parts[i]) {
      char *p = (char *)j->parts[i] + o * j->bytes[i] + in_part;
      if (j->to_whole) memcpy(j->whole + pos, p, len);
      else memcpy(p, j->whole + pos, len);
    }
    pos += len;
    off += len;
    while (i < j->n && off - pstart == j->bytes[i]) pstart += j->bytes[i++];  // next part (skipping empty ones)
    if (i == j->n) i = 0, pstart = 0, off = 0, o++;
  }
}

void eo_xx_parts_copy__mt(int64_t outer, int n, const size_t *bytes, void *const *parts, void *whole, bool to_whole,
                          struct eo_threadpool *pool) {
  parts_job j = {.outer = outer, .n = n, .bytes = bytes, .parts = parts, .whole = whole, .to_whole = to_whole};
  for (int i = 0; i < n; i++) j.row += bytes[i];
  j.total = (size_t)outer * j.row;
  if (j.total == 0) return;
  size_t tasks = copy_tasks(j.total, INT64_MAX);
  j.chunk = (j.total + tasks - 1) / tasks;
  j.chunk = (j.chunk + 63) & ~(size_t)63;  // whole cache lines of the whole buffer per task
  eo_threadpool_run(pool, (j.total + j.chunk - 1) / j.chunk, parts_task, &j);
}
