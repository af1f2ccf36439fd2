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

static double mse_threshold(const double *ah, double w) {
  double best = INFINITY, best_t = HALF * w;
  for (int k = 16; k <= HALF; k += 4) {
    double t = k * w, step = t / 127.0, err = 0;
    for (int i = 0; i < HALF; i++) {
      if (ah[i] == 0) continue;
      double c = (i + 0.5) * w;
      err += ah[i] * (c > t ? (c - t) * (c - t) : step * step / 12.0);
    }
    if (err < best) best = err, best_t = t;
  }
  return best_t;
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
      double t = mse_threshold(ah, w);
      l = -t, h = t;
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
