/* TflAdd and TflMul: TFLite's int8 / uint8 ADD, SUB (TflAdd with sub = 1) and MUL, with numpy
 * broadcasting, as the TFLite interpreter computes them (tfl_quant.h):
 *   TflAdd, mode XNNPACK: a and b rescaled by a_scale/y_scale and b_scale/y_scale (float32), turned
 *     into integer multipliers with 20 fractional bits below the larger one's exponent, summed
 *     with a rounding constant and shifted right (round half up), then y_zp and the clamp.
 *   TflAdd, mode BUILTIN: TFLite's kernel: both inputs shifted left by 20, each scaled by a Q31
 *     multiplier of s/(2*max(a_scale, b_scale)), summed, scaled by 2*max/(2^20*y_scale).
 *   TflMul, mode XNNPACK: (a - a_zp) * (b - b_zp) times the float32 a_scale*b_scale/y_scale, lrintf.
 *   TflMul, mode BUILTIN: the product times the Q31 multiplier of the double product of scales.
 * Attributes: a_scale, a_zp, b_scale, b_zp, y_scale, y_zp, act_min / act_max, mode, sub (TflAdd).
 * a, b and y share one dtype (int8 or uint8). */
#include <stdlib.h>

#include "runtime/broadcast.h"
#include "runtime/op.h"
#include "runtime/ops/tfl_quant.h"

typedef struct tbin {
  eo_broadcast bc;
  int dtype, mode;
  bool mul, sub;
  int32_t azp, bzp, yzp, lo, hi;
  /* XNNPACK add */
  int32_t am, bm, bias;
  int shift;
  /* builtin add / mul */
  int32_t qa, qb, qy;
  int sa, sb, sy;
  float scale;  /* XNNPACK mul */
} tbin;

static eo_status tbin_infer(eo_op_ctx *c) {
  if (c->n_in != 2 || !c->in[0] || !c->in[1] || c->n_out != 1 || !c->out[0])
    return eo_op_error(c, EO_ERR_INVALID, "expects 2 inputs and 1 output");
  const eo_tview *a = c->in[0], *b = c->in[1];
  if (!eo_tfl_is_q8(a->dtype) || a->dtype != b->dtype)
    return eo_op_error(c, EO_ERR_SHAPE, "inputs must both be int8 or both uint8, got %s and %s",
                       eo_dtype_name(a->dtype), eo_dtype_name(b->dtype));
  int rank;
  int64_t dims[EO_MAX_RANK];
  eo_status st = eo_broadcast_shape(c, a->rank, a->dims, b->rank, b->dims, &rank, dims);
  if (st) return st;
  eo_tview_set_shape(c->out[0], a->dtype, rank, dims);
  return EO_OK;
}

