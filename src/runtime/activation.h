/* Activations as in-place kernels, for ops that fuse them into their epilogue (Conv, Gemm, ...),
 * and the unary elementwise kernel they share with the standalone ops (ops/unary.c).
 *
 *   if (eo_activation_fusable(node->fused_act))
 *     eo_f32_activation__ref(node->fused_act, node->act_alpha, node->act_beta, y, n);
 *
 * Parameters follow the ONNX attributes of the activation op:
 *   EO_OP_RELU                         max(x, 0)
 *   EO_OP_LEAKY_RELU   alpha           x < 0 ? alpha * x : x
 *   EO_OP_ELU          alpha           x < 0 ? alpha * (exp(x) - 1) : x
 *   EO_OP_SIGMOID, EO_OP_TANH
 *   EO_OP_HARD_SIGMOID alpha, beta     max(0, min(1, alpha * x + beta))
 *   EO_OP_HARD_SWISH                   x * max(0, min(1, x / 6 + 1 / 2))
 *   EO_OP_CLIP         alpha=min, beta=max
 *   EO_ACT_SILU                        x * sigmoid(x): the Sigmoid -> Mul pair (nn.SiLU before opset 14)
 * The ONNX defaults (LeakyRelu 0.01, Elu 1, HardSigmoid 0.2/0.5) are the caller's to fill in.
 */
#ifndef EO_RUNTIME_ACTIVATION_H
#define EO_RUNTIME_ACTIVATION_H

#include <stdbool.h>
#include <stdint.h>

#include "edgeopt/edgeopt.h"
#include "runtime/op.h"

/* SiLU has no ONNX op at the opsets edgeopt reads, so it gets an id just past the eo_op_ids. Its
 * kernels compute sigmoid(x) exactly as the Sigmoid op does and multiply by x once, so the fused
 * result is bit-identical to Sigmoid then Mul on the same (fast or reference) path. */
#define EO_ACT_SILU EO_OP_COUNT

/* True for the ops eo_f32_activation__ref applies. */
bool eo_activation_fusable(int op);

/* "Relu", ..., "SiLU" for messages. */
const char *eo_activation_name(int op);

struct eo_op_ctx;
/* The node's fused activation for an op that runs it in its epilogue: *op (-1 when none), *alpha,
 * *beta from node->fused_act/act_alpha/act_beta; error naming the node when it is not fusable. */
eo_status eo_fused_activation(const struct eo_op_ctx *c, int *op, float *alpha, float *beta);

/* Applies activation `act_op` (an eo_op_id listed above) to x[0..n) in place. Any other op id is an
 * invariant violation (check eo_activation_fusable first). */
void eo_f32_activation__ref(int act_op, float alpha, float beta, float *x, int64_t n);

/* Attributes of the parameterized unary ops. */
typedef struct eo_unary_params {
  float alpha, beta;
} eo_unary_params;

/* y[i] = op(x[i]) for a unary op of ops/unary.c (Abs ... Not) on float32; x may equal y. */
void eo_f32_unary__ref(int op, const eo_unary_params *p, const float *x, float *y, int64_t n);

#endif
