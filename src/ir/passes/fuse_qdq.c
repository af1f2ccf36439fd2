/* QDQ group fusion, as ONNX Runtime's QDQ selectors do it, so edgeopt computes ORT's integers.
 * Conv groups first (below); the Add/Mul/Sigmoid/Softmax/GlobalAveragePool/Concat/Gemm groups and
 * the Q/DQ pairs dropped around data-movement ops follow at the end of the file.
 *
 * QDQ Conv fusion: DQ(x) + DQ(w) [+ DQ(bias int32)] -> Conv [-> Relu/Clip] -> Q(y) becomes one
 * QLinearConv, the integer kernel ONNX Runtime substitutes for the same group, so edgeopt computes
 * the same integers instead of float math between Q and DQ. Conditions follow ORT's QDQ Conv
 * selector: 8-bit x and y of the same dtype, constant 8-bit weights with per-tensor or per-output-
 * channel (axis 0) scales, per-tensor constant x/y parameters, an int32 bias at scale x_scale * w_scale
 * used as is. Relu or
 * Clip before Q is dropped only when Q's saturation already does what it does (ORT's
 * ReluQuantFusion / ClipQuantFusion); otherwise the group stays float. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/passes/passes.h"
#include "runtime/kernels/ref/qlinear_kernels.h"
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

static eo_status fuse_conv_groups(eo_graph *g, eo_pass_stats *stats) {
  eo_status st;
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

/* ---- The other groups ONNX Runtime's QDQ selectors fuse (qdq_selector_action_transformer.cc):
 *   Add, Mul         DQ(a), DQ(b) -> op [-> redundant Relu/Clip] -> Q   => QLinearAdd / QLinearMul
 *   Sigmoid          DQ(x) -> Sigmoid [-> ...] -> Q                      => QLinearSigmoid
 *   Softmax          DQ(x) -> Softmax [-> ...] -> Q                      => QLinearSoftmax
 *   GlobalAveragePool DQ(x) -> GlobalAveragePool [-> ...] -> Q           => QLinearGlobalAveragePool
 *   Concat           DQ(x_i) for every input -> Concat [-> ...] -> Q     => QLinearConcat
 *   Reshape, Transpose, Flatten, Squeeze, Unsqueeze, Slice, Gather, Expand, Tile, MaxPool, Resize
 *   (nearest only, see below)
 *                    DQ(x) -> op -> Q with the same scale and zero point  => op on the 8-bit data
 *   Split            DQ(x) -> Split -> Q on every output, all at x's parameters => Split on 8 bits
 *   Gemm             DQ(A), DQ(B const) [, DQ(C int32)] -> Gemm -> Q     => QGemm (see fuse_gemm)
 * Common conditions (ORT's CheckQDQNodes): the op's output is not a graph output and is read only by
 * the Q (or the redundant Relu/Clip, itself read only by the Q); data, DQ and Q of one 8-bit dtype
 * (the zero points', which must be present); per-tensor constant scales and zero points. MaxPool (opset
 * >= 12, positive scale, no Indices) drops its pair too, as ORT does: max commutes with the monotone
 * pair and Q(DQ(x)) = x at equal parameters, so the codes are the same. Resize: ORT
 * drops the Q/DQ for every mode, but only nearest copies values (its integer linear Resize rounds
 * its own way, not matched here), so linear Resize groups stay float. */

typedef struct qp {
  int q, s, z; /* quantized tensor, scale, zero point */
} qp;

// x read through a per-tensor DequantizeLinear with constant scale and 8-bit zero point
static bool dq_in(const eo_graph *g, int t, qp *o) {
  const eo_node *d = dq_of(g, t);
  if (!d) return false;
  o->q = d->in[0], o->s = d->in[1], o->z = in_at(d, 2);
  return const_scale(g, o->s, 0) && o->z >= 0 && const_zp(g, o->z, 0);
}

