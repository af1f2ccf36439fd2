/* Gemm (opsets 7-13): Y = alpha * A' * B' + beta * C, float32, with transA/transB and C
 * unidirectionally broadcast to [M, N]. C is required before opset 11, optional from 11.
 * Kernels: the fast GEMM of kernels/fast.h (a constant B is packed once at prepare), or with
 * force_ref eo_f32_gemm__ref (transposes are handled by the operand strides in both). */
#include <stdlib.h>
#include <string.h>

#include "runtime/activation.h"
#include "runtime/kernels/fast.h"
#include "runtime/kernels/ref/ref_kernels.h"
#include "runtime/op.h"

typedef struct gemm_state {
  int64_t m, n, k;
  bool trans_a, trans_b;
  float alpha, beta;
  int c_rank;
  int64_t c_dims[2]; /* C's shape right-aligned to [M, N] (1 where broadcast) */
  int act_op;
  float act_alpha, act_beta;
  const eo_f32_kernels_t *kr; /* NULL: reference kernel */
  float *b_packed;            /* constant B packed at prepare (fast path), or NULL */
} gemm_state;

static void gemm_release(void *state) {
  gemm_state *s = state;
  if (s) free(s->b_packed);
  free(s);
}

/* Fast-kernel arguments; A, B and Y pointers are filled in at run. */
static eo_f32_gemm_args gemm_args(const gemm_state *s, bool has_c) {
  return (eo_f32_gemm_args){.m = s->m, .n = s->n, .k = s->k, .a_rs = s->trans_a ? 1 : s->k,
                            .a_cs = s->trans_a ? s->m : 1, .b_packed = s->b_packed, .b_rs = s->trans_b ? 1 : s->n,
                            .b_cs = s->trans_b ? s->k : 1, .ldc = s->n, .alpha = s->alpha, .accumulate = has_c,
                            .act = {s->act_op, s->act_alpha, s->act_beta}};
}

static eo_status gemm_setup(const eo_op_ctx *c, gemm_state *s) {
  const eo_tview *a = c->in[0], *b = c->n_in > 1 ? c->in[1] : NULL, *cc = c->n_in > 2 ? c->in[2] : NULL;
  char s1[160], s2[160];
  memset(s, 0, sizeof *s);
  if (!a || !b) return eo_op_error(c, EO_ERR_INVALID, "inputs A and B are required");
  if (!cc && c->opset < 11)
    return eo_op_error(c, EO_ERR_INVALID, "input C is required before opset 11 (model opset %lld)", (long long)c->opset);
  if (!c->out[0]) return eo_op_error(c, EO_ERR_INVALID, "output Y is required");
  if (a->dtype != EO_FLOAT || b->dtype != EO_FLOAT || (cc && cc->dtype != EO_FLOAT))
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "A/B/C have dtypes %s/%s/%s, expected float32", eo_dtype_name(a->dtype),
                       eo_dtype_name(b->dtype), cc ? eo_dtype_name(cc->dtype) : "-");
  if (a->rank != 2 || b->rank != 2)
    return eo_op_error(c, EO_ERR_SHAPE, "A %s and B %s must be matrices (rank 2)",
                       eo_shape_str(a->rank, a->dims, s1, sizeof s1), eo_shape_str(b->rank, b->dims, s2, sizeof s2));
  int64_t ta = eo_attr_i(c->node, "transA", 0), tb = eo_attr_i(c->node, "transB", 0);
  if ((ta != 0 && ta != 1) || (tb != 0 && tb != 1))
    return eo_op_error(c, EO_ERR_INVALID, "transA = %lld, transB = %lld, expected 0 or 1", (long long)ta, (long long)tb);
  s->trans_a = ta;
  s->trans_b = tb;
  s->m = a->dims[ta ? 1 : 0];
  s->k = a->dims[ta ? 0 : 1];
  int64_t kb = b->dims[tb ? 1 : 0];
  s->n = b->dims[tb ? 0 : 1];
  if (s->m < 0 || s->n < 0 || s->k < 0 || kb != s->k)
    return eo_op_error(c, EO_ERR_SHAPE, "A %s (transA=%lld) and B %s (transB=%lld) have mismatched inner dims",
                       eo_shape_str(a->rank, a->dims, s1, sizeof s1), (long long)ta,
                       eo_shape_str(b->rank, b->dims, s2, sizeof s2), (long long)tb);
  s->alpha = eo_attr_f(c->node, "alpha", 1.0f);
  s->beta = eo_attr_f(c->node, "beta", 1.0f);
  if (cc) {
    const int64_t mn[2] = {s->m, s->n};
    if (cc->rank > 2)
      return eo_op_error(c, EO_ERR_SHAPE, "C has shape %s, expected rank <= 2 broadcastable to [%lld,%lld]",
                         eo_shape_str(cc->rank, cc->dims, s1, sizeof s1), (long long)s->m, (long long)s->n);
    s->c_rank = cc->rank;
    for (int i = 0; i < 2; i++) {
      int j = i - (2 - cc->rank);
      int64_t d = j < 0 ? 1 : cc->dims[j];
      if (d != 1 && d != mn[i])
        return eo_op_error(c, EO_ERR_SHAPE, "C has shape %s, not broadcastable to [%lld,%lld]",
                           eo_shape_str(cc->rank, cc->dims, s1, sizeof s1), (long long)s->m, (long long)s->n);
      s->c_dims[i] = d;
    }
  }
  return eo_fused_activation(c, &s->act_op, &s->act_alpha, &s->act_beta);
}

