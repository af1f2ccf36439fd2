/* QuantizeLinear and DequantizeLinear (opsets 10, 13, 19, 21): per-tensor, per-axis and (21)
 * blocked quantization parameters.
 *
 *   Q:  y = saturate(round_half_even(x / scale) + zero_point)   x float/float16/bfloat16 (int32 at 10)
 *   DQ: y = (x - zero_point) * scale                            y has the scale's dtype
 *
 * Quantized dtypes: int8, uint8, int16, uint16, int4 and uint4 (packed two per byte, low nibble
 * first), and int32 for DequantizeLinear (bias, zero point 0). Q's output dtype is the zero
 * point's, else `output_dtype` (21), else uint8. The arithmetic follows ONNX Runtime's reference
 * path: the division and the rounding in float32 (nearbyintf in the default rounding mode, i.e.
 * half to even), the zero point added after rounding, then clamping to the dtype's range; DQ
 * computes (float)(x - zp) * scale in float32.
 *
 * Parameter shapes (the `axis` attribute, default 1, says which dimension of x they follow):
 *   per-tensor  scale is a scalar or has one element (any rank <= 1);
 *   per-axis    scale is 1-D with x.dims[axis] elements;
 *   blocked     block_size > 0 (21): scale has x's rank, equal dims except
 *               scale.dims[axis] = ceil(x.dims[axis] / block_size).
 * The zero point, when present, has the scale's shape. */
#include <math.h>
#include <string.h>

#include "core/cpu.h"
#include "core/threads.h"
#include "runtime/kernels/x86/qs8-qdq.h"
#include "runtime/op.h"

enum { QP_TENSOR, QP_AXIS, QP_BLOCK };

typedef struct qdq_state {
  int mode;
  int64_t outer, ch, inner;  /* x viewed as [outer, ch, inner] around the axis */
  int64_t block, nblk;       /* QP_BLOCK: block size and scale.dims[axis] */
  bool fast;                 /* float32 <-> int8/uint8, per tensor (and per axis for DQ): AVX2 kernels */
} qdq_state;

static bool q_dtype_ok(int dt) {
  return dt == EO_INT8 || dt == EO_UINT8 || dt == EO_INT16 || dt == EO_UINT16 || dt == EO_INT4 ||
         dt == EO_UINT4;
}

static void q_range(int dt, int32_t *lo, int32_t *hi) {
  switch (dt) {
    case EO_INT8: *lo = -128, *hi = 127; break;
    case EO_UINT8: *lo = 0, *hi = 255; break;
    case EO_INT16: *lo = -32768, *hi = 32767; break;
    case EO_UINT16: *lo = 0, *hi = 65535; break;
    case EO_INT4: *lo = -8, *hi = 7; break;
    case EO_UINT4: *lo = 0, *hi = 15; break;
    default: *lo = INT32_MIN, *hi = INT32_MAX; break;
  }
}

/* Element i of a quantized tensor. */
static int32_t q_get(int dt, const void *p, int64_t i) {
  switch (dt) {
    case EO_INT8: return ((const int8_t *)p)[i];
    case EO_UINT8: return ((const uint8_t *)p)[i];
    case EO_INT16: return ((const int16_t *)p)[i];
    case EO_UINT16: return ((const uint16_t *)p)[i];
    case EO_INT32: return ((const int32_t *)p)[i];
    case EO_UINT4: return (((const uint8_t *)p)[i >> 1] >> ((i & 1) * 4)) & 15;
    case EO_INT4: {
      int v = (((const uint8_t *)p)[i >> 1] >> ((i & 1) * 4)) & 15;
      return v >= 8 ? v - 16 : v;
    }
    default: return 0;
  }
}

