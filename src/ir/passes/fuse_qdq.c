/* QDQ Conv fusion: DQ(x) + DQ(w) [+ DQ(bias int32)] -> Conv [-> Relu/Clip] -> Q(y) becomes one
 * QLinearConv, the integer kernel ONNX Runtime substitutes for the same group, so edgeopt computes
 * the same integers instead of float math between Q and DQ. Conditions follow ORT's QDQ Conv
 * selector: 8-bit x and y of the same dtype, constant 8-bit weights with per-tensor or per-output-
 * channel (axis 0) scales, per-tensor constant x/y parameters, an int32 bias at scale x_scale * w_scale
 * used as is. Relu or
 * Clip before Q is dropped only when Q's saturation already does what it does (ORT's
 * ReluQuantFusion / ClipQuantFusion); otherwise the group stays float. */
#include <math.h>
#include <stdlib.h>

#include "ir/passes/passes.h"
#include "runtime/op.h"

static bool is_q8(int dt) { return dt == EO_INT8 || dt == EO_UINT8; }

static int64_t numel(const eo_tensor *t) { return t->rank < 0 ? -1 : eo_numel(t->rank, t->dims); }

// Constant float32 scale with 1 element (or `m` when m > 0), all finite and positive.
static bool const_scale(const eo_graph *g, int t, int64_t m) {
  if (!eo_pass_is_const(g, t) || g->tensors[t].dtype != EO_FLOAT || g->tensors[t].rank > 1) return false;
  int64_t n = numel(&g->tensors[t]);
  if (!(n == 1 || (m > 0 && n == m)) || g->tensors[t].nbytes < (size_t)n * sizeof(float)) return false;
  const float *v = g->tensors[t].data;
  for (int64_t i = 0; i < n; i++)
    if (!(v[i] > 0.0f) || !isfinite(v[i])) return false;
  return true;
}

// Absent, or a constant 8-bit zero point with 1 (or m) elements.
static bool const_zp(const eo_graph *g, int t, int64_t m) {
  if (t < 0) return true;
  if (!eo_pass_is_const(g, t) || !is_q8(g->tensors[t].dtype) || g->tensors[t].rank > 1) return false;
  int64_t n = numel(&g->tensors[t]);
  return (n == 1 || (m > 0 && n == m)) && g->tensors[t].nbytes >= (size_t)n;
}

static int32_t zp_value(const eo_graph *g, int t) {
  if (t < 0) return 0;
  const eo_tensor *z = &g->tensors[t];
  return z->dtype == EO_INT8 ? ((const int8_t *)z->data)[0] : ((const uint8_t *)z->data)[0];
}

static int in_at(const eo_node *n, int i) { return i < n->n_in ? n->in[i] : -1; }

// The live DequantizeLinear producing t, or NULL.
static const eo_node *dq_of(const eo_graph *g, int t) {
  if (t < 0 || g->tensors[t].producer < 0) return NULL;
  const eo_node *d = &g->nodes[g->tensors[t].producer];
  if (d->dead || !eo_pass_is_op(d, EO_OP_DEQUANTIZE_LINEAR) || d->n_in < 2) return NULL;
  if (eo_attr_i(d, "block_size", 0) != 0) return NULL;
  return d;
}

// The bias DQ's scale equals x_scale * w_scale[oc] (float32 product, 1e-6 relative) per channel.
static bool bias_scale_ok(const eo_graph *g, int bs, int xs, int ws, int64_t m) {
  if (!const_scale(g, bs, m)) return false;
  int64_t nb = numel(&g->tensors[bs]), nw = numel(&g->tensors[ws]);
  const float *b = g->tensors[bs].data, *w = g->tensors[ws].data;
  float x = *(const float *)g->tensors[xs].data;
  for (int64_t oc = 0; oc < m; oc++) {
    float want = x * w[nw == 1 ? 0 : oc], got = b[nb == 1 ? 0 : oc];
    if (fabsf(got - want) > 1e-6f * want) return false;
  }
  return true;
}

static bool scalar_or_absent(const eo_graph *g, int t, float *v, float def) {
  *v = def;
  if (t < 0) return true;
  const eo_tensor *x = &g->tensors[t];
  if (!eo_pass_is_const(g, t) || x->dtype != EO_FLOAT || numel(x) != 1 || x->nbytes < sizeof(float)) return false;
  *v = *(const float *)x->data;
  return true;
}

// Relu / Clip between Conv and Q that Q's saturation makes redundant for y's range.
static bool act_redundant(const eo_graph *g, const eo_node *a, float ys, int32_t yzp, int32_t qmin, int32_t qmax) {
  float lo = -INFINITY, hi = INFINITY;
  if (eo_pass_is_op(a, EO_OP_RELU)) {
    lo = 0.0f;
  } else if (eo_pass_is_op(a, EO_OP_CLIP)) {
    if (g->opset < 11) {
      lo = eo_attr_f(a, "min", -INFINITY);
      hi = eo_attr_f(a, "max", INFINITY);
    } else if (!scalar_or_absent(g, in_at(a, 1), &lo, -INFINITY) || !scalar_or_absent(g, in_at(a, 2), &hi, INFINITY)) {
      return false;
    }
  } else {
    return false;
  }
  // the representable range [(qmin - zp) * s, (qmax - zp) * s] must lie inside [lo, hi]
  return lo <= (float)(qmin - yzp) * ys && hi >= (float)(qmax - yzp) * ys;
}

