/* Integer kernels for the QDQ groups ONNX Runtime fuses besides Conv (QLinearAdd, QLinearMul,
 * QLinearSigmoid, QLinearConcat, QLinearGlobalAveragePool), with the float32 arithmetic of ORT's
 * CPU kernels (MLAS) on x86 step by step, so edgeopt and ORT produce the same integers:
 *
 *   Add, measured against ORT 1.30 (tests/cli/test_qgroups_vs_ort.sh: the two dtypes take different
 *   MLAS kernels on x86 with AVX2, and each formula below reproduces its dtype's ties exactly):
 *     uint8 (MLAS's AVX2 intrinsics kernel): on the raw codes, rac = sa / sc, rbc = sb / sc,
 *       fixed = (float)zc - fma(rac, za, rbc * zb); v = fma(a, rac, fma(b, rbc, fixed)); a stride-0
 *       operand (ORT's "scalar" span) is folded first: fixed' = fma(b, rbc, fixed), v = fma(a, rac,
 *       fixed'), and when A is the scalar ORT swaps the operands, so fixed is then built as
 *       zc - fma(rbc, zb, rac * za). r = round half even (cvtps2dq), saturated to the dtype.
 *     int8 (MLAS's AVX2 assembly kernel): v = ((float)(a - za) * sa + (float)(b - zb) * sb) / sc,
 *       a true division, products rounded before the sum; r = round half even (cvtps2dq: outside
 *       int32 gives INT32_MIN), clamped to [qmin - zc, qmax - zc], + zc.
 *   Mul (MLAS's SSE2 kernel): p = (a - za) * (b - zb) in int32; v = (float)p * ratio + (float)zc with
 *       ratio = sa * sb / sc in float32 ((sa * sb) first), product rounded before the sum;
 *       r = round half even, saturated to the dtype (packs).
 *   Lookup tables (Sigmoid, Concat requantization): for each of the 256 codes i (int8: the byte
 *       read as int8) x = xs * (float)(i - xz), f(x) in float32, then QuantizeLinear: round half even
 *       of f(x) / ys clamped to [qmin - yz, qmax - yz], + yz. Sigmoid's f is MLAS's logistic: the
 *       Eigen rational polynomial on x clamped to [-18, 18], with FMAs where MLAS's FMA3 kernel
 *       has them (eo_logistic_mlas).
 *   GlobalAveragePool: acc = sum(x) - xz * image (int32), scale = xs / (ys * (float)image), then
 *       the requantization of QLinearConv (eo_qs8_requant).
 *   Softmax (ORT's QLinearSoftmax, last axis of rows of d): a float table of exp((i - 255 + shift) *
 *       xs) in double rounded to float, shift = max(0, ln(FLT_MAX / d) - 5) / xs; per row the table
 *       is read shifted so the row's largest code sits at entry 255, the sum accumulates in float
 *       from the first element on, and y = nearbyintf(e * floor(1 / ys) / sum) + yz, only capped
 *       at 255 (int8: the low byte of that, as ORT stores it). x's zero point plays no part.
 * Data are int8 (s8 true) or uint8, passed as bytes. Row kernels follow runtime/broadcast.h: sa, sb
 * are the element strides of a and b inside the row (0 or 1); y must not overlap a or b (the fast Mul
 * rows finish with an overlapping last vector). */
#ifndef EO_RUNTIME_KERNELS_REF_QLINEAR_KERNELS_H
#define EO_RUNTIME_KERNELS_REF_QLINEAR_KERNELS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct eo_qbin_params {
  bool s8;                      /* int8 (true) or uint8 data */
  float a_scale, b_scale, c_scale;
  int32_t a_zp, b_zp, c_zp;
  float mul_ratio;              /* a_scale * b_scale / c_scale (Mul) */
  float rac, rbc, fixed_ab, fixed_ba; /* uint8 Add: ratios and zero-point terms (A or B first) */
} eo_qbin_params;

/* Fills the derived fields (mul_ratio, rac, rbc, fixed_*) from the scales and zero points. */
void eo_qbin_params_finish(eo_qbin_params *p);

