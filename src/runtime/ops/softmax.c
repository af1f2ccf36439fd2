/* Softmax and LogSoftmax.
 *   opset < 13: X is coerced to 2D at `axis` (default 1): [d0*..*d(axis-1), d(axis)*..*d(r-1)] and
 *               each row is normalized (axis == rank is accepted as in Flatten: rows of one).
 *   opset >= 13: normalized along the single axis `axis` (default -1).
 * Both become [outer, n, inner] for the kernel. float, double, float16/bfloat16 (through f32).
 * float32 runs the vector kernels (AVX2/AVX-512, split across the pool) unless EO_FORCE_REF. */
#include <stdlib.h>

#include "core/cpu.h"
#include "core/threads.h"
#include "runtime/kernels/ref/pool_kernels.h"
#if defined(__x86_64__) || defined(__i386__)
#include "runtime/kernels/x86/x86_kernels.h"
#endif

/* Splits X's shape at the axis; error (from infer) on a bad axis, never fails afterwards. */
static eo_status softmax_split(const eo_op_ctx *c, int64_t *outer, int64_t *n, int64_t *inner) {
  const eo_tview *x = c->in[0];
  bool coerce_2d = c->opset < 13;
  int64_t axis = eo_attr_i(c->node, "axis", coerce_2d ? 1 : -1);
  int a;
  if (coerce_2d && axis == x->rank && x->rank > 0) {
    a = x->rank;
  } else {
    eo_status st = eo_norm_axis(c, axis, x->rank, &a);
    if (st) return st;
    if (x->rank == 0) return eo_op_error(c, EO_ERR_SHAPE, "X is a scalar, expected rank >= 1");
  }
  *outer = 1;
  *n = 1;
  *inner = 1;
  for (int d = 0; d < x->rank; d++) {
    if (d < a) *outer *= x->dims[d];
    else if (d == a || coerce_2d) *n *= x->dims[d];
    else *inner *= x->dims[d];
  }
  return EO_OK;
}

static eo_status softmax_infer(eo_op_ctx *c) {
  const eo_tview *x = c->n_in > 0 ? c->in[0] : NULL;
  if (!x) return eo_op_error(c, EO_ERR_INVALID, "input X is required");
  if (x->dtype != EO_FLOAT && x->dtype != EO_DOUBLE && !eo_pk_is_half(x->dtype))
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "X has dtype %s, expected float, double, float16 or bfloat16",
                       eo_dtype_name(x->dtype));
  int64_t outer, n, inner;
  eo_status st = softmax_split(c, &outer, &n, &inner);
  if (st) return st;
  if (c->n_out < 1 || !c->out[0]) return eo_op_error(c, EO_ERR_INVALID, "output is required");
  eo_tview_set_shape(c->out[0], x->dtype, x->rank, x->dims);
  return EO_OK;
}

/* The fast float32 kernels (kernels/x86/f32-softmax-*.c), picked at prepare; NULL state: reference. */
typedef struct softmax_fast {
  void (*rows)(int64_t rows, int64_t n, const float *x, float *y, bool log_softmax);
  void (*cols)(int64_t n, int64_t inner, int64_t cols, const float *x, float *y, bool log_softmax);
} softmax_fast;

static eo_status softmax_prepare(eo_op_ctx *c) {
  if (eo_pk_is_half(c->in[0]->dtype))
    c->scratch_bytes = 2 * eo_pk_align((size_t)eo_tview_numel(c->in[0]) * sizeof(float));
#if defined(__x86_64__) || defined(__i386__)
  if (!c->force_ref && c->in[0]->dtype != EO_DOUBLE && eo_cpu_isa() >= EO_ISA_AVX2) {
    softmax_fast *f = malloc(sizeof *f);
    if (!f) return eo_op_error(c, EO_ERR_NOMEM, "out of memory");
    const bool z = eo_cpu_isa() >= EO_ISA_AVX512;
    f->rows = z ? eo_f32_softmax_rows__avx512f : eo_f32_softmax_rows__avx2_fma;
    f->cols = z ? eo_f32_softmax_cols__avx512f : eo_f32_softmax_cols__avx2_fma;
    c->state = f;
  }
#endif
  return EO_OK;
}

/* Work is cut into tasks of about this many elements (a task's result does not depend on the cut:
 * every softmax is computed whole by one task). Smaller pieces do not pay for the hand-off: the
 * detector's 16800-element Softmax took 0.048 ms in two tasks, 0.027 ms in one (2 loaded cores). */
enum { SOFTMAX_TASK_ELEMS = 1 << 18 };

