/* Resize, opsets 10 to 19.
 *
 *   opset 10     inputs X, scales; modes nearest and linear, asymmetric coordinates (nearest as
 *                ONNX Runtime rounds it there: floor, or ceil when downsampling).
 *   opset 11/13  inputs X, roi, scales, sizes (one of scales/sizes, an empty tensor counts as
 *                absent); mode nearest/linear/cubic; coordinate_transformation_mode half_pixel
 *                (default), pytorch_half_pixel, align_corners, asymmetric, tf_half_pixel_for_nn,
 *                tf_crop_and_resize (with roi and extrapolation_value); nearest_mode;
 *                cubic_coeff_a; exclude_outside.
 *   opset 18/19  axes, keep_aspect_ratio_policy, half_pixel_symmetric; antialias only where it
 *                changes nothing (nearest, or no axis downsampled).
 * scales, sizes and roi must be constant: they decide the output shape and the sampling tables,
 * which prepare computes once (one eo_resize_axis per axis). Nearest runs on any fixed-size dtype
 * (it only gathers); linear and cubic on float32.
 *
 * Output sizes from scales are floor(in * scale) in float arithmetic (ONNX shape inference and
 * ONNX Runtime); align_corners and tf_crop_and_resize use in * scale as the resized length, as
 * the ONNX reference implementation (and so the backend test data) does. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/threads.h"
#include "runtime/kernels/ref/resize_kernels.h"
#include "runtime/op.h"
#if defined(__x86_64__) || defined(__i386__)
#include "runtime/kernels/x86/x86_kernels.h"
#endif

struct eo_resize_plan {
  int rank;
  int dtype;
  size_t elem;
  bool nearest;
  float extrapolation;
  unsigned char fill[16];  /* extrapolation_value in the tensor's dtype (nearest) */
  eo_resize_axis axes[EO_MAX_RANK];
  /* The Resize op's fast nearest path (resize_nearest_fast), set at prepare unless EO_FORCE_REF:
   * rows of the output gathered whole, a row equal to the previous one copied, split across the
   * pool. The last axis is an identity, an integer-factor upsampling (idx[j] == j / factor), or a
   * general gather. */
  bool fast;
  enum { LAST_GATHER, LAST_IDENTITY, LAST_REPEAT } last_kind;
  int64_t factor;
  void (*dup2)(int64_t n, const uint32_t *x, uint32_t *y); /* x2 of 4-byte elements, NULL: scalar */
};

/* Stores v as one element of dtype (integers saturate at the int64 range, then wrap). */
static void store_scalar(int dtype, double v, void *dst) {
  int64_t iv = v != v ? 0 : v <= -9.2e18 ? INT64_MIN : v >= 9.2e18 ? INT64_MAX : (int64_t)v;
  switch (dtype) {
    case EO_FLOAT: *(float *)dst = (float)v; break;
    case EO_DOUBLE: *(double *)dst = v; break;
    case EO_FLOAT16: *(uint16_t *)dst = eo_f32_to_f16((float)v); break;
    case EO_BFLOAT16: *(uint16_t *)dst = eo_f32_to_bf16((float)v); break;
    case EO_INT8: *(int8_t *)dst = (int8_t)iv; break;
    case EO_UINT8: *(uint8_t *)dst = (uint8_t)iv; break;
    case EO_BOOL: *(uint8_t *)dst = v != 0; break;
    case EO_INT16: *(int16_t *)dst = (int16_t)iv; break;
    case EO_UINT16: *(uint16_t *)dst = (uint16_t)iv; break;
    case EO_INT32: *(int32_t *)dst = (int32_t)iv; break;
    case EO_UINT32: *(uint32_t *)dst = (uint32_t)iv; break;
    case EO_INT64: *(int64_t *)dst = iv; break;
    case EO_UINT64: *(uint64_t *)dst = (uint64_t)iv; break;
    default: break;
  }
}

void eo_resize_plan_free(void *plan) {
  eo_resize_plan *p = plan;
  if (!p) return;
  for (int d = 0; d < p->rank; d++) {
    free(p->axes[d].idx);
    free(p->axes[d].w);
    free(p->axes[d].outside);
  }
  free(p);
}

