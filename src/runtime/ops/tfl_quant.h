/* TFLite's integer arithmetic, shared by the Tfl* ops (tfl_*.c) that run full-INT8 .tflite files
 * the way the TensorFlow Lite interpreter does (the TFLite reader, onnx/tflite_import.c, emits them).
 *
 * Two requantization families exist in the interpreter and both are needed:
 *  - TFLite's builtin kernels (tensorflow/lite/kernels/internal/common.h): a real multiplier
 *    becomes a Q31 fixed-point value and a power-of-two exponent (QuantizeMultiplier), applied
 *    as a saturating rounding doubling high multiply then a rounding right shift (half away from
 *    zero at both steps).
 *  - XNNPACK (the delegate the interpreter applies to the ops it supports): the int32 sum is
 *    converted to float, multiplied by a float scale and rounded to nearest even (lrintf).
 * The importer chooses per node which one the interpreter would run ("mode" attribute). */
#ifndef EO_RUNTIME_OPS_TFL_QUANT_H
#define EO_RUNTIME_OPS_TFL_QUANT_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/op.h"

enum { EO_TFL_MODE_XNNPACK = 0, EO_TFL_MODE_BUILTIN = 1 };

/* Shape checks and output shape of TflConv / TflHybridConv (x, w in TFLite's layouts, see
 * tfl_conv.c): kind 0 conv, 1 depthwise, 2 fully connected (attributes strides, dilations, pads for
 * 0 and 1); grouped: conv may have w [O,KH,KW,C/groups]. Sets the output to y_dtype and *o to the
 * output channel count. In tfl_conv.c. */
eo_status eo_tfl_conv_shape(eo_op_ctx *c, int kind, bool grouped, int y_dtype, int64_t *o);

/* m = q * 2^(shift - 31) with q in [2^30, 2^31): TFLite's QuantizeMultiplier (double input, the
 * mantissa rounded half away from zero; multipliers below 2^-31 become 0). */
static inline void eo_tfl_quantize_multiplier(double m, int32_t *q, int *shift) {
  if (!(m > 0)) {
    *q = 0, *shift = 0;
    return;
  }
  int e;
  double f = frexp(m, &e);
  int64_t qf = (int64_t)round(f * 2147483648.0);  // round(): half away from zero, as std::round
  if (qf == INT64_C(2147483648)) qf /= 2, e++;
  if (e < -31) qf = 0, e = 0;
  if (e > 30) qf = INT32_MAX, e = 30;  // saturate (TFLite clamps likewise)
  *q = (int32_t)qf, *shift = e;
}

/* (a * b * 2) >> 32 with rounding half away from zero, saturating the one overflowing case. */
static inline int32_t eo_tfl_srdhm(int32_t a, int32_t b) {
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  int64_t ab = (int64_t)a * b, nudge = ab >= 0 ? (INT64_C(1) << 30) : 1 - (INT64_C(1) << 30);
  return (int32_t)((ab + nudge) / (INT64_C(1) << 31));  // C division truncates toward zero
}

/* x / 2^e rounded half away from zero, 0 <= e <= 31. */
static inline int32_t eo_tfl_rdbpot(int32_t x, int e) {
  int32_t mask = (int32_t)((INT64_C(1) << e) - 1), rem = x & mask, thr = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> e) + (rem > thr ? 1 : 0);
}

/* x * q * 2^(shift - 31): TFLite's MultiplyByQuantizedMultiplier. */
static inline int32_t eo_tfl_mbqm(int32_t x, int32_t q, int shift) {
  int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
  int64_t xs = (int64_t)x * ((int64_t)1 << left);
  if (xs > INT32_MAX) xs = INT32_MAX;
  if (xs < INT32_MIN) xs = INT32_MIN;
  return eo_tfl_rdbpot(eo_tfl_srdhm((int32_t)xs, q), right > 31 ? 31 : right);
}

/* XNNPACK's fp32 requantization: lrintf((float)acc * scale) + zp within [lo, hi]. */
static inline int32_t eo_tfl_requant_fp32(int32_t acc, float scale, int32_t zp, int32_t lo, int32_t hi) {
  float v = (float)acc * scale;
  float flo = (float)(lo - zp), fhi = (float)(hi - zp);
  v = v < flo ? flo : v > fhi ? fhi : v;
  return (int32_t)lrintf(v) + zp;
}

/* x >> n rounding toward minus infinity (an arithmetic shift, without relying on the compiler's). */
static inline int32_t eo_tfl_asr(int32_t x, int n) { return x >= 0 ? x >> n : ~(~x >> n); }

static inline int32_t eo_tfl_clamp(int32_t v, int32_t lo, int32_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Integer range of an int8 / uint8 dtype. */
static inline void eo_tfl_qrange(int dtype, int32_t *lo, int32_t *hi) {
  *lo = dtype == EO_UINT8 ? 0 : -128;
  *hi = dtype == EO_UINT8 ? 255 : 127;
}

static inline int32_t eo_tfl_load(int dtype, const void *p, int64_t i) {
  return dtype == EO_UINT8 ? ((const uint8_t *)p)[i] : ((const int8_t *)p)[i];
}
static inline void eo_tfl_store(int dtype, void *p, int64_t i, int32_t v) {
  if (dtype == EO_UINT8) ((uint8_t *)p)[i] = (uint8_t)v;
  else ((int8_t *)p)[i] = (int8_t)v;
}

/* The output range of a node: the dtype's, narrowed by attributes act_min / act_max (a fused
 * activation in the quantized domain); an error when it is empty. */
static inline eo_status eo_tfl_act_range(const eo_op_ctx *c, int dtype, int32_t *lo, int32_t *hi) {
  eo_tfl_qrange(dtype, lo, hi);
  int64_t a = eo_attr_i(c->node, "act_min", *lo), b = eo_attr_i(c->node, "act_max", *hi);
  if (a > *lo) *lo = (int32_t)(a < *hi ? a : *hi);
  if (b < *hi) *hi = (int32_t)(b > *lo ? b : *lo);
  if (a > b) return eo_op_error(c, EO_ERR_INVALID, "act_min %lld > act_max %lld", (long long)a, (long long)b);
  return EO_OK;
}

/* A zero point attribute within the dtype's range. */
static inline eo_status eo_tfl_zp(const eo_op_ctx *c, const char *name, int dtype, int32_t *zp) {
  int32_t lo, hi;
  *zp = 0;
  eo_tfl_qrange(dtype, &lo, &hi);
  int64_t z = eo_attr_i(c->node, name, 0);
  if (z < lo || z > hi)
    return eo_op_error(c, EO_ERR_INVALID, "%s = %lld is outside the %s range", name, (long long)z,
                       eo_dtype_name(dtype));
  *zp = (int32_t)z;
  return EO_OK;
}

/* A positive finite scale attribute. */
static inline eo_status eo_tfl_scale(const eo_op_ctx *c, const char *name, float *s) {
  *s = eo_attr_f(c->node, name, 0.f);
  if (!(*s > 0) || !isfinite(*s))
    return eo_op_error(c, EO_ERR_INVALID, "%s = %g, expected a positive finite scale", name, (double)*s);
  return EO_OK;
}

static inline bool eo_tfl_is_q8(int dtype) { return dtype == EO_INT8 || dtype == EO_UINT8; }

#endif
