/* MatMul (opsets 1-13): numpy.matmul semantics on float32 — 1-D operands (a vector A is [1, K],
 * a vector B is [K, 1], the added dim is dropped from Y) and broadcasting of the batch dims.
 * When B has no batch dims, A's batch folds into the GEMM's rows (one call for a whole
 * [batch, seq, K] x [K, N] projection). Kernels: the fast GEMM of kernels/fast.h (a constant
 * unbatched B is packed once at prepare), or with force_ref eo_f32_gemm__ref. */
#include <stdlib.h>
#include <string.h>

#include "runtime/activation.h"
#include "runtime/kernels/fast.h"
#include "runtime/kernels/ref/ref_kernels.h"
#include "runtime/op.h"

typedef struct matmul_state {
  int64_t m, n, k;
  int nb;                                  /* batch rank of Y */
  int64_t bdims[EO_MAX_RANK];              /* Y's batch dims */
  int64_t a_step[EO_MAX_RANK], b_step[EO_MAX_RANK]; /* matrix-index strides per batch dim (0 = broadcast) */
  int64_t n_batch;                         /* product of bdims */
  bool fold;                               /* B unbatched: one GEMM with m * n_batch rows */
  int act_op;
  float act_alpha, act_beta;
  const eo_f32_kernels_t *kr; /* NULL: reference kernel */
  float *b_packed;            /* constant unbatched B packed at prepare (fast path), or NULL */
} matmul_state;

static void matmul_release(void *state) {
  matmul_state *s = state;
  if (s) free(s->b_packed);
  free(s);
}

/* Fast-kernel arguments of one GEMM call; operand pointers are filled in at run. */
static eo_f32_gemm_args matmul_args(const matmul_state *s) {
  return (eo_f32_gemm_args){.m = s->fold ? s->m * s->n_batch : s->m, .n = s->n, .k = s->k, .a_rs = s->k, .a_cs = 1,
                            .b_packed = s->b_packed, .b_rs = s->n, .b_cs = 1, .ldc = s->n, .alpha = 1.0f,
                            .act = {s->act_op, s->act_alpha, s->act_beta}};
}

static eo_status matmul_setup(const eo_op_ctx *c, matmul_state *s, int *y_rank, int64_t *y_dims) {
  const eo_tview *a = c->in[0], *b = c->n_in > 1 ? c->in[1] : NULL;
  char s1[160], s2[160];
  memset(s, 0, sizeof *s);
  if (!a || !b) return eo_op_error(c, EO_ERR_INVALID, "inputs A and B are required");
  if (!c->out[0]) return eo_op_error(c, EO_ERR_INVALID, "output Y is required");
  if (a->dtype != EO_FLOAT || b->dtype != EO_FLOAT)
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "A/B have dtypes %s/%s, expected float32", eo_dtype_name(a->dtype),
                       eo_dtype_name(b->dtype));
  if (a->rank < 1 || b->rank < 1)
    return eo_op_error(c, EO_ERR_SHAPE, "A %s and B %s must have rank >= 1", eo_shape_str(a->rank, a->dims, s1, sizeof s1),
                       eo_shape_str(b->rank, b->dims, s2, sizeof s2));
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] < 0) return eo_op_error(c, EO_ERR_SHAPE, "A %s has unknown dims", eo_shape_str(a->rank, a->dims, s1, sizeof s1));
  for (int i = 0; i < b->rank; i++)
    if (b->dims[i] < 0) return eo_op_error(c, EO_ERR_SHAPE, "B %s has unknown dims", eo_shape_str(b->rank, b->dims, s1, sizeof s1));
  s->m = a->rank == 1 ? 1 : a->dims[a->rank - 2];
  s->k = a->dims[a->rank - 1];
  int64_t kb = b->rank == 1 ? b->dims[0] : b->dims[b->rank - 2];
  s->n = b->rank == 1 ? 1 : b->dims[b->rank - 1];
  if (kb != s->k)
    return eo_op_error(c, EO_ERR_SHAPE, "A %s and B %s: inner dims %lld and %lld differ", eo_shape_str(a->rank, a->dims, s1, sizeof s1),
                       eo_shape_str(b->rank, b->dims, s2, sizeof s2), (long long)s->k, (long long)kb);
  int ra = a->rank > 2 ? a->rank - 2 : 0, rb = b->rank > 2 ? b->rank - 2 : 0;
  eo_status st = eo_broadcast_shape(c, ra, a->dims, rb, b->dims, &s->nb, s->bdims);
  if (st) return st;
  /* Batch strides counted in whole matrices, from the innermost batch dim outwards. */
  int64_t sa = 1, sb = 1;
  s->n_batch = 1;
  for (int i = s->nb - 1; i >= 0; i--) {
    int ia = i - (s->nb - ra), ib = i - (s->nb - rb);
    int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
    s->a_step[i] = da == 1 ? 0 : sa;
    s->b_step[i] = db == 1 ? 0 : sb;
    sa *= da;
    sb *= db;
    s->n_batch *= s->bdims[i];
  }
  s->fold = rb == 0;
  int r = 0;
  for (int i = 0; i < s->nb; i++) y_dims[r++] = s->bdims[i];
  if (a->rank > 1) y_dims[r++] = s->m;
  if (b->rank > 1) y_dims[r++] = s->n;
  *y_rank = r;
  return eo_fused_activation(c, &s->act_op, &s->act_alpha, &s->act_beta);
}

