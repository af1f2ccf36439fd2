/* Conv + activation fusion: the activation runs in the Conv's epilogue (node->fused_act), saving a
 * pass over the output. Only marks the graph; the Conv op applies the mark. */
#include <math.h>

#include "ir/passes/passes.h"
#include "runtime/activation.h"
#include "runtime/op.h"

// Scalar value of a constant float-ish tensor (Clip min/max), false if not a constant scalar.
static bool const_scalar(const eo_graph *g, int t, float *v) {
  if (!eo_pass_is_const(g, t)) return false;
  const eo_tensor *x = &g->tensors[t];
  if (x->rank < 0 || eo_numel(x->rank, x->dims) != 1) return false;
  eo_tview view = {.dtype = x->dtype, .rank = 0, .data = x->data};
  if (!eo_dtype_is_float(x->dtype) || x->nbytes < eo_dtype_size(x->dtype)) return false;
  *v = (float)eo_tview_get_f64(&view, 0);
  return true;
}

// Fusable activation: its op id and parameters.
static bool activation_params(const eo_graph *g, const eo_node *a, int *op, float *alpha, float *beta) {
  static const int ops[] = {EO_OP_RELU, EO_OP_LEAKY_RELU, EO_OP_CLIP, EO_OP_SIGMOID,
                            EO_OP_HARD_SIGMOID, EO_OP_HARD_SWISH, EO_OP_TANH, EO_OP_ELU};
  *op = -1;
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    if (eo_pass_is_op(a, ops[i])) *op = ops[i];
  if (*op < 0 || a->n_in < 1 || a->n_out < 1 || a->out[0] < 0) return false;
  *alpha = *beta = 0.0f;
  switch (*op) {
    case EO_OP_LEAKY_RELU: *alpha = eo_attr_f(a, "alpha", 0.01f); break;
    case EO_OP_ELU: *alpha = eo_attr_f(a, "alpha", 1.0f); break;
    case EO_OP_HARD_SIGMOID:
      *alpha = eo_attr_f(a, "alpha", 0.2f);
      *beta = eo_attr_f(a, "beta", 0.5f);
      break;
    case EO_OP_CLIP:
      // opset < 11: attributes; 11+: optional constant inputs. Absent bound = no bound.
      *alpha = -INFINITY;
      *beta = INFINITY;
      if (g->opset < 11) {
        *alpha = eo_attr_f(a, "min", -INFINITY);
        *beta = eo_attr_f(a, "max", INFINITY);
      } else {
        if (a->n_in > 1 && a->in[1] >= 0 && !const_scalar(g, a->in[1], alpha)) return false;
        if (a->n_in > 2 && a->in[2] >= 0 && !const_scalar(g, a->in[2], beta)) return false;
      }
      break;
    default: break;
  }
  return true;
}

/* The output of a live, unfused float32 Conv that is not a graph output (the epilogue is float32; the
 * weights' dtype is known even before shape inference), or -1. */
static int fusable_conv_output(const eo_graph *g, const eo_node *conv) {
  if (conv->dead || conv->fused_act >= 0 || !eo_pass_is_op(conv, EO_OP_CONV)) return -1;
  if (conv->n_in < 2 || conv->n_out < 1 || conv->out[0] < 0) return -1;
  int tw = conv->in[1];
  if (tw < 0 || g->tensors[tw].dtype != EO_FLOAT) return -1;
  return eo_pass_is_graph_output(g, conv->out[0]) ? -1 : conv->out[0];
}

/* Conv i now applies `act` and writes z, the fused chain's last output. */
static void fuse_into_conv(eo_graph *g, int i, int act, float alpha, float beta, int z, eo_pass_stats *stats) {
  eo_node *conv = &g->nodes[i];
  g->tensors[conv->out[0]].producer = -1;
  conv->fused_act = act;
  conv->act_alpha = alpha;
  conv->act_beta = beta;
  conv->out[0] = z;
  g->tensors[z].producer = i;
  if (stats) stats->act_fused++;
}

eo_status eo_pass_fuse_activation(eo_graph *g, eo_pass_stats *stats) {
  eo_status st = eo_graph_link(g);
  if (st) return st;
  for (int i = 0; i < g->n_nodes; i++) {
    int y = fusable_conv_output(g, &g->nodes[i]);
    if (y < 0 || eo_pass_consumers(g, y) != 1) continue;
    eo_node *act = &g->nodes[eo_pass_first_consumer(g, y)];
    int op;
    float alpha, beta;
    if (act->n_in < 1 || act->in[0] != y || !activation_params(g, act, &op, &alpha, &beta)) continue;
    act->dead = true;
    fuse_into_conv(g, i, op, alpha, beta, act->out[0], stats);
  }
  return EO_OK;
}

