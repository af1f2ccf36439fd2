/* Binary elementwise ops split across the thread pool (ops/binary.c splits outputs of >= 32768
 * elements: feature maps with planes of 256 elements or more into bands of every plane, others into
 * fixed runs, a band or run possibly spanning several broadcast rows): for same shapes,
 * per-channel and other broadcasts, rows shorter and longer than a run, the result with a 2-worker
 * pool must equal the serial one bit for bit, and both must equal an independent 4-D index loop. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/threads.h"
#include "op_test.h"
#include "test.h"

static float frand(unsigned *s) {
  *s = *s * 1103515245u + 12345u;
  return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f + 0.01f;  // never exactly 0: Div stays finite
}

/* infer -> prepare -> forward with `pool` (optest_run has none). */
static eo_status run_with_pool(const eo_node *n, eo_tview *a, eo_tview *b, eo_tview *y, eo_threadpool *pool) {
  const eo_op_def *def = eo_op_get(n->op);
  eo_tview *in[2] = {a, b}, *out[1] = {y};
  eo_op_ctx c;
  memset(&c, 0, sizeof c);
  memset(y, 0, sizeof *y);
  c.node = n;
  c.opset = 14;
  c.n_in = 2;
  c.n_out = 1;
  c.in = in;
  c.out = out;
  c.pool = pool;
  eo_status st = def->infer(&c);
  if (st) return st;
  if (def->prepare && (st = def->prepare(&c))) return st;
  y->data = calloc((size_t)eo_tview_numel(y) + 1, sizeof(float));
  c.scratch = c.scratch_bytes ? calloc(c.scratch_bytes, 1) : NULL;
  def->forward(&c);
  free(c.scratch);
  if (def->release) def->release(c.state);
  return EO_OK;
}

static float apply(const char *op, float a, float b) {
  if (!strcmp(op, "Add")) return a + b;
  if (!strcmp(op, "Sub")) return a - b;
  if (!strcmp(op, "Mul")) return a * b;
  return a / b;
}

/* a: da[4], b: db[4] (each dim equal to the output's or 1). */
static void run_case(const char *op, const int64_t da[4], const int64_t db[4], eo_threadpool *pool, unsigned seed) {
  int64_t dy[4], na = 1, nb = 1, ny = 1;
  for (int d = 0; d < 4; d++) {
    dy[d] = da[d] > db[d] ? da[d] : db[d];
    na *= da[d];
    nb *= db[d];
    ny *= dy[d];
  }
  float *xa = malloc((size_t)na * sizeof(float)), *xb = malloc((size_t)nb * sizeof(float));
  for (int64_t i = 0; i < na; i++) xa[i] = frand(&seed);
  for (int64_t i = 0; i < nb; i++) xb[i] = frand(&seed);
  float *expect = malloc((size_t)ny * sizeof(float));
  for (int64_t i0 = 0; i0 < dy[0]; i0++)
    for (int64_t i1 = 0; i1 < dy[1]; i1++)
      for (int64_t i2 = 0; i2 < dy[2]; i2++)
        for (int64_t i3 = 0; i3 < dy[3]; i3++) {
          int64_t ia = (((da[0] > 1 ? i0 : 0) * da[1] + (da[1] > 1 ? i1 : 0)) * da[2] + (da[2] > 1 ? i2 : 0)) * da[3] +
                       (da[3] > 1 ? i3 : 0);
          int64_t ib = (((db[0] > 1 ? i0 : 0) * db[1] + (db[1] > 1 ? i1 : 0)) * db[2] + (db[2] > 1 ? i2 : 0)) * db[3] +
                       (db[3] > 1 ? i3 : 0);
          expect[((i0 * dy[1] + i1) * dy[2] + i2) * dy[3] + i3] = apply(op, xa[ia], xb[ib]);
        }
  eo_node *n = optest_node(op);
  eo_tview a = optest_f32(4, da, xa), b = optest_f32(4, db, xb), y[2];
  char what[200];
  snprintf(what, sizeof what, "%s [%lld,%lld,%lld,%lld] x [%lld,%lld,%lld,%lld]", op, (long long)da[0],
           (long long)da[1], (long long)da[2], (long long)da[3], (long long)db[0], (long long)db[1], (long long)db[2],
           (long long)db[3]);
  for (int t = 0; t < 2; t++) {
    eo_status st = run_with_pool(n, &a, &b, &y[t], t ? pool : NULL);
    EO_CHECK_MSG(st == EO_OK, "%s: %s", what, eo_last_error());
    EO_CHECK_MSG(eo_tview_numel(&y[t]) == ny, "%s: %lld outputs, expected %lld", what,
                 (long long)eo_tview_numel(&y[t]), (long long)ny);
  }
  const float *y0 = y[0].data, *y1 = y[1].data;
  int64_t bad = -1;
  for (int64_t i = 0; i < ny && bad < 0; i++)
    if (y0[i] != expect[i]) bad = i;
  EO_CHECK_MSG(bad < 0, "%s serial: element %lld is %.9g, expected %.9g", what, (long long)bad,
               bad < 0 ? 0.0 : (double)y0[bad], bad < 0 ? 0.0 : (double)expect[bad]);
  EO_CHECK_MSG(memcmp(y0, y1, (size_t)ny * sizeof(float)) == 0, "%s: 2 workers differ from serial", what);
  free(y[0].data);
  free(y[1].data);
  optest_node_free(n);
  free(expect);
  free(xa);
  free(xb);
}

int main(void) {
  eo_threadpool *pool = NULL;
  EO_CHECK(eo_threadpool_create(2, &pool) == EO_OK);
  static const struct {
    int64_t a[4], b[4];
  } shapes[] = {
      {{1, 32, 56, 56}, {1, 32, 56, 56}},  // same shape: one long row
      {{2, 24, 40, 40}, {2, 24, 1, 1}},    // squeeze-excitation scale: per (image, channel)
      {{1, 48, 37, 29}, {1, 48, 1, 1}},    // rows not dividing a run
      {{1, 1, 1, 1}, {1, 16, 64, 65}},     // scalar A
      {{1, 40, 30, 30}, {1, 1, 30, 30}},   // broadcast over channels
      {{3, 8, 500, 3}, {1, 8, 1, 3}},      // many short rows, runs spanning thousands of them
      {{1, 4, 9000, 1}, {1, 4, 1, 1}},     // rows of 9000: runs start mid-row
      {{1, 4096, 3, 3}, {1, 4096, 3, 3}},  // planes of 9: fixed runs instead of bands
      {{1, 3, 7, 5}, {1, 3, 7, 5}},        // small: stays serial
  };
  const char *ops[] = {"Add", "Sub", "Mul", "Div"};
  unsigned seed = 7;
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
    for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++) {
      run_case(ops[o], shapes[s].a, shapes[s].b, pool, seed += 11);
      run_case(ops[o], shapes[s].b, shapes[s].a, pool, seed += 11);  // operands swapped
    }
  eo_threadpool_free(pool);
  return eo_test_finish();
}
