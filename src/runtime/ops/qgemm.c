/* QGemm (com.microsoft, ONNX Runtime's quantized Gemm; also the fuse_qdq pass's form of DQ(A), DQ(B)
 * [, DQ(C int32)] -> Gemm [-> Q]): inputs A, a_scale, a_zero_point, B, b_scale, b_zero_point, C
 * (int32, optional), y_scale, y_zero_point (optional: without them Y is float32); attributes alpha,
 * transA, transB. As ORT computes it: acc = C[n] + sum_k (A - a_zp) * (B - b_zp[n]) in int32, then
 * with scale[n] = alpha * a_scale * b_scale[n] (/ y_scale when quantized, float32 in that order)
 * either QLinearConv's requantization (eo_qs8_requant) or Y = (float)acc * scale[n].
 * Supported here: 2-D A [M, K] (transA 0), B constant (packed once as int16 B - b_zp, K contiguous),
 * b_scale / b_zero_point per tensor or per column N, C of N elements. */
#include <string.h>

#include "core/cpu.h"
#include "runtime/kernels/ref/qconv_kernels.h"
#include "runtime/kernels/ref/qlinear_kernels.h"
#include "runtime/ops/qlinear_util.h"

enum { IA, IAS, IAZ, IB, IBS, IBZ, IC, IYS, IYZ };

typedef struct qgemm_state {
  int64_t m, n, k;
  int16_t *b16;  /* [n][k]: B - b_zp[n] */
  bool fast;
} qgemm_state;

static int64_t count1(const eo_tview *t) { return t ? eo_tview_numel(t) : 1; }

static eo_status qgemm_check(eo_op_ctx *c, int64_t *m, int64_t *n, int64_t *k) {
  const eo_tview *a = eo_ql_in(c, IA), *b = eo_ql_in(c, IB), *bc = eo_ql_in(c, IC);
  if (!a || !b || c->n_out < 1 || !c->out[0]) return eo_op_error(c, EO_ERR_INVALID, "needs inputs A and B and output Y");
  if (!eo_ql_is_q8(a->dtype) || !eo_ql_is_q8(b->dtype))
    return eo_op_error(c, EO_ERR_SHAPE, "A and B must be int8 or uint8, got %s and %s", eo_dtype_name(a->dtype),
                       eo_dtype_name(b->dtype));
  if (a->rank != 2 || b->rank != 2)
    return eo_op_error(c, EO_ERR_SHAPE, "A and B must be 2-D, got ranks %d and %d", a->rank, b->rank);
  if (eo_attr_i(c->node, "transA", 0) != 0) return eo_op_error(c, EO_ERR_UNSUPPORTED, "transA = 1 is not supported");
  bool tb = eo_attr_i(c->node, "transB", 0) != 0;
  *m = a->dims[0], *k = a->dims[1], *n = tb ? b->dims[0] : b->dims[1];
  if ((tb ? b->dims[1] : b->dims[0]) != *k)
    return eo_op_error(c, EO_ERR_SHAPE, "A [%lld, %lld] and B [%lld, %lld] (transB %d) do not multiply", (long long)*m,
                       (long long)*k, (long long)b->dims[0], (long long)b->dims[1], tb);
  eo_status st;
  if ((st = eo_ql_check(c, IAS, IAZ, a->dtype, "a"))) return st;
  const eo_tview *bs = eo_ql_in(c, IBS), *bz = eo_ql_in(c, IBZ);
  if (!bs || bs->dtype != EO_FLOAT || bs->rank > 1 || (count1(bs) != 1 && count1(bs) != *n))
    return eo_op_error(c, EO_ERR_SHAPE, "b_scale must be float32 with 1 or %lld elements", (long long)*n);
  if (bz && (bz->dtype != b->dtype || bz->rank > 1 || (count1(bz) != 1 && count1(bz) != *n)))
    return eo_op_error(c, EO_ERR_SHAPE, "b_zero_point must be %s with 1 or %lld elements", eo_dtype_name(b->dtype),
                       (long long)*n);
  if (bc && (bc->dtype != EO_INT32 || eo_tview_numel(bc) != *n))
    return eo_op_error(c, EO_ERR_SHAPE, "C must be int32 with %lld elements", (long long)*n);
  if (eo_ql_in(c, IYS) && (st = eo_ql_check(c, IYS, IYZ, a->dtype, "y"))) return st;
  return EO_OK;
}

static eo_status qgemm_infer(eo_op_ctx *c) {
  int64_t m, n, k;
  eo_status st = qgemm_check(c, &m, &n, &k);
  if (st) return st;
  eo_tview_set_shape(c->out[0], eo_ql_in(c, IYS) ? c->in[IA]->dtype : EO_FLOAT, 2, (int64_t[]){m, n});
  return EO_OK;
}

