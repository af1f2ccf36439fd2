/* Rows side by side: each pass over a block of up to LANES rows handles element k of every row before
 * element k + 1, so a row's sum is still added in the reference's order (element 0 first) while the
 * lookups and additions of the other rows fill the adder's latency; the output arithmetic (product,
 * division, rounding, clamp) runs on a contiguous float array the compiler vectorizes. Rounding:
 * nearbyintf in the reference; for 0 <= v < 2^22, (v + 1.5 * 2^23) - 1.5 * 2^23 rounds to nearest,
 * ties to even, the same value (fast_round guarantees the range: v <= e * yscale / e). The
 * reference stops at a row whose sum is 0; that cannot happen: a row's maximum reads entry 255,
 * exp(max(log(FLT_MAX / d) - 5, 0)) >= 1 for any finite nonzero X scale (NaN otherwise, never 0). */
#include "runtime/kernels/q8-softmax.h"

#include <math.h>

enum { LANES = 64, KEEP_D = 32 };

void eo_q8_softmax_params_init(eo_q8_softmax_params *p, bool s8, const float table[256], float ys, int32_t yz) {
  p->yscale = floorf(1.0f / ys);
  p->yz = yz;
  p->flip = s8 ? 0x80 : 0;
  // entry 255 (a row's maximum) > 0 keeps every sum positive; finite products bound v by yscale
  bool ok = p->yscale >= 0.0f && p->yscale < 0x1p22f;
  for (int i = 0; i < 256; i++) {
    float e = s8 ? table[(uint8_t)(i - 128)] : table[i];  // int8: entry byte(127 - max + x) = 255 - max' + x'
    p->tab[i] = e;
    ok = ok && e >= 0.0f && isfinite(e) && isfinite(e * p->yscale);
  }
  p->fast_round = ok && p->tab[255] > 0.0f;
}

static inline __attribute__((always_inline)) void lanes(const eo_q8_softmax_params *p, int64_t nl, int64_t d,
                                                        int64_t rs, int64_t ks, const uint8_t *x, uint8_t *y) {
  uint8_t m[LANES];
  float sum[LANES], ev[LANES], eb[KEEP_D * LANES];
  const uint8_t f = p->flip;
  const float *tab = p->tab, yscale = p->yscale;
  const int32_t yz = p->yz;
  for (int64_t l = 0; l < nl; l++) m[l] = x[l * rs] ^ f;
  for (int64_t k = 1; k < d; k++) {
    const uint8_t *xk = x + k * ks;
    for (int64_t l = 0; l < nl; l++) {
      uint8_t u = xk[l * rs] ^ f;
      m[l] = u > m[l] ? u : m[l];
    }
  }
  for (int64_t l = 0; l < nl; l++) sum[l] = 0.0f;
  // short rows keep their looked-up entries for the output pass (one lookup per element, not two)
  const bool keep = d <= KEEP_D;
  for (int64_t k = 0; k < d; k++) {
    const uint8_t *xk = x + k * ks;
    float *e = keep ? eb + k * LANES : ev;
    for (int64_t l = 0; l < nl; l++) e[l] = tab[255 - m[l] + (xk[l * rs] ^ f)];
    for (int64_t l = 0; l < nl; l++) sum[l] += e[l];
  }
  for (int64_t k = 0; k < d; k++) {
    const uint8_t *xk = x + k * ks;
    uint8_t *yk = y + k * ks;
    const float *e = ev;
    if (keep)
      e = eb + k * LANES;
    else
      for (int64_t l = 0; l < nl; l++) ev[l] = tab[255 - m[l] + (xk[l * rs] ^ f)];
    if (p->fast_round) {
      for (int64_t l = 0; l < nl; l++) {
        float v = e[l] * yscale / sum[l];
        v = (v + 0x1.8p23f) - 0x1.8p23f;
        int32_t q = (int32_t)v + yz;
        yk[l * rs] = (uint8_t)(q > 255 ? 255 : q);
      }
    } else {
      for (int64_t l = 0; l < nl; l++) {
        int32_t q = (int32_t)nearbyintf(e[l] * yscale / sum[l]) + yz;
        yk[l * rs] = (uint8_t)(q > 255 ? 255 : q);
      }
    }
  }
}

void eo_q8_softmax_rows(const eo_q8_softmax_params *p, int64_t n, int64_t d, int64_t rs, int64_t ks, const uint8_t *x,
                        uint8_t *y) {
  if (d <= 0) return;
  for (int64_t r = 0; r < n; r += LANES) {
    int64_t nl = n - r < LANES ? n - r : LANES;
    if (rs == 1)  // interleaved rows: every lane loop is contiguous
      lanes(p, nl, d, 1, ks, x + r, y + r);
    else
      lanes(p, nl, d, rs, ks, x + r * rs, y + r * rs);
  }
}