/* Conv -> Sigmoid -> Mul(conv_out, sigmoid_out): nn.SiLU as PyTorch exports it below opset 14, fused
 * as EO_ACT_SILU; Conv -> HardSigmoid(alpha 1/6, beta 1/2) -> Mul likewise (nn.Hardswish below opset
 * 14), fused as HardSwish, whose formula is exactly that product. The Conv output must feed only the
 * gate and the Mul and the gate output only the Mul (neither a graph output); the Conv then writes
 * the Mul's output. Kept out of the default pipeline: the ONNX and TFLite writers take graphs from it
 * and have no fused SiLU. */
eo_status eo_pass_fuse_silu(eo_graph *g, eo_pass_stats *stats) {
  eo_status st = eo_graph_link(g);
  if (st) return st;
  for (int i = 0; i < g->n_nodes; i++) {
    int y = fusable_conv_output(g, &g->nodes[i]);
    if (y < 0 || eo_pass_consumers(g, y) != 2) continue;
    // the gate reading y (a Sigmoid, or a HardSigmoid with HardSwish's constants)
    eo_node *gate = NULL;
    int act = -1;
    for (int k = 0; k < g->n_nodes && !gate; k++) {
      eo_node *n = &g->nodes[k];
      if (n->dead || n->n_in != 1 || n->in[0] != y || n->n_out != 1 || n->out[0] < 0) continue;
      if (eo_pass_is_op(n, EO_OP_SIGMOID)) {
        gate = n, act = EO_ACT_SILU;
      } else if (eo_pass_is_op(n, EO_OP_HARD_SIGMOID) && eo_attr_f(n, "alpha", 0.2f) == 1.0f / 6.0f &&
                 eo_attr_f(n, "beta", 0.5f) == 0.5f) {
        gate = n, act = EO_OP_HARD_SWISH;
      }
    }
    if (!gate) continue;
    int s = gate->out[0];
    if (eo_pass_is_graph_output(g, s) || eo_pass_consumers(g, s) != 1) continue;
    eo_node *mul = &g->nodes[eo_pass_first_consumer(g, s)];
    if (!eo_pass_is_op(mul, EO_OP_MUL) || mul->n_in != 2 || mul->n_out != 1 || mul->out[0] < 0) continue;
    if (!((mul->in[0] == y && mul->in[1] == s) || (mul->in[0] == s && mul->in[1] == y))) continue;
    gate->dead = mul->dead = true;
    g->tensors[s].producer = -1;
    fuse_into_conv(g, i, act, 0.0f, 0.0f, mul->out[0], stats);
  }
  return EO_OK;
}

static bool same_shape(const eo_tensor *a, const eo_tensor *b) {
  if (a->rank < 0 || a->rank != b->rank || a->dtype != b->dtype) return false;
  for (int d = 0; d < a->rank; d++)
    if (a->dims[d] < 0 || a->dims[d] != b->dims[d]) return false;
  return true;
}

eo_status eo_pass_fuse_residual(eo_graph *g, eo_pass_stats *stats) {
  eo_status st = eo_graph_link(g);
  if (st) return st;
  for (int i = 0; i < g->n_nodes; i++) {
    int y = fusable_conv_output(g, &g->nodes[i]);
    if (y < 0 || g->nodes[i].fused_residual || g->nodes[i].n_in > 3 || g->tensors[y].dtype != EO_FLOAT ||
        eo_pass_consumers(g, y) != 1)
      continue;
    const int ai = eo_pass_first_consumer(g, y);
    const eo_node *add = &g->nodes[ai];
    if (!eo_pass_is_op(add, EO_OP_ADD) || add->n_in != 2 || add->n_out != 1 || add->out[0] < 0) continue;
    int r = add->in[0] == y ? add->in[1] : add->in[0];
    if (r < 0 || r == y || !same_shape(&g->tensors[r], &g->tensors[y]) ||
        !same_shape(&g->tensors[add->out[0]], &g->tensors[y]))
      continue;
    int z = add->out[0], op = -1;
    float alpha = 0.0f, beta = 0.0f;
    eo_node *act = NULL;
    if (!eo_pass_is_graph_output(g, z) && eo_pass_consumers(g, z) == 1) {
      act = &g->nodes[eo_pass_first_consumer(g, z)];
      if (act->n_in < 1 || act->in[0] != z || !activation_params(g, act, &op, &alpha, &beta)) act = NULL, op = -1;
    }
    eo_node *conv = &g->nodes[i];
    int *in = realloc(conv->in, 5 * sizeof(int));
    if (!in) return eo_error(EO_ERR_NOMEM, "out of memory fusing the Add after Conv '%s'", conv->name);
    conv->in = in;
    for (int k = conv->n_in; k < 3; k++) in[k] = -1;  // no bias
    in[3] = r;
    conv->n_in = 4;
    conv->fused_residual = true;
    g->nodes[ai].dead = true;
    if (act) {
      act->dead = true;
      g->tensors[z].producer = -1;
      z = act->out[0];
    }
    fuse_into_conv(g, i, op, alpha, beta, z, NULL);
    if (stats) stats->residual_fused++;
  }
  return EO_OK;
}