eo_status eo_resize_plan_new(const eo_resize_cfg *cfg, int dtype, eo_resize_plan **out) {
  *out = NULL;
  const bool nearest = cfg->mode == EO_RESIZE_NEAREST;
  const size_t elem = eo_dtype_size(dtype);
  if (nearest ? elem == 0 || elem > sizeof(((eo_resize_plan *)0)->fill) : dtype != EO_FLOAT)
    return eo_error(EO_ERR_UNSUPPORTED, "%s resize of %s is not supported (%s)", nearest ? "nearest" : "linear/cubic",
                    eo_dtype_name(dtype), nearest ? "expected a fixed-size type" : "expected float32");
  eo_resize_plan *p = calloc(1, sizeof *p);
  if (!p) return eo_error(EO_ERR_NOMEM, "out of memory for the Resize plan");
  p->rank = cfg->rank;
  p->dtype = dtype;
  p->elem = elem;
  p->nearest = nearest;
  p->extrapolation = cfg->extrapolation;
  store_scalar(dtype, cfg->extrapolation, p->fill);
  const int taps = eo_resize_taps(cfg->mode);
  for (int d = 0; d < cfg->rank; d++) {
    eo_resize_axis *ax = &p->axes[d];
    size_t n = (size_t)(cfg->out[d] > 0 ? cfg->out[d] : 1), bi, bw;
    if (!eo_mul_size(n, (size_t)taps * sizeof(int64_t), &bi) || !eo_mul_size(n, (size_t)taps * sizeof(float), &bw))
      goto nomem;
    ax->idx = malloc(bi);
    ax->w = malloc(bw);
    if (cfg->ct == EO_CT_TF_CROP_AND_RESIZE) ax->outside = calloc(n, 1);
    if (!ax->idx || !ax->w || (cfg->ct == EO_CT_TF_CROP_AND_RESIZE && !ax->outside)) goto nomem;
    eo_resize_axis_fill(cfg, d, ax);
  }
  if (nearest && p->rank > 0) {
    const eo_resize_axis *lx = &p->axes[p->rank - 1];
    p->last_kind = LAST_GATHER;
    if (lx->in > 0 && lx->out > 0 && lx->out % lx->in == 0) {
      const int64_t f = lx->out / lx->in;
      bool rep = true;
      for (int64_t j = 0; j < lx->out && rep; j++) rep = lx->idx[j] == j / f;
      if (rep) p->last_kind = f == 1 ? LAST_IDENTITY : LAST_REPEAT, p->factor = f;
    }
  }
  *out = p;
  return EO_OK;
nomem:
  eo_resize_plan_free(p);
  return eo_error(EO_ERR_NOMEM, "out of memory for the Resize sampling tables");
}

size_t eo_resize_plan_scratch(const eo_resize_plan *p) {
  return p->nearest ? 0 : eo_resize_scratch_bytes(p->rank, p->axes);
}

void eo_resize_plan_run(const eo_resize_plan *p, const void *x, void *y, void *scratch) {
  if (p->nearest) eo_xN_resize_nearest__ref(p->rank, p->axes, p->elem, p->fill, x, y);
  else eo_f32_resize__ref(p->rank, p->axes, p->extrapolation, x, y, scratch);
}

/* ---- Fast nearest (Resize op) ---------------------------------------------------------------- */

/* Copies es bytes; es is a constant after inlining in the switch below. */
#define EO_NN_CASES(X) X(1) X(2) X(4) X(8)