// The Q reading y (directly, or after a Relu/Clip that Q's range makes redundant); -1 if none.
// *act gets the Relu/Clip node index or -1.
static int q_after(const eo_graph *g, int y, bool allow_act, int *act, qp *o) {
  *act = -1;
  if (y < 0 || eo_pass_is_graph_output(g, y) || eo_pass_consumers(g, y) != 1) return -1;
  int qi = eo_pass_first_consumer(g, y);
  const eo_node *n = &g->nodes[qi];
  if (!eo_pass_is_op(n, EO_OP_QUANTIZE_LINEAR)) {
    if (!allow_act || !(eo_pass_is_op(n, EO_OP_RELU) || eo_pass_is_op(n, EO_OP_CLIP)) || n->n_out < 1 ||
        in_at(n, 0) != y)
      return -1;
    int z = n->out[0];
    if (z < 0 || eo_pass_is_graph_output(g, z) || eo_pass_consumers(g, z) != 1) return -1;
    *act = qi;
    qi = eo_pass_first_consumer(g, z);
    y = z;
  }
  const eo_node *q = &g->nodes[qi];
  if (!eo_pass_is_op(q, EO_OP_QUANTIZE_LINEAR) || q->n_in < 3 || q->in[0] != y || q->n_out < 1 || q->out[0] < 0)
    return -1;
  o->q = q->out[0], o->s = q->in[1], o->z = q->in[2];
  if (!const_scale(g, o->s, 0) || !const_zp(g, o->z, 0)) return -1;
  if (*act >= 0) {
    bool s8 = g->tensors[o->z].dtype == EO_INT8;
    if (!act_redundant(g, &g->nodes[*act], *(const float *)g->tensors[o->s].data, zp_value(g, o->z), s8 ? -128 : 0,
                       s8 ? 127 : 255))
      return -1;
  }
  return qi;
}

static float scale_value(const eo_graph *g, int t) { return *(const float *)g->tensors[t].data; }

// The node `target` (with its attributes) becomes op `op_type` reading `in` and writing Q's output;
// target, the Relu/Clip (if any) and Q are marked dead. The DQ nodes stay for DCE.
static eo_status replace_group(eo_graph *g, int target, int act, int qi, int op, const char *op_type,
                               const char *domain, int n_in, const int *in) {
  int out = g->nodes[qi].out[0], ni;
  eo_status st = eo_graph_add_node(g, g->nodes[target].name, op_type, domain, n_in, in, 1, &out, &ni);
  if (st) return st;
  eo_node *nn = &g->nodes[ni], *tn = &g->nodes[target];  // g->nodes may have moved
  nn->op = op;
  if (tn->n_attrs > 0) {
    if (!(nn->attrs = eo_calloc((size_t)tn->n_attrs, sizeof(eo_attr)))) {
      nn->dead = true;
      return eo_error(EO_ERR_NOMEM, "out of memory fusing %s '%s'", tn->op_type, tn->name);
    }
    for (int k = 0; k < tn->n_attrs; k++) {
      if ((st = eo_attr_copy(&tn->attrs[k], &nn->attrs[k]))) {
        nn->dead = true;
        return st;
      }
      nn->n_attrs = k + 1;
    }
  }
  tn->dead = true;
  if (act >= 0) g->nodes[act].dead = true;
  g->nodes[qi].dead = true;
  g->tensors[out].producer = ni;
  return EO_OK;
}

static bool same_dtype(const eo_graph *g, int z1, int z2) { return g->tensors[z1].dtype == g->tensors[z2].dtype; }

static bool is_drop_op(const eo_graph *g, const eo_node *n) {
  if (eo_pass_moves_elements(n) || eo_pass_is_op(n, EO_OP_GATHER) || eo_pass_is_op(n, EO_OP_EXPAND) ||
      eo_pass_is_op(n, EO_OP_TILE))
    return true;
  return eo_pass_is_op(n, EO_OP_MAX_POOL) && g->opset >= 12;  // 8-bit MaxPool since opset 12
}

