/* Scalar float16 conversions (core's eo_f32_to_f16 / eo_f16_to_f32): the specification of the F16C
 * kernels (see f16-cvt.h). */
#include "runtime/kernels/ref/f16-cvt.h"

#include <string.h>

#include "core/core.h"
#include "core/cpu.h"

void eo_f16_to_f32__ref(const uint16_t *x, float *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = eo_f16_to_f32(x[i]);
}

void eo_f32_to_f16__ref(const float *x, uint16_t *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = eo_f32_to_f16(x[i]);
}

void eo_f32_round_f16__ref(const float *x, float *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = eo_f16_to_f32(eo_f32_to_f16(x[i]));
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
