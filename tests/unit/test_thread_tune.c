/* The session's thread tuner: its rule and re-check schedules (runtime/tune.h) driven with made-up
 * times, and whole sessions at 2 threads whose every run (initial tuning, probes that flip steps or
 * whole runs, switches) gives exactly the 1-thread output, on the example detector in FP32 and INT8. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edgeopt/model.h"
#include "edgeopt/quant.h"
#include "edgeopt/runtime.h"
#include "runtime/tune.h"
#include "test.h"

static void test_rule(void) {
  EO_CHECK(eo_tune_pool_wins(89, 100));
  EO_CHECK(!eo_tune_pool_wins(90, 100));  // exactly 10% faster is not enough
  EO_CHECK(!eo_tune_pool_wins(100, 100));
  EO_CHECK(!eo_tune_pool_wins(0, 0));
  EO_CHECK(!eo_tune_pool_wins(120, 100));
  EO_CHECK(eo_tune_pool_wins(25000, 49000));
  // a step of EO_TUNE_LARGE_NS or more alone: a tie, or the pool up to 5% slower, keeps it there
  EO_CHECK(!eo_tune_pool_wins(45000, 49999));
  EO_CHECK(eo_tune_pool_wins(50000, 50000) && eo_tune_pool_wins(52500, 50000));
  EO_CHECK(!eo_tune_pool_wins(52501, 50000));
  EO_CHECK(eo_tune_pool_wins(4790000, 4930000));  // resnet18 INT8, a noisy initial tuning
  EO_CHECK(!eo_tune_pool_wins(6000000, 5000000));
  // the whole-run check: every step alone must be more than 5% faster than the tuned steps
  EO_CHECK(eo_tune_alone_wins_whole(1000, 949) && !eo_tune_alone_wins_whole(1000, 950));
  EO_CHECK(!eo_tune_alone_wins_whole(1000, 1000) && !eo_tune_alone_wins_whole(1000, 1200));
  EO_CHECK(eo_tune_clear(100, 151) && eo_tune_clear(151, 100) && eo_tune_clear(0, 1));
  EO_CHECK(!eo_tune_clear(100, 150) && !eo_tune_clear(150, 100) && !eo_tune_clear(0, 0));
}

static void test_schedule(void) {
  eo_tune_step t;
  // first probes: 0, 2, ..., 14, then again 0 for step 8; 48 runs later for a clear choice
  for (int k = 0; k < 20; k++) {
    eo_tune_step_init(&t, k, 100, 120);
    EO_CHECK_MSG(t.next == (uint64_t)(2 * k % 16) && t.interval == 16 && t.streak == 0, "step %d: next %llu", k,
                 (unsigned long long)t.next);
    eo_tune_step_init(&t, k, 100, 151);
    EO_CHECK_MSG(t.next == (uint64_t)(2 * k % 16 + 48) && t.interval == 64, "step %d: next %llu", k,
                 (unsigned long long)t.next);
  }
  // a step on the pool that keeps winning: intervals 32, 64, ... up to the longest, never a switch
  eo_tune_step_init(&t, 3, 80, 100);  // next 6
  uint64_t next = 6;
  uint32_t want = 16;
  for (int p = 0; p < 12; p++) {
    EO_CHECK(!eo_tune_probe(&t, true, 80, 100));
    want = want < EO_TUNE_MAX_INTERVAL ? 2 * want : EO_TUNE_MAX_INTERVAL;
    next += want;
    EO_CHECK_MSG(t.interval == want && t.next == next && t.streak == 0, "probe %d: interval %u next %llu", p,
                 t.interval, (unsigned long long)t.next);
  }
  EO_CHECK(t.interval == EO_TUNE_MAX_INTERVAL);
  // one probe against it (a noisy sample) does not switch but looks again soon; a probe for it
  // in between resets the count
  EO_CHECK(!eo_tune_probe(&t, true, 300, 100));
  EO_CHECK(t.streak == 1 && t.interval == 16 && t.next == next + 16);
  EO_CHECK(!eo_tune_probe(&t, true, 80, 100));
  EO_CHECK(t.streak == 0 && t.interval == 32 && t.next == next + 48);
  // two in a row switch
  EO_CHECK(!eo_tune_probe(&t, true, 100, 100));  // a tie counts against the pool
  EO_CHECK(eo_tune_probe(&t, true, 95, 100));
  EO_CHECK(t.streak == 0 && t.interval == 16 && t.next == next + 48 + 16 + 16);
  // now alone: the pool must win by more than 10% twice to come back
  EO_CHECK(!eo_tune_probe(&t, false, 100, 91));
  EO_CHECK(t.streak == 0 && t.interval == 32);
  EO_CHECK(!eo_tune_probe(&t, false, 100, 80));
  EO_CHECK(eo_tune_probe(&t, false, 100, 80));
  EO_CHECK(t.streak == 0 && t.interval == 16);
  // a clear confirmation (the other way over 1.5x as slow) backs off 4x
  uint64_t n0 = t.next;
  EO_CHECK(!eo_tune_probe(&t, true, 100, 151));
  EO_CHECK(t.interval == 64 && t.next == n0 + 64);
  EO_CHECK(!eo_tune_probe(&t, true, 100, 150));
  EO_CHECK(t.interval == 128 && t.next == n0 + 192);
  for (int p = 0; p < 4; p++) EO_CHECK(!eo_tune_probe(&t, true, 100, 1000));
  EO_CHECK(t.interval == EO_TUNE_MAX_INTERVAL);
}

/* The whole-run check: probed at once unless the workers won clearly; then after the longest
 * interval, backing off no further. */