typedef struct softmax_job {
  const softmax_fast *f;
  int64_t outer, n, inner;
  int64_t group;  /* outer slices (rows when inner == 1) per task, when blocks == 0 */
  int64_t cb;     /* columns per task when a slice is cut into column blocks */
  int64_t blocks; /* column blocks per outer slice (0: tasks take whole slices) */
  const float *x;
  float *y;
  bool log_softmax;
} softmax_job;

static void softmax_task(void *ctx, size_t t, int worker) {
  (void)worker;
  const softmax_job *j = ctx;
  const int64_t slice = j->n * j->inner;
  if (j->blocks) {  // one column block of one outer slice
    const int64_t o = (int64_t)t / j->blocks, j0 = ((int64_t)t % j->blocks) * j->cb;
    const int64_t cols = j->inner - j0 < j->cb ? j->inner - j0 : j->cb;
    j->f->cols(j->n, j->inner, cols, j->x + o * slice + j0, j->y + o * slice + j0, j->log_softmax);
    return;
  }
  const int64_t o0 = (int64_t)t * j->group, cnt = j->outer - o0 < j->group ? j->outer - o0 : j->group;
  if (j->inner == 1) {
    j->f->rows(cnt, j->n, j->x + o0 * j->n, j->y + o0 * j->n, j->log_softmax);
  } else {
    for (int64_t o = o0; o < o0 + cnt; o++)
      j->f->cols(j->n, j->inner, j->inner, j->x + o * slice, j->y + o * slice, j->log_softmax);
  }
}

static void softmax_f32(const eo_op_ctx *c, int64_t outer, int64_t n, int64_t inner, const float *x, float *y,
                        bool log_softmax) {
  const softmax_fast *f = c->state;
  if (!f) {
    eo_f32_softmax__ref(outer, n, inner, x, y, log_softmax);
    return;
  }
  if (outer <= 0 || n <= 0 || inner <= 0) return;
  softmax_job j = {.f = f, .outer = outer, .n = n, .inner = inner, .x = x, .y = y, .log_softmax = log_softmax};
  // about SOFTMAX_TASK_ELEMS per task, the work shared evenly between the tasks
  const int64_t slice = n * inner, want = (outer * slice + SOFTMAX_TASK_ELEMS - 1) / SOFTMAX_TASK_ELEMS;
  size_t tasks;
  if (inner > 16 && slice > SOFTMAX_TASK_ELEMS) {  // column blocks (whole vectors) of each slice
    const int64_t per_slice = (slice + SOFTMAX_TASK_ELEMS - 1) / SOFTMAX_TASK_ELEMS;
    j.cb = ((inner + per_slice - 1) / per_slice + 15) & ~(int64_t)15;
    j.blocks = (inner + j.cb - 1) / j.cb;
    tasks = (size_t)(outer * j.blocks);
  } else {  // whole slices (rows when inner == 1)
    j.group = (outer + want - 1) / want;
    tasks = (size_t)((outer + j.group - 1) / j.group);
  }
  eo_threadpool_run(c->pool, tasks, softmax_task, &j);
}

static void softmax_run(eo_op_ctx *c, bool log_softmax) {
  const eo_tview *x = c->in[0];
  eo_tview *y = c->out[0];
  int64_t outer, n, inner;
  softmax_split(c, &outer, &n, &inner);
  switch (x->dtype) {
    case EO_FLOAT: softmax_f32(c, outer, n, inner, x->data, y->data, log_softmax); break;
    case EO_DOUBLE: eo_f64_softmax__ref(outer, n, inner, x->data, y->data, log_softmax); break;
    default: { /* float16 / bfloat16 */
      int64_t cnt = eo_tview_numel(x);
      float *xf = c->scratch, *yf = (float *)((char *)c->scratch + eo_pk_align((size_t)cnt * sizeof(float)));
      eo_pk_to_f32(x->dtype, x->data, xf, cnt);
      softmax_f32(c, outer, n, inner, xf, yf, log_softmax);
      eo_pk_from_f32(x->dtype, yf, y->data, cnt);
    }
  }
}

static void softmax_forward(eo_op_ctx *c) { softmax_run(c, false); }
static void log_softmax_forward(eo_op_ctx *c) { softmax_run(c, true); }

/* max, exp, sum, scale: about 4 operations per element. */
static double softmax_flops(const eo_op_ctx *c) { return 4 * eo_tview_numel(c->in[0]); }

EO_DEFINE_OP(softmax, .name = "Softmax", .infer = softmax_infer, .prepare = softmax_prepare,
             .forward = softmax_forward, .release = free, .flops = softmax_flops);
EO_DEFINE_OP(log_softmax, .name = "LogSoftmax", .infer = softmax_infer, .prepare = softmax_prepare,
             .forward = log_softmax_forward, .release = free, .flops = softmax_flops);
