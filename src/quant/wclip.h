/* Scale of one output channel of symmetric int8 weights (q = clamp(round(w / s), -127, 127)).
 *
 *   minmax  s = max|w| / 127: no weight is clipped (the default).
 *   mse     s = (max|w| * r) / 127 with r the clip ratio on the grid r_k = (100 - k) / 100, k = 0..50
 *           (1.00 down to 0.50), whose rounding gives the smallest sum of (w - s q)^2 over the
 *           channel; ties keep the larger ratio. Clipping a few outlying weights buys a finer step
 *           for all the others (the MSE weight observers of TensorRT's and Intel Neural
 *           Compressor's toolkits), so the channel's weight error never exceeds minmax's.
 * s and r are float32 (r_k = (float)(100 - k) / 100.f), the error sum double: a numpy float32
 * oracle reproduces the choice exactly (tests/unit/test_quant_wclip.c). */
#ifndef EO_QUANT_WCLIP_H
#define EO_QUANT_WCLIP_H

#include <stdint.h>

enum { EO_WCLIP_MINMAX = 0, EO_WCLIP_MSE = 1 };

/* The scale of the n weights w (method EO_WCLIP_*); 1 when every weight is 0 (or n is 0). */
float eo_weight_scale(const float *w, int64_t n, int method);

/* Sum of (w - s q)^2 with q = clamp(round(w / s), -127, 127): the weight error of scale s. */
double eo_weight_error(const float *w, int64_t n, float s);

#endif