// DQ(x) -> Split -> Q on every output, all at x's scale and zero point (ORT's SplitReplaceWithQuant):
// the Split moves the 8-bit codes and writes the Qs' outputs.
static eo_status fuse_split(eo_graph *g, int i) {
  const eo_node *n = &g->nodes[i];
  qp x;
  if (n->n_out < 1 || n->n_out > 64 || !dq_in(g, n->in[0], &x) || !(scale_value(g, x.s) > 0.0f)) return EO_OK;
  int qs[64], outs[64];
  for (int o = 0; o < n->n_out; o++) {
    int act;
    qp y;
    if ((qs[o] = q_after(g, n->out[o], false, &act, &y)) < 0 || !same_dtype(g, x.z, y.z) ||
        scale_value(g, x.s) != scale_value(g, y.s) || zp_value(g, x.z) != zp_value(g, y.z))
      return EO_OK;
    outs[o] = y.q;
  }
  int *in = eo_malloc((size_t)n->n_in * sizeof(int)), ni;
  if (!in) return eo_error(EO_ERR_NOMEM, "out of memory fusing Split '%s'", n->name);
  memcpy(in, n->in, (size_t)n->n_in * sizeof(int));
  in[0] = x.q;
  eo_status st = eo_graph_add_node(g, n->name, "Split", n->domain, n->n_in, in, n->n_out, outs, &ni);
  free(in);
  if (st) return st;
  eo_node *nn = &g->nodes[ni], *tn = &g->nodes[i];
  nn->op = EO_OP_SPLIT;
  if (tn->n_attrs > 0 && !(nn->attrs = eo_calloc((size_t)tn->n_attrs, sizeof(eo_attr)))) {
    nn->dead = true;
    return eo_error(EO_ERR_NOMEM, "out of memory fusing Split '%s'", tn->name);
  }
  for (int k = 0; k < tn->n_attrs; k++) {
    if ((st = eo_attr_copy(&tn->attrs[k], &nn->attrs[k]))) {
      nn->dead = true;
      return st;
    }
    nn->n_attrs = k + 1;
  }
  tn->dead = true;
  for (int o = 0; o < nn->n_out; o++) {
    g->nodes[qs[o]].dead = true;
    g->tensors[outs[o]].producer = ni;
  }
  return EO_OK;
}

// DQ(A) x DQ(B const) [+ DQ(C int32)] -> Gemm [-> redundant Relu/Clip] -> Q (ORT's GemmSelector), to
// QGemm. Kept float: no Q, alpha != 1, transA, B not 2-D constant 8-bit or without a zero point, B's
// scales not per tensor or per N, int8 A with uint8 B, beta != 1 with C, or a C whose scale is not
// a_scale * b_scale (its int32 values would be read at the wrong scale).
static eo_status fuse_gemm(eo_graph *g, int i) {
  const eo_node *n = &g->nodes[i];
  if (n->n_in < 2 || eo_attr_i(n, "transA", 0) != 0) return EO_OK;
  qp a;
  const eo_node *dw = dq_of(g, n->in[1]);
  if (!dq_in(g, n->in[0], &a) || !dw) return EO_OK;
  int wq = dw->in[0], ws = dw->in[1], wz = in_at(dw, 2);
  const eo_tensor *W = &g->tensors[wq];
  bool tb = eo_attr_i(n, "transB", 0) != 0;
  if (!eo_pass_is_const(g, wq) || !is_q8(W->dtype) || W->rank != 2) return EO_OK;
  int64_t nn = tb ? W->dims[0] : W->dims[1];
  if (!const_scale(g, ws, nn) || !const_zp(g, wz, nn) || (wz >= 0 && g->tensors[wz].dtype != W->dtype)) return EO_OK;
  if (numel(&g->tensors[ws]) != 1 && eo_attr_i(dw, "axis", 1) != (tb ? 0 : 1)) return EO_OK;
  if (g->tensors[a.z].dtype == EO_INT8 && W->dtype != EO_INT8) return EO_OK;
  int bq = -1, tc = in_at(n, 2);
  if (tc >= 0) {
    const eo_node *db = dq_of(g, tc);
    if (!db || eo_attr_f(n, "beta", 1.0f) != 1.0f) return EO_OK;
    bq = db->in[0];
    const eo_tensor *B = &g->tensors[bq];
    if (!eo_pass_is_const(g, bq) || B->dtype != EO_INT32 || numel(B) != nn || !bias_scale_ok(g, in_at(db, 1), a.s, ws, nn))
      return EO_OK;
    int bz = in_at(db, 2);
    if (bz >= 0 && (!eo_pass_is_const(g, bz) || g->tensors[bz].dtype != EO_INT32)) return EO_OK;
    for (int64_t k = 0; bz >= 0 && k < numel(&g->tensors[bz]); k++)
      if (((const int32_t *)g->tensors[bz].data)[k] != 0) return EO_OK;
  }
  int act;
  qp y;
  int qi = q_after(g, n->out[0], true, &act, &y);
  if (qi >= 0 && !same_dtype(g, a.z, y.z)) return EO_OK;
  // without a Q ORT's result is the float Gemm's (measured with alpha 0.5: the int32 bias not scaled
  // by alpha), so that group stays float; alpha != 1 likewise
  if (qi < 0 || eo_attr_f(n, "alpha", 1.0f) != 1.0f || wz < 0) return EO_OK;
  int in[9] = {a.q, a.s, a.z, wq, ws, wz, bq, y.s, y.z};
  return replace_group(g, i, act, qi, EO_OP_QGEMM, "QGemm", "com.microsoft", 9, in);
}

