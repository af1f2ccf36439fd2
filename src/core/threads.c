/* Job hand-off without waiting for idle workers.
 *
 * Each worker owns a contiguous share of the job's tasks and claims them from its own counter (its
 * own cache line, so claiming costs no cross-core traffic); a worker whose share is done takes tasks
 * from the others' shares, so a worker the OS has not scheduled (2 cores shared with other
 * processes) costs nothing: the caller runs its share. Completions are added once per worker and
 * job. (One shared counter for claims and one for completions moved their cache lines between the
 * cores on every task: 3 us of a 12 us job of 32 tasks, and resnet18's INT8 patch-matrix steps run
 * 1152 tasks.) Every counter holds the job's generation beside its next task index, so a worker can
 * only claim a task (compare-and-swap) of the job it woke up for: a worker that wakes late, after the
 * job is over, finds a newer generation or no task left and goes back to waiting, never touching a
 * finished job.
 * Workers spin briefly between jobs (a model runs many short layers back to back), then sleep on a
 * condition variable so an idle session costs no CPU.
 *
 * Placement: a sleeping worker that the caller wakes is often queued on the caller's own CPU (the
 * scheduler's wake-affine choice), and two threads that keep running are "cache hot", so the load
 * balancer leaves them sharing one core while the other idles: measured on the example detector
 * at 2 threads when the pool had slept between runs (as between camera frames, or while a peer
 * engine ran), p50 7.0 ms against 3.6 ms single-threaded. So the workers are kept off the CPU the
 * caller is on: when the caller shows up on a new CPU (sched_getcpu, no syscall), the workers'
 * affinity becomes the process's CPUs minus that one. Only when there are enough CPUs for every
 * thread; the caller itself is never pinned. Spinning threads also yield now and then, so a thread
 * sharing its core with another runnable one does not hold it for a whole time slice. */
#define _GNU_SOURCE  // sched_getcpu, CPU_SET, pthread_setaffinity_np
#include "core/threads.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/cpu.h"
#include "core/core.h"

#if defined(__x86_64__) || defined(__i386__)
#define EO_CPU_RELAX() __builtin_ia32_pause()
#else
#define EO_CPU_RELAX() ((void)0)
#endif

/* Spin iterations before a worker sleeps (a few hundred microseconds). */
#define EO_SPIN_ITERS 20000

/* Worker i's share of a job of n tasks is [i * n / workers, (i + 1) * n / workers); `next` holds the
 * job's generation << 32 | the share's next task. Alone on its cache line. */
typedef struct share {
  _Alignas(64) atomic_uint_fast64_t next;
} share;

typedef struct worker_arg {
  struct eo_threadpool *tp;
  int id;
} worker_arg;

struct eo_threadpool {
  int n;                      /* workers, the caller included */
  pthread_t *threads;         /* n - 1 */
  worker_arg *args;           /* n - 1; owned here so a starting thread frees nothing (a late free
                               * would land inside someone's run) */
  int started;                /* threads actually created */
  pthread_mutex_t mu;
  pthread_cond_t wake;
  atomic_int sleepers;        /* workers waiting on `wake` */
  atomic_bool stop;
  atomic_uint wakes;          /* eo_threadpool_wake calls: a sleeping worker wakes to spin again */
  atomic_uint_fast64_t state; /* generation << 32 of the current job: workers wait for it to change */
  struct share *shares;       /* n: worker i's tasks of the current job */
  atomic_size_t completed;    /* tasks of the current job finished */
  atomic_uint_fast64_t limit; /* generation << 32 | task count of that job, published before state */
  /* the current job: written before its generation is published */
  eo_task_fn fn;
  void *ctx;
  void **local;      /* n: each worker's own buffer (eo_threadpool_reserve_local), or NULL */
  size_t local_bytes;
  /* placement (see the top of the file); touched by the caller only */
  bool place;
  cpu_set_t cpus;  /* the process's CPUs when the pool was made */
  int caller_cpu;  /* the CPU the workers were last kept off, -1 none */
};

static uint32_t gen_of(uint_fast64_t s) { return (uint32_t)(s >> 32); }

static size_t share_start(size_t w, size_t n, int workers) { return (size_t)((uint64_t)w * n / (unsigned)workers); }

/* Claims the next task of job `gen` from worker w's share; false when that share has no task left or
 * the job is over. The task count comes with its generation: a worker finishing job g must not use
 * the count the caller has already written for job g + 1 while the share still says g. */
static bool claim(eo_threadpool *tp, uint32_t gen, int w, size_t *task) {
  uint_fast64_t lim = atomic_load_explicit(&tp->limit, memory_order_acquire);
  if (gen_of(lim) != gen) return false;
  const size_t end = share_start((size_t)w + 1, (uint32_t)lim, tp->n);
  atomic_uint_fast64_t *next = &tp->shares[w].next;
  uint_fast64_t s = atomic_load_explicit(next, memory_order_acquire);
  for (;;) {
    if (gen_of(s) != gen || (uint32_t)s >= end) return false;
    if (atomic_compare_exchange_weak_explicit(next, &s, s + 1, memory_order_acq_rel, memory_order_acquire)) {
      *task = (uint32_t)s;
      return true;
    }
  }
}

