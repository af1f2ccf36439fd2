/* BatchNormalization folding into the preceding Conv or Gemm.
 *
 * Inference BN is y = (x - mean) * s + beta with s = gamma / sqrt(var + eps), per channel c (dim 1).
 * For a Conv (channel = output channel m of W[M, C/g, k...]) and a Gemm (channel = column n of the
 * [M, N] output), scaling that output channel's weights by s and the bias b by
 * b' = (b - mean) * s + beta gives the same result with one node less. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/passes/passes.h"
#include "runtime/op.h"

typedef struct bn_params {
  int64_t c;
  const float *gamma, *beta, *mean, *var;
  float eps;
} bn_params;

static bool const_f32(const eo_graph *g, int t, int64_t numel) {
  if (!eo_pass_is_const(g, t)) return false;
  const eo_tensor *x = &g->tensors[t];
  return x->dtype == EO_FLOAT && x->rank >= 0 && eo_numel(x->rank, x->dims) == numel &&
         x->nbytes >= (size_t)numel * sizeof(float);
}

// BN in inference mode with constant per-channel float params and only output 0 in use.
static bool bn_foldable(const eo_graph *g, const eo_node *bn, bn_params *p) {
  if (bn->n_in < 5 || bn->n_out < 1 || bn->out[0] < 0) return false;
  if (eo_attr_i(bn, "training_mode", 0) != 0) return false;
  if (g->opset < 9 && eo_attr_i(bn, "spatial", 1) != 1) return false;
  for (int o = 1; o < bn->n_out; o++) {
    int t = bn->out[o];
    if (t >= 0 && (eo_pass_is_graph_output(g, t) || eo_pass_consumers(g, t) > 0)) return false;
  }
  int ts = bn->in[1];
  if (!eo_pass_is_const(g, ts)) return false;
  const eo_tensor *s = &g->tensors[ts];
  if (s->rank < 0) return false;
  p->c = eo_numel(s->rank, s->dims);
  if (p->c <= 0) return false;
  for (int j = 1; j < 5; j++)
    if (!const_f32(g, bn->in[j], p->c)) return false;
  p->gamma = g->tensors[bn->in[1]].data;
  p->beta = g->tensors[bn->in[2]].data;
  p->mean = g->tensors[bn->in[3]].data;
  p->var = g->tensors[bn->in[4]].data;
  p->eps = eo_attr_f(bn, "epsilon", 1e-5f);
  return true;
}

// The tensor to write folded values into: t itself when only `node` reads it (and it is no graph
// output), else a fresh copy named after it. Returns its index or -1 with a status.
static eo_status private_copy(eo_graph *g, int node, int slot, eo_status *st) {
  int t = g->nodes[node].in[slot];
  if (eo_pass_consumers(g, t) == 1 && !eo_pass_is_graph_output(g, t) && !(g->tensors[t].flags & EO_T_INPUT)) {
    *st = EO_OK;
    return t;
  }
  const eo_tensor *src = &g->tensors[t];
  void *data = eo_malloc(src->nbytes);
  if (!data) {
    *st = eo_error(EO_ERR_NOMEM, "out of memory copying '%s'", src->name);
    return -1;
  }
  memcpy(data, src->data, src->nbytes);
  int64_t dims[EO_MAX_RANK];
  int rank = src->rank, dtype = src->dtype;
  size_t nbytes = src->nbytes;
  memcpy(dims, src->dims, sizeof dims);
  char *base = eo_strdup(src->name);
  if (!base) {
    free(data);
    *st = eo_error(EO_ERR_NOMEM, "out of memory");
    return -1;
  }
  int idx;
  *st = eo_pass_add_const(g, base, "_bnfold", dtype, rank, dims, data, nbytes, &idx);
  free(base);
  if (*st) return -1;
  g->nodes[node].in[slot] = idx;
  return idx;
}

// Sets (or adds) a float attribute on a node.
static eo_status set_attr_f(eo_node *n, const char *name, float v) {
  for (int i = 0; i < n->n_attrs; i++) {
    if (strcmp(n->attrs[i].name, name) == 0) {
      eo_attr_clear(&n->attrs[i]);
      if (!(n->attrs[i].name = eo_strdup(name))) return eo_error(EO_ERR_NOMEM, "out of memory");
      n->attrs[i].type = EO_ATTR_FLOAT;
      n->attrs[i].f = v;
      return EO_OK;
    }
  }
  eo_attr *a = eo_realloc(n->attrs, (size_t)(n->n_attrs + 1) * sizeof(eo_attr));
  if (!a) return eo_error(EO_ERR_NOMEM, "out of memory");
  n->attrs = a;
  memset(&a[n->n_attrs], 0, sizeof(eo_attr));
  if (!(a[n->n_attrs].name = eo_strdup(name))) return eo_error(EO_ERR_NOMEM, "out of memory");
  a[n->n_attrs].type = EO_ATTR_FLOAT;
  a[n->n_attrs].f = v;
  n->n_attrs++;
  return EO_OK;
}

// Makes sure node has an input slot `slot` (absent optional inputs read -1).
static eo_status ensure_input_slot(eo_node *n, int slot) {
  if (n->n_in > slot) return EO_OK;
  int *in = eo_realloc(n->in, (size_t)(slot + 2) * sizeof(int));
  if (!in) return eo_error(EO_ERR_NOMEM, "out of memory");
  for (int j = n->n_in; j <= slot + 1; j++) in[j] = -1;
  n->in = in;
  n->n_in = slot + 1;
  return EO_OK;
}

static void scales(const bn_params *p, float *s) {
  for (int64_t c = 0; c < p->c; c++) s[c] = p->gamma[c] / sqrtf(p->var[c] + p->eps);
}

/* Conv: W [M, C/g, k...] with M == channels; bias [M] or absent. Checks everything before changing
 * anything so a rejected pair leaves the graph as it was. */
