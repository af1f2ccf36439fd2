/* Conv (opsets 1-22): float32, 1-D/2-D/3-D, groups (depthwise included), strides, dilations,
 * explicit or automatic padding (NOTSET, VALID, SAME_UPPER, SAME_LOWER), optional bias,
 * kernel_shape inferred from W, a fused activation epilogue (node->fused_act), and in a session a
 * fused residual (node->fused_residual: in[3] added before the activation).
 * Kernels: the fast plan of kernels/fast.h (weights packed here at prepare; depthwise, 1x1 and
 * im2col paths on the ISA the CPU has) when W is a constant; else, and with force_ref,
 * eo_f32_conv__ref (im2col + blocked GEMM, direct loop for depthwise). */
#include <stdio.h>
#include <stdlib.h>

#include "core/threads.h"
#include "runtime/activation.h"
#include "runtime/kernels/fast.h"
#include "runtime/kernels/ref/ref_kernels.h"
#include "runtime/op.h"
#include "runtime/ops/conv_attrs.h"

/* Resolves the geometry from input shapes and attributes; out_dims gets Y's shape (rank of X). */
static eo_status conv_geometry(const eo_op_ctx *c, eo_conv_params *p, int64_t *out_dims) {
  const eo_tview *x = c->in[0], *w = c->n_in > 1 ? c->in[1] : NULL, *b = c->n_in > 2 ? c->in[2] : NULL;
  char s1[160], s2[160];
  eo_status st;
  int nsp;
  int64_t group;
  if ((st = eo_conv_check_inputs(c, &nsp, &group))) return st;
  int64_t cin = x->dims[1], m = w->dims[0];
  if (w->dims[1] * group != cin)
    return eo_op_error(c, EO_ERR_SHAPE, "W %s with group %lld expects %lld input channels, X %s has %lld",
                       eo_shape_str(w->rank, w->dims, s1, sizeof s1), (long long)group,
                       (long long)(w->dims[1] * group), eo_shape_str(x->rank, x->dims, s2, sizeof s2), (long long)cin);
  if (m % group != 0)
    return eo_op_error(c, EO_ERR_SHAPE, "W has %lld output channels, not divisible by group %lld", (long long)m,
                       (long long)group);
  if (b && (b->rank != 1 || b->dims[0] != m))
    return eo_op_error(c, EO_ERR_SHAPE, "B has shape %s, expected [%lld]", eo_shape_str(b->rank, b->dims, s1, sizeof s1),
                       (long long)m);
  return eo_conv_forward_geometry(c, nsp, m, group, out_dims, p);
}

static eo_status conv_infer(eo_op_ctx *c) {
  eo_conv_params p;
  int64_t dims[EO_MAX_RANK];
  eo_status st = conv_geometry(c, &p, dims);
  if (st) return st;
  eo_tview_set_shape(c->out[0], EO_FLOAT, c->in[0]->rank, dims);
  if (!c->node->fused_residual) return EO_OK;
  const eo_tview *r = c->n_in > 3 ? c->in[3] : NULL;  // the pass checked this; a graph edited since would not be
  bool same = r && r->dtype == EO_FLOAT && r->rank == c->in[0]->rank;
  for (int d = 0; same && d < r->rank; d++) same = r->dims[d] == dims[d];
  if (!same) return eo_op_error(c, EO_ERR_INVALID, "the fused residual input must have the output's shape and dtype");
  return EO_OK;
}

typedef struct conv_state {
  eo_conv_params p;
  eo_f32_conv_plan *plan;  /* NULL: reference kernel */
  eo_f32_act post;         /* with a fused residual: the activation, applied after adding it */
  eo_f32_vact_fn vact;     /* its kernel (NULL: the reference) */
  int64_t planes, plane;   /* with a fused residual: output planes (batch x channels), their size */
} conv_state;

static void conv_release(void *state) {
  conv_state *s = state;
  if (s) eo_f32_conv_plan_free(s->plan);
  free(s);
}