/* One output row along the last axis from the input row src. */
static void nearest_row(const eo_resize_plan *p, const char *src, char *dst) {
  const eo_resize_axis *lx = &p->axes[p->rank - 1];
  const size_t es = p->elem;
  if (p->last_kind == LAST_IDENTITY) {
    memcpy(dst, src, (size_t)lx->out * es);
    return;
  }
  if (p->last_kind == LAST_REPEAT) {
    const int64_t f = p->factor, n = lx->in;
    if (es == 4 && f == 2 && p->dup2) {
      p->dup2(n, (const uint32_t *)src, (uint32_t *)dst);
      return;
    }
    switch (es) {
#define X(K)                                                                         \
  case K:                                                                            \
    for (int64_t j = 0; j < n; j++)                                                  \
      for (int64_t t = 0; t < f; t++) memcpy(dst + (j * f + t) * K, src + j * K, K); \
    return;
      EO_NN_CASES(X)
#undef X
      default:
        for (int64_t j = 0; j < n; j++)
          for (int64_t t = 0; t < f; t++) memcpy(dst + (size_t)(j * f + t) * es, src + (size_t)j * es, es);
        return;
    }
  }
  const int64_t *idx = lx->idx;  // taps == 1
  switch (es) {
#define X(K)                                                                              \
  case K:                                                                                 \
    for (int64_t j = 0; j < lx->out; j++) memcpy(dst + j * K, src + idx[j] * K, K);       \
    return;
    EO_NN_CASES(X)
#undef X
    default:
      for (int64_t j = 0; j < lx->out; j++) memcpy(dst + (size_t)j * es, src + (size_t)idx[j] * es, es);
  }
}

typedef struct nearest_job {
  const eo_resize_plan *p;
  const char *x;
  char *y;
  int64_t rows, rows_per_task;
  int64_t in_stride[EO_MAX_RANK];
} nearest_job;

/* Output rows [r0, r1): each is the input row the outer axes select, resampled along the last
 * axis; a row selecting the same input row as the one before is a copy of it. */
static void nearest_task(void *ctx, size_t t, int worker) {
  (void)worker;
  const nearest_job *j = ctx;
  const eo_resize_plan *p = j->p;
  const int r = p->rank;
  const size_t row_bytes = (size_t)p->axes[r - 1].out * p->elem;
  int64_t r0 = (int64_t)t * j->rows_per_task, r1 = r0 + j->rows_per_task;
  if (r1 > j->rows) r1 = j->rows;
  int64_t pos[EO_MAX_RANK] = {0};
  for (int64_t q = r0, d = r - 2; d >= 0; d--) {
    pos[d] = q % p->axes[d].out;
    q /= p->axes[d].out;
  }
  int64_t prev = -1;
  char *dst = j->y + (size_t)r0 * row_bytes;
  for (int64_t row = r0; row < r1; row++, dst += row_bytes) {
    int64_t base = 0;
    for (int d = 0; d < r - 1; d++) base += p->axes[d].idx[pos[d]] * j->in_stride[d];
    if (base == prev) memcpy(dst, dst - row_bytes, row_bytes);
    else nearest_row(p, j->x + (size_t)base * p->elem, dst);
    prev = base;
    for (int d = r - 2; d >= 0; d--) {
      if (++pos[d] < p->axes[d].out) break;
      pos[d] = 0;
    }
  }
}

/* Outputs of at least this many bytes are split across the pool, in tasks of about half of it.
 * Nearest resampling moves memory like a copy, and like Concat's copies (ops/concat.c) it measured
 * slower split at the detector's sizes (40-100 KiB: 0.073 vs 0.022 ms, 2 loaded cores). */
enum { RESIZE_PARALLEL_BYTES = 8 << 20 };

/* Same bytes as eo_xN_resize_nearest__ref (the same index tables, only gathered row-wise). */
static void resize_nearest_fast(const eo_resize_plan *p, const void *x, void *y, eo_threadpool *pool) {
  nearest_job j = {.p = p, .x = x, .y = y, .rows = 1};
  const int r = p->rank;
  for (int d = 0; d < r - 1; d++) j.rows *= p->axes[d].out;
  const size_t row_bytes = (size_t)p->axes[r - 1].out * p->elem;
  if (j.rows == 0 || row_bytes == 0) return;
  for (int64_t s = 1, d = r - 1; d >= 0; d--) {
    j.in_stride[d] = s;
    s *= p->axes[d].in;
  }
  const size_t total = (size_t)j.rows * row_bytes;
  j.rows_per_task = j.rows;
  if (total >= RESIZE_PARALLEL_BYTES && eo_threadpool_size(pool) > 1) {
    j.rows_per_task = (int64_t)((RESIZE_PARALLEL_BYTES / 2 + row_bytes - 1) / row_bytes);
    j.rows_per_task += j.rows_per_task & 1;  // even: x2 row pairs stay in one task
  }
  eo_threadpool_run(pool, (size_t)((j.rows + j.rows_per_task - 1) / j.rows_per_task), nearest_task, &j);
}