static eo_status gemm_infer(eo_op_ctx *c) {
  gemm_state s;
  eo_status st = gemm_setup(c, &s);
  if (st) return st;
  eo_tview_set_shape(c->out[0], EO_FLOAT, 2, (const int64_t[]){s.m, s.n});
  return EO_OK;
}

static eo_status gemm_prepare(eo_op_ctx *c) {
  gemm_state *s = malloc(sizeof *s);
  if (!s) return eo_op_error(c, EO_ERR_NOMEM, "out of memory");
  eo_status st = gemm_setup(c, s);
  if (st) {
    free(s);
    return st;
  }
  c->state = s;
  s->kr = c->force_ref ? NULL : eo_f32_kernels(eo_cpu_isa());
  if (!s->kr) {
    c->scratch_bytes = eo_f32_gemm_workspace__ref(s->m, s->n, s->k);
    return EO_OK;
  }
  const eo_tview *b = c->in[1];
  if (b->data && s->m > 0 && s->n > 0) {
    s->b_packed = eo_f32_gemm_pack_b_new(s->kr, s->k, s->n, b->data, s->trans_b ? 1 : s->n, s->trans_b ? s->k : 1);
    if (!s->b_packed) {
      gemm_release(s);
      c->state = NULL;
      return eo_op_error(c, EO_ERR_NOMEM, "out of memory packing B");
    }
    c->packed_bytes = eo_f32_gemm_packed_b_bytes(s->kr, s->k, s->n);
    c->captured_inputs = 1u << 1;
  }
  eo_f32_gemm_args g = gemm_args(s, c->n_in > 2 && c->in[2]);
  c->scratch_bytes = eo_f32_gemm_workspace(s->kr, &g, eo_threadpool_size(c->pool));
  c->local_bytes = eo_f32_gemm_local(s->kr, &g);
  return EO_OK;
}

static void gemm_forward(eo_op_ctx *c) {
  const gemm_state *s = c->state;
  const float *a = c->in[0]->data, *b = c->in[1]->data;
  const float *cc = c->n_in > 2 && c->in[2] ? c->in[2]->data : NULL;
  float *y = c->out[0]->data;
  int64_t m = s->m, n = s->n, k = s->k;
  /* Y starts as beta * C (broadcast), then the product accumulates into it. */
  for (int64_t i = 0; i < m; i++) {
    float *yr = y + i * n;
    if (!cc) {
      memset(yr, 0, (size_t)n * sizeof(float));
      continue;
    }
    const float *cr = cc + (s->c_dims[0] == 1 ? 0 : i) * s->c_dims[1];
    if (s->c_dims[1] == 1)
      for (int64_t j = 0; j < n; j++) yr[j] = s->beta * cr[0];
    else
      for (int64_t j = 0; j < n; j++) yr[j] = s->beta * cr[j];
  }
  if (s->kr) {
    eo_f32_gemm_args g = gemm_args(s, true);  // Y holds beta * C or zeros
    g.a = a;
    g.b = b;
    g.c = y;
    eo_f32_gemm(s->kr, &g, c->pool, c->scratch);
    return;
  }
  eo_f32_gemm__ref(m, n, k, s->alpha, a, s->trans_a ? 1 : k, s->trans_a ? m : 1, b, s->trans_b ? 1 : n,
                   s->trans_b ? k : 1, y, n, c->scratch);
  if (s->act_op >= 0) eo_f32_activation__ref(s->act_op, s->act_alpha, s->act_beta, y, m * n);
}

static double gemm_flops(const eo_op_ctx *c) {
  const eo_tview *a = c->in[0];
  int64_t k = a->dims[eo_attr_i(c->node, "transA", 0) ? 0 : 1];
  return 2.0 * (double)eo_tview_numel(c->out[0]) * (double)k;
}

EO_DEFINE_OP(gemm, .name = "Gemm", .infer = gemm_infer, .prepare = gemm_prepare, .forward = gemm_forward,
             .release = gemm_release, .flops = gemm_flops);
