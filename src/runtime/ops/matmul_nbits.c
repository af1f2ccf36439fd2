/* MatMulNBits (com.microsoft, ONNX Runtime's contrib op; what `edgeopt quantize --mode int4
 * --int4-format matmulnbits` writes): Y = A x dequant(B) (+ bias), B a constant [K, N] weight
 * quantized in blocks of block_size along K.
 *
 * Inputs: A float32 [..., K]; B uint8 [N, n_blocks, blob_size], n_blocks = ceil(K / block_size),
 * blob_size = block_size * bits / 8: weight (k, n) is element k % block_size of column n's blob
 * k / block_size, at bit ((k % block_size) * bits) of the blob, low bits first; scales float32
 * [N * n_blocks] (or [N, n_blocks]); zero_points (optional) uint8 packed the same way [N,
 * ceil(n_blocks * bits / 8)] or float32 [N * n_blocks], default 2^(bits-1); g_idx (deprecated)
 * refused; bias (optional) float32 [N]. dequant(B)(k, n) = (q - zero_point) * scale.
 * Attributes K, N, bits (2, 4 or 8 here: a value never straddles a byte), block_size (a power of 2,
 * >= 16); accuracy_level is ignored: float32 compute, ORT's levels 0/1 (level 4 quantizes A to int8
 * inside ORT; edgeopt does not).
 *
 * Kernels: matmul_nbits__ref dequantizes each weight as it reads it and accumulates in float32 in
 * k order (the specification); the fast path (constant B, scales and zero points) dequantizes B
 * once at prepare into the f32 GEMM's packed layout (kernels/fast.h) and runs that GEMM. */
#include <stdlib.h>
#include <string.h>

#include "runtime/kernels/fast.h"
#include "runtime/op.h"

enum { I_A, I_B, I_SCALES, I_ZP, I_GIDX, I_BIAS };

typedef struct mnb_shape {
  int64_t K, N, rows;  /* rows: A's elements / K */
  int64_t nblk, blob;  /* blocks per column, bytes per block */
  int bits, bs;
} mnb_shape;

typedef struct mnb_state {
  mnb_shape sh;
  const eo_f32_kernels_t *kr;  /* NULL: reference */
  float *b_packed;             /* fast path: dequantized B packed for the GEMM */
} mnb_state;

static const eo_tview *opt_in(const eo_op_ctx *c, int i) { return c->n_in > i ? c->in[i] : NULL; }

