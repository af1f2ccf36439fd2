#include "runtime/activation.h"

#include <stdlib.h>

#include "runtime/op.h"

bool eo_activation_fusable(int op) {
  switch (op) {
    case EO_OP_RELU: case EO_OP_LEAKY_RELU: case EO_OP_SIGMOID: case EO_OP_HARD_SIGMOID:
    case EO_OP_HARD_SWISH: case EO_OP_CLIP: case EO_OP_ELU: case EO_OP_TANH: case EO_ACT_SILU:
      return true;
    default:
      return false;
  }
}

const char *eo_activation_name(int op) { return op == EO_ACT_SILU ? "SiLU" : eo_op_name(op); }

void eo_f32_activation__ref(int act_op, float alpha, float beta, float *x, int64_t n) {
  EO_ASSERT(eo_activation_fusable(act_op));
  if (act_op == EO_OP_CLIP) {  // same order as Clip: min first, so min > max gives max
    for (int64_t i = 0; i < n; i++) {
      float v = x[i] < alpha ? alpha : x[i];
      x[i] = v > beta ? beta : v;
    }
    return;
  }
  eo_unary_params p = {alpha, beta};
  if (act_op == EO_ACT_SILU) {  // the Sigmoid op's kernel, then Mul's float product
    for (int64_t i = 0; i < n; i += 256) {
      float s[256];
      int64_t m = n - i < 256 ? n - i : 256;
      eo_f32_unary__ref(EO_OP_SIGMOID, &p, x + i, s, m);
      for (int64_t k = 0; k < m; k++) x[i + k] *= s[k];
    }
    return;
  }
  eo_f32_unary__ref(act_op, &p, x, x, n);
}

eo_status eo_fused_activation(const eo_op_ctx *c, int *op, float *alpha, float *beta) {
  *op = c->node->fused_act;
  *alpha = c->node->act_alpha;
  *beta = c->node->act_beta;
  if (*op >= 0 && !eo_activation_fusable(*op))
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "fused activation %s cannot run in the %s epilogue", eo_activation_name(*op),
                       c->node->op_type);
  return EO_OK;
}