static eo_status fuse_other_groups(eo_graph *g) {
  eo_status st;
  int n0 = g->n_nodes;
  for (int i = 0; i < n0; i++) {
    const eo_node *n = &g->nodes[i];
    if (n->dead || n->n_in < 1 || n->n_out < 1 || n->out[0] < 0 || n->fused_act >= 0) continue;
    if (eo_pass_is_op(n, EO_OP_SPLIT)) {
      if ((st = fuse_split(g, i))) return st;
      continue;
    }
    if (eo_pass_is_op(n, EO_OP_GEMM)) {
      if ((st = fuse_gemm(g, i))) return st;
      continue;
    }
    bool bin = eo_pass_is_op(n, EO_OP_ADD) || eo_pass_is_op(n, EO_OP_MUL);
    bool sig = eo_pass_is_op(n, EO_OP_SIGMOID), gap = eo_pass_is_op(n, EO_OP_GLOBAL_AVERAGE_POOL);
    bool sm = eo_pass_is_op(n, EO_OP_SOFTMAX);
    bool cat = eo_pass_is_op(n, EO_OP_CONCAT), drop = is_drop_op(g, n);
    if (!bin && !sig && !gap && !cat && !drop && !sm) continue;
    int act;
    qp y;
    // a node with more outputs (MaxPool's Indices, ...) is not a group
    for (int o = 1; o < n->n_out; o++)
      if (n->out[o] >= 0) drop = bin = sig = gap = cat = sm = false;
    int qi = bin || sig || gap || cat || drop || sm ? q_after(g, n->out[0], !drop, &act, &y) : -1;
    if (qi < 0) continue;
    if (bin) {
      qp a, b;
      if (n->n_in != 2 || !dq_in(g, n->in[0], &a) || !dq_in(g, n->in[1], &b) || !same_dtype(g, a.z, b.z) ||
          !same_dtype(g, a.z, y.z))
        continue;
      int in[8] = {a.q, a.s, a.z, b.q, b.s, b.z, y.s, y.z};
      bool add = eo_pass_is_op(n, EO_OP_ADD);
      if ((st = replace_group(g, i, act, qi, add ? EO_OP_QLINEAR_ADD : EO_OP_QLINEAR_MUL,
                              add ? "QLinearAdd" : "QLinearMul", "com.microsoft", 8, in)))
        return st;
    } else if (sig || gap) {
      qp x;
      if (n->n_in != 1 || !dq_in(g, n->in[0], &x) || !same_dtype(g, x.z, y.z)) continue;
      if (gap) {
        // ORT refuses parameters out of its range at run time: where the shape is already known, such
        // groups stay float (else QLinearGlobalAveragePool's prepare reports them, as ORT would)
        const eo_tensor *xt = &g->tensors[x.q];
        int64_t image = xt->rank >= 3 ? 1 : -1;
        for (int d = 2; d < xt->rank; d++) image = xt->dims[d] > 0 && image > 0 ? image * xt->dims[d] : -1;
        if (image > 0 && eo_q8_gavgpool_scale(scale_value(g, x.s), scale_value(g, y.s), image) == 0.0f) continue;
      }
      int in[5] = {x.q, x.s, x.z, y.s, y.z};
      if ((st = replace_group(g, i, act, qi, sig ? EO_OP_QLINEAR_SIGMOID : EO_OP_QLINEAR_GLOBAL_AVERAGE_POOL,
                              sig ? "QLinearSigmoid" : "QLinearGlobalAveragePool", "com.microsoft", 5, in)))
        return st;
    } else if (sm) {
      qp x;
      if (n->n_in != 1 || !dq_in(g, n->in[0], &x) || !same_dtype(g, x.z, y.z)) continue;
      int in[5] = {x.q, x.s, x.z, y.s, y.z};
      if ((st = replace_group(g, i, act, qi, EO_OP_QLINEAR_SOFTMAX, "QLinearSoftmax", "com.microsoft", 5, in)))
        return st;
      // ORT's QLinearSoftmax takes the source opset (it decides what a row is)
      eo_node *nn = &g->nodes[g->n_nodes - 1];
      eo_attr *at = realloc(nn->attrs, (size_t)(nn->n_attrs + 1) * sizeof(eo_attr));
      if (!at) return eo_error(EO_ERR_NOMEM, "out of memory fusing Softmax '%s'", nn->name);
      nn->attrs = at;
      memset(&at[nn->n_attrs], 0, sizeof *at);
      if (!(at[nn->n_attrs].name = eo_strdup("opset"))) return eo_error(EO_ERR_NOMEM, "out of memory");
      at[nn->n_attrs].type = EO_ATTR_INT;
      at[nn->n_attrs].i = g->opset;
      nn->n_attrs++;
    } else if (cat) {
      int k = n->n_in, *in = eo_malloc((size_t)(2 + 3 * k) * sizeof(int));
      if (!in) return eo_error(EO_ERR_NOMEM, "out of memory fusing Concat '%s'", n->name);
      in[0] = y.s, in[1] = y.z;
      bool ok = true;
      for (int j = 0; j < k && ok; j++) {
        qp x;
        ok = dq_in(g, n->in[j], &x) && same_dtype(g, x.z, y.z);
        in[2 + 3 * j] = x.q, in[3 + 3 * j] = x.s, in[4 + 3 * j] = x.z;
      }
      st = ok ? replace_group(g, i, act, qi, EO_OP_QLINEAR_CONCAT, "QLinearConcat", "com.microsoft", 2 + 3 * k, in) : EO_OK;
      free(in);
      if (st) return st;
    } else {
      qp x;
      if (!dq_in(g, n->in[0], &x) || !same_dtype(g, x.z, y.z)) continue;
      // the pair must be an identity on the codes: same scale and zero point (ORT's IsQDQPairSupported)
      if (scale_value(g, x.s) != scale_value(g, y.s) || zp_value(g, x.z) != zp_value(g, y.z)) continue;
      if (!(scale_value(g, x.s) > 0.0f)) continue;
      int m = n->n_in, *in = eo_malloc((size_t)m * sizeof(int));
      if (!in) return eo_error(EO_ERR_NOMEM, "out of memory fusing %s '%s'", n->op_type, n->name);
      memcpy(in, n->in, (size_t)m * sizeof(int));
      in[0] = x.q;
      char *type = eo_strdup(n->op_type), *dom = eo_strdup(n->domain ? n->domain : "");
      st = type && dom ? replace_group(g, i, -1, qi, n->op, type, dom, m, in)
                       : eo_error(EO_ERR_NOMEM, "out of memory fusing %s '%s'", n->op_type, n->name);
      free(type);
      free(dom);
      free(in);
      if (st) return st;
    }
  }
  return EO_OK;
}

eo_status eo_pass_fuse_qdq(eo_graph *g, eo_pass_stats *stats) {
  eo_status st = eo_graph_link(g);
  if (st || (st = fuse_conv_groups(g, stats))) return st;
  return fuse_other_groups(g);
}
