/* Vector per-tensor QuantizeLinear / DequantizeLinear for 8-bit data (qs8-qdq-avx2.c): bit-identical
 * to the scalar loops of ops/quantize_linear.c. Call only when eo_cpu_isa() >= EO_ISA_AVX2. */
#ifndef EO_RUNTIME_KERNELS_X86_QS8_QDQ_H
#define EO_RUNTIME_KERNELS_X86_QS8_QDQ_H

#include <stdbool.h>
#include <stdint.h>

void eo_qs8_quantize__avx2(const float *x, int64_t n, float scale, int32_t zp, bool y_signed, void *y);
void eo_qs8_dequantize__avx2(const void *x, bool x_signed, int64_t n, float scale, int32_t zp, float *y);

#endif
