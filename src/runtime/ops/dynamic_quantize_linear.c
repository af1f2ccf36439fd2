/* DynamicQuantizeLinear (opset 11): float32 x -> uint8 y, scalar y_scale and y_zero_point computed
 * from x's range at run time, as ONNX Runtime does it:
 *   lo = min(0, min x), hi = max(0, max x)
 *   scale = (hi - lo) / 255   (1 when hi == lo, i.e. x all zero: ORT's choice, avoids 0/0)
 *   zero_point = round_half_even(clamp(0 - lo / scale, 0, 255))
 *   y = saturate(round_half_even(x / scale) + zero_point)
 * All in float32 (rounding in the default mode is half to even).
 * Non-finite inputs (ORT leaves them undefined; a cast of NaN to an integer is UB in C): the range is
 * taken over the finite values only, NaN quantizes to the zero point (i.e. to 0.0) and +-Inf
 * saturate to 255 / 0, as a huge finite value would. */
#include <math.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "runtime/op.h"

static eo_status dql_infer(eo_op_ctx *c) {
  if (c->n_in != 1 || !c->in[0] || c->n_out != 3)
    return eo_op_error(c, EO_ERR_INVALID, "expects 1 input and 3 outputs (y, y_scale, y_zero_point), got %d and %d",
                       c->n_in, c->n_out);
  const eo_tview *x = c->in[0];
  if (x->dtype != EO_FLOAT)
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "input must be float32, got %s", eo_dtype_name(x->dtype));
  if (c->out[0]) eo_tview_set_shape(c->out[0], EO_UINT8, x->rank, x->dims);
  if (c->out[1]) eo_tview_set_shape(c->out[1], EO_FLOAT, 0, NULL);
  if (c->out[2]) eo_tview_set_shape(c->out[2], EO_UINT8, 0, NULL);
  return EO_OK;
}

static void dql_forward(eo_op_ctx *c) {
  const float *x = c->in[0]->data;
  int64_t n = eo_tview_numel(c->in[0]);
  float lo = 0, hi = 0;
  int64_t i = 0;
#ifdef __SSE2__
  // SSE2 (x86-64's baseline), as GCC does not vectorize these loops (NaN semantics of min/max)
  __m128 vlo = _mm_setzero_ps(), vhi = vlo;
  for (; i + 4 <= n; i += 4) {
    __m128 v = _mm_loadu_ps(x + i), f = _mm_and_ps(_mm_cmpeq_ps(_mm_sub_ps(v, v), _mm_setzero_ps()), v);
    vlo = _mm_min_ps(f, vlo);
    vhi = _mm_max_ps(f, vhi);
  }
  float l4[4], h4[4];
  _mm_storeu_ps(l4, vlo);
  _mm_storeu_ps(h4, vhi);
  for (int j = 0; j < 4; j++) lo = l4[j] < lo ? l4[j] : lo, hi = h4[j] > hi ? h4[j] : hi;
#endif
  for (; i < n; i++) {  // v - v is 0 only for finite v
    float v = x[i], f = v - v == 0 ? v : 0;
    lo = f < lo ? f : lo;
    hi = f > hi ? f : hi;
  }
  float scale = hi == lo ? 1.0f : (hi - lo) / 255.0f;
  float zf = 0.0f - lo / scale;
  zf = zf < 0 ? 0 : zf > 255 ? 255 : zf == zf ? zf : 0;  // NaN when the scale underflows to 0 (0 / 0)
  float zp = nearbyintf(zf);
  if (c->out[1]) *(float *)c->out[1]->data = scale;
  if (c->out[2]) *(uint8_t *)c->out[2]->data = (uint8_t)zp;
  if (!c->out[0]) return;
  uint8_t *y = c->out[0]->data;
  // t = x / scale: NaN -> 0, clamped to +-512 (saturates all the same, as zp is in [0, 255]), then
  // rounded half to even: CVTPS2DQ in the default rounding mode, or adding and subtracting 1.5 * 2^23
  // (exact for |t| < 2^22; not reassociated: no -ffast-math), which avoids a call to nearbyintf
  i = 0;
#ifdef __SSE2__
  __m128 vs = _mm_set1_ps(scale), vmin = _mm_set1_ps(-512.0f), vmax = _mm_set1_ps(512.0f);
  __m128i vz = _mm_set1_epi32((int)zp);
  for (; i + 16 <= n; i += 16) {
    __m128i q[4];
    for (int j = 0; j < 4; j++) {
      __m128 t = _mm_div_ps(_mm_loadu_ps(x + i + 4 * j), vs);
      t = _mm_min_ps(_mm_max_ps(_mm_and_ps(_mm_cmpord_ps(t, t), t), vmin), vmax);
      q[j] = _mm_add_epi32(_mm_cvtps_epi32(t), vz);
    }
    // signed saturation to int16 keeps every value (|q| <= 767), then unsigned saturation to [0, 255]
    _mm_storeu_si128((__m128i *)(y + i), _mm_packus_epi16(_mm_packs_epi32(q[0], q[1]), _mm_packs_epi32(q[2], q[3])));
  }
#endif
  const float magic = 12582912.0f;
  for (; i < n; i++) {
    float t = x[i] / scale;
    t = t == t ? t : 0;
    t = t < -512.0f ? -512.0f : t > 512.0f ? 512.0f : t;
    float v = (t + magic) - magic + zp;
    y[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
  }
}

EO_DEFINE_OP(dynamic_quantize_linear, .name = "DynamicQuantizeLinear", .infer = dql_infer, .forward = dql_forward);
