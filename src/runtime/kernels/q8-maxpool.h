/* 8-bit MaxPool (uint8, int8) of 1-D / 2-D planes without Indices: the same codes as
 * eo_u8_maxpool__ref / eo_s8_maxpool__ref (kernels/ref), vectorized by the compiler. */
#ifndef EO_RUNTIME_KERNELS_Q8_MAXPOOL_H
#define EO_RUNTIME_KERNELS_Q8_MAXPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/threads.h"

typedef struct eo_q8_maxpool_plan {
  int64_t ih, iw, oh, ow, kh, kw, sh, sw, dh, dw, pad_t, pad_l;  /* 1-D: ih = oh = kh = sh = dh = 1 */
  bool is_signed;     /* int8 */
  /* derived by eo_q8_maxpool_plan_init */
  int64_t rs;         /* padded row length (row buffer; block path: row stride of a padded plane) */
  int64_t wq;         /* row path: length of one stride-phase array of a row */
  int64_t prows;      /* block path (stride 1, small planes): padded rows per plane; 0: row path */
  int64_t bmax;       /* block path: planes per block */
  size_t ws_bytes;    /* scratch per worker */
} eo_q8_maxpool_plan;

/* Fills the derived fields from the geometry. */
void eo_q8_maxpool_plan_init(eo_q8_maxpool_plan *pl);
/* nc planes of x into y on the pool; ws: ws_bytes per worker of the pool (any alignment). */
void eo_q8_maxpool2d(const eo_q8_maxpool_plan *pl, int64_t nc, const void *x, void *y, void *ws, eo_threadpool *pool);

#endif
