/* 8-bit MaxPool, separable: the window maximum is the column maximum of row maxima, so every pass is
 * a plain byte max of contiguous runs, which the compiler vectorizes (portable C). int8 is flipped
 * to uint8 order (x ^ 0x80) on the way in and back on the way out; padding is the (flipped) type
 * minimum 0, which the reference starts from, so a padded tap never changes the result and a window
 * with no tap inside gives the minimum.
 *
 * Row path (any geometry): per output row, the vertical max of the window's input rows that exist
 * (clipped, no copy) goes into a row buffer whose padding columns stay 0; the horizontal max then
 * reads taps of that row: contiguous runs for stride 1; for stride s the row is first split into
 * its s phases (even/odd for 2) so tap kx is again a contiguous run of one phase.
 * Block path (stride 1, small planes such as YOLO's SPPF 5x5 pools on 5x5 maps): per-row work would
 * be dominated by loop overhead, so a block of planes is copied into zero-padded planes laid end to
 * end and each pass is one long run over the whole block: kw shifted runs for the row max, kh runs
 * shifted by whole padded rows for the column max (positions that straddle rows or planes are
 * computed but never read). */
#include "runtime/kernels/q8-maxpool.h"

#include <string.h>

enum { BLOCK_PLANE_MAX = 4096, BLOCK_BYTES = 8192 };

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

void eo_q8_maxpool_plan_init(eo_q8_maxpool_plan *pl) {
  const int64_t ew = (pl->kw - 1) * pl->dw, eh = (pl->kh - 1) * pl->dh;  // window extents - 1
  pl->prows = pl->bmax = 0;
  if (pl->sh == 1 && pl->sw == 1) {
    int64_t s = max64(pl->pad_l + pl->iw, pl->ow + ew), r = max64(pl->pad_t + pl->ih, pl->oh + eh);
    if (s <= BLOCK_PLANE_MAX && r <= BLOCK_PLANE_MAX && s * r <= BLOCK_PLANE_MAX) {
      pl->rs = s, pl->prows = r, pl->wq = 0;
      pl->bmax = max64(1, BLOCK_BYTES / (s * r));
      pl->ws_bytes = (size_t)(3 * pl->bmax * s * r);  // padded planes, row maxima, column maxima
      return;
    }
  }
  pl->wq = pl->ow + ew / pl->sw;
  pl->rs = max64(pl->pad_l + pl->iw, pl->sw * pl->wq);
  pl->ws_bytes = (size_t)(pl->rs + (pl->sw > 1 ? pl->sw * pl->wq : 0));  // row buffer + its phases
}

static inline uint8_t mx(uint8_t a, uint8_t b) { return a > b ? a : b; }

/* d = max of 1..3 sources (each ^ fi), stored ^ fo; acc: d = max(d, sources ^ fi) ^ fo. */
static void first1(uint8_t *restrict d, const uint8_t *restrict a, int64_t n, uint8_t fi, uint8_t fo) {
  for (int64_t j = 0; j < n; j++) d[j] = (uint8_t)(a[j] ^ fi ^ fo);
}
static void first2(uint8_t *restrict d, const uint8_t *restrict a, const uint8_t *restrict b, int64_t n, uint8_t fi,
                   uint8_t fo) {
  for (int64_t j = 0; j < n; j++) d[j] = mx(a[j] ^ fi, b[j] ^ fi) ^ fo;
}
static void first3(uint8_t *restrict d, const uint8_t *restrict a, const uint8_t *restrict b,
                   const uint8_t *restrict c, int64_t n, uint8_t fi, uint8_t fo) {
  for (int64_t j = 0; j < n; j++) d[j] = mx(mx(a[j] ^ fi, b[j] ^ fi), c[j] ^ fi) ^ fo;
}
static void acc1(uint8_t *restrict d, const uint8_t *restrict a, int64_t n, uint8_t fi, uint8_t fo) {
  for (int64_t j = 0; j < n; j++) d[j] = mx(d[j], a[j] ^ fi) ^ fo;
}
static void acc2(uint8_t *restrict d, const uint8_t *restrict a, const uint8_t *restrict b, int64_t n, uint8_t fi,
                 uint8_t fo) {
  for (int64_t j = 0; j < n; j++) d[j] = mx(mx(d[j], a[j] ^ fi), b[j] ^ fi) ^ fo;
}

/* Tap t of a window starts at base + (t * step % nph) * phl + t * step / nph: nph = 1 for taps in one
 * array (step apart), nph = stride for taps spread over phase arrays of phl bytes. */
typedef struct taps {
  const uint8_t *base;
  int64_t step, nph, phl;
} taps;

static inline const uint8_t *tap(const taps *T, int64_t t) {
  int64_t o = t * T->step;
  return T->base + (o % T->nph) * T->phl + o / T->nph;
}

/* d[j] = max over taps t < k of tap(t)[j] ^ fi, for j < n, stored ^ fo; three taps a pass at first,
 * then two, so d is read back as few times as possible. */
static void max_taps(uint8_t *restrict d, const taps *T, int64_t k, int64_t n, uint8_t fi, uint8_t fo) {
  int64_t t;
  if (k == 1) {
    first1(d, tap(T, 0), n, fi, fo);
    return;
  }
  if (k == 2) {
    first2(d, tap(T, 0), tap(T, 1), n, fi, fo);
    return;
  }
  first3(d, tap(T, 0), tap(T, 1), tap(T, 2), n, fi, k == 3 ? fo : 0);
  for (t = 3; t + 2 <= k; t += 2) acc2(d, tap(T, t), tap(T, t + 1), n, fi, t + 2 == k ? fo : 0);
  if (t < k) acc1(d, tap(T, t), n, fi, fo);
}