/* ---- Resize attributes and inputs ---------------------------------------------------------- */

static const eo_tview *opt_in(const eo_op_ctx *c, int i) {
  const eo_tview *t = c->n_in > i ? c->in[i] : NULL;
  return t && eo_tview_numel(t) != 0 ? t : NULL;  /* an empty tensor stands for "absent" */
}

static int pick(const char *s, const char *const *names, int n) {
  for (int i = 0; i < n; i++)
    if (strcmp(s, names[i]) == 0) return i;
  return -1;
}

static eo_status resize_parse(const eo_op_ctx *c, eo_resize_cfg *cfg) {
  const eo_tview *x = c->n_in >= 1 ? c->in[0] : NULL;
  if (!x) return eo_op_error(c, EO_ERR_INVALID, "expected input 'X'");
  memset(cfg, 0, sizeof *cfg);
  const int rank = cfg->rank = x->rank;
  if (rank < 1) return eo_op_error(c, EO_ERR_SHAPE, "input 'X' must have rank >= 1 (found a scalar)");

  static const char *const modes[] = {"nearest", "linear", "cubic"};
  const char *mode = eo_attr_s(c->node, "mode", "nearest");
  int m = pick(mode, modes, c->opset >= 11 ? 3 : 2);
  if (m < 0) return eo_op_error(c, EO_ERR_INVALID, "unknown mode '%s' (expected nearest, linear%s)", mode,
                                c->opset >= 11 ? " or cubic" : "");
  cfg->mode = (eo_resize_mode)m;
  cfg->cubic_a = -0.75f;
  for (int d = 0; d < rank; d++) {
    cfg->in[d] = cfg->out[d] = x->dims[d];
    cfg->scale[d] = 1;
    cfg->len[d] = (double)x->dims[d];
    cfg->roi_start[d] = 0;
    cfg->roi_end[d] = 1;
  }

  const eo_tview *roi = NULL, *scales, *sizes;
  if (c->opset < 11) {
    cfg->ct = EO_CT_ASYMMETRIC;
    cfg->nearest = EO_NEAREST_SIMPLE;
    scales = opt_in(c, 1);
    sizes = NULL;
    if (!scales) return eo_op_error(c, EO_ERR_INVALID, "input 'scales' is required before opset 11");
  } else {
    static const char *const cts[] = {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
                                      "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize"};
    static const char *const nms[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    const char *ct = eo_attr_s(c->node, "coordinate_transformation_mode", "half_pixel");
    const char *nm = eo_attr_s(c->node, "nearest_mode", "round_prefer_floor");
    int ci = pick(ct, cts, 7), ni = pick(nm, nms, 4);
    if (ci < 0) return eo_op_error(c, EO_ERR_INVALID, "unknown coordinate_transformation_mode '%s'", ct);
    if (ni < 0) return eo_op_error(c, EO_ERR_INVALID, "unknown nearest_mode '%s'", nm);
    cfg->ct = (eo_resize_ct)ci;
    cfg->nearest = (eo_resize_nearest)ni;
    cfg->cubic_a = eo_attr_f(c->node, "cubic_coeff_a", -0.75f);
    cfg->exclude_outside = eo_attr_i(c->node, "exclude_outside", 0) != 0;
    cfg->extrapolation = eo_attr_f(c->node, "extrapolation_value", 0.0f);
    roi = opt_in(c, 1);
    scales = opt_in(c, 2);
    sizes = opt_in(c, 3);
    if (!scales == !sizes)
      return eo_op_error(c, EO_ERR_INVALID, "exactly one of 'scales' and 'sizes' must be given (found %s)",
                         scales ? "both" : "neither");
  }

  /* axes (opset 18): scales/sizes/roi cover only these axes */
  int axes[EO_MAX_RANK], n_axes = rank;
  for (int d = 0; d < rank; d++) axes[d] = d;
  const int64_t *av;
  int na = c->opset >= 18 ? eo_attr_ints(c->node, "axes", &av) : -1;
  if (na >= 0) {
    bool seen[EO_MAX_RANK] = {false};
    if (na > rank) return eo_op_error(c, EO_ERR_INVALID, "%d axes given for rank %d", na, rank);
    for (int i = 0; i < na; i++) {
      eo_status st = eo_norm_axis(c, av[i], rank, &axes[i]);
      if (st) return st;
      if (seen[axes[i]]) return eo_op_error(c, EO_ERR_INVALID, "axis %lld is listed twice", (long long)av[i]);
      seen[axes[i]] = true;
    }
    n_axes = na;
  }

  const eo_tview *given = scales ? scales : sizes;
  const char *gname = scales ? "scales" : "sizes";
  if (given->rank != 1 || eo_tview_numel(given) != n_axes)
    return eo_op_error(c, EO_ERR_SHAPE, "'%s' must be 1-D with %d values (found %lld)", gname, n_axes,
                       (long long)eo_tview_numel(given));
  if (scales ? !eo_dtype_is_float(scales->dtype) : sizes->dtype != EO_INT64)
    return eo_op_error(c, EO_ERR_SHAPE, "'%s' must be %s (found %s)", gname, scales ? "float" : "int64",
                       eo_dtype_name(given->dtype));
  if (!given->data)
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "input '%s' must be constant (it decides the output shape)", gname);

  if (scales) {
    for (int i = 0; i < n_axes; i++) {
      const int d = axes[i];
      const float s = (float)eo_tview_get_f64(scales, i);
      if (!(s > 0) || isinf(s))
        return eo_op_error(c, EO_ERR_INVALID, "scales[%d] = %g must be positive and finite", i, (double)s);
      const float o = floorf((float)cfg->in[d] * s);
      if (!(o < 9.0e15f)) return eo_op_error(c, EO_ERR_INVALID, "scales[%d] = %g gives a too large output", i, (double)s);
      cfg->out[d] = (int64_t)o;
      cfg->scale[d] = s;
      cfg->len[d] = (double)cfg->in[d] * s;
    }
  } else {
    static const char *const kps[] = {"stretch", "not_larger", "not_smaller"};
    const char *kp = c->opset >= 18 ? eo_attr_s(c->node, "keep_aspect_ratio_policy", "stretch") : "stretch";
    int k = pick(kp, kps, 3);
    if (k < 0) return eo_op_error(c, EO_ERR_INVALID, "unknown keep_aspect_ratio_policy '%s'", kp);
    double common = k == 1 ? INFINITY : -INFINITY;
    for (int i = 0; i < n_axes; i++) {
      const int d = axes[i];
      const int64_t sz = eo_tview_get_i64(sizes, i);
      if (sz < 0 || sz > ((int64_t)1 << 40))
        return eo_op_error(c, EO_ERR_INVALID, "sizes[%d] = %lld is out of range", i, (long long)sz);
      if (cfg->in[d] == 0) {
        if (sz != 0) return eo_op_error(c, EO_ERR_SHAPE, "axis %d is empty and cannot be resized to %lld", d, (long long)sz);
        continue;
      }
      cfg->out[d] = sz;
      cfg->scale[d] = (double)sz / (double)cfg->in[d];
      cfg->len[d] = (double)sz;
      if (k == 1 && cfg->scale[d] < common) common = cfg->scale[d];
      if (k == 2 && cfg->scale[d] > common) common = cfg->scale[d];
    }
    if (k != 0 && isfinite(common)) {
      /* one scale for every listed axis; sizes rounded half up */
      for (int i = 0; i < n_axes; i++) {
        const int d = axes[i];
        if (cfg->in[d] == 0) continue;
        cfg->scale[d] = common;
        cfg->len[d] = common * (double)cfg->in[d];
        cfg->out[d] = (int64_t)floor(cfg->len[d] + 0.5);
      }
    }
  }

  if (cfg->ct == EO_CT_TF_CROP_AND_RESIZE && roi) {
    if (roi->rank != 1 || eo_tview_numel(roi) != 2 * n_axes)
      return eo_op_error(c, EO_ERR_SHAPE, "'roi' must be 1-D with %d values (found %lld)", 2 * n_axes,
                         (long long)eo_tview_numel(roi));
    if (!eo_dtype_is_float(roi->dtype))
      return eo_op_error(c, EO_ERR_SHAPE, "'roi' must be float (found %s)", eo_dtype_name(roi->dtype));
    if (!roi->data) return eo_op_error(c, EO_ERR_UNSUPPORTED, "input 'roi' must be constant");
    for (int i = 0; i < n_axes; i++) {
      cfg->roi_start[axes[i]] = eo_tview_get_f64(roi, i);
      cfg->roi_end[axes[i]] = eo_tview_get_f64(roi, n_axes + i);
    }
  }

  if (c->opset >= 18 && eo_attr_i(c->node, "antialias", 0) != 0 && cfg->mode != EO_RESIZE_NEAREST)
    for (int d = 0; d < rank; d++)
      if (cfg->out[d] < cfg->in[d])
        return eo_op_error(c, EO_ERR_UNSUPPORTED, "antialias=1 when downsampling (axis %d) is not supported", d);
  if (eo_numel(rank, cfg->out) < 0) return eo_op_error(c, EO_ERR_INVALID, "output shape overflows");
  return EO_OK;
}

