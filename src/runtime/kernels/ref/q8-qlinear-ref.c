/* Scalar reference of the ORT-exact QLinear* kernels (qlinear_kernels.h has the arithmetic). Products
 * and sums sit in separate statements: ISO C (-std=c11) compiles them without contraction into FMA,
 * which would round once where MLAS rounds twice. */
#include <math.h>

#include "core/cpu.h"
#include "runtime/kernels/ref/qconv_kernels.h"
#include "runtime/kernels/ref/qlinear_kernels.h"

static inline int32_t get8(bool s8, const uint8_t *p, int64_t i) { return s8 ? (int32_t)(int8_t)p[i] : (int32_t)p[i]; }

/* cvtps2dq: round half to even; NaN and values outside int32 give INT32_MIN. */
static inline int32_t cvt_rne(float v) {
  if (!(v > -2147483648.0f && v < 2147483648.0f)) return INT32_MIN;
  return (int32_t)nearbyintf(v);
}

void eo_qbin_params_finish(eo_qbin_params *p) {
  float ab = p->a_scale * p->b_scale;
  p->mul_ratio = ab / p->c_scale;
  p->rac = p->a_scale / p->c_scale;
  p->rbc = p->b_scale / p->c_scale;
  float zc = (float)p->c_zp, bz = p->rbc * (float)p->b_zp, az = p->rac * (float)p->a_zp;
  p->fixed_ab = zc - fmaf(p->rac, (float)p->a_zp, bz);
  p->fixed_ba = zc - fmaf(p->rbc, (float)p->b_zp, az);
}

/* uint8: MLAS's intrinsics kernel (see the header). */
static void add_u8(const eo_qbin_params *p, int64_t n, const uint8_t *a, int64_t sa, const uint8_t *b, int64_t sb,
                   uint8_t *y) {
  for (int64_t i = 0; i < n; i++) {
    float fa = (float)a[i * sa], fb = (float)b[i * sb], v;
    if (sb == 0)
      v = fmaf(fa, p->rac, fmaf(fb, p->rbc, p->fixed_ab));
    else if (sa == 0)
      v = fmaf(fb, p->rbc, fmaf(fa, p->rac, p->fixed_ba));
    else
      v = fmaf(fa, p->rac, fmaf(fb, p->rbc, p->fixed_ab));
    int32_t r = cvt_rne(v);
    y[i] = (uint8_t)(r < 0 ? 0 : r > 255 ? 255 : r);
  }
}

void eo_q8_add_row__ref(const eo_qbin_params *p, int64_t n, const uint8_t *a, int64_t sa, const uint8_t *b,
                        int64_t sb, uint8_t *y) {
  if (!p->s8) {
    add_u8(p, n, a, sa, b, sb, y);
    return;
  }
  int32_t lo = (p->s8 ? -128 : 0) - p->c_zp, hi = (p->s8 ? 127 : 255) - p->c_zp;
  for (int64_t i = 0; i < n; i++) {
    float fa = (float)(get8(p->s8, a, i * sa) - p->a_zp) * p->a_scale;
    float fb = (float)(get8(p->s8, b, i * sb) - p->b_zp) * p->b_scale;
    float sum = fa + fb;
    int32_t r = cvt_rne(sum / p->c_scale);
    r = r < lo ? lo : r > hi ? hi : r;
    y[i] = (uint8_t)(r + p->c_zp);
  }
}

void eo_q8_mul_row__ref(const eo_qbin_params *p, int64_t n, const uint8_t *a, int64_t sa, const uint8_t *b,
                        int64_t sb, uint8_t *y) {
  int32_t lo = p->s8 ? -128 : 0, hi = p->s8 ? 127 : 255;
  float zc = (float)p->c_zp;
  for (int64_t i = 0; i < n; i++) {
    int32_t prod = (get8(p->s8, a, i * sa) - p->a_zp) * (get8(p->s8, b, i * sb) - p->b_zp);
    float v = (float)prod * p->mul_ratio;
    v = v + zc;
    int32_t r = cvt_rne(v);
    // packs_epi32 then packs/packus_epi16: saturation to int16, then to the 8-bit range
    r = r < -32768 ? -32768 : r > 32767 ? 32767 : r;
    r = r < lo ? lo : r > hi ? hi : r;
    y[i] = (uint8_t)r;
  }
}

/* Eigen's rational approximation as MLAS's FMA3 kernel evaluates it: x2 = x * x rounded, each Horner
 * step one fused multiply-add, p * x rounded, p / q, + 0.5, max with 0. */
float eo_logistic_mlas(float x) {
  float v = x < -18.0f ? -18.0f : x;
  v = v > 18.0f ? 18.0f : v;
  float x2 = v * v;
  float p = fmaf(x2, 4.37031012579801e-11f, 1.15627324459942e-07f);
  p = fmaf(x2, p, 6.08574864600143e-05f);
  p = fmaf(x2, p, 8.51377133304701e-03f);
  p = fmaf(x2, p, 2.48287947061529e-01f);
  float q = fmaf(x2, 6.10247389755681e-13f, 5.76102136993427e-09f);
  q = fmaf(x2, q, 6.29106785017040e-06f);
  q = fmaf(x2, q, 1.70198817374094e-03f);
  q = fmaf(x2, q, 1.16817656904453e-01f);
  q = fmaf(x2, q, 9.93151921023180e-01f);
  float px = v * p;
  float r = px / q + 0.5f;
  return r > 0.0f ? r : 0.0f;
}

