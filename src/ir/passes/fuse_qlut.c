/* SiLU and HardSwish of a QDQ model as one 256-entry table (passes.h: eo_pass_fuse_qlut).
 *
 * After fuse_qdq a quantized SiLU is QLinearSigmoid(x) -> s, QLinearMul(x, s): two passes over the
 * tensor (a lookup, then an integer product and a float requantization per element). Each output
 * depends on one code of x alone, so the pair is a function of 256 codes: one table lookup. The
 * same holds for HardSwish, which QDQ models keep as DQ(x) -> HardSigmoid -> Q -> QLinearMul(x, .)
 * (ONNX Runtime has no QLinear HardSigmoid). The table is made by running the chain's own op
 * definitions (infer, prepare, forward, as constant folding does) on the 256 codes, with the
 * kernels the session would pick, so the fused op returns what the chain returns, byte for byte. */
#include <stdlib.h>
#include <string.h>

#include "ir/passes/passes.h"
#include "runtime/op.h"

#define MAX_CHAIN 4 /* gate nodes + the Mul */
#define MAX_IN 16

static int in_at(const eo_node *n, int i) { return i < n->n_in ? n->in[i] : -1; }

static bool is_q8(int dt) { return dt == EO_INT8 || dt == EO_UINT8; }

// Absent, or a constant with one element (a per-tensor scale or zero point).
static bool scalar_const(const eo_graph *g, int t) {
  if (t < 0) return true;
  const eo_tensor *x = &g->tensors[t];
  return eo_pass_is_const(g, t) && x->rank >= 0 && x->rank <= 1 && eo_numel(x->rank, x->dims) == 1;
}

// t is read by exactly one input slot of a live node, is not a graph output, and that node is
// `want`; returns the reader or -1.
static int only_reader(const eo_graph *g, int t, int want) {
  if (t < 0 || eo_pass_is_graph_output(g, t) || eo_pass_consumers(g, t) != 1) return -1;
  int r = eo_pass_first_consumer(g, t);
  return r >= 0 && g->nodes[r].op == want ? r : -1;
}

// The live producer of t if it is op `op` with one output, else -1.
static int producer_is(const eo_graph *g, int t, int op) {
  if (t < 0) return -1;
  int p = g->tensors[t].producer;
  if (p < 0 || g->nodes[p].dead || g->nodes[p].op != op || g->nodes[p].n_out != 1) return -1;
  return p;
}

/* The gate chain from x to the Mul's other operand `s`: QLinearSigmoid(x) -> s, or DQ(x) ->
 * HardSigmoid -> Q -> s. Fills chain[] in execution order; returns its length, 0 if s is not such
 * a gate of x. Every intermediate is read only by the next node; every other input is a per-tensor
 * constant. */
static int gate_chain(const eo_graph *g, int x, int s, int *chain) {
  int sig = producer_is(g, s, EO_OP_QLINEAR_SIGMOID);
  if (sig >= 0) {
    const eo_node *n = &g->nodes[sig];
    if (in_at(n, 0) != x || n->n_in > 5) return 0;
    for (int i = 1; i < n->n_in; i++)
      if (!scalar_const(g, n->in[i])) return 0;
    chain[0] = sig;
    return 1;
  }
  int q = producer_is(g, s, EO_OP_QUANTIZE_LINEAR);
  if (q < 0) return 0;
  const eo_node *qn = &g->nodes[q];
  int hs = producer_is(g, in_at(qn, 0), EO_OP_HARD_SIGMOID);
  if (hs < 0 || qn->n_in < 2 || !scalar_const(g, qn->in[1]) || !scalar_const(g, in_at(qn, 2))) return 0;
  const eo_node *hn = &g->nodes[hs];
  int dq = producer_is(g, in_at(hn, 0), EO_OP_DEQUANTIZE_LINEAR);
  if (dq < 0 || hn->n_in != 1 || only_reader(g, hn->out[0], EO_OP_QUANTIZE_LINEAR) != q) return 0;
  const eo_node *dn = &g->nodes[dq];
  if (in_at(dn, 0) != x || dn->n_in < 2 || !scalar_const(g, dn->in[1]) || !scalar_const(g, in_at(dn, 2)) ||
      only_reader(g, dn->out[0], EO_OP_HARD_SIGMOID) != hs)
    return 0;
  chain[0] = dq, chain[1] = hs, chain[2] = q;
  return 3;
}

