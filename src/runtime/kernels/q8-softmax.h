/* QLinearSoftmax (ONNX Runtime's integer softmax) over many rows at once: the same codes as
 * eo_q8_softmax__ref (kernels/ref/qlinear_kernels.h) with the same float exp table, but rows are
 * processed side by side in lanes, so the table lookups and the row sums (added in the reference's
 * order, one row per lane) of different rows overlap and the output arithmetic vectorizes. */
#ifndef EO_RUNTIME_KERNELS_Q8_SOFTMAX_H
#define EO_RUNTIME_KERNELS_Q8_SOFTMAX_H

#include <stdbool.h>
#include <stdint.h>

typedef struct eo_q8_softmax_params {
  float tab[256];     /* the table in uint8 order: entry 255 - max + x (x, max flipped for int8) */
  float yscale;       /* floorf(1 / Y_scale), as the reference */
  int32_t yz;
  uint8_t flip;       /* 0x80 for int8 */
  bool fast_round;    /* every product e * yscale is finite and below 2^22: rounding by adding 1.5 * 2^23 */
} eo_q8_softmax_params;

/* table: from eo_q8_softmax_table (same s8). */
void eo_q8_softmax_params_init(eo_q8_softmax_params *p, bool s8, const float table[256], float ys, int32_t yz);
/* n rows of d elements; element k of row r at x[r * rs + k * ks] (y alike). Rows may be
 * interleaved (rs = 1, ks = row count: a softmax over a middle axis) or contiguous (rs = d, ks = 1). */
void eo_q8_softmax_rows(const eo_q8_softmax_params *p, int64_t n, int64_t d, int64_t rs, int64_t ks, const uint8_t *x,
                        uint8_t *y);

#endif