static eo_status mnb_shape_of(const eo_op_ctx *c, mnb_shape *s) {
  const eo_tview *a = opt_in(c, I_A), *b = opt_in(c, I_B), *sc = opt_in(c, I_SCALES);
  const eo_tview *zp = opt_in(c, I_ZP), *bias = opt_in(c, I_BIAS);
  char s1[160];
  if (!a || !b || !sc || c->n_out < 1 || !c->out[0])
    return eo_op_error(c, EO_ERR_INVALID, "needs inputs A, B, scales and output Y");
  if (opt_in(c, I_GIDX))
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "input g_idx (deprecated) is not supported");
  memset(s, 0, sizeof *s);
  s->K = eo_attr_i(c->node, "K", 0);
  s->N = eo_attr_i(c->node, "N", 0);
  int64_t bits = eo_attr_i(c->node, "bits", 4), bs = eo_attr_i(c->node, "block_size", 0);
  if (bits != 2 && bits != 4 && bits != 8)
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "bits = %lld; edgeopt runs 2, 4 or 8", (long long)bits);
  if (bs < 16 || bs > (1 << 20) || (bs & (bs - 1)))
    return eo_op_error(c, EO_ERR_INVALID, "block_size = %lld, expected a power of 2 >= 16", (long long)bs);
  if (s->K < 1 || s->N < 1)
    return eo_op_error(c, EO_ERR_INVALID, "attributes K = %lld and N = %lld must be >= 1", (long long)s->K,
                       (long long)s->N);
  s->bits = (int)bits;
  s->bs = (int)bs;
  s->nblk = (s->K + bs - 1) / bs;
  s->blob = bs * bits / 8;
  if (a->dtype != EO_FLOAT || sc->dtype != EO_FLOAT || (bias && bias->dtype != EO_FLOAT))
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "A, scales and bias must be float32 (A %s, scales %s)",
                       eo_dtype_name(a->dtype), eo_dtype_name(sc->dtype));
  if (a->rank < 1 || a->dims[a->rank - 1] != s->K)
    return eo_op_error(c, EO_ERR_SHAPE, "A %s: the last dim must be K = %lld", eo_shape_str(a->rank, a->dims, s1, sizeof s1),
                       (long long)s->K);
  for (int d = 0; d < a->rank; d++)
    if (a->dims[d] < 0) return eo_op_error(c, EO_ERR_SHAPE, "A %s has unknown dims", eo_shape_str(a->rank, a->dims, s1, sizeof s1));
  if (b->dtype != EO_UINT8 || b->rank != 3 || b->dims[0] != s->N || b->dims[1] != s->nblk || b->dims[2] != s->blob)
    return eo_op_error(c, EO_ERR_SHAPE, "B is %s %s, expected uint8 [%lld, %lld, %lld] (N, blocks, block_size * bits / 8)",
                       eo_dtype_name(b->dtype), eo_shape_str(b->rank, b->dims, s1, sizeof s1), (long long)s->N,
                       (long long)s->nblk, (long long)s->blob);
  if (eo_tview_numel(sc) != s->N * s->nblk || sc->rank < 1 || sc->rank > 2)
    return eo_op_error(c, EO_ERR_SHAPE, "scales %s, expected [%lld] (N * blocks) or [%lld, %lld]",
                       eo_shape_str(sc->rank, sc->dims, s1, sizeof s1), (long long)(s->N * s->nblk), (long long)s->N,
                       (long long)s->nblk);
  if (zp) {
    int64_t zb = (s->nblk * s->bits + 7) / 8;
    bool ok = zp->dtype == EO_UINT8 ? eo_tview_numel(zp) == s->N * zb
              : zp->dtype == EO_FLOAT ? eo_tview_numel(zp) == s->N * s->nblk
                                      : false;
    if (!ok)
      return eo_op_error(c, EO_ERR_SHAPE, "zero_points %s %s, expected uint8 [%lld, %lld] (packed) or float32 [%lld]",
                         eo_dtype_name(zp->dtype), eo_shape_str(zp->rank, zp->dims, s1, sizeof s1), (long long)s->N,
                         (long long)zb, (long long)(s->N * s->nblk));
  }
  if (bias && eo_tview_numel(bias) != s->N)
    return eo_op_error(c, EO_ERR_SHAPE, "bias %s, expected [%lld]", eo_shape_str(bias->rank, bias->dims, s1, sizeof s1),
                       (long long)s->N);
  s->rows = eo_tview_numel(a) / s->K;
  return EO_OK;
}

static eo_status mnb_infer(eo_op_ctx *c) {
  mnb_shape s;
  eo_status st = mnb_shape_of(c, &s);
  if (st) return st;
  const eo_tview *a = c->in[I_A];
  int64_t dims[EO_MAX_RANK];
  memcpy(dims, a->dims, sizeof dims);
  dims[a->rank - 1] = s.N;
  eo_tview_set_shape(c->out[0], EO_FLOAT, a->rank, dims);
  return EO_OK;
}

/* Weight (k, n), dequantized. */
static inline float mnb_weight(const mnb_shape *s, const uint8_t *b, const float *scales, const eo_tview *zp, int64_t k,
                               int64_t n) {
  int64_t blk = k / s->bs, j = k % s->bs, bit = j * s->bits;
  int mask = (1 << s->bits) - 1;
  int q = (b[(n * s->nblk + blk) * s->blob + bit / 8] >> (bit % 8)) & mask;
  float z = (float)(1 << (s->bits - 1));
  if (zp && zp->dtype == EO_FLOAT) {
    z = ((const float *)zp->data)[n * s->nblk + blk];
  } else if (zp) {
    int64_t zb = (s->nblk * s->bits + 7) / 8, zbit = blk * s->bits;
    z = (float)((((const uint8_t *)zp->data)[n * zb + zbit / 8] >> (zbit % 8)) & mask);
  }
  return ((float)q - z) * scales[n * s->nblk + blk];
}