/* Runs the worker's own share, then what is left of the others'. */
static void work(eo_threadpool *tp, uint32_t gen, int worker) {
  size_t i, done = 0;
  for (int k = 0; k < tp->n; k++) {
    const int w = (worker + k) % tp->n;
    while (claim(tp, gen, w, &i)) {
      tp->fn(tp->ctx, i, worker);
      done++;
    }
  }
  if (done) atomic_fetch_add_explicit(&tp->completed, done, memory_order_release);
}

static void *worker_main(void *arg) {
  eo_threadpool *tp = ((worker_arg *)arg)->tp;
  int id = ((worker_arg *)arg)->id;
  uint32_t seen = 0;
  for (;;) {
    uint32_t g = seen;
    const unsigned wakes = atomic_load(&tp->wakes);
    for (int spins = 0; spins < EO_SPIN_ITERS; spins++) {
      if ((g = gen_of(atomic_load_explicit(&tp->state, memory_order_acquire))) != seen ||
          atomic_load_explicit(&tp->stop, memory_order_relaxed))
        break;
      EO_CPU_RELAX();
      if ((spins & 63) == 63) sched_yield();  // cheap when nothing else wants this CPU
    }
    if (g == seen && !atomic_load(&tp->stop)) {
      pthread_mutex_lock(&tp->mu);
      atomic_fetch_add(&tp->sleepers, 1);  // seq_cst: pairs with the caller's publish, then check
      while ((g = gen_of(atomic_load(&tp->state))) == seen && !atomic_load(&tp->stop) &&
             atomic_load(&tp->wakes) == wakes)
        pthread_cond_wait(&tp->wake, &tp->mu);
      atomic_fetch_sub(&tp->sleepers, 1);
      pthread_mutex_unlock(&tp->mu);
      if (g == seen) continue;  // woken to spin (or to stop)
    }
    if (atomic_load(&tp->stop)) return NULL;
    seen = g;
    work(tp, g, id);
  }
}

eo_status eo_threadpool_create(int threads, eo_threadpool **out) {
  *out = NULL;
  if (threads < 0) return eo_error(EO_ERR_INVALID, "thread count %d, expected >= 0 (0: one per core)", threads);
  if (threads == 0) threads = eo_cpu_info_get()->cores;
  eo_threadpool *tp = eo_calloc(1, sizeof *tp);
  if (!tp) return eo_error(EO_ERR_NOMEM, "out of memory for the thread pool");
  tp->n = threads;
  pthread_mutex_init(&tp->mu, NULL);
  pthread_cond_init(&tp->wake, NULL);
  atomic_init(&tp->sleepers, 0);
  atomic_init(&tp->stop, false);
  atomic_init(&tp->wakes, 0);
  atomic_init(&tp->state, 0);
  atomic_init(&tp->completed, 0);
  atomic_init(&tp->limit, 0);
  if (threads > 1 && (!(tp->threads = eo_calloc((size_t)threads - 1, sizeof(pthread_t))) ||
                      !(tp->args = eo_calloc((size_t)threads - 1, sizeof(worker_arg))) ||
                      !(tp->shares = aligned_alloc(64, (size_t)threads * sizeof(share))))) {
    eo_threadpool_free(tp);
    return eo_error(EO_ERR_NOMEM, "out of memory for the thread pool");
  }
  for (int i = 1; i < threads; i++) {
    tp->args[i - 1] = (worker_arg){tp, i};
    if (pthread_create(&tp->threads[i - 1], NULL, worker_main, &tp->args[i - 1]) != 0) {
      eo_threadpool_free(tp);
      return eo_error(EO_ERR_NOMEM, "cannot start thread %d of %d", i + 1, threads);
    }
    tp->started++;
  }
  tp->caller_cpu = -1;
  tp->place = tp->started > 0 && sched_getaffinity(0, sizeof tp->cpus, &tp->cpus) == 0 &&
              CPU_COUNT(&tp->cpus) >= threads;
  *out = tp;
  return EO_OK;
}

/* Inaccessible pages after each per-worker buffer (threads.h). Back to back, one worker's buffer
 * ended where the next one's began, and a task stepping through its tiles (the INT8 patch matrix:
 * 18 KiB apart) had the hardware prefetch the other worker's lines: with the two vCPUs on two core
 * complexes, resnet18 INT8 at 2 threads took 3.18-3.27 ms with the buffers adjacent (from the heap,
 * or mapped one after the other), 2.81-2.91 with this guard (alternating runs). Prefetches into pages
 * without access are dropped; the guard costs address space only. */
#define LOCAL_GUARD ((size_t)2 << 20)

static void unmap_local(eo_threadpool *tp) {
  for (int i = 0; tp->local && i < tp->n; i++) munmap(tp->local[i], tp->local_bytes + LOCAL_GUARD);
  free(tp->local);
  tp->local = NULL;
}

