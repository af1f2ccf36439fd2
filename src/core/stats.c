#include "core/stats.h"

#include <math.h>
#include <string.h>

#include "core/core.h"

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double eo_percentile_sorted(const double *x, int n, double p) {
  if (n == 1 || p <= 0) return x[0];
  if (p >= 100) return x[n - 1];
  double h = (double)(n - 1) * p / 100.0;
  int lo = (int)floor(h);
  if (lo >= n - 1) return x[n - 1];
  return x[lo] + (h - (double)lo) * (x[lo + 1] - x[lo]);
}

eo_status eo_latency_summarize(const double *x, int n, eo_latency_stats *out) {
  memset(out, 0, sizeof *out);
  if (n < 1) return eo_error(EO_ERR_INVALID, "latency summary of %d samples, expected at least 1", n);
  for (int i = 0; i < n; i++)
    if (!isfinite(x[i])) return eo_error(EO_ERR_INVALID, "latency sample %d is not a finite number", i);
  double *s = eo_malloc((size_t)n * sizeof *s);
  if (!s) return eo_error(EO_ERR_NOMEM, "out of memory sorting %d latency samples", n);
  memcpy(s, x, (size_t)n * sizeof *s);
  qsort(s, (size_t)n, sizeof *s, cmp_double);
  double sum = 0;
  for (int i = 0; i < n; i++) sum += s[i];
  double mean = sum / n, ss = 0;
  for (int i = 0; i < n; i++) ss += (s[i] - mean) * (s[i] - mean);
  *out = (eo_latency_stats){
      .n = n,
      .mean = mean,
      .stddev = n > 1 ? sqrt(ss / (n - 1)) : 0,
      .min = s[0],
      .max = s[n - 1],
      .p50 = eo_percentile_sorted(s, n, 50),
      .p90 = eo_percentile_sorted(s, n, 90),
      .p95 = eo_percentile_sorted(s, n, 95),
      .p99 = eo_percentile_sorted(s, n, 99),
  };
  free(s);
  return EO_OK;
}