static eo_status resize_infer(eo_op_ctx *c) {
  eo_resize_cfg cfg;
  eo_status st = resize_parse(c, &cfg);
  if (st) return st;
  const int dt = c->in[0]->dtype;
  if (cfg.mode == EO_RESIZE_NEAREST ? eo_dtype_size(dt) == 0 || eo_dtype_size(dt) > 16 : dt != EO_FLOAT)
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "mode '%s' on %s is not supported (%s)",
                       cfg.mode == EO_RESIZE_NEAREST ? "nearest" : cfg.mode == EO_RESIZE_LINEAR ? "linear" : "cubic",
                       eo_dtype_name(dt), cfg.mode == EO_RESIZE_NEAREST ? "expected a fixed-size type" : "expected float32");
  if (!c->out[0]) return eo_op_error(c, EO_ERR_INVALID, "output 'Y' is required");
  eo_tview_set_shape(c->out[0], dt, cfg.rank, cfg.out);
  return EO_OK;
}

static eo_status resize_prepare(eo_op_ctx *c) {
  eo_resize_cfg cfg;
  eo_resize_plan *p;
  eo_status st = resize_parse(c, &cfg);
  if (st) return st;
  if ((st = eo_resize_plan_new(&cfg, c->in[0]->dtype, &p))) return eo_error_wrap(st, "node '%s' (Resize)", c->node->name);
  c->state = p;
  c->scratch_bytes = eo_resize_plan_scratch(p);
  bool outside = false;
  for (int d = 0; d < p->rank; d++) outside |= p->axes[d].outside != NULL;
  p->fast = !c->force_ref && p->nearest && p->rank > 0 && !outside;
#if defined(__x86_64__) || defined(__i386__)
  if (eo_cpu_isa() >= EO_ISA_AVX2) p->dup2 = eo_cpu_isa() >= EO_ISA_AVX512 ? eo_x32_dup2__avx512f : eo_x32_dup2__avx2;
#endif
  return EO_OK;
}

static void resize_forward(eo_op_ctx *c) {
  const eo_resize_plan *p = c->state;
  if (p->fast) resize_nearest_fast(p, c->in[0]->data, c->out[0]->data, c->pool);
  else eo_resize_plan_run(p, c->in[0]->data, c->out[0]->data, c->scratch);
}

static double resize_flops(const eo_op_ctx *c) { return eo_tview_numel(c->out[0]); }

EO_DEFINE_OP(resize, .name = "Resize", .infer = resize_infer, .prepare = resize_prepare, .forward = resize_forward,
             .release = eo_resize_plan_free, .flops = resize_flops);