/* Stores an in-range value. For 4-bit dtypes only the nibble is touched (the other is kept). */
static void q_put(int dt, void *p, int64_t i, int32_t v) {
  switch (dt) {
    case EO_INT8: ((int8_t *)p)[i] = (int8_t)v; break;
    case EO_UINT8: ((uint8_t *)p)[i] = (uint8_t)v; break;
    case EO_INT16: ((int16_t *)p)[i] = (int16_t)v; break;
    case EO_UINT16: ((uint16_t *)p)[i] = (uint16_t)v; break;
    case EO_INT32: ((int32_t *)p)[i] = v; break;
    case EO_INT4:
    case EO_UINT4: {
      uint8_t *b = (uint8_t *)p + (i >> 1);
      int sh = (int)(i & 1) * 4;
      *b = (uint8_t)((*b & ~(15 << sh)) | ((v & 15) << sh));
      break;
    }
    default: break;
  }
}

static float f_get(int dt, const void *p, int64_t i) {
  switch (dt) {
    case EO_FLOAT: return ((const float *)p)[i];
    case EO_FLOAT16: return eo_f16_to_f32(((const uint16_t *)p)[i]);
    case EO_BFLOAT16: return eo_bf16_to_f32(((const uint16_t *)p)[i]);
    case EO_INT32: return (float)((const int32_t *)p)[i];
    default: return 0.f;
  }
}

static void f_put(int dt, void *p, int64_t i, float v) {
  switch (dt) {
    case EO_FLOAT: ((float *)p)[i] = v; break;
    case EO_FLOAT16: ((uint16_t *)p)[i] = eo_f32_to_f16(v); break;
    case EO_BFLOAT16: ((uint16_t *)p)[i] = eo_f32_to_bf16(v); break;
    default: break;
  }
}

static bool is_qfloat(int dt) { return dt == EO_FLOAT || dt == EO_FLOAT16 || dt == EO_BFLOAT16; }

/* Checks the scale / zero point shapes against x and fills the state's layout. */
static eo_status qdq_layout(eo_op_ctx *c, const eo_tview *x, qdq_state *s) {
  const eo_tview *sc = c->in[1], *zp = c->n_in > 2 ? c->in[2] : NULL;
  char a[96], b[96];
  int64_t block = c->opset >= 21 ? eo_attr_i(c->node, "block_size", 0) : 0;
  if (block < 0) return eo_op_error(c, EO_ERR_INVALID, "block_size must be >= 0, got %lld", (long long)block);
  if (zp) {
    bool same = zp->rank == sc->rank;
    for (int d = 0; same && d < sc->rank; d++) same = zp->dims[d] == sc->dims[d];
    if (!same && !(eo_tview_numel(zp) == 1 && eo_tview_numel(sc) == 1))
      return eo_op_error(c, EO_ERR_SHAPE, "zero point shape %s differs from the scale's %s",
                         eo_shape_str(zp->rank, zp->dims, a, sizeof a), eo_shape_str(sc->rank, sc->dims, b, sizeof b));
  }
  int64_t nsc = eo_tview_numel(sc);
  s->outer = 1, s->ch = 1, s->inner = eo_tview_numel(x);
  if (block == 0 && sc->rank <= 1 && nsc == 1) {
    s->mode = QP_TENSOR;
    return EO_OK;
  }
  if (x->rank == 0)
    return eo_op_error(c, EO_ERR_SHAPE, "a scalar input needs a one-element scale, got %s",
                       eo_shape_str(sc->rank, sc->dims, a, sizeof a));
  int axis;
  eo_status st = eo_norm_axis(c, eo_attr_i(c->node, "axis", 1), x->rank, &axis);
  if (st) return st;
  s->outer = 1, s->inner = 1;
  for (int d = 0; d < axis; d++) s->outer *= x->dims[d];
  for (int d = axis + 1; d < x->rank; d++) s->inner *= x->dims[d];
  s->ch = x->dims[axis];
  if (block == 0) {
    if (sc->rank != 1 || sc->dims[0] != s->ch)
      return eo_op_error(c, EO_ERR_SHAPE,
                         "per-axis scale must be 1-D with %lld elements (input %s, axis %d), got %s",
                         (long long)s->ch, eo_shape_str(x->rank, x->dims, a, sizeof a), axis,
                         eo_shape_str(sc->rank, sc->dims, b, sizeof b));
    s->mode = QP_AXIS;
    return EO_OK;
  }
  bool ok = sc->rank == x->rank;
  for (int d = 0; ok && d < x->rank; d++)
    ok = d == axis ? sc->dims[d] == (x->dims[d] + block - 1) / block : sc->dims[d] == x->dims[d];
  if (!ok)
    return eo_op_error(c, EO_ERR_SHAPE,
                       "blocked scale (block_size %lld, axis %d) must have shape %s with dim %d = "
                       "ceil(%lld / %lld), got %s",
                       (long long)block, axis, eo_shape_str(x->rank, x->dims, a, sizeof a), axis,
                       (long long)x->dims[axis], (long long)block, eo_shape_str(sc->rank, sc->dims, b, sizeof b));
  s->mode = QP_BLOCK;
  s->block = block;
  s->nblk = sc->dims[axis];
  return EO_OK;
}

