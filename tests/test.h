/* Minimal test harness: EO_CHECK records a failure and continues; a test's main returns
 * eo_test_finish(), which prints "N passed, N failed" for the file and exits non-zero on failure. */
#ifndef EO_TEST_H
#define EO_TEST_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int eo_test_pass_, eo_test_fail_;

/* Generated test data: xorshift64 uniform in [0, 1) and a Box-Muller normal, from a state the test
 * owns (its seed fixes the data). */
static inline double eo_test_urand(uint64_t *s) {
  *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
  return (double)(*s >> 11) / 9007199254740992.0;
}
static inline double eo_test_gauss(uint64_t *s) {
  return sqrt(-2 * log(eo_test_urand(s) + 1e-12)) * cos(6.283185307179586 * eo_test_urand(s));
}

#define EO_CHECK(cond)                                                              \
  do {                                                                              \
    if (cond) {                                                                     \
      eo_test_pass_++;                                                              \
    } else {                                                                        \
      eo_test_fail_++;                                                              \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);      \
    }                                                                               \
  } while (0)

#define EO_CHECK_MSG(cond, ...)                                                     \
  do {                                                                              \
    if (cond) {                                                                     \
      eo_test_pass_++;                                                              \
    } else {                                                                        \
      eo_test_fail_++;                                                              \
      fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);      \
      fprintf(stderr, __VA_ARGS__);                                                 \
      fputc('\n', stderr);                                                          \
    }                                                                               \
  } while (0)

#define EO_CHECK_NEAR(a, b, tol) \
  EO_CHECK_MSG(fabs((double)(a) - (double)(b)) <= (tol), "%.9g vs %.9g (tol %.3g)", (double)(a), (double)(b), (double)(tol))

static inline int eo_test_finish(void) {
  printf("%d passed, %d failed\n", eo_test_pass_, eo_test_fail_);
  return eo_test_fail_ ? 1 : 0;
}

#endif