static eo_status fold_conv(eo_graph *g, int ci, const bn_params *p, bool *done) {
  eo_node *conv = &g->nodes[ci];
  *done = false;
  if (conv->n_in < 2 || conv->in[0] < 0 || conv->fused_act >= 0) return EO_OK;
  int tw = conv->in[1];
  if (!eo_pass_is_const(g, tw)) return EO_OK;
  const eo_tensor *w = &g->tensors[tw];
  if (w->dtype != EO_FLOAT || w->rank < 3 || w->dims[0] != p->c) return EO_OK;
  int64_t wn = eo_numel(w->rank, w->dims);
  if (wn < 0 || w->nbytes < (size_t)wn * sizeof(float)) return EO_OK;
  bool has_bias = conv->n_in > 2 && conv->in[2] >= 0;
  if (has_bias && !const_f32(g, conv->in[2], p->c)) return EO_OK;

  eo_status st;
  float *s = eo_calloc((size_t)p->c, sizeof(float));
  if (!s) return eo_error(EO_ERR_NOMEM, "out of memory");
  scales(p, s);
  // new bias first: it is the only step that can fail after checks (besides the weight copy)
  int tb;
  if (has_bias) {
    if ((tb = private_copy(g, ci, 2, &st)) < 0) goto out;
  } else {
    float *b = eo_calloc((size_t)p->c, sizeof(float));
    if (!b) {
      st = eo_error(EO_ERR_NOMEM, "out of memory");
      goto out;
    }
    int64_t dims[1] = {p->c};
    char *base = eo_strdup(g->nodes[ci].name && *g->nodes[ci].name ? g->nodes[ci].name : g->tensors[tw].name);
    if (!base) {
      free(b);
      st = eo_error(EO_ERR_NOMEM, "out of memory");
      goto out;
    }
    st = eo_pass_add_const(g, base, "_bias", EO_FLOAT, 1, dims, b, (size_t)p->c * sizeof(float), &tb);
    free(base);
    if (st) goto out;
    if ((st = ensure_input_slot(&g->nodes[ci], 2))) goto out;
    g->nodes[ci].in[2] = tb;
  }
  if ((tw = private_copy(g, ci, 1, &st)) < 0) goto out;
  float *wd = g->tensors[tw].data, *bd = g->tensors[tb].data;
  int64_t per = wn / p->c;
  for (int64_t m = 0; m < p->c; m++) {
    for (int64_t k = 0; k < per; k++) wd[m * per + k] *= s[m];
    bd[m] = (bd[m] - p->mean[m]) * s[m] + p->beta[m];
  }
  *done = true;
out:
  free(s);
  return st;
}

/* Gemm: Y = alpha * A' B' + beta * C with B' = transB ? B^T : B ([K, N]); channel n scales column n
 * of B'. C may be absent, a scalar, [N], [1, N] or [M, N]; it becomes beta*C*s + (beta_bn - mean*s)
 * and the Gemm's beta becomes 1. */
