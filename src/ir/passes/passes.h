/* Graph passes: rewrites of an in-memory eo_graph that keep its meaning and make it cheaper to run.
 *
 * Passes never touch the loaded model: they receive a graph the caller already copied with
 * eo_graph_clone. They keep the names of graph inputs and outputs (a graph output stays the same
 * tensor name even when another node ends up writing it). A pass marks the nodes it removes `dead`;
 * eo_graph_compact (called by eo_passes_run_default) drops them and the tensors nobody references.
 *
 *     eo_graph g;
 *     eo_graph_clone(&model_graph, &g);
 *     eo_pass_stats st;
 *     if (eo_passes_run_default(&g, &st) != EO_OK) { ... eo_last_error() ...; eo_graph_free(&g); }
 *     printf("folded %d BN, fused %d activations\n", st.bn_folded, st.act_fused);
 *
 * Each pass adds to the counters of `stats` (which may be NULL) and returns a status: EO_OK, or
 * EO_ERR_NOMEM / EO_ERR_INVALID (a cyclic or doubly-produced graph) with eo_last_error() set. On
 * failure the graph is still valid (every rewrite is applied whole or not at all) but may be
 * partially optimized.
 *
 * A tensor is a constant when it has data and is not a graph input (an initializer the user may
 * override is not folded).
 */
#ifndef EO_IR_PASSES_H
#define EO_IR_PASSES_H

#include "ir/graph.h"

/* Constant folding leaves a node alone when one of its outputs would be larger than this. */
#define EO_FOLD_MAX_BYTES ((size_t)64 << 20)

typedef struct eo_pass_stats {
  int identity_removed;   /* Identity / inference-mode Dropout nodes bypassed */
  int nodes_folded;       /* nodes evaluated at optimization time, outputs now constants */
  int fold_skipped_large; /* all-constant nodes kept because an output exceeds EO_FOLD_MAX_BYTES */
  int bn_folded;          /* BatchNormalization folded into the preceding Conv / Gemm */
  int act_fused;          /* activations fused into the preceding Conv (node->fused_act) */
  int dead_removed;       /* nodes whose outputs reach no graph output */
  int qdq_fused;          /* QDQ Conv groups rewritten into QLinearConv (fuse_qdq.c) */
  int fp16_lowered;       /* float16 constants/Casts/boundaries moved to float32 (lower_fp16.c) */
  int qlut_fused;         /* 8-bit gate -> QLinearMul chains made one Q8Lut table (fuse_qlut.c) */
  int residual_fused;     /* Conv -> Add [-> activation] chains run by the Conv (fuse_activation.c) */
  int qmove_fused;        /* DQ -> element moves -> Q groups made Q8Lut -> 8-bit moves (fuse_qlut.c) */
} eo_pass_stats;

/* Identity, and Dropout in inference mode (training_mode absent or constant false, mask unused):
 * consumers read the input directly. When the output is a graph output, the input's producer
 * writes it instead if that is safe (the input is produced by a node and is not itself a graph
 * output); otherwise the node stays. */
eo_status eo_pass_remove_identity(eo_graph *g, eo_pass_stats *stats);

/* Evaluates every node whose inputs are all constants and whose op edgeopt runs (infer, prepare,
 * forward of its eo_op_def); its outputs become constants and the node is marked dead. Nodes whose
 * infer/prepare rejects the inputs are left for the runtime to report. Skips outputs over
 * EO_FOLD_MAX_BYTES and Quantize/DequantizeLinear (the QDQ structure is the quantized model). */
eo_status eo_pass_fold_constants(eo_graph *g, eo_pass_stats *stats);

/* BatchNormalization (inference mode, constant float32 params) whose input comes from a Conv or a
 * Gemm with constant float32 weights and no other consumer: the weights and bias are scaled per
 * output channel (a bias is created if absent), the Conv/Gemm writes the BN output and the BN is
 * marked dead. Other BatchNormalization nodes stay. */
eo_status eo_pass_fold_batchnorm(eo_graph *g, eo_pass_stats *stats);

/* Conv (float32 weights) followed by Relu, LeakyRelu, Clip (constant min/max), Sigmoid,
 * HardSigmoid, HardSwish, Tanh or Elu, when the Conv output has exactly one consumer and is not a
 * graph output: sets conv->fused_act to the activation's eo_op_id and act_alpha/act_beta
 * (Clip: min, max; LeakyRelu, Elu: alpha; HardSigmoid: alpha, beta; others 0), makes the Conv
 * write the activation's output and marks the activation dead. */
eo_status eo_pass_fuse_activation(eo_graph *g, eo_pass_stats *stats);

/* Conv (float32 weights) -> Sigmoid -> Mul(conv_out, sigmoid_out) in either Mul order, the Conv output
 * read only by those two and the Sigmoid output only by the Mul (neither a graph output): the Conv
 * writes the Mul's output with fused_act EO_ACT_SILU (runtime/activation.h); the pair is marked
 * dead. The same with HardSigmoid(alpha 1/6, beta 1/2) as the gate gives fused_act HardSwish.
 * Runtime only (eo_session_prepare): not in eo_passes_run_default, whose graphs the ONNX and TFLite
 * writers also take and which have no fused SiLU. */