void eo_q8_add_row__ref(const eo_qbin_params *p, int64_t n, const uint8_t *a, int64_t sa, const uint8_t *b,
                        int64_t sb, uint8_t *y);
void eo_q8_mul_row__ref(const eo_qbin_params *p, int64_t n, const uint8_t *a, int64_t sa, const uint8_t *b,
                        int64_t sb, uint8_t *y);
/* AVX2 versions (kernels/x86/q8-qlinear-avx2.c; call only when eo_cpu_isa() >= EO_ISA_AVX2): the
 * same bytes as the _ref kernels. */
void eo_q8_add_row__avx2(const eo_qbin_params *p, int64_t n, const uint8_t *a, int64_t sa, const uint8_t *b,
                         int64_t sb, uint8_t *y);
void eo_q8_mul_row__avx2(const eo_qbin_params *p, int64_t n, const uint8_t *a, int64_t sa, const uint8_t *b,
                         int64_t sb, uint8_t *y);
/* AVX-512F Mul rows (kernels/x86/q8-qlinear-avx512.c; only when eo_cpu_isa() >= EO_ISA_AVX512): the
 * same bytes as the _ref kernel. */
void eo_q8_mul_row__avx512(const eo_qbin_params *p, int64_t n, const uint8_t *a, int64_t sa, const uint8_t *b,
                           int64_t sb, uint8_t *y);

/* MLAS's logistic function of one float32. */
float eo_logistic_mlas(float x);

/* table[i] for the 256 codes i: quantize(f(dequantize(i))), f = logistic or the identity. */
void eo_q8_lut_sigmoid(bool s8, float xs, int32_t xz, float ys, int32_t yz, uint8_t table[256]);
void eo_q8_lut_requant(bool s8, float xs, int32_t xz, float ys, int32_t yz, uint8_t table[256]);
/* y[i] = table[x[i]]; y may equal x; any alignment. The fast versions give the same bytes (a lookup
 * has no arithmetic): AVX2 (kernels/x86/q8-qlinear-avx2.c, 16 VPSHUFB over 16-byte slices of the
 * table) and AVX-512 VBMI (kernels/x86/q8-lut-avx512.c, VPERMI2B over the four 64-byte quarters). */
typedef void (*eo_q8_lut_fn)(const uint8_t table[256], int64_t n, const uint8_t *x, uint8_t *y);
void eo_q8_lut_apply__ref(const uint8_t table[256], int64_t n, const uint8_t *x, uint8_t *y);
void eo_q8_lut_apply__avx2(const uint8_t table[256], int64_t n, const uint8_t *x, uint8_t *y);
void eo_q8_lut_apply__avx512vbmi(const uint8_t table[256], int64_t n, const uint8_t *x, uint8_t *y);
/* The fastest lookup this CPU has under eo_cpu_isa() (so EO_ISA lowers it), or the reference when
 * force_ref. Reads the environment: call at prepare. */
eo_q8_lut_fn eo_q8_lut_pick(bool force_ref);

/* ORT's global-average-pool scale, or 0 when it is outside [2^-32, 256) or image >= 2^24 (ORT
 * rejects those parameters; callers leave such groups in float). */
float eo_q8_gavgpool_scale(float xs, float ys, int64_t image);
/* y[c] for `channels` rows of `image` elements each. */
void eo_q8_gavgpool__ref(bool s8, int64_t channels, int64_t image, const uint8_t *x, int32_t xz, float scale,
                         int32_t yz, uint8_t *y);

/* QGemm's integer product: dot of k int16 pairs (operands already minus their zero points). The AVX2
 * version gives the same int32 (exact integer arithmetic). */
int32_t eo_s16_dot__ref(const int16_t *a, const int16_t *b, int64_t k);
int32_t eo_s16_dot__avx2(const int16_t *a, const int16_t *b, int64_t k);

/* The 256-entry exp table for rows of d elements (int8: indexed by the byte of code - 128). */
void eo_q8_softmax_table(bool s8, float xs, int64_t d, float table[256]);
/* rows x d, each row contiguous. */
void eo_q8_softmax__ref(bool s8, int64_t rows, int64_t d, const uint8_t *x, const float table[256], float ys,
                        int32_t yz, uint8_t *y);

#endif