static eo_status qdq_prepare(eo_op_ctx *c, bool is_q) {
  qdq_state *s = calloc(1, sizeof *s);
  if (!s) return eo_op_error(c, EO_ERR_NOMEM, "out of memory");
  eo_status st = qdq_layout(c, c->in[0], s);
  if (st) {
    free(s);
    return st;
  }
  c->state = s;
#if defined(__x86_64__) || defined(__i386__)
  // per-tensor float32 <-> 8-bit with a float32 scale (output dtype follows from the inputs' dtypes)
  const eo_tview *zp = c->n_in > 2 ? c->in[2] : NULL;
  int qt = is_q ? (zp ? zp->dtype : EO_UINT8) : c->in[0]->dtype;
  s->fast = !c->force_ref && eo_cpu_isa() >= EO_ISA_AVX2 && (s->mode == QP_TENSOR || (!is_q && s->mode == QP_AXIS)) &&
            c->in[1]->dtype == EO_FLOAT &&
            (qt == EO_INT8 || qt == EO_UINT8) && (!zp || zp->dtype == qt) &&
            (is_q ? c->in[0]->dtype == EO_FLOAT && (c->opset < 21 || !eo_attr_i(c->node, "output_dtype", 0))
                  : true);
#else
  (void)is_q;
#endif
  return EO_OK;
}

static eo_status quantize_prepare(eo_op_ctx *c) { return qdq_prepare(c, true); }
static eo_status dequantize_prepare(eo_op_ctx *c) { return qdq_prepare(c, false); }

static eo_status check_arity(eo_op_ctx *c) {
  if (c->n_in < 2 || c->n_in > 3 || !c->in[0] || !c->in[1] || c->n_out != 1 || !c->out[0])
    return eo_op_error(c, EO_ERR_INVALID, "expects 2 or 3 inputs (x, scale, zero point) and 1 output, got %d and %d",
                       c->n_in, c->n_out);
  return EO_OK;
}

static eo_status quantize_infer(eo_op_ctx *c) {
  eo_status st = check_arity(c);
  if (st) return st;
  int xt = c->in[0]->dtype, st_dt = c->in[1]->dtype;
  const eo_tview *zp = c->n_in > 2 ? c->in[2] : NULL;
  if (!is_qfloat(xt) && xt != EO_INT32)
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "input must be float32, float16, bfloat16 or int32, got %s",
                       eo_dtype_name(xt));
  if (!is_qfloat(st_dt))
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "scale must be float32, float16 or bfloat16, got %s",
                       eo_dtype_name(st_dt));
  int yt = EO_UINT8;
  int64_t od = c->opset >= 21 ? eo_attr_i(c->node, "output_dtype", 0) : 0;
  if (zp) {
    yt = zp->dtype;
    if (od && od != yt)
      return eo_op_error(c, EO_ERR_INVALID, "output_dtype %s differs from the zero point's %s",
                         eo_dtype_name((int)od), eo_dtype_name(yt));
  } else if (od) {
    yt = (int)od;
  }
  if (!q_dtype_ok(yt))
    return eo_op_error(c, EO_ERR_UNSUPPORTED,
                       "quantized type must be int8, uint8, int16, uint16, int4 or uint4, got %s",
                       eo_dtype_name(yt));
  qdq_state tmp;
  st = qdq_layout(c, c->in[0], &tmp);
  if (st) return st;
  eo_tview_set_shape(c->out[0], yt, c->in[0]->rank, c->in[0]->dims);
  return EO_OK;
}