static int32_t q8_at(const eo_tview *t, int64_t i) {
  if (!t) return 0;
  if (eo_tview_numel(t) == 1) i = 0;
  return t->dtype == EO_INT8 ? ((const int8_t *)t->data)[i] : ((const uint8_t *)t->data)[i];
}

static void qgemm_release(void *state) {
  qgemm_state *s = state;
  if (s) free(s->b16);
  free(s);
}

static eo_status qgemm_prepare(eo_op_ctx *c) {
  qgemm_state *s = eo_calloc(1, sizeof *s);
  if (!s) return eo_op_error(c, EO_ERR_NOMEM, "out of memory");
  c->state = s;
  eo_status st = qgemm_check(c, &s->m, &s->n, &s->k);
  if (st) return st;
  const eo_tview *b = c->in[IB], *bz = eo_ql_in(c, IBZ);
  if (!b->data || (bz && !bz->data))
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "B and b_zero_point must be constants (initializers)");
  if (!(s->b16 = eo_malloc((size_t)(s->n * s->k) * sizeof(int16_t))))
    return eo_op_error(c, EO_ERR_NOMEM, "out of memory packing B");
  bool tb = eo_attr_i(c->node, "transB", 0) != 0;
  for (int64_t j = 0; j < s->n; j++)
    for (int64_t i = 0; i < s->k; i++)
      s->b16[j * s->k + i] = (int16_t)(q8_at(b, tb ? j * s->k + i : i * s->n + j) - q8_at(bz, j));
  s->fast = !c->force_ref && eo_cpu_isa() >= EO_ISA_AVX2;
  c->packed_bytes = (size_t)(s->n * s->k) * sizeof(int16_t);
  c->captured_inputs = 1u << IB;  // forward reads b16 only
  c->scratch_bytes = (size_t)s->k * sizeof(int16_t) + 4 + (size_t)s->n * sizeof(float);
  return EO_OK;
}

static void qgemm_forward(eo_op_ctx *c) {
  const qgemm_state *s = c->state;
  const eo_tview *a = c->in[IA], *bs = c->in[IBS], *bc = eo_ql_in(c, IC);
  int16_t *a16 = c->scratch;
  float *scale = (float *)((char *)c->scratch + (((size_t)s->k * sizeof(int16_t) + 3) & ~(size_t)3));
  bool quant = eo_ql_in(c, IYS) != NULL;
  float alpha = eo_attr_f(c->node, "alpha", 1.0f), as = eo_ql_scale(c, IAS);
  for (int64_t j = 0; j < s->n; j++) {
    float v = alpha * as;
    v = v * ((const float *)bs->data)[count1(bs) == 1 ? 0 : j];
    scale[j] = quant ? v / eo_ql_scale(c, IYS) : v;
  }
  bool s8 = a->dtype == EO_INT8;
  int32_t az = eo_ql_zp(c, IAZ), yz = quant ? eo_ql_zp(c, IYZ) : 0;
  const int32_t *bias = bc ? bc->data : NULL;
  for (int64_t r = 0; r < s->m; r++) {
    const uint8_t *ar = (const uint8_t *)a->data + r * s->k;
    for (int64_t i = 0; i < s->k; i++) a16[i] = (int16_t)((s8 ? (int32_t)(int8_t)ar[i] : (int32_t)ar[i]) - az);
    for (int64_t j = 0; j < s->n; j++) {
      const int16_t *bj = s->b16 + j * s->k;
      int32_t acc = (bias ? bias[j] : 0) + (s->fast ? eo_s16_dot__avx2(a16, bj, s->k) : eo_s16_dot__ref(a16, bj, s->k));
      if (quant)
        ((uint8_t *)c->out[0]->data)[r * s->n + j] =
            (uint8_t)eo_qs8_requant(acc, scale[j], yz, s8 ? -128 : 0, s8 ? 127 : 255);
      else
        ((float *)c->out[0]->data)[r * s->n + j] = (float)acc * scale[j];
    }
  }
}

static double qgemm_flops(const eo_op_ctx *c) {
  const eo_tview *a = c->in[IA];
  return 2.0 * (double)eo_tview_numel(c->out[0]) * (double)(a->rank == 2 ? a->dims[1] : 1);
}

EO_DEFINE_OP(qgemm, .name = "QGemm", .infer = qgemm_infer, .prepare = qgemm_prepare, .forward = qgemm_forward,
             .release = qgemm_release, .flops = qgemm_flops);
