/* Streaming calibration observers (see observer.h). */
#include <math.h>
#include <string.h>

#include "quant/observer.h"

#define HALF (EO_OBS_BINS / 2)
#define EO_KL_MAX_CLIPPED 0.01 /* entropy: a threshold may clip at most 1% of the nonzero values */

struct eo_observer {
  eo_calib_method method;
  double percentile;
  int64_t count, zeros;
  float min, max;
  double range;              /* R: the histogram covers [-R, R] */
  double hist[EO_OBS_BINS];  /* counts (double: rebinning keeps fractions exact enough) */
};

eo_status eo_observer_create(eo_calib_method method, double percentile, eo_observer **out) {
  *out = NULL;
  if (method < EO_CALIB_MINMAX || method > EO_CALIB_MSE)
    return eo_error(EO_ERR_INVALID, "unknown calibration method %d", (int)method);
  if (method == EO_CALIB_PERCENTILE && !(percentile > 50.0 && percentile <= 100.0))
    return eo_error(EO_ERR_INVALID, "percentile must be in (50, 100], got %g", percentile);
  eo_observer *o = eo_calloc(1, sizeof *o);
  if (!o) return eo_error(EO_ERR_NOMEM, "out of memory (observer)");
  o->method = method;
  o->percentile = percentile;
  *out = o;
  return EO_OK;
}

void eo_observer_free(eo_observer *o) { free(o); }

static int bin_of(double x, double r) {
  int b = (int)floor((x + r) / (2.0 * r) * EO_OBS_BINS);
  return b < 0 ? 0 : b >= EO_OBS_BINS ? EO_OBS_BINS - 1 : b;
}

/* Widens the histogram to [-r, r]: each old bin's count moves to the new bin holding its center. */
static void regrow(eo_observer *o, double r) {
  if (o->range > 0) {
    double old[EO_OBS_BINS];
    memcpy(old, o->hist, sizeof old);
    memset(o->hist, 0, sizeof o->hist);
    double w = 2.0 * o->range / EO_OBS_BINS;
    for (int i = 0; i < EO_OBS_BINS; i++)
      if (old[i] != 0) o->hist[bin_of(-o->range + (i + 0.5) * w, r)] += old[i];
  }
  o->range = r;
}

eo_status eo_observer_add(eo_observer *o, const float *x, int64_t n) {
  if (n <= 0) return EO_OK;
  float mn = x[0], mx = x[0];
  for (int64_t i = 0; i < n; i++) {
    if (!isfinite(x[i])) return eo_error(EO_ERR_INVALID, "value %lld is %s", (long long)i, isnan(x[i]) ? "NaN" : "Inf");
    mn = x[i] < mn ? x[i] : mn;
    mx = x[i] > mx ? x[i] : mx;
  }
  if (o->count == 0) o->min = mn, o->max = mx;
  o->min = mn < o->min ? mn : o->min;
  o->max = mx > o->max ? mx : o->max;
  o->count += n;
  if (o->method == EO_CALIB_MINMAX) return EO_OK;
  double a = fmax(fabs((double)mn), fabs((double)mx));
  if (a > o->range) regrow(o, a);
  if (o->range == 0) {  // all zeros so far: they sit in the middle bin whatever R becomes
    o->hist[HALF] += (double)n;
    o->zeros += n;
    return EO_OK;
  }
  for (int64_t i = 0; i < n; i++) {
    o->hist[bin_of(x[i], o->range)] += 1.0;
    o->zeros += x[i] == 0;
  }
  return EO_OK;
}

/* First index whose cumulative fraction reaches q (numpy searchsorted, side left). */
static int search_cdf(const double *h, int n, double total, double q) {
  double c = 0;
  for (int i = 0; i < n; i++) {
    c += h[i];
    if (c / total >= q) return i;
  }
  return n - 1;
}

/* Replaces zeros by eps, taking the mass from the nonzero entries (MXNet's _smooth_distribution),
 * so KL stays finite where the candidate is empty. Returns false when d is all zeros. */
static bool smooth(double *d, int n) {
  const double eps = 1e-4;
  int nz = 0;
  for (int k = 0; k < n; k++) nz += d[k] != 0;
  if (nz == 0) return false;
  double eps1 = eps * (double)(n - nz) / nz;
  for (int k = 0; k < n; k++) d[k] = d[k] == 0 ? eps : d[k] - eps1;
  return true;
}

/* TensorRT's threshold search (Migacz, "8-bit inference with TensorRT", 2017): for each candidate
 * i >= 128 bins, P = the first i bins with the outliers added to the last one, Q = the first i bins
 * (without outliers) merged into 128 levels and spread back over P's nonzero bins; the i with the
 * smallest KL(P || Q) wins. */