eo_status eo_pass_fuse_qdq(eo_graph *g, eo_pass_stats *stats) {
  eo_status st = eo_graph_link(g);
  if (st) return st;
  int n0 = g->n_nodes;
  for (int i = 0; i < n0; i++) {
    const eo_node *conv = &g->nodes[i];
    if (conv->dead || !eo_pass_is_op(conv, EO_OP_CONV) || conv->n_in < 2 || conv->n_out < 1 || conv->out[0] < 0 ||
        conv->fused_act >= 0)
      continue;
    const eo_node *dx = dq_of(g, conv->in[0]), *dw = dq_of(g, conv->in[1]);
    int tb = in_at(conv, 2);
    const eo_node *db = tb >= 0 ? dq_of(g, tb) : NULL;
    if (!dx || !dw || (tb >= 0 && !db)) continue;
    // x: per-tensor, 8-bit (its dtype is the zero point's, which must be present)
    int xq = dx->in[0], xs = dx->in[1], xz = in_at(dx, 2);
    if (!const_scale(g, xs, 0) || xz < 0 || !const_zp(g, xz, 0)) continue;
    // w: constant 8-bit, per-tensor or per output channel along axis 0
    int wq = dw->in[0], ws = dw->in[1], wz = in_at(dw, 2);
    const eo_tensor *W = &g->tensors[wq];
    if (!eo_pass_is_const(g, wq) || !is_q8(W->dtype) || W->rank < 3) continue;
    int64_t m = W->dims[0];
    bool per_ch = numel(&g->tensors[ws]) != 1;
    if (!const_scale(g, ws, m) || !const_zp(g, wz, m) || (wz >= 0 && g->tensors[wz].dtype != W->dtype)) continue;
    if (per_ch && eo_attr_i(dw, "axis", 1) != 0) continue;
    // bias: constant int32 [m], zero point 0
    int bq = -1;
    if (db) {
      bq = db->in[0];
      const eo_tensor *B = &g->tensors[bq];
      if (!eo_pass_is_const(g, bq) || B->dtype != EO_INT32 || B->rank != 1 || B->dims[0] != m) continue;
      // ORT leaves the group float when the bias scale is not x_scale * w_scale (measured: a bias
      // scale 8x off gives ORT's float result), as the int32 bias would be read at the wrong scale
      if (!bias_scale_ok(g, in_at(db, 1), xs, ws, m)) continue;
      int bz = in_at(db, 2);
      if (bz >= 0) {
        const eo_tensor *Z = &g->tensors[bz];
        if (!eo_pass_is_const(g, bz) || Z->dtype != EO_INT32) continue;
        bool zero = true;
        for (int64_t k = 0; k < numel(Z) && (size_t)k * 4 < Z->nbytes; k++) zero = zero && ((const int32_t *)Z->data)[k] == 0;
        if (!zero) continue;
      }
    }
    // Conv -> [Relu/Clip ->] Q, each intermediate read only by the next
    int y = conv->out[0];
    if (eo_pass_is_graph_output(g, y) || eo_pass_consumers(g, y) != 1) continue;
    int ai = eo_pass_first_consumer(g, y), qi = ai;
    const eo_node *act = NULL;
    if (!eo_pass_is_op(&g->nodes[ai], EO_OP_QUANTIZE_LINEAR)) {
      act = &g->nodes[ai];
      if (act->n_out < 1 || act->out[0] < 0 || in_at(act, 0) != y) continue;
      int z = act->out[0];
      if (eo_pass_is_graph_output(g, z) || eo_pass_consumers(g, z) != 1) continue;
      qi = eo_pass_first_consumer(g, z);
      if (!eo_pass_is_op(&g->nodes[qi], EO_OP_QUANTIZE_LINEAR)) continue;
    }
    const eo_node *q = &g->nodes[qi];
    if (q->n_in < 3 || q->n_out < 1 || q->out[0] < 0 || q->in[0] != (act ? act->out[0] : y)) continue;
    int ys = q->in[1], yz = q->in[2];
    if (!const_scale(g, ys, 0) || !const_zp(g, yz, 0) || g->tensors[yz].dtype != g->tensors[xz].dtype) continue;
    if (act) {
      bool s8 = g->tensors[yz].dtype == EO_INT8;
      if (!act_redundant(g, act, *(const float *)g->tensors[ys].data, zp_value(g, yz), s8 ? -128 : 0, s8 ? 127 : 255))
        continue;
    }
    int in[9] = {xq, xs, xz, wq, ws, wz, ys, yz, bq};
    int out = q->out[0];
    int conv_i = i, act_i = act ? ai : -1;
    int ni;
    if ((st = eo_graph_add_node(g, conv->name, "QLinearConv", "", bq >= 0 ? 9 : 8, in, 1, &out, &ni))) return st;
    // g->nodes may have moved
    eo_node *nn = &g->nodes[ni], *cv = &g->nodes[conv_i];
    nn->op = EO_OP_QLINEAR_CONV;
    if (cv->n_attrs > 0) {
      nn->attrs = eo_calloc((size_t)cv->n_attrs, sizeof(eo_attr));
      if (!nn->attrs) {
        nn->dead = true;
        return eo_error(EO_ERR_NOMEM, "out of memory fusing Conv '%s'", cv->name);
      }
      for (int k = 0; k < cv->n_attrs; k++) {
        if ((st = eo_attr_copy(&cv->attrs[k], &nn->attrs[k]))) {
          nn->n_attrs = k;
          nn->dead = true;
          return st;
        }
        nn->n_attrs = k + 1;
      }
    }
    cv->dead = true;
    if (act_i >= 0) g->nodes[act_i].dead = true;
    g->nodes[qi].dead = true;
    g->tensors[out].producer = ni;
    if (stats) stats->qdq_fused++;
  }
  return EO_OK;
}