typedef struct dyn {
  int t;        /* graph tensor */
  eo_tview v;   /* its value on the 256 codes */
  void *own;    /* buffer owned here (NULL for the codes) */
} dyn;

static void *alloc64(size_t n) { return aligned_alloc(64, (n + 63) & ~(size_t)63); }

/* Runs node n on the dynamic tensors d[0..*nd) (x's codes and earlier outputs) and the graph's
 * constants; appends its output to d. false when the op refuses (the chain is then left alone). */
static bool eval_node(const eo_graph *g, const eo_node *n, bool force_ref, dyn *d, int *nd, bool *nomem) {
  const eo_op_def *def = eo_op_get(n->op);
  if (!def || n->n_in > MAX_IN || n->n_out != 1 || n->out[0] < 0) return false;
  eo_tview shadow[MAX_IN], *in[MAX_IN], outv, *out[1] = {&outv};
  void *data[MAX_IN];
  for (int j = 0; j < n->n_in; j++) {
    in[j] = NULL;
    data[j] = NULL;
    int t = n->in[j];
    if (t < 0) continue;
    int k = 0;
    while (k < *nd && d[k].t != t) k++;
    if (k < *nd) {
      shadow[j] = d[k].v;
      data[j] = d[k].v.data;
      shadow[j].data = NULL;  // as in the session: only constants have data at infer and prepare
    } else {
      const eo_tensor *c = &g->tensors[t];
      if (!eo_pass_is_const(g, t) || c->rank < 0) return false;
      memset(&shadow[j], 0, sizeof shadow[j]);
      shadow[j].dtype = c->dtype;
      shadow[j].rank = c->rank;
      for (int r = 0; r < c->rank; r++) shadow[j].dims[r] = c->dims[r];
      shadow[j].data = c->data;
      data[j] = c->data;
    }
    in[j] = &shadow[j];
  }
  memset(&outv, 0, sizeof outv);
  eo_op_ctx c = {.node = n, .opset = g->opset, .n_in = n->n_in, .n_out = 1, .in = in, .out = out,
                 .force_ref = force_ref};
  if (def->infer(&c) != EO_OK) return false;
  size_t bytes = 0;
  if (eo_tview_numel(&outv) != 256 || !eo_dtype_bytes(outv.dtype, 256, &bytes)) return false;
  if (def->prepare && def->prepare(&c) != EO_OK) {
    if (def->release) def->release(c.state);
    return false;
  }
  void *buf = alloc64(bytes), *scratch = c.scratch_bytes ? alloc64(c.scratch_bytes) : NULL;
  if (!buf || (c.scratch_bytes && !scratch)) {
    free(buf);
    free(scratch);
    if (def->release) def->release(c.state);
    *nomem = true;
    return false;
  }
  for (int j = 0; j < n->n_in; j++)
    if (in[j]) shadow[j].data = data[j];
  outv.data = buf;
  c.scratch = scratch;
  def->forward(&c);
  free(scratch);
  if (def->release) def->release(c.state);
  d[*nd] = (dyn){.t = n->out[0], .v = outv, .own = buf};
  (*nd)++;
  return true;
}

/* table[b] = what chain[0..n) (the gate, then the Mul) writes for x's code with byte b. relink: the
 * chain's last node reads the one before it through ops that only move codes (its input 0 is not
 * the previous node's output), so it is fed that output instead. */
static eo_status make_table(const eo_graph *g, int x, const int *chain, int n, bool relink, bool force_ref,
                            uint8_t *table, bool *ok) {
  uint8_t *codes = alloc64(256);
  if (!codes) return eo_error(EO_ERR_NOMEM, "out of memory fusing '%s'", g->nodes[chain[n - 1]].name);
  for (int b = 0; b < 256; b++) codes[b] = (uint8_t)b;
  dyn d[MAX_CHAIN + 1];
  int nd = 1;
  memset(&d[0], 0, sizeof d[0]);
  d[0].t = x;
  d[0].v.dtype = g->tensors[x].dtype;
  // x's rank (so an axis attribute means what it means in the graph), every dim 1 but the last
  d[0].v.rank = g->tensors[x].rank >= 2 ? g->tensors[x].rank : 2;
  for (int r = 0; r < d[0].v.rank; r++) d[0].v.dims[r] = r == d[0].v.rank - 1 ? 256 : 1;
  d[0].v.data = codes;
  bool nomem = false;
  *ok = true;
  for (int k = 0; k < n && *ok; k++) {
    if (relink && k == n - 1) d[nd - 1].t = g->nodes[chain[k]].in[0];
    *ok = eval_node(g, &g->nodes[chain[k]], force_ref, d, &nd, &nomem);
  }
  if (*ok) *ok = d[nd - 1].v.dtype == d[0].v.dtype;  // the last node writes x's dtype
  if (*ok) memcpy(table, d[nd - 1].v.data, 256);
  for (int k = 0; k < nd; k++) free(d[k].own);
  free(codes);
  if (nomem) return eo_error(EO_ERR_NOMEM, "out of memory fusing '%s'", g->nodes[chain[n - 1]].name);
  return EO_OK;
}