static double kl_threshold(const double *ah, double w) {
  const int nb = HALF, nq = 128;
  double best = INFINITY;
  int best_i = nb;
  double p[HALF], q[HALF];
  double tail = 0;  // sum(ah[i:]) for the current i
  for (int k = nq; k < nb; k++) tail += ah[k];
  double total = 0;
  for (int k = 0; k < nb; k++) total += ah[k];
  for (int i = nq; i <= nb; i++) {
    memcpy(p, ah, (size_t)i * sizeof *p);
    p[i - 1] += tail;
    double clipped = tail;
    if (i < nb) tail -= ah[i];
    // On a sparse histogram (few samples, all far from 0) the bins below the data are empty and
    // KL can prefer a threshold that clips almost everything: such candidates are not considered.
    if (clipped > EO_KL_MAX_CLIPPED * total) continue;
    int merged = i / nq;
    for (int j = 0; j < nq; j++) {
      int s = j * merged, e = j == nq - 1 ? i : s + merged;
      double sum = 0;
      int nz = 0;
      for (int k = s; k < e; k++) {
        sum += ah[k];
        nz += p[k] != 0;
      }
      for (int k = s; k < e; k++) q[k] = p[k] != 0 && nz ? sum / nz : 0;
    }
    if (!smooth(p, i) || !smooth(q, i)) continue;
    double sp = 0, sq = 0;
    for (int k = 0; k < i; k++) sp += p[k], sq += q[k];
    double kl = 0;
    for (int k = 0; k < i; k++)
      if (p[k] > 0 && q[k] > 0) kl += p[k] / sp * log((p[k] / sp) / (q[k] / sq));
    if (kl < best) best = kl, best_i = i;
  }
  return ((double)best_i) * w;  // upper edge of the last kept bin
}

/* ---- mse: the range whose quantization grid gives the smallest expected squared error ----
 * The grid is the one the tensor gets (quantize.c's qparams): uint8 asymmetric s = (hi - lo) / 255,
 * zero point round(-lo / s), so the points are s * k for k in [-zp, 255 - zp] (0 is on the grid);
 * int8 symmetric s = T / 127, k in [-128, 127]. Values are spread uniformly inside each histogram
 * bin (clamped to [min, max]); exact zeros cost nothing. The error of a bin is the integral of the
 * squared distance to the nearest grid point, or to the grid's end beyond it (clipping). */

/* G(x) = integral over [0, x] of d(t)^2, d = distance to the nearest multiple of s (odd in x). */
static double grid_g(double x, double s) {
  double ax = fabs(x), m = floor(ax / s), r = ax - m * s, h = s / 2;
  double f = r <= h ? r * r * r / 3 : s * s * s / 24 + (h * h * h - (s - r) * (s - r) * (s - r)) / 3;
  double g = m * s * s * s / 12 + f;
  return x < 0 ? -g : g;
}

typedef struct {
  int n;
  const double *a, *b, *cnt;  /* nonzero bins: [a, b) holding cnt values (a == b: a point) */
} mse_bins;

/* Squared error summed over the values for the grid s * k, k in [kmin, kmax]. */
static double grid_error(const mse_bins *bs, double s, double kmin, double kmax) {
  double L = kmin * s, H = kmax * s, e = 0;
  for (int i = 0; i < bs->n; i++) {
    double a = bs->a[i], b = bs->b[i], part = 0;
    if (b <= a) {  // a point mass
      double d = a > H ? a - H : a < L ? L - a : fabs(a - s * nearbyint(a / s));
      e += bs->cnt[i] * d * d;
      continue;
    }
    double ia = fmax(a, L), ib = fmin(b, H);
    if (ib > ia) part += grid_g(ib, s) - grid_g(ia, s);
    if (b > H) {
      double c = fmax(a, H) - H, d = b - H;
      part += (d * d * d - c * c * c) / 3;
    }
    if (a < L) {
      double c = L - fmin(b, L), d = L - a;
      part += (d * d * d - c * c * c) / 3;
    }
    e += bs->cnt[i] / (b - a) * part;
  }
  return e;
}

static double range_error(const mse_bins *bs, bool symmetric, double lo, double hi) {
  if (symmetric) {
    double t = fmax(-lo, hi);
    return t > 0 ? grid_error(bs, t / 127.0, -128, 127) : INFINITY;
  }
  if (!(hi > lo)) return INFINITY;
  double s = (hi - lo) / 255.0, z = nearbyint(-lo / s);
  z = z < 0 ? 0 : z > 255 ? 255 : z;
  return grid_error(bs, s, -z, 255 - z);
}

/* One end of the range (hi when which = 1, else lo; symmetric: T = hi = -lo) chosen among
 * end * j / 64, j = 0..64, then refined in 1/16 steps of that around the best; returns the error. */
