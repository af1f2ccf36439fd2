/* Per-channel int8 weight scales (wclip.h). */
#include "quant/wclip.h"

#include <math.h>

double eo_weight_error(const float *w, int64_t n, float s) {
  double e = 0;
  for (int64_t i = 0; i < n; i++) {
    float v = nearbyintf(w[i] / s);
    v = v < -127 ? -127 : v > 127 ? 127 : v;
    double d = (double)w[i] - (double)(v * s);
    e += d * d;
  }
  return e;
}

float eo_weight_scale(const float *w, int64_t n, int method) {
  float m = 0;
  for (int64_t i = 0; i < n; i++) m = fmaxf(m, fabsf(w[i]));
  if (!(m > 0)) return 1.f;
  float best_s = m / 127.f;
  if (method != EO_WCLIP_MSE) return best_s;
  double best = eo_weight_error(w, n, best_s);
  for (int k = 1; k <= 50; k++) {
    float r = (float)(100 - k) / 100.f, s = (m * r) / 127.f;
    if (!(s > 0)) break;  // a denormal maximum: no finer step to gain
    double e = eo_weight_error(w, n, s);
    if (e < best) best = e, best_s = s;
  }
  return best_s;
}
