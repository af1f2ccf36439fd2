/* 8-bit MaxPool over stride-phase planes: plane (py, px) holds input rows py, py + sh, ... and columns
 * px, px + sw, ..., so tap (ky, kx) of output row oy is one contiguous run of a plane row and the
 * window maximum is a plain byte max over runs, which the compiler vectorizes (portable C; with the
 * element-by-element reference, 8-bit MaxPool had to run as DequantizeLinear -> float MaxPool ->
 * QuantizeLinear, three passes over 4x the bytes). Padding is the type's minimum (after flipping
 * int8 to uint8 order): the reference starts from that value, so a padded tap never changes the
 * result and a window with no tap inside gives it. */
#include "runtime/kernels/q8-maxpool.h"

#include <string.h>

void eo_q8_maxpool_plan_init(eo_q8_maxpool_plan *pl) {
  pl->hq = pl->oh + (pl->kh - 1) * pl->dh / pl->sh;
  pl->wq = pl->ow + (pl->kw - 1) * pl->dw / pl->sw;
  pl->ws_bytes = (size_t)(pl->sh * pl->sw * pl->hq * pl->wq + pl->ow);  // + one accumulator row
}

typedef struct mp_job {
  const eo_q8_maxpool_plan *pl;
  const uint8_t *x;
  uint8_t *y, *ws;
} mp_job;

static void plane(const eo_q8_maxpool_plan *pl, const uint8_t *x, uint8_t *y, uint8_t *ws) {
  const uint8_t flip = pl->is_signed ? 0x80 : 0;
  const int64_t hq = pl->hq, wq = pl->wq, ow = pl->ow;
  uint8_t *acc = ws + pl->sh * pl->sw * hq * wq;
  memset(ws, 0, (size_t)(pl->sh * pl->sw * hq * wq));
  for (int64_t py = 0; py < pl->sh; py++)
    for (int64_t px = 0; px < pl->sw; px++) {
      uint8_t *d = ws + (py * pl->sw + px) * hq * wq;
      // columns q whose input column q * sw + off lies in [0, iw): [lo, hi)
      const int64_t off = px - pl->pad_l, sw = pl->sw;
      int64_t lo = off >= 0 ? 0 : (-off + sw - 1) / sw, hi = pl->iw - off <= 0 ? 0 : (pl->iw - off + sw - 1) / sw;
      hi = hi < wq ? hi : wq;
      for (int64_t r = 0; r < hq; r++) {
        int64_t iy = r * pl->sh + py - pl->pad_t;
        if (iy < 0 || iy >= pl->ih) continue;
        const uint8_t *s = x + iy * pl->iw + off;
        uint8_t *dr = d + r * wq;
        if (sw == 1)
          for (int64_t q = lo; q < hi; q++) dr[q] = s[q] ^ flip;
        else
          for (int64_t q = lo; q < hi; q++) dr[q] = s[q * sw] ^ flip;
      }
    }
  for (int64_t oy = 0; oy < pl->oh; oy++) {
    memset(acc, 0, (size_t)ow);
    for (int64_t ky = 0; ky < pl->kh; ky++) {
      const int64_t ty = ky * pl->dh;
      for (int64_t kx = 0; kx < pl->kw; kx++) {
        const int64_t tx = kx * pl->dw;
        const uint8_t *s = ws + ((ty % pl->sh) * pl->sw + tx % pl->sw) * hq * wq + (oy + ty / pl->sh) * wq + tx / pl->sw;
        for (int64_t o = 0; o < ow; o++) acc[o] = s[o] > acc[o] ? s[o] : acc[o];
      }
    }
    for (int64_t o = 0; o < ow; o++) y[oy * ow + o] = acc[o] ^ flip;
  }
}

static void mp_task(void *ctx, size_t index, int worker) {
  const mp_job *J = ctx;
  const eo_q8_maxpool_plan *pl = J->pl;
  plane(pl, J->x + (int64_t)index * pl->ih * pl->iw, J->y + (int64_t)index * pl->oh * pl->ow,
        J->ws + (size_t)worker * pl->ws_bytes);
}

void eo_q8_maxpool2d(const eo_q8_maxpool_plan *pl, int64_t nc, const void *x, void *y, void *ws, eo_threadpool *pool) {
  mp_job J = {pl, x, y, ws};
  eo_threadpool_run(pool, (size_t)nc, mp_task, &J);
}
