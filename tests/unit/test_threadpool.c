/* The thread pool (core/threads.c): every task of every job runs exactly once, on a worker index in
 * range, for job sizes around the share boundaries (fewer tasks than workers, one, zero), back to
 * back, after the workers have gone to sleep (and been woken ahead of the job), and when one worker
 * is held up so the others must take its share. Per-worker buffers: distinct, writable in full by
 * their worker, kept when a smaller reserve follows, the fallback past their size, with one worker
 * or a NULL pool. */
#define _POSIX_C_SOURCE 200809L  // nanosleep
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/threads.h"
#include "test.h"

#define MAX_TASKS 1200

typedef struct job {
  atomic_int runs[MAX_TASKS];
  atomic_int bad_worker;
  int workers;
  int slow_worker; /* this worker sleeps on each of its tasks (-1: none) */
} job;

static void task(void *ctx, size_t index, int worker) {
  job *J = ctx;
  if (worker < 0 || worker >= J->workers) atomic_fetch_add(&J->bad_worker, 1);
  if (worker == J->slow_worker) nanosleep(&(struct timespec){0, 200000}, NULL);
  atomic_fetch_add(&J->runs[index], 1);
}

static bool run_once(eo_threadpool *tp, job *J, size_t n) {
  for (size_t i = 0; i < MAX_TASKS; i++) atomic_store(&J->runs[i], 0);
  eo_threadpool_run(tp, n, task, J);
  for (size_t i = 0; i < MAX_TASKS; i++)
    if (atomic_load(&J->runs[i]) != (i < n ? 1 : 0)) {
      fprintf(stderr, "job of %zu tasks on %d workers: task %zu ran %d times\n", n, J->workers, i,
              atomic_load(&J->runs[i]));
      return false;
    }
  return true;
}

/* Each task fills its worker's whole buffer with the worker's number, then checks it is still
 * there: two workers sharing a buffer (or a short one, under ASan) would fail. */
typedef struct local_job {
  eo_threadpool *tp;
  size_t bytes;
  atomic_int bad;
} local_job;

static void local_task(void *ctx, size_t index, int worker) {
  (void)index;
  local_job *L = ctx;
  unsigned char fallback;
  unsigned char *b = eo_threadpool_local(L->tp, worker, L->bytes, &fallback);
  if (b == &fallback || (uintptr_t)b % 64) {
    atomic_fetch_add(&L->bad, 1);
    return;
  }
  memset(b, worker + 1, L->bytes);
  for (int spin = 0; spin < 1000; spin++) atomic_signal_fence(memory_order_seq_cst);  // let others run
  for (size_t i = 0; i < L->bytes; i++)
    if (b[i] != worker + 1) {
      atomic_fetch_add(&L->bad, 1);
      return;
    }
}

static void check_local(eo_threadpool *tp, int threads) {
  char fb;
  EO_CHECK(eo_threadpool_local(tp, 0, 1, &fb) == &fb);  // nothing reserved yet
  EO_CHECK(eo_threadpool_reserve_local(tp, 100000) == EO_OK);
  if (threads == 1) {  // one worker keeps no buffer: nothing to share its lines with
    EO_CHECK(eo_threadpool_local(tp, 0, 1, &fb) == &fb);
    return;
  }
  EO_CHECK(eo_threadpool_reserve_local(tp, 1000) == EO_OK);  // smaller: the buffers stay
  local_job L = {tp, 100000, 0};
  for (int rep = 0; rep < 20; rep++) eo_threadpool_run(tp, (size_t)(4 * threads), local_task, &L);
  EO_CHECK_MSG(atomic_load(&L.bad) == 0, "%d threads: a worker's buffer was missing or shared\n", threads);
  EO_CHECK(eo_threadpool_local(tp, 0, 200000, &fb) == &fb);         // larger than reserved
  EO_CHECK(eo_threadpool_local(tp, threads, 1, &fb) == &fb);        // no such worker
  EO_CHECK(eo_threadpool_local(tp, 0, 1, &fb) != eo_threadpool_local(tp, 1, 1, &fb));
}

int main(void) {
  static job J;
  const size_t sizes[] = {0, 1, 2, 3, 4, 5, 7, 8, 31, 32, 33, 100, 1152};
  for (int threads = 1; threads <= 4; threads++) {
    eo_threadpool *tp = NULL;
    EO_CHECK(eo_threadpool_create(threads, &tp) == EO_OK && tp);
    if (!tp) continue;
    EO_CHECK(eo_threadpool_size(tp) == threads);
    J.workers = threads, J.slow_worker = -1;
    atomic_store(&J.bad_worker, 0);
    bool ok = true;
    for (int rep = 0; rep < 200; rep++)  // back to back: workers still spinning from the last job
      for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) ok &= run_once(tp, &J, sizes[s]);
    EO_CHECK_MSG(ok, "%d threads, back to back\n", threads);
    ok = true;
    for (int rep = 0; rep < 3; rep++) {  // after the workers have gone to sleep
      nanosleep(&(struct timespec){0, 20000000}, NULL);
      ok &= run_once(tp, &J, 100);
    }
    EO_CHECK_MSG(ok, "%d threads, after sleeping\n", threads);
    ok = true;
    for (int rep = 0; rep < 3; rep++) {  // woken ahead of the job (eo_threadpool_wake), or twice
      nanosleep(&(struct timespec){0, 20000000}, NULL);
      eo_threadpool_wake(tp);
      if (rep == 2) eo_threadpool_wake(tp);
      ok &= run_once(tp, &J, 100);
    }
    EO_CHECK_MSG(ok, "%d threads, woken before the job\n", threads);
    if (threads > 1) {  // worker 1 is slow: the others finish its share
      J.slow_worker = 1;
      ok = true;
      for (int rep = 0; rep < 5; rep++) ok &= run_once(tp, &J, 64);
      EO_CHECK_MSG(ok, "%d threads, one slow worker\n", threads);
    }
    EO_CHECK(atomic_load(&J.bad_worker) == 0);
    check_local(tp, threads);
    eo_threadpool_free(tp);
  }
  // a NULL pool runs every task on the caller (and has nothing to wake)
  eo_threadpool_wake(NULL);
  J.workers = 1, J.slow_worker = -1;
  EO_CHECK(run_once(NULL, &J, 5));
  char fb;
  EO_CHECK(eo_threadpool_reserve_local(NULL, 64) == EO_OK && eo_threadpool_local(NULL, 0, 1, &fb) == &fb);
  return eo_test_finish();
}
