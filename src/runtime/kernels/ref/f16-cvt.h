/* float16 <-> float32 row conversion, and "round to float16" (f32 -> f16 -> f32 in one pass), the
 * kernels float16 models run on once lower_fp16.c has moved their compute to float32.
 *
 * Semantics (bit-exact, the same in every variant): IEEE binary16, round to nearest even,
 * overflow -> +-Inf, subnormals kept (no flush to zero), NaN -> quiet NaN with the payload's top
 * bits kept (f32 -> f16: sign | 0x7e00 | mantissa >> 13; f16 -> f32: sign | 0x7fc00000 |
 * mantissa << 13), which is what the F16C instructions do, so the _ref kernels are their
 * specification. Rows may be of any length; x and y may be the same buffer for round.
 *
 *   const eo_f16_kernels_t *k = eo_f16_kernels(force_ref);  // at prepare
 *   k->f16_to_f32(src, dst, n);                              // at run
 */
#ifndef EO_KERNELS_F16_CVT_H
#define EO_KERNELS_F16_CVT_H

#include <stdbool.h>
#include <stdint.h>

/* Int attribute, set to 1 only by the lower_fp16 pass on a session's own graph copy: a float32 ->
 * float32 Cast that rounds its values to float16 (ONNX Runtime's Cast(to=FLOAT16) followed by
 * Cast(to=FLOAT), in one pass). */
#define EO_CAST_ROUND_ATTR "_eo_round_fp16"

typedef void (*eo_f16_to_f32_fn)(const uint16_t *x, float *y, int64_t n);
typedef void (*eo_f32_to_f16_fn)(const float *x, uint16_t *y, int64_t n);
typedef void (*eo_f32_round_f16_fn)(const float *x, float *y, int64_t n);

typedef struct eo_f16_kernels_t {
  const char *name; /* "ref" or "f16c" */
  eo_f16_to_f32_fn f16_to_f32;
  eo_f32_to_f16_fn f32_to_f16;
  eo_f32_round_f16_fn round_f16;
} eo_f16_kernels_t;

/* Scalar specification (per element: core's eo_f32_to_f16 / eo_f16_to_f32). */
void eo_f16_to_f32__ref(const uint16_t *x, float *y, int64_t n);
void eo_f32_to_f16__ref(const float *x, uint16_t *y, int64_t n);
void eo_f32_round_f16__ref(const float *x, float *y, int64_t n);

/* F16C (8 lanes, scalar-reference tails), in kernels/x86/f16-cvt-avx2.c; call only through
 * eo_f16_kernels(). */
void eo_f16_to_f32__f16c(const uint16_t *x, float *y, int64_t n);
void eo_f32_to_f16__f16c(const float *x, uint16_t *y, int64_t n);
void eo_f32_round_f16__f16c(const float *x, float *y, int64_t n);

/* The fastest table this CPU runs: F16C when the CPU has it and EO_ISA does not lower the ISA
 * below avx2; the reference table with force_ref (EO_FORCE_REF=1). Never NULL. Reads the
 * environment: call at prepare. */
const eo_f16_kernels_t *eo_f16_kernels(bool force_ref);

#endif