eo_status eo_pass_fuse_silu(eo_graph *g, eo_pass_stats *stats);

/* Conv -> Add(conv_out, r) [-> activation]: the Conv adds r to its output, then applies the
 * activation (node->fused_residual, in[3] = r, fused_act) and writes the chain's last output. The
 * Conv must be float32 without a fused activation, its output read only by the Add; the Add's other
 * operand r of the same shape and dtype (no broadcast); the activation, if fused, the only reader of
 * the Add's output; no tensor of the chain but the last a graph output. Runs on an inferred graph
 * (shapes known), in the session only: no writer emits it. ONNX Runtime fuses the same chain
 * (FusedConv with a Sum input); here it saves the Add and activation steps, their passes over the
 * tensor, and their reads of what another core wrote. */
eo_status eo_pass_fuse_residual(eo_graph *g, eo_pass_stats *stats);

/* Domain of edgeopt-internal ops (Q8Lut): made by session-only passes, never read from or written to
 * a model file. */
#define EO_INTERNAL_DOMAIN "edgeopt.internal"

/* SiLU and HardSwish on 8-bit codes as one table (fuse_qlut.c): QLinearMul(x, gate(x)) in either
 * operand order, where the gate is QLinearSigmoid(x) or DequantizeLinear(x) -> HardSigmoid ->
 * QuantizeLinear, every parameter a per-tensor constant, x 8-bit, and each tensor of the chain read
 * only by the next node (none a graph output), becomes Q8Lut(x, table) writing the Mul's output. The
 * table is made by running the chain's own ops (force_ref: their reference kernels, as the session
 * would) on the 256 codes, so the output is the chain's byte for byte. Also DQ(x) -> an op that only
 * moves elements (Split, Reshape, Transpose, Flatten, Squeeze, Unsqueeze, Slice, nearest Resize) ->
 * Q on each of its outputs with one set of per-tensor parameters: Q8Lut(x, Q(DQ(code))) -> the op on
 * 8-bit codes, writing the Qs' outputs. Runtime only (eo_session_prepare, after
 * eo_passes_run_default): Q8Lut is an internal op no writer emits. */
eo_status eo_pass_fuse_qlut(eo_graph *g, bool force_ref, eo_pass_stats *stats);

/* DQ(x) + DQ(w const) [+ DQ(bias int32 const)] -> Conv [-> Relu/Clip] -> Q(y), with 8-bit per-tensor
 * x/y and per-tensor or per-channel (axis 0) weights, becomes one QLinearConv writing Q's output
 * (ONNX Runtime's QDQ Conv fusion, so the integers match ORT's); the Relu/Clip only when Q's range
 * already lies inside it. The DQ nodes stay for DCE. */
eo_status eo_pass_fuse_qdq(eo_graph *g, eo_pass_stats *stats);

/* float16 compute moved to float32 (lower_fp16.c): float16 constants converted once, float16
 * activations become float32, the model's Casts to/from float16 become round-to-float16 Casts
 * (EO_CAST_ROUND_ATTR), those whose input holds float16 values already go; float16 graph
 * inputs/outputs keep their dtype behind a Cast. round_ops: also round every other float16 op's
 * output to float16 (ONNX's letter). No-op on graphs without float16; leaves graphs it cannot lower
 * (float16 dtype attributes, subgraphs) as they are. */
eo_status eo_pass_lower_fp16(eo_graph *g, bool round_ops, eo_pass_stats *stats);

/* Marks dead every node none of whose outputs reaches a graph output. */
eo_status eo_pass_dce(eo_graph *g, eo_pass_stats *stats);

/* Zeroes *stats (may be NULL), then: remove identity, fold constants, lower float16, fuse QDQ Conv, fold BN,
 * fuse activations, DCE, eo_graph_compact. */
eo_status eo_passes_run_default(eo_graph *g, eo_pass_stats *stats);

/* Helpers shared by the passes (pass_util.c). */
/* True when n is op `op` of the default domain, by id or (if edgeopt does not run it) by name. */
bool eo_pass_is_op(const eo_node *n, int op);
/* Reshape, Transpose, Flatten, Squeeze, Unsqueeze, Slice or nearest Resize: each output element is
 * a copy of one input element, so the op runs on 8-bit codes as on floats (fuse_qdq's dropped Q/DQ
 * pairs, fuse_qlut's requantizing moves). */
bool eo_pass_moves_elements(const eo_node *n);
/* Number of input slots of live nodes that read tensor t. */
int eo_pass_consumers(const eo_graph *g, int t);
/* First live node reading t, or -1. */
int eo_pass_first_consumer(const eo_graph *g, int t);
bool eo_pass_is_graph_output(const eo_graph *g, int t);
/* Constant: has data and is not a graph input. */
bool eo_pass_is_const(const eo_graph *g, int t);
/* Every live node input reading `from` reads `to` instead. */
void eo_pass_replace_uses(eo_graph *g, int from, int to);
/* Adds a constant tensor named "<base><suffix>" (made unique with a number), taking ownership of
 * `data` (freed on failure too). */
eo_status eo_pass_add_const(eo_graph *g, const char *base, const char *suffix, int dtype, int rank,
                            const int64_t *dims, void *data, size_t nbytes, int *out);

#endif