static void test_whole_init(void) {
  eo_tune_step t;
  eo_tune_whole_init(&t, 900, 1000);  // workers ahead, not clearly
  EO_CHECK(t.next == 0 && t.interval == EO_TUNE_MIN_INTERVAL && t.streak == 0);
  eo_tune_whole_init(&t, 1000, 900);  // alone ahead
  EO_CHECK(t.next == 0 && t.interval == EO_TUNE_MIN_INTERVAL);
  eo_tune_whole_init(&t, 1000, 2000);  // alone clearly behind, as a large model at 2 threads
  EO_CHECK(t.next == EO_TUNE_MAX_INTERVAL && t.interval == EO_TUNE_MAX_INTERVAL);
  eo_tune_whole_init(&t, 2000, 1000);  // alone clearly ahead: checked at once
  EO_CHECK(t.next == 0 && t.interval == EO_TUNE_MIN_INTERVAL);
  EO_CHECK(!eo_tune_probe(&t, false, 1000, 2000) && t.interval == 4 * EO_TUNE_MIN_INTERVAL);
  eo_tune_whole_init(&t, 1000, 2000);
  EO_CHECK(!eo_tune_probe(&t, true, 1000, 2000) && t.interval == EO_TUNE_MAX_INTERVAL &&
           t.next == 2 * EO_TUNE_MAX_INTERVAL);
  // a tie keeps the tuned steps (backing off as a confirmation does)
  uint64_t n0 = t.next;
  EO_CHECK(!eo_tune_whole_probe(&t, true, 1000, 1000) && t.streak == 0 && t.next == n0 + EO_TUNE_MAX_INTERVAL);
  // leaving them takes two probes in a row where alone is more than 5% faster, coming back one
  n0 = t.next;
  EO_CHECK(!eo_tune_whole_probe(&t, true, 1000, 940) && t.streak == 1 && t.next == n0 + EO_TUNE_MIN_INTERVAL);
  EO_CHECK(eo_tune_whole_probe(&t, true, 1000, 940) && t.streak == 0);
  n0 = t.next;
  EO_CHECK(!eo_tune_whole_probe(&t, false, 940, 1000) && t.streak == 0);  // alone, still more than 5% faster
  EO_CHECK(t.interval == 2 * EO_TUNE_MIN_INTERVAL);
  EO_CHECK(eo_tune_whole_probe(&t, false, 950, 1000) && t.streak == 0 && t.interval == EO_TUNE_MIN_INTERVAL);
  EO_CHECK(t.next == n0 + 2 * EO_TUNE_MIN_INTERVAL + EO_TUNE_MIN_INTERVAL);
}

/* Walks a made-up step through the schedule as session.c does (a probe: the current way in run
 * `next`, the other way in `next + 1`, the current way again in `next + 2`). The step takes 100 us
 * alone and 80 on the pool; a burst makes the pool take 140 in runs [b0, b1) (no choice is clear, so
 * intervals double). Returns the last run in which it switched (0: none). */
static uint64_t walk(eo_tune_step *t, bool *on_pool, uint64_t from, uint64_t to, uint64_t b0, uint64_t b1) {
  uint64_t last = 0;
  for (uint64_t r = from; r < to; r++) {
    uint64_t pool = r >= b0 && r < b1 ? 140 : 80, alone = 100, cur = *on_pool ? pool : alone;
    if (r == t->next) t->cur_ns = cur;
    if (r == t->next + 1) t->other_ns = *on_pool ? alone : pool;
    if (r == t->next + 2) {
      if (cur < t->cur_ns) t->cur_ns = cur;
      if (eo_tune_probe(t, *on_pool, t->cur_ns, t->other_ns)) {
        *on_pool = !*on_pool;
        last = r;
      }
    }
  }
  return last;
}