static eo_status matmul_infer(eo_op_ctx *c) {
  matmul_state s;
  int r;
  int64_t dims[EO_MAX_RANK];
  eo_status st = matmul_setup(c, &s, &r, dims);
  if (st) return st;
  eo_tview_set_shape(c->out[0], EO_FLOAT, r, dims);
  return EO_OK;
}

static eo_status matmul_prepare(eo_op_ctx *c) {
  matmul_state *s = malloc(sizeof *s);
  int r;
  int64_t dims[EO_MAX_RANK];
  if (!s) return eo_op_error(c, EO_ERR_NOMEM, "out of memory");
  eo_status st = matmul_setup(c, s, &r, dims);
  if (st) {
    free(s);
    return st;
  }
  c->state = s;
  s->kr = c->force_ref ? NULL : eo_f32_kernels(eo_cpu_isa());
  if (!s->kr) {
    c->scratch_bytes = eo_f32_gemm_workspace__ref(s->fold ? s->m * s->n_batch : s->m, s->n, s->k);
    return EO_OK;
  }
  if (s->fold && c->in[1]->data && s->n > 0 && s->m * s->n_batch > 0) {
    if (!(s->b_packed = eo_f32_gemm_pack_b_new(s->kr, s->k, s->n, c->in[1]->data, s->n, 1))) {
      matmul_release(s);
      c->state = NULL;
      return eo_op_error(c, EO_ERR_NOMEM, "out of memory packing B");
    }
    c->packed_bytes = eo_f32_gemm_packed_b_bytes(s->kr, s->k, s->n);
    c->captured_inputs = 1u << 1;
  }
  eo_f32_gemm_args g = matmul_args(s);
  c->scratch_bytes = eo_f32_gemm_workspace(s->kr, &g, eo_threadpool_size(c->pool));
  c->local_bytes = eo_f32_gemm_local(s->kr, &g);
  return EO_OK;
}

/* Odometer step over Y's batch dims (idx), moving A's and B's matrix indices along. */
static void next_batch(const matmul_state *s, int64_t *idx, int64_t *ia, int64_t *ib) {
  for (int d = s->nb - 1; d >= 0; d--) {
    *ia += s->a_step[d];
    *ib += s->b_step[d];
    if (++idx[d] < s->bdims[d]) return;
    *ia -= s->a_step[d] * s->bdims[d];
    *ib -= s->b_step[d] * s->bdims[d];
    idx[d] = 0;
  }
}

static void matmul_forward(eo_op_ctx *c) {
  const matmul_state *s = c->state;
  const float *a = c->in[0]->data, *b = c->in[1]->data;
  float *y = c->out[0]->data;
  int64_t m = s->m, n = s->n, k = s->k, total = s->n_batch * m * n;
  if (s->kr) {  // Y = A B (+ activation) per GEMM, nothing to pre-initialize
    eo_f32_gemm_args g = matmul_args(s);
    if (s->fold) {
      g.a = a;
      g.b = b;
      g.c = y;
      eo_f32_gemm(s->kr, &g, c->pool, c->scratch);
      return;
    }
    int64_t idx[EO_MAX_RANK] = {0}, ia = 0, ib = 0;
    for (int64_t t = 0; t < s->n_batch; t++) {
      g.a = a + ia * m * k;
      g.b = b + ib * k * n;
      g.c = y + t * m * n;
      eo_f32_gemm(s->kr, &g, c->pool, c->scratch);
      next_batch(s, idx, &ia, &ib);
    }
    return;
  }
  memset(y, 0, (size_t)total * sizeof(float));
  if (s->fold) {
    /* A's batch dims are Y's and A is contiguous: [n_batch * m, k] x [k, n]. */
    eo_f32_gemm__ref(s->n_batch * m, n, k, 1.0f, a, k, 1, b, n, 1, y, n, c->scratch);
  } else {
    int64_t idx[EO_MAX_RANK] = {0}, ia = 0, ib = 0;
    for (int64_t t = 0; t < s->n_batch; t++) {
      eo_f32_gemm__ref(m, n, k, 1.0f, a + ia * m * k, k, 1, b + ib * k * n, n, 1, y + t * m * n, n, c->scratch);
      next_batch(s, idx, &ia, &ib);
    }
  }
  if (s->act_op >= 0) eo_f32_activation__ref(s->act_op, s->act_alpha, s->act_beta, y, total);
}

static double matmul_flops(const eo_op_ctx *c) {
  const eo_tview *a = c->in[0];
  return 2.0 * (double)eo_tview_numel(c->out[0]) * (double)a->dims[a->rank - 1];
}

EO_DEFINE_OP(matmul, .name = "MatMul", .infer = matmul_infer, .prepare = matmul_prepare, .forward = matmul_forward,
             .release = matmul_release, .flops = matmul_flops);