static eo_status fold_gemm(eo_graph *g, int gi, const bn_params *p, bool *done) {
  eo_node *gm = &g->nodes[gi];
  *done = false;
  if (gm->n_in < 2 || gm->in[0] < 0) return EO_OK;
  int tw = gm->in[1];
  if (!eo_pass_is_const(g, tw)) return EO_OK;
  const eo_tensor *w = &g->tensors[tw];
  bool trans_b = eo_attr_i(gm, "transB", 0) != 0;
  if (w->dtype != EO_FLOAT || w->rank != 2 || w->nbytes < (size_t)(w->dims[0] * w->dims[1]) * sizeof(float))
    return EO_OK;
  int64_t n_out = trans_b ? w->dims[0] : w->dims[1], k_dim = trans_b ? w->dims[1] : w->dims[0];
  if (n_out != p->c) return EO_OK;
  float beta_g = eo_attr_f(gm, "beta", 1.0f);
  // C: shape (rows, N) after broadcasting to columns; rows == 1 for scalar / [N] / [1, N]
  int tc = gm->n_in > 2 ? gm->in[2] : -1;
  int64_t c_rows = 1;
  bool c_scalar = false;
  if (tc >= 0) {
    if (!eo_pass_is_const(g, tc)) return EO_OK;
    const eo_tensor *c = &g->tensors[tc];
    int64_t cn = c->rank >= 0 ? eo_numel(c->rank, c->dims) : -1;
    if (c->dtype != EO_FLOAT || cn < 0 || c->nbytes < (size_t)cn * sizeof(float)) return EO_OK;
    if (cn == 1 && c->rank <= 2) {
      c_scalar = true;
    } else if (c->rank == 1 && c->dims[0] == p->c) {
    } else if (c->rank == 2 && c->dims[1] == p->c) {
      c_rows = c->dims[0];
    } else {
      return EO_OK;  // [M, 1] and the like would need the output's row count
    }
  }

  eo_status st;
  float *s = eo_calloc((size_t)p->c, sizeof(float));
  if (!s) return eo_error(EO_ERR_NOMEM, "out of memory");
  scales(p, s);
  // the new C: rows x N floats
  size_t cbytes = (size_t)c_rows * (size_t)p->c * sizeof(float);
  float *cd = eo_malloc(cbytes);
  if (!cd) {
    st = eo_error(EO_ERR_NOMEM, "out of memory");
    goto out;
  }
  const float *old_c = tc >= 0 ? g->tensors[tc].data : NULL;
  for (int64_t r = 0; r < c_rows; r++)
    for (int64_t n = 0; n < p->c; n++) {
      float cv = old_c ? old_c[c_scalar ? 0 : r * p->c + n] : 0.0f;
      cd[r * p->c + n] = beta_g * cv * s[n] + (p->beta[n] - p->mean[n] * s[n]);
    }
  int64_t cdims[2] = {c_rows, p->c};
  int tnew;
  char *base = eo_strdup(gm->name && *gm->name ? gm->name : g->tensors[tw].name);
  if (!base) {
    free(cd);
    st = eo_error(EO_ERR_NOMEM, "out of memory");
    goto out;
  }
  st = c_rows == 1 ? eo_pass_add_const(g, base, "_bias", EO_FLOAT, 1, &cdims[1], cd, cbytes, &tnew)
                   : eo_pass_add_const(g, base, "_bias", EO_FLOAT, 2, cdims, cd, cbytes, &tnew);
  free(base);
  if (st) goto out;
  if ((tw = private_copy(g, gi, 1, &st)) < 0) goto out;
  if ((st = ensure_input_slot(&g->nodes[gi], 2))) goto out;
  if ((st = set_attr_f(&g->nodes[gi], "beta", 1.0f))) goto out;
  g->nodes[gi].in[2] = tnew;
  float *wd = g->tensors[tw].data;
  for (int64_t kk = 0; kk < k_dim; kk++)
    for (int64_t n = 0; n < p->c; n++) {
      if (trans_b) wd[n * k_dim + kk] *= s[n];
      else wd[kk * p->c + n] *= s[n];
    }
  *done = true;
out:
  free(s);
  return st;
}

eo_status eo_pass_fold_batchnorm(eo_graph *g, eo_pass_stats *stats) {
  eo_status st = eo_graph_link(g);
  if (st) return st;
  for (int i = 0; i < g->n_nodes; i++) {
    if (g->nodes[i].dead || !eo_pass_is_op(&g->nodes[i], EO_OP_BATCH_NORMALIZATION)) continue;
    bn_params p;
    if (!bn_foldable(g, &g->nodes[i], &p)) continue;
    int x = g->nodes[i].in[0];
    if (x < 0 || eo_pass_is_graph_output(g, x) || eo_pass_consumers(g, x) != 1) continue;
    int pi = g->tensors[x].producer;
    if (pi < 0 || g->nodes[pi].dead || g->nodes[pi].n_out < 1 || g->nodes[pi].out[0] != x) continue;
    bool done = false;
    if (eo_pass_is_op(&g->nodes[pi], EO_OP_CONV)) st = fold_conv(g, pi, &p, &done);
    else if (eo_pass_is_op(&g->nodes[pi], EO_OP_GEMM)) st = fold_gemm(g, pi, &p, &done);
    if (st) return st;
    if (!done) continue;
    // the Conv/Gemm now writes the BN's output (its name stays, e.g. when it is a graph output)
    int y = g->nodes[i].out[0];
    g->nodes[pi].out[0] = y;
    g->nodes[i].dead = true;
    g->tensors[y].producer = pi;
    g->tensors[x].producer = -1;
    if (stats) stats->bn_folded++;
  }
  return EO_OK;
}