static void matmul_nbits__ref(const mnb_shape *s, const float *a, const uint8_t *b, const float *scales,
                              const eo_tview *zp, const float *bias, float *y) {
  for (int64_t r = 0; r < s->rows; r++)
    for (int64_t n = 0; n < s->N; n++) {
      float acc = 0;
      for (int64_t k = 0; k < s->K; k++) acc += a[r * s->K + k] * mnb_weight(s, b, scales, zp, k, n);
      y[r * s->N + n] = acc + (bias ? bias[n] : 0.0f);
    }
}

static void mnb_release(void *state) {
  mnb_state *s = state;
  if (s) free(s->b_packed);
  free(s);
}

static eo_f32_gemm_args mnb_args(const mnb_state *s) {
  return (eo_f32_gemm_args){.m = s->sh.rows, .n = s->sh.N, .k = s->sh.K, .a_rs = s->sh.K, .a_cs = 1,
                            .b_packed = s->b_packed, .ldc = s->sh.N, .alpha = 1.0f, .act = {-1, 0, 0}};
}

static eo_status mnb_prepare(eo_op_ctx *c) {
  mnb_state *s = calloc(1, sizeof *s);
  if (!s) return eo_op_error(c, EO_ERR_NOMEM, "out of memory");
  eo_status st = mnb_shape_of(c, &s->sh);
  if (st) {
    free(s);
    return st;
  }
  c->state = s;
  const eo_tview *zp = opt_in(c, I_ZP);
  const eo_f32_kernels_t *kr = c->force_ref ? NULL : eo_f32_kernels(eo_cpu_isa());
  if (!kr || !c->in[I_B]->data || !c->in[I_SCALES]->data || (zp && !zp->data) || s->sh.rows < 1) return EO_OK;
  float *w = malloc((size_t)(s->sh.K * s->sh.N) * sizeof(float));  // [K, N], row-major
  if (!w) return eo_op_error(c, EO_ERR_NOMEM, "out of memory dequantizing B");
  for (int64_t k = 0; k < s->sh.K; k++)
    for (int64_t n = 0; n < s->sh.N; n++)
      w[k * s->sh.N + n] = mnb_weight(&s->sh, c->in[I_B]->data, c->in[I_SCALES]->data, zp, k, n);
  s->b_packed = eo_f32_gemm_pack_b_new(kr, s->sh.K, s->sh.N, w, s->sh.N, 1);
  free(w);
  if (!s->b_packed) return eo_op_error(c, EO_ERR_NOMEM, "out of memory packing B");
  s->kr = kr;
  c->packed_bytes = eo_f32_gemm_packed_b_bytes(kr, s->sh.K, s->sh.N);
  c->captured_inputs = 1u << I_B | 1u << I_SCALES | (zp ? 1u << I_ZP : 0);
  eo_f32_gemm_args g = mnb_args(s);
  c->scratch_bytes = eo_f32_gemm_workspace(kr, &g, eo_threadpool_size(c->pool));
  c->local_bytes = eo_f32_gemm_local(kr, &g);
  return EO_OK;
}

static void mnb_forward(eo_op_ctx *c) {
  const mnb_state *s = c->state;
  const eo_tview *bias = opt_in(c, I_BIAS);
  const float *a = c->in[I_A]->data, *bv = bias ? bias->data : NULL;
  float *y = c->out[0]->data;
  if (!s->kr) {
    matmul_nbits__ref(&s->sh, a, c->in[I_B]->data, c->in[I_SCALES]->data, opt_in(c, I_ZP), bv, y);
    return;
  }
  eo_f32_gemm_args g = mnb_args(s);
  g.a = a;
  g.c = y;
  eo_f32_gemm(s->kr, &g, c->pool, c->scratch);
  if (bv)
    for (int64_t r = 0; r < s->sh.rows; r++)
      for (int64_t n = 0; n < s->sh.N; n++) y[r * s->sh.N + n] += bv[n];
}

static double mnb_flops(const eo_op_ctx *c) {
  mnb_shape s;
  if (mnb_shape_of(c, &s)) return 0;
  return 2.0 * (double)s.rows * (double)s.N * (double)s.K;
}

EO_DEFINE_OP(matmul_nbits, .name = "MatMulNBits", .infer = mnb_infer, .prepare = mnb_prepare, .forward = mnb_forward,
             .release = mnb_release, .flops = mnb_flops);