/* MLAS's QuantizeLinear of one value. */
static uint8_t quantize(bool s8, float v, float ys, int32_t yz) {
  float lo = (float)((s8 ? -128 : 0) - yz), hi = (float)((s8 ? 127 : 255) - yz);
  float q = v / ys;
  q = q < lo ? lo : q;  // maxps / minps: NaN takes the bound
  q = q > hi ? hi : q;
  if (q != q) q = lo;
  return (uint8_t)((int32_t)nearbyintf(q) + yz);
}

static void lut(bool s8, float xs, int32_t xz, float ys, int32_t yz, bool sigmoid, uint8_t table[256]) {
  for (int i = 0; i < 256; i++) {
    int32_t code = s8 ? (int32_t)(int8_t)(uint8_t)i : i;
    float x = xs * (float)(code - xz);
    table[i] = quantize(s8, sigmoid ? eo_logistic_mlas(x) : x, ys, yz);
  }
}

void eo_q8_lut_sigmoid(bool s8, float xs, int32_t xz, float ys, int32_t yz, uint8_t table[256]) {
  lut(s8, xs, xz, ys, yz, true, table);
}

void eo_q8_lut_requant(bool s8, float xs, int32_t xz, float ys, int32_t yz, uint8_t table[256]) {
  lut(s8, xs, xz, ys, yz, false, table);
}

void eo_q8_lut_apply__ref(const uint8_t table[256], int64_t n, const uint8_t *x, uint8_t *y) {
  for (int64_t i = 0; i < n; i++) y[i] = table[x[i]];
}

eo_q8_lut_fn eo_q8_lut_pick(bool force_ref) {
#if defined(__x86_64__) || defined(__i386__)
  if (!force_ref) {
    eo_isa isa = eo_cpu_isa();
    if (isa >= EO_ISA_AVX512 && eo_cpu_info_get()->avx512vbmi) return eo_q8_lut_apply__avx512vbmi;
    if (isa >= EO_ISA_AVX2) return eo_q8_lut_apply__avx2;
  }
#else
  (void)force_ref;
#endif
  return eo_q8_lut_apply__ref;
}

float eo_q8_gavgpool_scale(float xs, float ys, int64_t image) {
  if (image <= 0 || image >= 0x1000000) return 0.0f;
  float s = xs / (ys * (float)image);
  return s >= 0x1.0p-32f && s < 256.0f ? s : 0.0f;
}

void eo_q8_gavgpool__ref(bool s8, int64_t channels, int64_t image, const uint8_t *x, int32_t xz, float scale,
                         int32_t yz, uint8_t *y) {
  int32_t qmin = s8 ? -128 : 0, qmax = s8 ? 127 : 255;
  for (int64_t c = 0; c < channels; c++) {
    const uint8_t *row = x + c * image;
    int32_t acc = -xz * (int32_t)image;
    for (int64_t i = 0; i < image; i++) acc += get8(s8, row, i);
    y[c] = (uint8_t)eo_qs8_requant(acc, scale, yz, qmin, qmax);
  }
}

void eo_q8_softmax_table(bool s8, float xs, int64_t d, float table[256]) {
  // FLT_MAX / d in float, as ORT divides numeric_limits<float>::max() by the length
  double shift = log((double)(3.40282347e+38f / (float)d));
  shift = (shift - 5.0 > 0.0 ? shift - 5.0 : 0.0) / (double)xs;
  for (int i = 0; i < 256; i++) {
    double e = exp(((double)i - 255.0 + shift) * (double)xs);
    table[(uint8_t)(s8 ? i - 128 : i)] = (float)e;
  }
}

void eo_q8_softmax__ref(bool s8, int64_t rows, int64_t d, const uint8_t *x, const float table[256], float ys,
                        int32_t yz, uint8_t *y) {
  float yscale = floorf(1.0f / ys);
  for (int64_t r = 0; r < rows; r++, x += d, y += d) {
    int32_t xmax = get8(s8, x, 0);
    for (int64_t i = 1; i < d; i++) xmax = get8(s8, x, i) > xmax ? get8(s8, x, i) : xmax;
    // uint8: entry 255 - xmax + x; int8: entry byte(127 - xmax + x)
    float sum = 0.0f;
    for (int64_t i = 0; i < d; i++) sum += s8 ? table[(uint8_t)(127 - xmax + get8(s8, x, i))] : table[255 - xmax + x[i]];
    if (sum == 0.0f) return;  // ORT leaves the rest of the output untouched then
    for (int64_t i = 0; i < d; i++) {
      float e = s8 ? table[(uint8_t)(127 - xmax + get8(s8, x, i))] : table[255 - xmax + x[i]];
      float prod = e * yscale;
      int32_t q = (int32_t)nearbyintf(prod / sum) + yz;
      y[i] = (uint8_t)(q > 255 ? 255 : q);
    }
  }
}

int32_t eo_s16_dot__ref(const int16_t *a, const int16_t *b, int64_t k) {
  int32_t acc = 0;
  for (int64_t i = 0; i < k; i++) acc += (int32_t)a[i] * b[i];
  return acc;
}
