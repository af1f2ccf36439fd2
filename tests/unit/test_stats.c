/* Latency statistics (core/stats.h) against values worked out by hand from numpy.percentile's
 * linear definition, and the process figures of core/sysinfo.h against what the test itself does. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/stats.h"
#include "core/sysinfo.h"
#include "test.h"

static void test_percentiles(void) {
  /* 1..10 shuffled: h = 9p/100. p50: h = 4.5 -> 5.5; p90: h = 8.1 -> 9.1; p95: h = 8.55 -> 9.55;
   * p99: h = 8.91 -> 9.91. mean 5.5; sum of squares about the mean 82.5 -> stddev sqrt(82.5/9). */
  double x[10] = {7, 3, 10, 1, 5, 9, 2, 8, 6, 4};
  double copy[10];
  memcpy(copy, x, sizeof x);
  eo_latency_stats s;
  EO_CHECK(eo_latency_summarize(x, 10, &s) == EO_OK);
  EO_CHECK(memcmp(copy, x, sizeof x) == 0); /* input untouched */
  EO_CHECK(s.n == 10);
  EO_CHECK_NEAR(s.mean, 5.5, 1e-12);
  EO_CHECK_NEAR(s.stddev, sqrt(82.5 / 9), 1e-12);
  EO_CHECK_NEAR(s.min, 1, 0);
  EO_CHECK_NEAR(s.max, 10, 0);
  EO_CHECK_NEAR(s.p50, 5.5, 1e-12);
  EO_CHECK_NEAR(s.p90, 9.1, 1e-12);
  EO_CHECK_NEAR(s.p95, 9.55, 1e-12);
  EO_CHECK_NEAR(s.p99, 9.91, 1e-12);

  /* An odd count: the median is the middle sample; one outlier moves p99 but not p50. */
  double y[5] = {2.0, 100.0, 1.0, 3.0, 2.5};
  EO_CHECK(eo_latency_summarize(y, 5, &s) == EO_OK);
  EO_CHECK_NEAR(s.p50, 2.5, 0);
  EO_CHECK_NEAR(s.p99, 3.0 + 0.96 * 97.0, 1e-9); /* h = 3.96 */
  EO_CHECK_NEAR(s.mean, 108.5 / 5, 1e-12);

  /* One sample: every figure is that sample, stddev 0. */
  double one = 4.25;
  EO_CHECK(eo_latency_summarize(&one, 1, &s) == EO_OK);
  EO_CHECK(s.p50 == 4.25 && s.p99 == 4.25 && s.min == 4.25 && s.max == 4.25 && s.stddev == 0);

  /* The sorted-input helper at its ends. */
  double z[4] = {1, 2, 4, 8};
  EO_CHECK_NEAR(eo_percentile_sorted(z, 4, 0), 1, 0);
  EO_CHECK_NEAR(eo_percentile_sorted(z, 4, 100), 8, 0);
  EO_CHECK_NEAR(eo_percentile_sorted(z, 4, 50), 3, 1e-12); /* h = 1.5 */

  /* Bad input gives a status and a zeroed summary. */
  EO_CHECK(eo_latency_summarize(x, 0, &s) == EO_ERR_INVALID && s.n == 0);
  double bad[2] = {1.0, NAN};
  EO_CHECK(eo_latency_summarize(bad, 2, &s) == EO_ERR_INVALID);
  EO_CHECK(strstr(eo_last_error(), "sample 1") != NULL);
}

static atomic_int spin_stop;
static void *spinner(void *arg) {
  (void)arg;
  while (!atomic_load(&spin_stop)) {
  }
  return NULL;
}

/* A thread that spins counts as running; once joined, none is left besides the caller. */
static void test_running_threads(void) {
  int self = (int)getpid(); /* the main thread's id is the process id */
  EO_CHECK(eo_proc_running_threads(0, self) == 0);
  pthread_t t;
  EO_CHECK(pthread_create(&t, NULL, spinner, NULL) == 0);
  int seen = 0;
  for (int k = 0; k < 200 && !seen; k++) {  /* give it up to 2 s to be scheduled */
    seen = eo_proc_running_threads(0, self);
    if (!seen) nanosleep(&(struct timespec){0, 10000000}, NULL);
  }
  EO_CHECK_MSG(seen == 1, "running threads besides main: %d", seen);
  EO_CHECK(eo_proc_running_threads(0, 0) >= 1);
  atomic_store(&spin_stop, 1);
  pthread_join(t, NULL);
  EO_CHECK(eo_proc_running_threads(0, self) == 0);
  EO_CHECK(eo_proc_running_threads(0x7ffffff0, 0) == -1);
}

static void test_sysinfo(void) {
  uint64_t t0 = eo_clock_ns();
  nanosleep(&(struct timespec){0, 20000000}, NULL);
  uint64_t dt = eo_clock_ns() - t0;
  EO_CHECK_MSG(dt >= 20000000u && dt < 2000000000u, "slept 20 ms, clock says %llu ns", (unsigned long long)dt);

  /* Touching 64 MiB raises the peak by at least that much, and the peak never falls after free. */
  int64_t before = eo_proc_mem_bytes(0, EO_MEM_PEAK_RSS);
  EO_CHECK(before > 0);
  size_t n = (size_t)64 << 20;
  char *p = malloc(n);
  EO_CHECK(p != NULL);
  if (p) {
    memset(p, 1, n);
    int64_t rss = eo_proc_mem_bytes(0, EO_MEM_RSS);
    EO_CHECK_MSG(rss >= (int64_t)n, "RSS %lld after touching %zu bytes", (long long)rss, n);
    volatile char sink = p[n / 2];
    (void)sink;
    free(p);
  }
  int64_t after = eo_proc_mem_bytes(0, EO_MEM_PEAK_RSS);
  EO_CHECK_MSG(after - before >= (int64_t)n - (1 << 20), "peak %lld -> %lld", (long long)before, (long long)after);
  EO_CHECK(eo_proc_mem_bytes(0, EO_MEM_PEAK_RSS) >= after);
  /* Our own pid reads the same as "self"; a pid that cannot exist reads -1. */
  EO_CHECK(eo_proc_mem_bytes((int)getpid(), EO_MEM_PEAK_RSS) >= after);
  EO_CHECK(eo_proc_mem_bytes(0x7ffffff0, EO_MEM_PEAK_RSS) == -1);

  eo_host_info h;
  eo_host_info_get(&h);
  EO_CHECK(h.cores >= 1);
  EO_CHECK(h.cpu_model[0] != 0);
  EO_CHECK(h.load_avg[0] >= 0);
  EO_CHECK(strncmp(h.kernel, "Linux", 5) == 0);

  // The parallel check: its value depends on the host (1 for independent cores, up to the thread
  // count when they share one); here only its contract and a plausible range.
  EO_CHECK(eo_host_parallel_slowdown(1) == 1.0);
  EO_CHECK(eo_host_parallel_slowdown(0) == -1.0 && eo_host_parallel_slowdown(65) == -1.0);
  double sd = eo_host_parallel_slowdown(2);
  EO_CHECK_MSG(sd > 0.5 && sd < 20, "2-thread slowdown %.2f", sd);
}

int main(void) {
  test_percentiles();
  test_sysinfo();
  test_running_threads();
  return eo_test_finish();
}
