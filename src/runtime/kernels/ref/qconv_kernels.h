/* Integer convolution on quantized tensors (QLinearConv, fused QDQ Conv), with ONNX Runtime's
 * arithmetic: 8-bit activations and weights (each signed or unsigned), int32 accumulation of
 * (x - x_zp) * (w - w_zp[oc]) plus the int32 bias, then MLAS's requantization:
 *   v = (float)acc * scale[oc]   (scale[oc] = x_scale * w_scale[oc] / y_scale, in float32)
 *   v clamped to [qmin - y_zp, qmax - y_zp], rounded half to even, plus y_zp.
 * Padding reads x_zp (contributes 0). Geometry as eo_conv_params (act_op ignored). */
#ifndef EO_RUNTIME_KERNELS_REF_QCONV_KERNELS_H
#define EO_RUNTIME_KERNELS_REF_QCONV_KERNELS_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/threads.h"
#include "runtime/kernels/ref/ref_kernels.h"

typedef struct eo_qconv_quant {
  bool x_signed, w_signed, y_signed; /* int8 (true) or uint8 */
  int32_t x_zp, y_zp;
  const int32_t *w_zp;               /* c_out values */
  const int32_t *bias;               /* c_out values, or NULL */
  const float *scale;                /* c_out values */
} eo_qconv_quant;

/* y[n, oc, out...] for x [batch, c_in, in...], w [c_out, c_in/groups, k...]. Never allocates. */
void eo_qs8_conv__ref(const eo_conv_params *p, const eo_qconv_quant *q, const void *x, const void *w, void *y);

/* The AVX2 im2col kernel (kernels/x86/qs8-conv-avx2.c; call only when eo_cpu_isa() >= EO_ISA_AVX2).
 * Weights packed once by eo_qs8_conv_pack__avx2 from w16 = w - w_zp[oc] ([c_out][K], K =
 * c_in/groups * k...) into wpk, int16 pairs as int32 [c_out][(K + 1) / 2]. scratch holds
 * eo_qs8_conv_scratch__avx2 bytes (64-byte aligned), shared by the pool's workers (NULL pool: the
 * caller alone). Same result as eo_qs8_conv__ref, exactly, for any thread count. */
size_t eo_qs8_conv_scratch__avx2(const eo_conv_params *p);
void eo_qs8_conv_pack__avx2(const eo_conv_params *p, const int16_t *w16, int32_t *wpk);
void eo_qs8_conv__avx2(const eo_conv_params *p, const eo_qconv_quant *q, const void *x, const int32_t *wpk, void *y,
                       void *scratch, eo_threadpool *pool);

/* MLAS's requantization of one accumulator. */
static inline int32_t eo_qs8_requant(int32_t acc, float scale, int32_t y_zp, int32_t qmin, int32_t qmax) {
  float v = (float)acc * scale;
  float lo = (float)(qmin - y_zp), hi = (float)(qmax - y_zp);
  v = v < lo ? lo : v;
  v = v > hi ? hi : v;
  return (int32_t)nearbyintf(v) + y_zp;
}

#endif
