/* Summary statistics of latency samples, as benchmarks report them (the YOLOv8 guide's speed
 * benchmark, MLPerf's percentiles).
 *
 *   double ms[100];  ... one sample per iteration ...
 *   eo_latency_stats st;
 *   if (eo_latency_summarize(ms, 100, &st) == EO_OK) printf("p50 %.3f p99 %.3f\n", st.p50, st.p99);
 *
 * Percentiles interpolate linearly between the two nearest order statistics, the definition of
 * numpy.percentile's default ("linear"): for sorted x[0..n), p in [0, 100], h = (n - 1) p / 100 and
 * P = x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h]). So p0 is the minimum, p100 the
 * maximum and p50 the usual median.
 */
#ifndef EO_CORE_STATS_H
#define EO_CORE_STATS_H

#include "edgeopt/edgeopt.h"

typedef struct eo_latency_stats {
  int n;
  double mean, stddev;            /* stddev: sample standard deviation (n - 1); 0 when n == 1 */
  double min, max;
  double p50, p90, p95, p99;
} eo_latency_stats;

/* Percentile p (0..100) of x[0..n), which must be sorted ascending and n >= 1. */
double eo_percentile_sorted(const double *x, int n, double p);

/* Summarizes x[0..n) (any order; x is not modified). EO_ERR_INVALID when n < 1 or a sample is
 * NaN or infinite; EO_ERR_NOMEM if the sorted copy cannot be allocated. *out is zeroed on failure. */
eo_status eo_latency_summarize(const double *x, int n, eo_latency_stats *out);

#endif