static void test_walk(void) {
  eo_tune_step t;
  eo_tune_step_init(&t, 1, 80, 100);  // probes in runs 2-4, 18-20, ...
  bool on_pool = false;      // started the wrong way: on the pool by the end of its second probe
  EO_CHECK(walk(&t, &on_pool, 0, 40, 0, 0) == 20 && on_pool);
  EO_CHECK(t.next == 66 && t.interval == 32);
  // a burst over one sample of the current way: the other sample outvotes it
  EO_CHECK(walk(&t, &on_pool, 40, 69, 66, 67) == 0 && on_pool && t.streak == 0 && t.interval == 64);
  // over a whole probe: one vote against, no switch, looked at again 16 runs later
  uint64_t at = t.next;
  EO_CHECK(walk(&t, &on_pool, 69, at + 3, at, at + 3) == 0 && on_pool && t.streak == 1 && t.next == at + 16);
  EO_CHECK(walk(&t, &on_pool, at + 3, 2000, 0, 0) == 0 && on_pool && t.streak == 0);
  // a burst of 200 runs from the next probe: off the pool after two probes (16 runs apart), and back
  // on it two probes after the burst ends (the interval doubled meanwhile: 32, 64, 128)
  at = t.next;
  uint64_t off = walk(&t, &on_pool, 2000, at + 100, at, at + 200);
  EO_CHECK_MSG(off == at + 18 && !on_pool, "left the pool in run %llu (burst from %llu)", (unsigned long long)off,
               (unsigned long long)at);
  uint64_t back = walk(&t, &on_pool, at + 100, at + 600, at, at + 200);
  EO_CHECK_MSG(on_pool && back == at + 274, "back on the pool in run %llu (burst %llu..%llu)", (unsigned long long)back,
               (unsigned long long)at, (unsigned long long)(at + 200));
}

/* Output 0 of `runs` runs on one input; at 2 threads every run must equal `expect`. Returns the
 * first run's output (malloc'd). */
static float *run_model(const char *path, int threads, int runs, const float *expect, int64_t *n) {
  eo_model *m = NULL;
  eo_session *s = NULL;
  eo_session_options o = {.threads = threads};
  float *out = NULL, *x = NULL;
  if (eo_model_load(path, NULL, &m) || eo_session_create(m, &o, &s)) {
    EO_CHECK_MSG(false, "%s: %s", path, eo_last_error());
    goto done;
  }
  const eo_value_desc *in = eo_model_input(m, 0);
  int64_t dims[EO_MAX_RANK], nin = 1;
  for (int d = 0; d < in->rank; d++) nin *= dims[d] = in->dims[d] > 0 ? in->dims[d] : 1;
  x = malloc((size_t)nin * sizeof *x);
  srand(7);
  for (int64_t i = 0; i < nin; i++) x[i] = (float)rand() / (float)RAND_MAX;  // image-like 0..1
  eo_input_shape shape = {in->name, in->rank, dims, 0, NULL};
  if (eo_session_prepare(s, 1, &shape) || eo_session_set_input(s, in->name, EO_FLOAT, in->rank, dims, x)) {
    EO_CHECK_MSG(false, "%s: %s", path, eo_last_error());
    goto done;
  }
  int differ = 0;
  for (int r = 0; r < runs; r++) {
    eo_tensor_view v;
    if (eo_session_run(s) || eo_session_output(s, 0, &v)) {
      EO_CHECK_MSG(false, "%s run %d: %s", path, r, eo_last_error());
      break;
    }
    if (!out) {
      *n = (int64_t)(v.nbytes / sizeof(float));
      out = malloc(v.nbytes);
      memcpy(out, v.data, v.nbytes);
    }
    if (expect && memcmp(expect, v.data, v.nbytes) != 0 && differ++ == 0)
      fprintf(stderr, "%s: run %d at %d threads differs from 1 thread\n", path, r, threads);
  }
  if (expect) EO_CHECK_MSG(differ == 0, "%s: %d of %d runs at %d threads differ from 1 thread", path, differ, runs, threads);
done:
  eo_session_free(s);
  eo_model_free(m);
  free(x);
  return out;
}

static void check_threads(const char *path) {
  int64_t n1 = 0, n2 = 0;
  float *ref = run_model(path, 1, 1, NULL, &n1);
  // 9 tuning runs, then 66: every step's first probe (which flips it for one run) ends by the 65th
  float *f2 = ref ? run_model(path, 2, 9 + 66, ref, &n2) : NULL;
  EO_CHECK_MSG(ref && f2 && n1 == n2 && n1 > 0, "%s: outputs missing", path);
  free(ref);
  free(f2);
}

int main(void) {
  unsetenv("EO_THREAD_TUNING");  // the sessions below must tune and probe
  test_rule();
  test_schedule();
  test_walk();
  test_whole_init();
  check_threads("examples/detector.onnx");
  char q[] = "/tmp/eo_tune_int8_XXXXXX";
  int fd = mkstemp(q);
  if (fd >= 0) close(fd);
  eo_quant_options o;
  eo_quant_options_init(&o);
  o.mode = EO_QUANT_INT8;
  o.calib_path = "examples/data/detect/data.yaml";
  o.calib_limit = 2;  // the values do not matter here, only that the int8 kernels run
  if (fd < 0 || eo_quantize("examples/detector.onnx", q, &o, NULL)) {
    EO_CHECK_MSG(false, "quantizing the example detector: %s", fd < 0 ? "mkstemp failed" : eo_last_error());
  } else {
    check_threads(q);
  }
  unlink(q);
  return eo_test_finish();
}