static eo_status fuse_gates(eo_graph *g, bool force_ref, eo_pass_stats *stats) {
  eo_status st;
  int n0 = g->n_nodes;
  for (int i = 0; i < n0; i++) {
    const eo_node *m = &g->nodes[i];
    // QLinearMul: A, A_scale, A_zp, B, B_scale, B_zp, C_scale, C_zp
    if (m->dead || m->op != EO_OP_QLINEAR_MUL || m->n_in < 7 || m->n_in > 8 || m->n_out != 1 || m->out[0] < 0)
      continue;
    int a = m->in[0], b = m->in[3];
    if (a < 0 || b < 0) continue;
    bool params = true;
    for (int j = 0; j < m->n_in; j++)
      if (j != 0 && j != 3) params &= scalar_const(g, m->in[j]);
    if (!params) continue;
    // x is the operand the other one is a gate of (Mul(x, gate) or Mul(gate, x))
    int chain[MAX_CHAIN], n = 0, x = -1, s = -1;
    if ((n = gate_chain(g, a, b, chain)) > 0) x = a, s = b;
    else if ((n = gate_chain(g, b, a, chain)) > 0) x = b, s = a;
    if (n == 0 || !is_q8(g->tensors[x].dtype) || only_reader(g, s, EO_OP_QLINEAR_MUL) != i) continue;
    chain[n++] = i;
    uint8_t *table = eo_malloc(256);
    if (!table) return eo_error(EO_ERR_NOMEM, "out of memory fusing '%s'", m->name);
    bool ok;
    if ((st = make_table(g, x, chain, n, false, force_ref, table, &ok))) {
      free(table);
      return st;
    }
    if (!ok) {
      free(table);
      continue;
    }
    int tt, ni;
    if ((st = eo_pass_add_const(g, g->tensors[m->out[0]].name, "_qlut", EO_UINT8, 1, (int64_t[]){256}, table, 256,
                                &tt)))
      return st;
    m = &g->nodes[i];  // g->nodes may move as nodes are added
    int out = m->out[0];
    if ((st = eo_graph_add_node(g, m->name, "Q8Lut", EO_INTERNAL_DOMAIN, 2, (int[]){x, tt}, 1, &out, &ni))) return st;
    g->nodes[ni].op = EO_OP_Q8_LUT;
    for (int k = 0; k < n; k++) g->nodes[chain[k]].dead = true;
    g->tensors[out].producer = ni;
    if (stats) stats->qlut_fused++;
  }
  return EO_OK;
}

// Same per-tensor quantization: equal scale values, zero points of the same dtype and value.
static bool same_params(const eo_graph *g, const eo_node *a, const eo_node *b) {
  int az = in_at(a, 2), bz = in_at(b, 2);
  if (*(const float *)g->tensors[a->in[1]].data != *(const float *)g->tensors[b->in[1]].data) return false;
  if (az < 0 || bz < 0) return az == bz;
  return g->tensors[az].dtype == g->tensors[bz].dtype &&
         *(const uint8_t *)g->tensors[az].data == *(const uint8_t *)g->tensors[bz].data;
}

/* DQ(x) -> M -> Q on every output of M, where M only moves elements (eo_pass_moves_elements, or a
 * Split) and the Qs share parameters other than x's: fuse_qdq leaves this group float (ORT fuses a
 * Split only at equal parameters), but each output code is Q(DQ(c)) of the code c it moved, a
 * function of one code. So it becomes Q8Lut(x) -> M on 8-bit codes writing the Qs' outputs: the
 * same bytes, two steps instead of 2 + outputs, and 8-bit traffic instead of float. YOLOv8's C2f
 * blocks have one each: the Split of cv1's output, requantized to the Concat's shared scale. */