static eo_status dequantize_infer(eo_op_ctx *c) {
  eo_status st = check_arity(c);
  if (st) return st;
  int xt = c->in[0]->dtype, sdt = c->in[1]->dtype;
  const eo_tview *zp = c->n_in > 2 ? c->in[2] : NULL;
  if (!q_dtype_ok(xt) && xt != EO_INT32)
    return eo_op_error(c, EO_ERR_UNSUPPORTED,
                       "input must be int8, uint8, int16, uint16, int32, int4 or uint4, got %s", eo_dtype_name(xt));
  if (!is_qfloat(sdt))
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "scale must be float32, float16 or bfloat16, got %s",
                       eo_dtype_name(sdt));
  if (zp && zp->dtype != xt)
    return eo_op_error(c, EO_ERR_INVALID, "zero point dtype %s differs from the input's %s", eo_dtype_name(zp->dtype),
                       eo_dtype_name(xt));
  if (zp && xt == EO_INT32 && zp->data) {
    for (int64_t i = 0; i < eo_tview_numel(zp); i++)
      if (((const int32_t *)zp->data)[i] != 0)
        return eo_op_error(c, EO_ERR_INVALID, "an int32 input needs a zero point of 0");
  }
  qdq_state tmp;
  st = qdq_layout(c, c->in[0], &tmp);
  if (st) return st;
  eo_tview_set_shape(c->out[0], sdt, c->in[0]->rank, c->in[0]->dims);
  return EO_OK;
}

/* Index of the parameters for element (o, k, j) of [outer, ch, inner]. */
static inline int64_t qp_index(const qdq_state *s, int64_t o, int64_t k, int64_t j) {
  switch (s->mode) {
    case QP_AXIS: return k;
    case QP_BLOCK: return (o * s->nblk + k / s->block) * s->inner + j;
    default: return 0;
  }
}

/* Per-tensor activations are split across the pool: a serial pass over data the other core has just
 * written ran 3.5x slower at 2 threads than at 1 (mobilenet_v3_small INT8). Elementwise, so any
 * split gives the same bytes. */
#define QDQ_TASK_ELEMS 16384

typedef struct qdq_job {
  const void *x;
  void *y;
  int64_t n;
  float scale;
  int32_t zp;
  bool s8;
} qdq_job;

static int64_t qdq_chunk(const qdq_job *J, size_t index, int64_t *len) {
  int64_t i0 = (int64_t)index * QDQ_TASK_ELEMS;
  *len = J->n - i0 < QDQ_TASK_ELEMS ? J->n - i0 : QDQ_TASK_ELEMS;
  return i0;
}

static void q_task(void *ctx, size_t index, int worker) {
  (void)worker;
  const qdq_job *J = ctx;
  int64_t len, i0 = qdq_chunk(J, index, &len);
  eo_qs8_quantize__avx2((const float *)J->x + i0, len, J->scale, J->zp, J->s8, (uint8_t *)J->y + i0);
}

static void dq_task(void *ctx, size_t index, int worker) {
  (void)worker;
  const qdq_job *J = ctx;
  int64_t len, i0 = qdq_chunk(J, index, &len);
  eo_qs8_dequantize__avx2((const uint8_t *)J->x + i0, J->s8, len, J->scale, J->zp, (float *)J->y + i0);
}

