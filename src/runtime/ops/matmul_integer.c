/* MatMulInteger (opset 10): Y (int32) = (A - a_zero_point) x (B - b_zero_point), int32
 * accumulation. A and B int8 or uint8. A has rank >= 1 (leading dims are batch; a vector is [1, K]
 * with the dim dropped from Y); B is a [K, N] matrix. a_zero_point is a scalar or has one value per
 * row of A (M); b_zero_point a scalar or one value per column of B (N).
 * Kernels: with AVX-512 VNNI, B and b_zero_point constant, a scalar a_zero_point (read at each run:
 * DynamicQuantizeLinear makes it) and every B - b_zp fitting int8 (int8 B with zero point 0 as
 * quantize --mode dynamic writes it, uint8 with 128, ...): the VPDPBUSD GEMM of kernels/x86/qs8-fast.h
 * on the pool. Else, and with force_ref, the reference loop. Both give the same int32s. */
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/threads.h"
#include "runtime/kernels/x86/qs8-fast.h"
#include "runtime/op.h"

static int32_t q8(int dt, const void *p, int64_t i) {
  return dt == EO_INT8 ? ((const int8_t *)p)[i] : ((const uint8_t *)p)[i];
}

static eo_status check_zp(const eo_op_ctx *c, int k, int dt, int64_t per, const char *what) {
  const eo_tview *z = c->n_in > k ? c->in[k] : NULL;
  if (!z) return EO_OK;
  if (z->dtype != dt)
    return eo_op_error(c, EO_ERR_INVALID, "%s_zero_point is %s, expected %s like %s", what, eo_dtype_name(z->dtype),
                       eo_dtype_name(dt), what);
  int64_t n = eo_tview_numel(z);
  if (z->rank > 1 || (n != 1 && n != per))
    return eo_op_error(c, EO_ERR_SHAPE, "%s_zero_point must be a scalar or 1-D of %lld values, got %lld values", what,
                       (long long)per, (long long)n);
  return EO_OK;
}

static eo_status mmi_infer(eo_op_ctx *c) {
  if (c->n_in < 2 || c->n_in > 4 || !c->in[0] || !c->in[1] || c->n_out != 1 || !c->out[0])
    return eo_op_error(c, EO_ERR_INVALID, "expects 2 to 4 inputs (A, B, a_zero_point, b_zero_point) and 1 output");
  const eo_tview *a = c->in[0], *b = c->in[1];
  for (int k = 0; k < 2; k++)
    if (c->in[k]->dtype != EO_INT8 && c->in[k]->dtype != EO_UINT8)
      return eo_op_error(c, EO_ERR_UNSUPPORTED, "%s must be int8 or uint8, got %s", k ? "B" : "A",
                         eo_dtype_name(c->in[k]->dtype));
  if (a->rank < 1 || b->rank != 2)
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "A must have rank >= 1 and B rank 2 (a [K, N] matrix), got %d and %d",
                       a->rank, b->rank);
  int64_t k = a->dims[a->rank - 1], m = a->rank > 1 ? a->dims[a->rank - 2] : 1;
  if (k != b->dims[0])
    return eo_op_error(c, EO_ERR_SHAPE, "A's last dim %lld differs from B's first %lld", (long long)k,
                       (long long)b->dims[0]);
  eo_status st;
  if ((st = check_zp(c, 2, a->dtype, m, "a")) || (st = check_zp(c, 3, b->dtype, b->dims[1], "b"))) return st;
  int64_t dims[EO_MAX_RANK];
  memcpy(dims, a->dims, sizeof dims);
  int r = a->rank;
  if (r == 1) dims[0] = b->dims[1];
  else dims[r - 1] = b->dims[1];
  eo_tview_set_shape(c->out[0], EO_INT32, r, dims);
  return EO_OK;
}

typedef struct mmi_state {
  eo_qs8_gemm_plan plan; /* plan.bpk != NULL: the VNNI GEMM */
  int64_t rows;
} mmi_state;

static void mmi_release(void *state) {
  mmi_state *s = state;
  if (s) eo_qs8_gemm_plan_free(&s->plan);
  free(s);
}