static eo_status fuse_moves(eo_graph *g, bool force_ref, eo_pass_stats *stats) {
  eo_status st;
  int n0 = g->n_nodes;
  for (int i = 0; i < n0; i++) {
    const eo_node *m = &g->nodes[i];
    if (m->dead || m->n_in < 1 || m->n_out < 1 || m->n_out > 64 ||
        !(eo_pass_moves_elements(m) || eo_pass_is_op(m, EO_OP_SPLIT)))
      continue;
    int dq = producer_is(g, m->in[0], EO_OP_DEQUANTIZE_LINEAR);
    if (dq < 0) continue;
    const eo_node *dn = &g->nodes[dq];
    int x = dn->in[0];
    if (x < 0 || !is_q8(g->tensors[x].dtype) || dn->n_in < 2 || !scalar_const(g, dn->in[1]) ||
        !scalar_const(g, in_at(dn, 2)) || g->tensors[dn->in[1]].dtype != EO_FLOAT ||
        eo_pass_consumers(g, dn->out[0]) != 1 || eo_pass_is_graph_output(g, dn->out[0]))
      continue;
    // every output of M read only by a Q, all Qs alike, writing x's dtype; M's other inputs constant
    int qs[64];
    bool ok = true;
    for (int j = 1; ok && j < m->n_in; j++) ok = m->in[j] < 0 || eo_pass_is_const(g, m->in[j]);
    for (int o = 0; ok && o < m->n_out; o++) {
      qs[o] = only_reader(g, m->out[o], EO_OP_QUANTIZE_LINEAR);
      const eo_node *qn = qs[o] >= 0 ? &g->nodes[qs[o]] : NULL;
      ok = qn && qn->in[0] == m->out[o] && qn->n_in >= 2 && qn->n_out == 1 && scalar_const(g, qn->in[1]) &&
           scalar_const(g, in_at(qn, 2)) && g->tensors[qn->in[1]].dtype == EO_FLOAT &&
           eo_attr_i(qn, "saturate", 1) == 1 && (o == 0 || same_params(g, qn, &g->nodes[qs[0]]));
    }
    if (!ok) continue;
    uint8_t *table = eo_malloc(256);
    if (!table) return eo_error(EO_ERR_NOMEM, "out of memory fusing '%s'", m->name);
    if ((st = make_table(g, x, (int[]){dq, qs[0]}, 2, true, force_ref, table, &ok))) {
      free(table);
      return st;
    }
    if (!ok) {  // a Q writing the other 8-bit dtype (the move ops run on any dtype: fuse_qdq's drop ops)
      free(table);
      continue;
    }
    int tt, ni, codes = dn->out[0];
    // x from a table read only here (a SiLU before the move): one table of the two
    int lut = producer_is(g, x, EO_OP_Q8_LUT);
    if (lut >= 0 && eo_pass_consumers(g, x) == 1 && !eo_pass_is_graph_output(g, x)) {
      const uint8_t *first = g->tensors[g->nodes[lut].in[1]].data;
      uint8_t composed[256];
      for (int b = 0; b < 256; b++) composed[b] = table[first[b]];
      memcpy(table, composed, 256);
      x = g->nodes[lut].in[0];
      g->nodes[lut].dead = true;
    }
    if ((st = eo_pass_add_const(g, g->tensors[codes].name, "_qlut", EO_UINT8, 1, (int64_t[]){256}, table, 256, &tt)))
      return st;
    if ((st = eo_graph_add_node(g, g->nodes[dq].name, "Q8Lut", EO_INTERNAL_DOMAIN, 2, (int[]){x, tt}, 1, &codes, &ni)))
      return st;
    g->nodes[ni].op = EO_OP_Q8_LUT;
    g->nodes[dq].dead = true;
    g->tensors[codes].dtype = g->tensors[x].dtype;  // M now reads codes (infer sets the rest)
    eo_node *mm = &g->nodes[i];                      // g->nodes may have moved
    for (int o = 0; o < mm->n_out; o++) {
      g->tensors[mm->out[o]].producer = -1;
      mm->out[o] = g->nodes[qs[o]].out[0];
      g->nodes[qs[o]].dead = true;
    }
    if ((st = eo_graph_link(g))) return st;
    if (stats) stats->qmove_fused++;
  }
  return EO_OK;
}

eo_status eo_pass_fuse_qlut(eo_graph *g, bool force_ref, eo_pass_stats *stats) {
  eo_status st = eo_graph_link(g);
  if (st || (st = fuse_gates(g, force_ref, stats))) return st;
  return fuse_moves(g, force_ref, stats);
}