/* Runs a per-tensor fast Q or DQ on the pool; false when it is too small to be worth it. */
static bool qdq_parallel(eo_op_ctx *c, const qdq_state *s, eo_task_fn task, bool s8) {
  const eo_tview *x = c->in[0], *zp = c->n_in > 2 ? c->in[2] : NULL;
  int64_t n = eo_tview_numel(x);
  if (s->mode != QP_TENSOR || n < 2 * QDQ_TASK_ELEMS || eo_threadpool_size(c->pool) < 2) return false;
  qdq_job J = {x->data, c->out[0]->data, n, *(const float *)c->in[1]->data, zp ? q_get(zp->dtype, zp->data, 0) : 0, s8};
  eo_threadpool_run(c->pool, (size_t)((n + QDQ_TASK_ELEMS - 1) / QDQ_TASK_ELEMS), task, &J);
  return true;
}

static void quantize_forward(eo_op_ctx *c) {
  const qdq_state *s = c->state;
  const eo_tview *x = c->in[0], *sc = c->in[1], *zp = c->n_in > 2 ? c->in[2] : NULL;
  eo_tview *y = c->out[0];
  int32_t lo, hi;
  if (s->fast && qdq_parallel(c, s, q_task, y->dtype == EO_INT8)) return;
  if (s->fast) {
    eo_qs8_quantize__avx2(x->data, eo_tview_numel(x), *(const float *)sc->data, zp ? q_get(zp->dtype, zp->data, 0) : 0,
                          y->dtype == EO_INT8, y->data);
    return;
  }
  q_range(y->dtype, &lo, &hi);
  int64_t i = 0;
  for (int64_t o = 0; o < s->outer; o++)
    for (int64_t k = 0; k < s->ch; k++)
      for (int64_t j = 0; j < s->inner; j++, i++) {
        int64_t p = qp_index(s, o, k, j);
        float scale = f_get(sc->dtype, sc->data, p);
        float z = zp ? (float)q_get(zp->dtype, zp->data, p) : 0.f;
        float v = nearbyintf(f_get(x->dtype, x->data, i) / scale) + z;
        int32_t q = v != v ? (int32_t)z : v <= (float)lo ? lo : v >= (float)hi ? hi : (int32_t)v;
        q_put(y->dtype, y->data, i, q);
      }
}

static void dequantize_forward(eo_op_ctx *c) {
  const qdq_state *s = c->state;
  const eo_tview *x = c->in[0], *sc = c->in[1], *zp = c->n_in > 2 ? c->in[2] : NULL;
  eo_tview *y = c->out[0];
  if (s->fast && qdq_parallel(c, s, dq_task, x->dtype == EO_INT8)) return;
  if (s->fast) {  // one run per (outer, channel) of the parameters
    for (int64_t o = 0, i = 0; o < s->outer; o++)
      for (int64_t k = 0; k < s->ch; k++, i += s->inner) {
        int64_t p = s->mode == QP_AXIS ? k : 0;
        eo_qs8_dequantize__avx2((const uint8_t *)x->data + i, x->dtype == EO_INT8, s->inner,
                                ((const float *)sc->data)[p], zp ? q_get(zp->dtype, zp->data, p) : 0,
                                (float *)y->data + i);
      }
    return;
  }
  int64_t i = 0;
  for (int64_t o = 0; o < s->outer; o++)
    for (int64_t k = 0; k < s->ch; k++)
      for (int64_t j = 0; j < s->inner; j++, i++) {
        int64_t p = qp_index(s, o, k, j);
        float scale = f_get(sc->dtype, sc->data, p);
        int32_t z = zp ? q_get(zp->dtype, zp->data, p) : 0;
        f_put(y->dtype, y->data, i, (float)((int64_t)q_get(x->dtype, x->data, i) - z) * scale);
      }
}

EO_DEFINE_OP(quantize_linear, .name = "QuantizeLinear", .infer = quantize_infer, .prepare = quantize_prepare,
             .forward = quantize_forward, .release = free);
EO_DEFINE_OP(dequantize_linear, .name = "DequantizeLinear", .infer = dequantize_infer, .prepare = dequantize_prepare,
             .forward = dequantize_forward, .release = free);
