/* The benchmark loop of the optimize pipeline: `edgeopt bench`'s method (random inputs set once,
 * warmup, only eo_session_run timed) without its ONNX Runtime peer. */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/sysinfo.h"
#include "pipeline_internal.h"

static uint64_t splitmix64(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

eo_status eo_random_fill(const char *name, int dtype, int64_t n, uint64_t seed, void *data) {
  uint64_t s = seed;
  for (int64_t i = 0; i < n; i++) {
    uint64_t r = splitmix64(&s);
    double u = (double)(r >> 11) * 0x1.0p-53; /* [0, 1) */
    float f = (float)(2.0 * u - 1.0);
    switch (dtype) {
      case EO_FLOAT: ((float *)data)[i] = f; break;
      case EO_DOUBLE: ((double *)data)[i] = 2.0 * u - 1.0; break;
      case EO_FLOAT16: ((uint16_t *)data)[i] = eo_f32_to_f16(f); break;
      case EO_BFLOAT16: ((uint16_t *)data)[i] = eo_f32_to_bf16(f); break;
      case EO_UINT8: ((uint8_t *)data)[i] = (uint8_t)r; break;
      case EO_INT8: ((int8_t *)data)[i] = (int8_t)(uint8_t)r; break;
      case EO_BOOL: ((uint8_t *)data)[i] = (uint8_t)(r & 1); break;
      case EO_INT16: ((int16_t *)data)[i] = (int16_t)(r & 7); break;
      case EO_UINT16: ((uint16_t *)data)[i] = (uint16_t)(r & 7); break;
      case EO_INT32: ((int32_t *)data)[i] = (int32_t)(r & 7); break;
      case EO_UINT32: ((uint32_t *)data)[i] = (uint32_t)(r & 7); break;
      case EO_INT64: ((int64_t *)data)[i] = (int64_t)(r & 7); break;
      case EO_UINT64: ((uint64_t *)data)[i] = r & 7; break;
      default:
        return eo_error(EO_ERR_UNSUPPORTED, "input '%s': no random data for %s inputs (give --input %s=FILE.npy)",
                        name, eo_dtype_name(dtype), name);
    }
  }
  return EO_OK;
}

static eo_status set_random_input(eo_session *s, const eo_value_desc *d, uint64_t seed) {
  int64_t dims[EO_MAX_RANK];
  for (int k = 0; k < d->rank; k++) dims[k] = d->dims[k] < 0 ? 1 : d->dims[k];
  int64_t n = eo_numel(d->rank, dims);
  size_t nbytes;
  if (n < 0 || eo_dtype_size(d->dtype) == 0 || !eo_dtype_bytes(d->dtype, n, &nbytes))
    return eo_error(EO_ERR_UNSUPPORTED, "input '%s': cannot make random %s data", d->name, eo_dtype_name(d->dtype));
  unsigned char *buf = eo_malloc(nbytes);
  if (!buf) return eo_error(EO_ERR_NOMEM, "input '%s': out of memory for %zu bytes", d->name, nbytes);
  eo_status st = eo_random_fill(d->name, d->dtype, n, seed, buf);
  if (!st) st = eo_session_set_input(s, d->name, d->dtype, d->rank, dims, buf);
  free(buf);
  return st;
}

struct eo_bench_run {
  const eo_model *m;
  eo_session *s;
  int64_t batch;
};

eo_status eo_bench_open(const eo_model *m, int threads, eo_bench_run **out) {
  *out = NULL;
  eo_session_options so = {0};
  so.threads = threads;
  int nin = eo_model_num_inputs(m);
  eo_input_shape shapes[64];
  int64_t dims[64][EO_MAX_RANK];
  if (nin > 64) return eo_error(EO_ERR_UNSUPPORTED, "benchmark: %d inputs (at most 64)", nin);
  for (int i = 0; i < nin; i++) {
    const eo_value_desc *d = eo_model_input(m, i);
    for (int k = 0; k < d->rank; k++) dims[i][k] = d->dims[k] < 0 ? 1 : d->dims[k];
    shapes[i] = (eo_input_shape){d->name, d->rank, dims[i], 0, NULL};
  }
  eo_bench_run *b = eo_calloc(1, sizeof *b);
  if (!b) return eo_error(EO_ERR_NOMEM, "benchmark: out of memory");
  b->m = m;
  b->batch = nin > 0 && eo_model_input(m, 0)->rank > 0 ? dims[0][0] : 1;
  eo_status st = eo_session_create(m, &so, &b->s);
  if (!st) st = eo_session_prepare(b->s, nin, shapes);
  for (int i = 0; !st && i < nin; i++) st = set_random_input(b->s, eo_model_input(m, i), 1 + 0x1000u * (uint64_t)i);
  if (st) eo_bench_close(b);
  else *out = b;
  return st;
}

eo_status eo_bench_once(eo_bench_run *b, double *ms) {
  uint64_t t0 = eo_clock_ns();
  eo_status st = eo_session_run(b->s);
  *ms = (double)(eo_clock_ns() - t0) / 1e6;
  return st;
}

eo_status eo_bench_finish(eo_bench_run *b, const double *ms, int n, eo_bench_figures *out) {
  memset(out, 0, sizeof *out);
  eo_status st = eo_latency_summarize(ms, n, &out->lat);
  if (!st && !(out->samples = eo_malloc(sizeof *ms * (size_t)n))) st = eo_error(EO_ERR_NOMEM, "out of memory");
  if (st) return st;
  memcpy(out->samples, ms, sizeof *ms * (size_t)n);
  eo_plan_stats ps;
  if ((st = eo_session_plan_stats(b->s, &ps))) {
    free(out->samples);
    out->samples = NULL;
    return st;
  }
  out->arena_bytes = (int64_t)ps.arena_bytes;
  out->constant_bytes = (int64_t)ps.constant_bytes;
  out->throughput = out->lat.mean > 0 ? (double)b->batch * 1000.0 / out->lat.mean : 0;
  return EO_OK;
}

void eo_bench_close(eo_bench_run *b) {
  if (!b) return;
  eo_session_free(b->s);
  free(b);
}

eo_status eo_bench_model(const eo_model *m, int warmup, int iters, int threads, eo_bench_figures *out) {
  memset(out, 0, sizeof *out);
  if (iters < 1) return eo_error(EO_ERR_INVALID, "benchmark: iterations must be >= 1, got %d", iters);
  eo_bench_run *b = NULL;
  double *ms = malloc(sizeof *ms * (size_t)iters), t;
  eo_status st = ms ? eo_bench_open(m, threads, &b) : eo_error(EO_ERR_NOMEM, "benchmark: out of memory");
  for (int it = 0; !st && it < warmup + iters; it++) {
    st = eo_bench_once(b, &t);
    if (it >= warmup) ms[it - warmup] = t;
  }
  if (!st) st = eo_bench_finish(b, ms, iters, out);
  free(ms);
  eo_bench_close(b);
  return st;
}