static eo_status conv_prepare(eo_op_ctx *c) {
  conv_state *s = calloc(1, sizeof *s);
  int64_t dims[EO_MAX_RANK];
  if (!s) return eo_op_error(c, EO_ERR_NOMEM, "out of memory");
  eo_status st = conv_geometry(c, &s->p, dims);
  if (st) {
    free(s);
    return st;
  }
  c->state = s;
  s->post = (eo_f32_act){-1, 0.0f, 0.0f};
  if (c->node->fused_residual) {  // the kernels add no activation; residual_epilogue adds r, then applies it
    s->post = (eo_f32_act){s->p.act_op, s->p.act_alpha, s->p.act_beta};
    s->p.act_op = -1;
    s->planes = dims[0] * dims[1];
    s->plane = eo_numel(c->out[0]->rank - 2, dims + 2);
  }
  const eo_f32_kernels_t *kr = c->force_ref ? NULL : eo_f32_kernels(eo_cpu_isa());
  if (kr && c->in[1]->data && eo_numel(c->out[0]->rank, c->out[0]->dims) > 0) {
    if ((st = eo_f32_conv_plan_create(kr, &s->p, c->in[1]->data, eo_threadpool_size(c->pool), &s->plan))) {
      char msg[256];
      snprintf(msg, sizeof msg, "%s", eo_last_error());
      conv_release(s);
      c->state = NULL;
      return eo_op_error(c, st, "%s", msg);
    }
    s->vact = eo_f32_act_supported(s->post.op) ? kr->vact : NULL;
    eo_f32_conv_plan_readers_split_rows(s->plan, c->readers_split_rows);
    c->scratch_bytes = eo_f32_conv_plan_scratch(s->plan);
    c->local_bytes = eo_f32_conv_plan_local(s->plan);
    c->packed_bytes = eo_f32_conv_plan_packed_bytes(s->plan);
    c->captured_inputs = 1u << 1;  // W lives on in the plan only
  } else {
    c->scratch_bytes = eo_f32_conv_scratch__ref(&s->p);
  }
  return EO_OK;
}

/* The fused residual: y = act(y + r), as the Add and activation steps computed it (the same float
 * operations, so the same results), in one pass instead of two steps. Tasks are bands of positions
 * across every plane, the way most convolution paths split their output. */
typedef struct residual_job {
  const conv_state *s;
  const float *r;
  float *y;
  int64_t band; /* positions per task */
} residual_job;

static void residual_task(void *ctx, size_t index, int worker) {
  (void)worker;
  const residual_job *J = ctx;
  const conv_state *s = J->s;
  const int64_t p0 = (int64_t)index * J->band, n = s->plane - p0 < J->band ? s->plane - p0 : J->band;
  for (int64_t q = 0; q < s->planes; q++) {
    float *y = J->y + q * s->plane + p0;
    const float *r = J->r + q * s->plane + p0;
    for (int64_t i = 0; i < n; i++) y[i] += r[i];
    if (s->post.op < 0) continue;
    if (s->vact)
      s->vact(&s->post, y, y, n);
    else
      eo_f32_activation__ref(s->post.op, s->post.alpha, s->post.beta, y, n);
  }
}

static void residual_epilogue(const conv_state *s, const float *r, float *y, eo_threadpool *pool) {
  // ~32K floats a task, so up to 32K run on the caller alone: where the thread tuner ran the Add steps
  // this replaces (mobilenet_v2 at 2 threads: its Adds of 8-25K floats alone, 75K on the pool; so were
  // resnet18's of 100-200K)
  int64_t band = 32768 / (s->planes > 0 ? s->planes : 1);
  band = band < 64 ? 64 : band;
  if (band > s->plane || eo_threadpool_size(pool) < 2) band = s->plane;
  residual_job J = {s, r, y, band};
  eo_threadpool_run(pool, (size_t)((s->plane + band - 1) / band), residual_task, &J);
}

static void conv_forward(eo_op_ctx *c) {
  const conv_state *s = c->state;
  const eo_tview *b = c->n_in > 2 ? c->in[2] : NULL;
  if (s->plan)
    eo_f32_conv_run(s->plan, c->in[0]->data, b ? b->data : NULL, c->out[0]->data, c->pool, c->scratch);
  else
    eo_f32_conv__ref(&s->p, c->in[0]->data, c->in[1]->data, b ? b->data : NULL, c->out[0]->data, c->scratch);
  if (c->node->fused_residual) residual_epilogue(s, c->in[3]->data, c->out[0]->data, c->pool);
}

/* 2 * MACs: every output element sums Cg * kvol products. */
static double conv_flops(const eo_op_ctx *c) {
  const eo_tview *w = c->in[1];
  return 2.0 * (double)eo_tview_numel(c->out[0]) * (double)eo_numel(w->rank - 1, w->dims + 1);
}

EO_DEFINE_OP(conv, .name = "Conv", .infer = conv_infer, .prepare = conv_prepare, .forward = conv_forward,
             .release = conv_release, .flops = conv_flops);
