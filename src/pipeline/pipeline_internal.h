/* Internal pieces of the optimize pipeline: file hashing and the benchmark loop. */
#ifndef EO_PIPELINE_INTERNAL_H
#define EO_PIPELINE_INTERNAL_H

#include "core/stats.h"
#include "edgeopt/runtime.h"

/* sha256 of a file as 64 lowercase hex digits + NUL into hex[65]. EO_ERR_IO if unreadable. */
eo_status eo_sha256_file(const char *path, char hex[65]);

/* `edgeopt bench`'s seeded random input data: n elements of dtype into buf (splitmix64 from seed):
 * floats uniform in [-1, 1), 8-bit integers over their range, wider integers in [0, 8), bools 0/1.
 * EO_ERR_UNSUPPORTED for other dtypes (the message names `name`). */
eo_status eo_random_fill(const char *name, int dtype, int64_t n, uint64_t seed, void *buf);

typedef struct eo_bench_figures {
  eo_latency_stats lat;      /* per-iteration ms */
  double throughput;         /* items / s: batch * 1000 / mean */
  int64_t arena_bytes, constant_bytes;
} eo_bench_figures;

/* `edgeopt bench`'s method without the ONNX Runtime peer: seeded random inputs of the model's
 * shapes (symbolic dims 1; floats uniform in [-1, 1)), set once; `warmup` untimed runs, then
 * `iters` timed eo_session_run calls. */
eo_status eo_bench_model(const eo_model *m, int warmup, int iters, int threads, eo_bench_figures *out);

#endif
