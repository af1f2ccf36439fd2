/* Scalar float16 conversions: the specification of the F16C kernels (see f16-cvt.h). */
#include "runtime/kernels/ref/f16-cvt.h"

#include <string.h>

#include "core/cpu.h"

uint16_t eo_f32_to_f16_bits_ref(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000, mant = x & 0x7fffff;
  int32_t exp = (int32_t)((x >> 23) & 0xff);
  if (exp == 0xff) return (uint16_t)(sign | 0x7c00 | (mant ? 0x200 | (mant >> 13) : 0));
  int32_t e = exp - 127 + 15;
  if (e >= 31) return (uint16_t)(sign | 0x7c00);
  if (e <= 0) {  // float16 subnormal (or zero): shift the full significand, round to nearest even
    if (e < -10) return (uint16_t)sign;  // below half the smallest subnormal: rounds to 0
    mant |= 0x800000;
    uint32_t shift = (uint32_t)(14 - e);
    uint32_t h = mant >> shift, rem = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (h & 1))) h++;  // a carry makes the smallest normal: correct
    return (uint16_t)(sign | h);
  }
  uint32_t h = (uint32_t)e << 10 | (mant >> 13), rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;  // a carry into the exponent is correct, to Inf too
  return (uint16_t)(sign | h);
}

float eo_f16_bits_to_f32_ref(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalize
      exp = 127 - 15 + 1;
      while (!(mant & 0x400)) {
        mant <<= 1;
        exp--;
      }
      bits = sign | (exp << 23) | ((mant & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant ? 0x400000u | (mant << 13) : 0);  // NaN comes out quiet
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

void eo_f16_to_f32__ref(const uint16_t *x, float *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = eo_f16_bits_to_f32_ref(x[i]);
}

void eo_f32_to_f16__ref(const float *x, uint16_t *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = eo_f32_to_f16_bits_ref(x[i]);
}

void eo_f32_round_f16__ref(const float *x, float *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = eo_f16_bits_to_f32_ref(eo_f32_to_f16_bits_ref(x[i]));
}

static const eo_f16_kernels_t k_ref = {"ref", eo_f16_to_f32__ref, eo_f32_to_f16__ref, eo_f32_round_f16__ref};
#if defined(__x86_64__) || defined(__i386__)
static const eo_f16_kernels_t k_f16c = {"f16c", eo_f16_to_f32__f16c, eo_f32_to_f16__f16c, eo_f32_round_f16__f16c};
#endif

const eo_f16_kernels_t *eo_f16_kernels(bool force_ref) {
#if defined(__x86_64__) || defined(__i386__)
  // the F16C file is built with the AVX2 flags, so it needs the AVX2 family too
  if (!force_ref && eo_cpu_info_get()->f16c && eo_cpu_isa() >= EO_ISA_AVX2) return &k_f16c;
#endif
  (void)force_ref;
  return &k_ref;
}
