/* edgeopt runtime: run a loaded model on the CPU.
 *
 *     eo_session *s = NULL;
 *     eo_session_create(model, NULL, &s);              // borrows model: keep it alive
 *     int64_t dims[4] = {1, 3, 224, 224};
 *     eo_input_shape shp = {"input", 4, dims};
 *     eo_session_prepare(s, 1, &shp);                  // binds symbolic dims, plans the arena
 *     eo_session_set_input(s, "input", EO_FLOAT, 4, dims, pixels);
 *     eo_session_run(s);                               // never allocates
 *     eo_tensor_view y; eo_session_output(s, 0, &y);   // borrowed until the next run/prepare/free
 *     eo_session_free(s);
 *
 * Prepare runs the graph passes on an in-memory copy (the model is never changed), infers every
 * shape, folds what is constant, picks kernels and plans one arena in which tensors whose lifetimes
 * do not overlap share memory.
 */
#ifndef EDGEOPT_RUNTIME_H
#define EDGEOPT_RUNTIME_H

#include "edgeopt/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct eo_session eo_session;

typedef struct eo_session_options {
  int no_passes;     /* 1: run the graph exactly as loaded (no folding or fusion) */
  int force_ref;     /* 1: reference kernels only (also set by the environment variable EO_FORCE_REF=1) */
  int threads;       /* worker threads for run, the caller included; 0: one per online core. Results
                      * are identical for every thread count. With more than one thread the first
                      * runs also time every step on the workers and on the caller alone, and each
                      * step keeps the faster way, re-checked now and then in later runs
                      * (src/runtime/session.c). */
  int no_thread_tuning; /* 1: every step uses all threads (also EO_THREAD_TUNING=0) */
  size_t max_arena_bytes; /* prepare fails (EO_ERR_NOMEM) if the planned arena is larger; 0: no limit */
} eo_session_options;

typedef struct eo_input_shape {
  const char *name;
  int rank;
  const int64_t *dims;
  /* Optional: fixes the input to this value (of `dtype`) for the session's life. It is then folded
   * like a constant (shape-like inputs: a Reshape's shape fed as a graph input) and set_input on it
   * is refused. NULL: an ordinary input. */
  int dtype;
  const void *value;
} eo_input_shape;

typedef struct eo_tensor_view {
  const char *name;
  int dtype;
  int rank;
  int64_t dims[EO_MAX_RANK];
  const void *data;
  size_t nbytes;
} eo_tensor_view;

typedef struct eo_plan_stats {
  size_t arena_bytes;      /* planned arena (activations + scratch) */
  size_t naive_bytes;      /* what one buffer per tensor would take */
  size_t constant_bytes;   /* initializers and folded constants the session still reads (the model's
                            * unchanged weights, which the session borrows, included) */
  size_t packed_bytes;     /* weights the ops packed (or copied) into their own layouts at prepare,
                            * held beside the constants: memory = arena + constants + packed */
  size_t worker_bytes;     /* buffers kept per worker thread for the kernels' private work (each worker
                            * writes only its own, so its lines stay in that core's caches), all workers */
  size_t freed_constant_bytes; /* constants the session owned (BN-folded or folded weights) whose
                            * every reader packed them: freed at prepare, not in constant_bytes */
  int num_steps;           /* nodes executed per run after passes */
  /* What prepare's passes did: nodes evaluated at prepare (constant or shape-only inputs),
   * Identity/Dropout removed, BatchNormalization folded, activations fused into Conv, nodes
   * whose outputs reach no graph output removed, Conv -> Add [-> activation] chains run by the Conv. */
  int nodes_folded, identity_removed, bn_folded, act_fused, dead_removed, residual_fused;
} eo_plan_stats;

eo_status eo_session_create(const eo_model *m, const eo_session_options *opts, eo_session **out);
/* Shapes for inputs with symbolic dims; inputs not listed use the model's static shape. */
eo_status eo_session_prepare(eo_session *s, int n, const eo_input_shape *shapes);
/* Copies data (dtype and dims must match the prepared shape); it stays set for every later run. */
eo_status eo_session_set_input(eo_session *s, const char *name, int dtype, int rank, const int64_t *dims,
                               const void *data);
eo_status eo_session_run(eo_session *s);
int eo_session_num_outputs(const eo_session *s);
eo_status eo_session_output(const eo_session *s, int i, eo_tensor_view *out);
eo_status eo_session_plan_stats(const eo_session *s, eo_plan_stats *out);
void eo_session_free(eo_session *s);

#ifdef __cplusplus
}
#endif
#endif