static eo_status tbin_fill(eo_op_ctx *c, bool mul) {
  tbin *p = eo_calloc(1, sizeof *p);
  if (!p) return eo_error(EO_ERR_NOMEM, "out of memory");
  c->state = p;
  const eo_tview *in[2] = {c->in[0], c->in[1]};
  eo_broadcast_init(&p->bc, c->out[0], 2, in);
  p->dtype = in[0]->dtype;
  p->mul = mul;
  p->sub = !mul && eo_attr_i(c->node, "sub", 0);
  p->mode = (int)eo_attr_i(c->node, "mode", EO_TFL_MODE_XNNPACK);
  float as, bs, ys;
  eo_status st;
  if ((st = eo_tfl_scale(c, "a_scale", &as)) || (st = eo_tfl_scale(c, "b_scale", &bs)) ||
      (st = eo_tfl_scale(c, "y_scale", &ys)) || (st = eo_tfl_zp(c, "a_zp", p->dtype, &p->azp)) ||
      (st = eo_tfl_zp(c, "b_zp", p->dtype, &p->bzp)) || (st = eo_tfl_zp(c, "y_zp", p->dtype, &p->yzp)) ||
      (st = eo_tfl_act_range(c, p->dtype, &p->lo, &p->hi)))
    return st;
  if (mul) {
    float ab = as * bs;
    p->scale = ab / ys;
    eo_tfl_quantize_multiplier((double)as * (double)bs / (double)ys, &p->qy, &p->sy);
    return EO_OK;
  }
  if (p->mode == EO_TFL_MODE_XNNPACK) {
    float ra = as / ys, rb = bs / ys, mx = ra > rb ? ra : rb;
    int e;
    frexpf(mx, &e);  // mx = f * 2^e, f in [0.5, 1): the float exponent is e - 1
    p->shift = 20 - (e - 1);
    if (p->shift < 12 || p->shift > 30)
      return eo_op_error(c, EO_ERR_UNSUPPORTED, "input/output scale ratio %g outside XNNPACK's [2^-10, 2^8)",
                         (double)mx);
    p->am = (int32_t)lrintf(ldexpf(ra, p->shift));
    p->bm = (int32_t)lrintf(ldexpf(rb, p->shift));
    if (p->sub) p->bm = -p->bm;
    p->bias = (INT32_C(1) << (p->shift - 1)) - p->am * p->azp - p->bm * p->bzp;
    return EO_OK;
  }
  double twice = 2.0 * ((double)as > (double)bs ? (double)as : (double)bs);
  eo_tfl_quantize_multiplier((double)as / twice, &p->qa, &p->sa);
  eo_tfl_quantize_multiplier((double)bs / twice, &p->qb, &p->sb);
  eo_tfl_quantize_multiplier(twice / ((double)(1 << 20) * (double)ys), &p->qy, &p->sy);
  return EO_OK;
}
/* A failed prepare frees its state (the session releases only prepared steps). */
static void tbin_release(void *s);
static eo_status tbin_prepare(eo_op_ctx *c, bool mul) {
  eo_status st = tbin_fill(c, mul);
  if (st) {
    tbin_release(c->state);
    c->state = NULL;
  }
  return st;
}
static eo_status tadd_prepare(eo_op_ctx *c) { return tbin_prepare(c, false); }
static eo_status tmul_prepare(eo_op_ctx *c) { return tbin_prepare(c, true); }

static inline int32_t tbin_one(const tbin *p, int32_t a, int32_t b) {
  if (p->mul) {
    int32_t prod = (a - p->azp) * (b - p->bzp);
    if (p->mode == EO_TFL_MODE_BUILTIN) return eo_tfl_clamp(eo_tfl_mbqm(prod, p->qy, p->sy) + p->yzp, p->lo, p->hi);
    return eo_tfl_requant_fp32(prod, p->scale, p->yzp, p->lo, p->hi);
  }
  if (p->mode == EO_TFL_MODE_XNNPACK) {
    int32_t acc = p->bias + a * p->am + b * p->bm;
    return eo_tfl_clamp(eo_tfl_asr(acc, p->shift) + p->yzp, p->lo, p->hi);
  }
  int32_t x = eo_tfl_mbqm((a - p->azp) * (1 << 20), p->qa, p->sa);
  int32_t y = eo_tfl_mbqm((b - p->bzp) * (1 << 20), p->qb, p->sb);
  return eo_tfl_clamp(eo_tfl_mbqm(p->sub ? x - y : x + y, p->qy, p->sy) + p->yzp, p->lo, p->hi);
}

static void tbin_forward(eo_op_ctx *c) {
  const tbin *p = c->state;
  const void *a = c->in[0]->data, *b = c->in[1]->data;
  void *y = c->out[0]->data;
  int dt = p->dtype;
  eo_bcast_iter it;
  for (eo_broadcast_begin(&it, &p->bc); it.rows_left > 0; eo_broadcast_next(&it))
    for (int64_t i = 0; i < p->bc.row; i++)
      eo_tfl_store(dt, y, it.out_off + i,
                   tbin_one(p, eo_tfl_load(dt, a, it.off[0] + i * p->bc.row_stride[0]),
                            eo_tfl_load(dt, b, it.off[1] + i * p->bc.row_stride[1])));
}

static void tbin_release(void *s) { free(s); }

EO_DEFINE_OP(tfl_add, .name = "TflAdd", .infer = tbin_infer, .prepare = tadd_prepare, .forward = tbin_forward,
             .release = tbin_release);
EO_DEFINE_OP(tfl_mul, .name = "TflMul", .infer = tbin_infer, .prepare = tmul_prepare, .forward = tbin_forward,
             .release = tbin_release);