void eo_threadpool_free(eo_threadpool *tp) {
  if (!tp) return;
  pthread_mutex_lock(&tp->mu);
  atomic_store(&tp->stop, true);
  pthread_cond_broadcast(&tp->wake);
  pthread_mutex_unlock(&tp->mu);
  for (int i = 0; i < tp->started; i++) pthread_join(tp->threads[i], NULL);
  pthread_mutex_destroy(&tp->mu);
  pthread_cond_destroy(&tp->wake);
  unmap_local(tp);
  free(tp->threads);
  free(tp->args);
  free(tp->shares);
  free(tp);
}

int eo_threadpool_size(const eo_threadpool *tp) { return tp ? tp->n : 1; }

static void keep_workers_off_caller_cpu(eo_threadpool *tp) {
  int cpu = sched_getcpu();
  if (cpu == tp->caller_cpu || cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &tp->cpus)) return;
  cpu_set_t others = tp->cpus;
  CPU_CLR(cpu, &others);
  for (int i = 0; i < tp->started; i++)
    if (pthread_setaffinity_np(tp->threads[i], sizeof others, &others) != 0) {
      tp->place = false;  // not allowed here (e.g. a restricted cpuset): leave placement to the OS
      return;
    }
  tp->caller_cpu = cpu;
}

void eo_threadpool_wake(eo_threadpool *tp) {
  if (!tp || tp->started == 0) return;
  atomic_fetch_add(&tp->wakes, 1);  // seq_cst: pairs with a worker's sleepers increment, then check
  if (atomic_load(&tp->sleepers) > 0) {
    pthread_mutex_lock(&tp->mu);
    pthread_cond_broadcast(&tp->wake);
    pthread_mutex_unlock(&tp->mu);
  }
}

void eo_threadpool_run(eo_threadpool *tp, size_t n, eo_task_fn fn, void *ctx) {
  if (n == 0) return;
  if (!tp || tp->started == 0 || n == 1) {
    for (size_t i = 0; i < n; i++) fn(ctx, i, 0);
    return;
  }
  if (tp->place) keep_workers_off_caller_cpu(tp);
  tp->fn = fn;
  tp->ctx = ctx;
  atomic_store_explicit(&tp->completed, 0, memory_order_relaxed);
  uint32_t gen = gen_of(atomic_load(&tp->state)) + 1;
  for (int w = 0; w < tp->n; w++)
    atomic_store_explicit(&tp->shares[w].next, (uint_fast64_t)gen << 32 | share_start((size_t)w, n, tp->n),
                          memory_order_relaxed);
  atomic_store(&tp->limit, (uint_fast64_t)gen << 32 | (uint32_t)n);
  atomic_store(&tp->state, (uint_fast64_t)gen << 32);  // seq_cst: publishes the job fields above
  if (atomic_load(&tp->sleepers) > 0) {
    pthread_mutex_lock(&tp->mu);
    pthread_cond_broadcast(&tp->wake);
    pthread_mutex_unlock(&tp->mu);
  }
  work(tp, gen, 0);
  // Only tasks other workers claimed are left; they are running now.
  for (unsigned spins = 0; atomic_load_explicit(&tp->completed, memory_order_acquire) < n; spins++) {
    EO_CPU_RELAX();
    if ((spins & 63) == 63) sched_yield();  // the worker holding a task may share this CPU
  }
}

eo_status eo_threadpool_reserve_local(eo_threadpool *tp, size_t bytes) {
  if (!tp || tp->n < 2 || bytes <= tp->local_bytes) return EO_OK;  // one worker: no other core's lines
  bytes = (bytes + 4095) & ~(size_t)4095;
  void **fresh = eo_calloc((size_t)tp->n, sizeof *fresh);
  if (!fresh) return eo_error(EO_ERR_NOMEM, "out of memory for the thread pool's per-worker buffers");
  for (int i = 0; i < tp->n; i++) {
    void *b = mmap(NULL, bytes + LOCAL_GUARD, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (b != MAP_FAILED && mprotect((char *)b + bytes, LOCAL_GUARD, PROT_NONE) != 0) {
      munmap(b, bytes + LOCAL_GUARD);
      b = MAP_FAILED;
    }
    if (b == MAP_FAILED) {  // the old buffers stay as they were
      for (int j = 0; j < i; j++) munmap(fresh[j], bytes + LOCAL_GUARD);
      free(fresh);
      return eo_error(EO_ERR_NOMEM, "out of memory for %zu bytes of per-worker buffer", bytes);
    }
    memset(b, 0, bytes);  // its pages exist before the first run (no faults inside a timed run)
    fresh[i] = b;
  }
  unmap_local(tp);
  tp->local = fresh;
  tp->local_bytes = bytes;
  return EO_OK;
}

void *eo_threadpool_local(const eo_threadpool *tp, int worker, size_t bytes, void *fallback) {
  return tp && tp->local && bytes <= tp->local_bytes && worker >= 0 && worker < tp->n ? tp->local[worker] : fallback;
}
