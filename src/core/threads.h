/* A small fixed-size thread pool for data-parallel kernels (pthreadpool's parallelize_1d, ggml's
 * compute threads). The calling thread is worker 0 and takes tasks too, so a pool of n threads
 * starts n - 1 threads. Threads start at create time and idle between jobs; eo_threadpool_run
 * neither allocates nor creates threads, so it is safe inside a session run.
 *
 *   eo_threadpool *tp = NULL;
 *   eo_threadpool_create(0, &tp);                 // 0: one thread per online core
 *   eo_threadpool_run(tp, n_tiles, do_tile, &job); // do_tile(&job, tile, worker) for each tile
 *   eo_threadpool_free(tp);
 *
 * Tasks are handed out dynamically, so which worker runs a task varies from run to run: a task's
 * result must depend only on the task index (use `worker` only to pick per-worker scratch). That
 * keeps results identical for any thread count. A NULL pool runs every task on the caller.
 * One job runs at a time per pool: run() is not reentrant and a pool serves one thread of callers.
 */
#ifndef EO_CORE_THREADS_H
#define EO_CORE_THREADS_H

#include <stddef.h>

#include "edgeopt/edgeopt.h"

typedef struct eo_threadpool eo_threadpool;

/* task(ctx, index, worker): worker in [0, eo_threadpool_size(pool)). */
typedef void (*eo_task_fn)(void *ctx, size_t index, int worker);

/* Starts a pool of `threads` workers (the caller counts as one); 0 means one per online core.
 * On failure *out is NULL and no thread is left running. The pool is owned by the caller. */
eo_status eo_threadpool_create(int threads, eo_threadpool **out);
/* Stops and joins the threads; NULL is accepted. */
void eo_threadpool_free(eo_threadpool *tp);
/* Number of workers (1 for NULL). */
int eo_threadpool_size(const eo_threadpool *tp);
/* Wakes sleeping workers to spin for their next job: called ahead of a burst of jobs (a session run
 * after an idle period), their wake-up overlaps the caller's first work instead of delaying its first
 * job. NULL is accepted. */
void eo_threadpool_wake(eo_threadpool *tp);
/* Runs fn(ctx, i, worker) for every i in [0, n) and returns when all are done. */
void eo_threadpool_run(eo_threadpool *tp, size_t n, eo_task_fn fn, void *ctx);

/* Per-worker memory that lives as long as the pool, for a task's private buffers: only worker w's
 * tasks write worker w's buffer, so its cache lines stay with that core from job to job and from
 * step to step. (A per-worker slice of a step's scratch lies in the session arena, where other
 * tensors and other steps' slices, written by the other core, overlap it: on a host that keeps the
 * two vCPUs on two core complexes, each store to such a line first fetched it from the other one.)
 * Each buffer is a mapping of its own, followed by inaccessible pages, so that no other data lies
 * right after it (see LOCAL_GUARD in threads.c).
 * reserve grows every worker's buffer to at least `bytes`; call it while no job runs (at prepare);
 * with one worker it keeps none. local returns worker's buffer when it holds `bytes`, else
 * `fallback` (the task's slice of its scratch; always for a NULL pool). */
eo_status eo_threadpool_reserve_local(eo_threadpool *tp, size_t bytes);
void *eo_threadpool_local(const eo_threadpool *tp, int worker, size_t bytes, void *fallback);

#endif
