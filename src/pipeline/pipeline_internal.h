/* Internal pieces of the optimize pipeline: file hashing, the benchmark loop, the recipe, notes. */
#ifndef EO_PIPELINE_INTERNAL_H
#define EO_PIPELINE_INTERNAL_H

#include "core/stats.h"
#include "edgeopt/quant.h"
#include "edgeopt/runtime.h"

/* sha256 of a file as 64 lowercase hex digits + NUL into hex[65]. EO_ERR_IO if unreadable. */
eo_status eo_sha256_file(const char *path, char hex[65]);
/* sha256 of n bytes. */
eo_status eo_sha256_buffer(const void *data, size_t n, char hex[65]);
/* A data set's identity: a file's sha256, or for a folder the sha256 of its manifest (every regular
 * file below it, sorted by relative path, one "path NUL sha256 LF" line each); *files counts them. */
eo_status eo_sha256_tree(const char *path, char hex[65], int64_t *files);

/* `edgeopt bench`'s seeded random input data: n elements of dtype into buf (splitmix64 from seed):
 * floats uniform in [-1, 1), 8-bit integers over their range, wider integers in [0, 8), bools 0/1.
 * EO_ERR_UNSUPPORTED for other dtypes (the message names `name`). */
eo_status eo_random_fill(const char *name, int dtype, int64_t n, uint64_t seed, void *buf);

typedef struct eo_bench_figures {
  eo_latency_stats lat;      /* per-iteration ms */
  double throughput;         /* items / s: batch * 1000 / mean */
  int64_t arena_bytes, constant_bytes;
  double *samples;           /* lat.n timed iterations in run order (owned by the caller: free) */
} eo_bench_figures;

/* `edgeopt bench`'s method without the ONNX Runtime peer: seeded random inputs of the model's
 * shapes (symbolic dims 1; floats uniform in [-1, 1)), set once; `warmup` untimed runs, then
 * `iters` timed eo_session_run calls. */
eo_status eo_bench_model(const eo_model *m, int warmup, int iters, int threads, eo_bench_figures *out);

/* The same loop in pieces, so that several models can be timed in interleaved rounds (the host's
 * load then hits every model alike): open (session, inputs), once per timed run, finish (figures
 * of n samples; samples copied), close. */
typedef struct eo_bench_run eo_bench_run;
eo_status eo_bench_open(const eo_model *m, int threads, eo_bench_run **out);
eo_status eo_bench_once(eo_bench_run *b, double *ms);
eo_status eo_bench_finish(eo_bench_run *b, const double *ms, int n, eo_bench_figures *out);
void eo_bench_close(eo_bench_run *b); /* NULL-safe */

/* The last clause of the int8-mixed candidate's note (optimize.c): whether the quantizer's target was
 * met and, when not, why the search stopped (max_float layers kept, the evaluation budget spent, or
 * every candidate tried), into buf. */
void eo_opt_mixed_outcome(const eo_quant_mixed_report *mr, int max_float, char *buf, size_t n);

/* The optimize recipe (recipe.c): the sections of qat_config.yaml beyond quantization. */
typedef struct eo_opt_recipe {
  char *quant_yaml;          /* the `quantization` section's text at its original lines (NULL: none) */
  int n_methods;             /* calibration.method: static INT8 candidates, one per method */
  int methods[4];
  int64_t num_samples;       /* calibration items; -1 unset */
  double percentile;         /* < 0 unset */
  int64_t test_samples;      /* analysis.test_samples: evaluation items; -1 unset */
  int layer_error;           /* analysis.measure_layer_error; -1 unset */
  int n_formats;             /* export.formats kept: "onnx", "tflite" (tensorrt counts as onnx) */
  char formats[2][8];
  char *candidates;          /* comma-separated, from `candidates:` (NULL: none) */
  int n_warnings;
  char **warnings;           /* "FILE:LINE: 'key': not supported yet (...)" */
} eo_opt_recipe;

/* Reads and validates a recipe; the quantization section is checked by the quantization recipe
 * reader (src/quant/recipe.c), with its line numbers. */
eo_status eo_opt_recipe_load(const char *path, eo_opt_recipe **out);
void eo_opt_recipe_free(eo_opt_recipe *r);
/* Writes r->quant_yaml to path (blank lines first so that line numbers match the recipe's). */
eo_status eo_opt_recipe_write_quant(const eo_opt_recipe *r, const char *path);

#endif