static void deinterleave2(uint8_t *restrict e, uint8_t *restrict o, const uint8_t *restrict s, int64_t n) {
  for (int64_t q = 0; q < n; q++) e[q] = s[2 * q], o[q] = s[2 * q + 1];
}

static void rows_plane(const eo_q8_maxpool_plan *pl, const uint8_t *x, uint8_t *y, uint8_t *ws) {
  const uint8_t f = pl->is_signed ? 0x80 : 0;
  const int64_t ih = pl->ih, iw = pl->iw, sw = pl->sw, wq = pl->wq, dh = pl->dh;
  uint8_t *rb = ws, *ph = ws + pl->rs;
  memset(rb, 0, (size_t)pl->rs);  // the padding columns; only [pad_l, pad_l + iw) is written below
  uint8_t *v = rb + pl->pad_l;
  for (int64_t oy = 0; oy < pl->oh; oy++) {
    // window rows base + ky * dh that exist: ky in [k0, k1)
    int64_t base = oy * pl->sh - pl->pad_t;
    int64_t k0 = base >= 0 ? 0 : (-base + dh - 1) / dh, k1 = ih - base <= 0 ? 0 : min64(pl->kh, (ih - base + dh - 1) / dh);
    if (k0 >= k1) {
      memset(v, 0, (size_t)iw);
    } else {
      taps T = {x + (base + k0 * dh) * iw, dh * iw, 1, 0};
      max_taps(v, &T, k1 - k0, iw, f, 0);
    }
    uint8_t *yr = y + oy * pl->ow;
    if (sw == 1) {
      taps T = {rb, pl->dw, 1, 0};
      max_taps(yr, &T, pl->kw, pl->ow, 0, f);
      continue;
    }
    if (sw == 2)
      deinterleave2(ph, ph + wq, rb, wq);
    else
      for (int64_t p = 0; p < sw; p++)
        for (int64_t q = 0; q < wq; q++) ph[p * wq + q] = rb[q * sw + p];
    taps T = {ph, pl->dw, sw, wq};
    max_taps(yr, &T, pl->kw, pl->ow, 0, f);
  }
}

static void block_planes(const eo_q8_maxpool_plan *pl, const uint8_t *x, uint8_t *y, uint8_t *ws, int64_t nb) {
  const uint8_t f = pl->is_signed ? 0x80 : 0;
  const int64_t s = pl->rs, plane = s * pl->prows, total = nb * plane, ih = pl->ih, iw = pl->iw;
  const int64_t ew = (pl->kw - 1) * pl->dw, eh = (pl->kh - 1) * pl->dh * s;
  uint8_t *xp = ws, *h = ws + pl->bmax * plane, *o = h + pl->bmax * plane;
  memset(xp, 0, (size_t)total);  // padding; the data rows are overwritten below
  for (int64_t c = 0; c < nb; c++)
    for (int64_t iy = 0; iy < ih; iy++) {
      uint8_t *restrict d = xp + c * plane + (pl->pad_t + iy) * s + pl->pad_l;
      const uint8_t *restrict r = x + (c * ih + iy) * iw;
      for (int64_t j = 0; j < iw; j++) d[j] = r[j] ^ f;
    }
  // h[j] = max_kx xp[j + kx*dw], o[j] = max_ky h[j + ky*dh*s]: the last position read, that of output
  // (oh - 1, ow - 1) of the last plane, is below total - ew - eh (s >= ow + ew, prows >= oh + eh / s)
  taps th = {xp, pl->dw, 1, 0}, to = {h, pl->dh * s, 1, 0};
  max_taps(h, &th, pl->kw, total - ew, 0, 0);
  max_taps(o, &to, pl->kh, total - ew - eh, 0, 0);
  for (int64_t c = 0; c < nb; c++)
    for (int64_t oy = 0; oy < pl->oh; oy++) {
      const uint8_t *restrict r = o + c * plane + oy * s;
      uint8_t *restrict d = y + (c * pl->oh + oy) * pl->ow;
      for (int64_t j = 0; j < pl->ow; j++) d[j] = r[j] ^ f;
    }
}

typedef struct mp_job {
  const eo_q8_maxpool_plan *pl;
  const uint8_t *x;
  uint8_t *y, *ws;
  int64_t nc, bsz;  /* planes, planes per task */
} mp_job;

static void mp_task(void *ctx, size_t index, int worker) {
  const mp_job *J = ctx;
  const eo_q8_maxpool_plan *pl = J->pl;
  int64_t c0 = (int64_t)index * J->bsz, nb = min64(J->bsz, J->nc - c0);
  const uint8_t *x = J->x + c0 * pl->ih * pl->iw;
  uint8_t *y = J->y + c0 * pl->oh * pl->ow, *ws = J->ws + (size_t)worker * pl->ws_bytes;
  if (pl->prows)
    block_planes(pl, x, y, ws, nb);
  else
    rows_plane(pl, x, y, ws);
}

void eo_q8_maxpool2d(const eo_q8_maxpool_plan *pl, int64_t nc, const void *x, void *y, void *ws, eo_threadpool *pool) {
  if (nc <= 0) return;
  mp_job J = {pl, x, y, ws, nc, 1};
  if (pl->prows) {  // blocks of up to bmax planes, about 4 per worker so that dynamic scheduling balances
    int w = eo_threadpool_size(pool);
    int64_t per = w > 1 ? (nc + 4 * w - 1) / (4 * w) : nc;
    J.bsz = max64(1, min64(pl->bmax, per));
  }
  eo_threadpool_run(pool, (size_t)((nc + J.bsz - 1) / J.bsz), mp_task, &J);
}