static double mse_search(const mse_bins *bs, bool symmetric, double end, int which, double *lo, double *hi) {
  const int nc = 64, nf = 16;
  double best = INFINITY, best_v = end;
  for (int j = 0; j <= nc * nf; j += nf) {
    double v = end * j / (nc * nf);
    double e = symmetric ? range_error(bs, true, -v, v) : which ? range_error(bs, false, *lo, v) : range_error(bs, false, v, *hi);
    if (e < best) best = e, best_v = v;
  }
  int jb = (int)nearbyint(best_v / end * nc * nf);
  for (int j = jb - nf + 1; j < jb + nf; j++) {
    if (j < 0 || j > nc * nf || j == jb) continue;
    double v = end * j / (nc * nf);
    double e = symmetric ? range_error(bs, true, -v, v) : which ? range_error(bs, false, *lo, v) : range_error(bs, false, v, *hi);
    if (e < best) best = e, best_v = v;
  }
  if (symmetric) *lo = -best_v, *hi = best_v;
  else if (which) *hi = best_v;
  else *lo = best_v;
  return best;
}

static eo_status mse_range(const eo_observer *o, bool symmetric, double *lo, double *hi) {
  // the full 4096 bins: merging them (uniform density over wider bins) overstates the rounding
  // error of the many small values of a ReLU output and pulls its range in (measured: 6.5 vs 6.9)
  double r = o->range, w = 2.0 * r / EO_OBS_BINS;
  double *a = eo_malloc(3 * EO_OBS_BINS * sizeof(double));
  if (!a) return eo_error(EO_ERR_NOMEM, "out of memory (mse observer)");
  double *b = a + EO_OBS_BINS, *cnt = b + EO_OBS_BINS;
  int n = 0;
  for (int i = 0; i < EO_OBS_BINS; i++) {
    double c = o->hist[i] - (i == HALF ? (double)o->zeros : 0);  // exact zeros: on every grid
    if (c <= 0) continue;
    a[n] = fmax(-r + i * w, o->min), b[n] = fmin(-r + (i + 1) * w, o->max);
    if (b[n] < a[n]) b[n] = a[n];
    cnt[n++] = c;
  }
  mse_bins bs = {n, a, b, cnt};
  double l = fmin(0.0, o->min), h = fmax(0.0, o->max);
  if (n > 0) {
    if (symmetric) {
      mse_search(&bs, true, fmax(-l, h), 1, &l, &h);
    } else {  // coordinate descent: the upper end, then the lower, until neither moves
      double l0 = l, h0 = h;
      for (int round = 0; round < 4; round++) {
        double pl = l, ph = h;
        if (h0 > 0) mse_search(&bs, false, h0, 1, &l, &h);
        if (l0 < 0) mse_search(&bs, false, l0, 0, &l, &h);
        if (pl == l && ph == h) break;
      }
    }
  }
  free(a);
  *lo = l, *hi = h;
  return EO_OK;
}

eo_status eo_observer_range(const eo_observer *o, bool symmetric, float *lo, float *hi) {
  if (o->count == 0) return eo_error(EO_ERR_INVALID, "the observer saw no values");
  double l = o->min, h = o->max;
  if (o->method != EO_CALIB_MINMAX && o->range > 0) {
    double r = o->range, w = 2.0 * r / EO_OBS_BINS, total = (double)o->count;
    double ah[HALF];  // |x| histogram: bin j covers [j*w, (j+1)*w)
    for (int j = 0; j < HALF; j++) ah[j] = o->hist[HALF + j] + o->hist[HALF - 1 - j];
    if (o->method == EO_CALIB_PERCENTILE) {
      double q = o->percentile / 100.0;
      if (symmetric) {
        double t = search_cdf(ah, HALF, total, q) * w;
        l = -t, h = t;
      } else {
        double cut = (1.0 - q) / 2.0;
        l = -r + search_cdf(o->hist, EO_OBS_BINS, total, cut) * w;
        h = -r + search_cdf(o->hist, EO_OBS_BINS, total, 1.0 - cut) * w;
      }
    } else if (o->method == EO_CALIB_ENTROPY) {
      // exact zeros (a ReLU's) are represented exactly whatever the threshold; left in, their spike
      // in bin 0 makes KL favour the thresholds where no bins merge (i < 256: a tiny range)
      ah[0] -= (double)o->zeros;
      double t = kl_threshold(ah, w);
      l = -t, h = t;
    } else {
      eo_status st = mse_range(o, symmetric, &l, &h);
      if (st) return st;
    }
    // never wider than what was seen
    l = l < o->min ? o->min : l;
    h = h > o->max ? o->max : h;
  }
  if (symmetric) {
    double a = fmax(fabs(l), fabs(h));
    l = -a, h = a;
  }
  *lo = (float)l;
  *hi = (float)h;
  return EO_OK;
}