static eo_status mmi_prepare(eo_op_ctx *c) {
  const eo_tview *a = c->in[0], *b = c->in[1];
  const eo_tview *az = c->n_in > 2 ? c->in[2] : NULL, *bz = c->n_in > 3 ? c->in[3] : NULL;
  int64_t K = b->dims[0], N = b->dims[1];
  if (c->force_ref || eo_cpu_isa() < EO_ISA_AVX512 || !eo_cpu_info_get()->avx512vnni || !b->data || (bz && !bz->data) ||
      (az && eo_tview_numel(az) != 1) || K < 1 || N < 1 || eo_tview_numel(a) < 1)
    return EO_OK;
  mmi_state *s = eo_calloc(1, sizeof *s);
  int8_t *b8 = eo_malloc((size_t)(K * N));
  bool fits = s && b8;
  int64_t nbz = bz ? eo_tview_numel(bz) : 0;
  for (int64_t i = 0; fits && i < K * N; i++) {
    int32_t v = q8(b->dtype, b->data, i) - (bz ? q8(bz->dtype, bz->data, nbz == 1 ? 0 : i % N) : 0);
    fits = v >= -128 && v <= 127;
    if (fits) b8[i] = (int8_t)v;
  }
  bool nomem = !s || !b8 || (fits && !eo_qs8_gemm_plan_init(&s->plan, K, N, b8));
  free(b8);
  if (nomem || !fits) {
    free(s);
    return nomem ? eo_op_error(c, EO_ERR_NOMEM, "out of memory packing B") : EO_OK;
  }
  s->rows = eo_tview_numel(a) / K;
  c->state = s;
  c->scratch_bytes = eo_qs8_gemm_plan_scratch(&s->plan, s->rows) + 64;  // + room to align to 64
  c->packed_bytes = (size_t)(s->plan.ng * s->plan.K4 * 256) + (size_t)(s->plan.ng * 64) * sizeof(int32_t);
  c->captured_inputs = 1u << 1;  // B - b_zp in the plan; forward reads neither
  return EO_OK;
}

static void mmi_forward(eo_op_ctx *c) {
  const eo_tview *a = c->in[0], *b = c->in[1];
  const eo_tview *az = c->n_in > 2 ? c->in[2] : NULL, *bz = c->n_in > 3 ? c->in[3] : NULL;
  const mmi_state *s = c->state;
  if (s && c->scratch) {  // (a caller that gives no scratch gets the reference loop)
    void *scratch = (void *)(((uintptr_t)c->scratch + 63) & ~(uintptr_t)63);
    eo_qs8_gemm_plan_run(&s->plan, s->rows, a->data, a->dtype == EO_INT8, az ? q8(az->dtype, az->data, 0) : 0,
                         c->out[0]->data, scratch, c->pool);
    return;
  }
  int64_t K = b->dims[0], N = b->dims[1], rows = eo_tview_numel(a) / (K ? K : 1);
  int64_t M = a->rank > 1 ? a->dims[a->rank - 2] : 1;
  int64_t naz = az ? eo_tview_numel(az) : 0, nbz = bz ? eo_tview_numel(bz) : 0;
  int32_t *y = c->out[0]->data;
  for (int64_t i = 0; i < rows; i++) {
    int32_t za = az ? q8(az->dtype, az->data, naz == 1 ? 0 : i % M) : 0;
    for (int64_t j = 0; j < N; j++) {
      int32_t zb = bz ? q8(bz->dtype, bz->data, nbz == 1 ? 0 : j) : 0, acc = 0;
      for (int64_t p = 0; p < K; p++)
        acc += (q8(a->dtype, a->data, i * K + p) - za) * (q8(b->dtype, b->data, p * N + j) - zb);
      y[i * N + j] = acc;
    }
  }
}

static double mmi_flops(const eo_op_ctx *c) { return 2.0 * (double)eo_tview_numel(c->out[0]) * (double)c->in[1]->dims[0]; }

EO_DEFINE_OP(matmul_integer, .name = "MatMulInteger", .infer = mmi_infer, .prepare = mmi_prepare,
             .forward = mmi_forward, .release = mmi_release, .flops = mmi_flops);
