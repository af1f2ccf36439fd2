/* The op interface. Each op's file under ops/ defines `const eo_op_def eo_op_<symbol>` (see ops.def).
 *
 * Lifecycle, per node, at prepare time (XNNPACK create/reshape/setup/run, tflite-micro Prepare/Eval):
 *   infer(c)    validate attributes and input dtypes/ranks, set every present output's dtype, rank
 *               and dims. in[i]->data is non-NULL only when that input is a constant known at
 *               prepare (initializer or folded); ops that need a value to know their output shape
 *               (Reshape's shape, Slice's starts, ...) fail with a clear message when it is NULL.
 *   prepare(c)  optional: allocate c->state (parsed attributes, packed weights), set
 *               c->scratch_bytes (and packed_bytes, captured_inputs when it packs weights).
 *               Called after infer, with the same tensors.
 *   forward(c)  compute. Cannot fail and never allocates: every input and output has data, and
 *               c->scratch points to scratch_bytes of arena memory (unaligned sizes are fine: the
 *               executor aligns to 64 bytes). Outputs never alias inputs.
 *   release(s)  free what prepare allocated in state.
 * When every input of a node is constant, the executor folds it: infer, prepare, forward at prepare.
 */
#ifndef EO_RUNTIME_OP_H
#define EO_RUNTIME_OP_H

#include "ir/graph.h"

typedef enum eo_op_id {
#define EO_OP(id, onnx, sym) EO_OP_##id,
#include "runtime/ops.def"
#undef EO_OP
  EO_OP_COUNT
} eo_op_id;

/* The runtime's view of one tensor. */
typedef struct eo_tview {
  int dtype;
  int rank;
  int64_t dims[EO_MAX_RANK];
  void *data;
} eo_tview;

typedef struct eo_op_ctx {
  const eo_node *node;  /* attributes through eo_attr_* below; name/op_type for messages */
  int64_t opset;        /* default-domain opset of the model */
  int n_in, n_out;
  eo_tview **in;        /* in[i] == NULL: optional input absent */
  eo_tview **out;       /* out[i] == NULL: optional output not requested */
  void *state;
  size_t scratch_bytes;
  void *scratch;
  /* Set by prepare: bytes of each worker's own buffer its kernels take with eo_threadpool_local
   * (core/threads.h) instead of their slice of the scratch; the session reserves the largest. */
  size_t local_bytes;
  bool force_ref;       /* reference kernels only (EO_FORCE_REF=1) */
  struct eo_threadpool *pool; /* the session's workers for forward (NULL: run on the caller);
                               * size per-worker scratch at prepare with eo_threadpool_size(pool) */
  /* Set by prepare when it keeps weights in state (both start at 0): the bytes it packed or copied
   * there (the session reports their sum), and bit i (i < 32) for each constant input i whose value
   * it captured, so that forward never reads in[i]->data. A constant the session owns (a BN-folded
   * weight, a folded value) whose every reader captured it is freed right after the last of them
   * prepares: the weights are then not held twice. */
  size_t packed_bytes;
  unsigned captured_inputs;
  /* Set by the session before prepare: every step reading out[0] splits its work across the workers
   * by output positions (a convolution of one group, a same-shape Add/Sub/Mul/Div), so an op able to
   * split by rows instead of channels keeps each worker on what it wrote itself (see dw_bands in
   * kernels/f32-conv-fast.c). */
  bool readers_split_rows;
} eo_op_ctx;

typedef struct eo_op_def {
  const char *name;
  eo_status (*infer)(eo_op_ctx *c);
  eo_status (*prepare)(eo_op_ctx *c);        /* may be NULL */
  void (*forward)(eo_op_ctx *c);
  void (*release)(void *state);              /* may be NULL */
  double (*flops)(const eo_op_ctx *c);       /* may be NULL: one per output element. In double: the
                                              * product of a malformed model's sizes may exceed int64 */
  /* Output 0's row count depends on the data (NonMaxSuppression): infer sets an upper bound, and
   * forward writes the real count to out[0]->dims[0] (prepare keeps the bound in state). The
   * session refuses graphs where such an output is read by another node it runs. */
  bool data_dependent_rows;
} eo_op_def;

/* Registry: the op's definition; NULL only for ids outside ops.def. */
const eo_op_def *eo_op_get(int op);
const char *eo_op_name(int op);
/* eo_op_id for a default-domain op type, -1 if edgeopt does not run it. */
int eo_op_lookup(const char *domain, const char *op_type);

/* Attribute access with defaults (the ONNX spec's defaults are the caller's). */
int64_t eo_attr_i(const eo_node *n, const char *name, int64_t def);
float eo_attr_f(const eo_node *n, const char *name, float def);
const char *eo_attr_s(const eo_node *n, const char *name, const char *def);
/* Count of values and *vals (borrowed), or -1 when absent. */
int eo_attr_ints(const eo_node *n, const char *name, const int64_t **vals);
int eo_attr_floats(const eo_node *n, const char *name, const float **vals);

/* Error naming the node and op: "node 'conv1' (Conv): <message>". Returns code. */
eo_status eo_op_error(const eo_op_ctx *c, eo_status code, const char *fmt, ...) EO_PRINTF(3, 4);

/* Helpers for ops. */
int64_t eo_tview_numel(const eo_tview *t);
/* Sets out's dtype/rank/dims. */
void eo_tview_set_shape(eo_tview *t, int dtype, int rank, const int64_t *dims);
/* Numpy broadcasting of a and b into out dims; error (naming the node) if incompatible. */
eo_status eo_broadcast_shape(const eo_op_ctx *c, int ra, const int64_t *a, int rb, const int64_t *b,
                             int *rout, int64_t *out);
/* Normalizes a possibly negative axis against rank; error if out of [-rank, rank). */
eo_status eo_norm_axis(const eo_op_ctx *c, int64_t axis, int rank, int *out);
/* Reads element i of an integer tensor (int32/int64/...) as int64; for const shape-like inputs. */
int64_t eo_tview_get_i64(const eo_tview *t, int64_t i);
/* Reads element i of a float-ish tensor (float/double/float16/bfloat16/ints) as double. */
double eo_tview_get_f64(const eo_tview *t, int64_t i);

#define EO_DEFINE_OP(sym, ...) const eo_op_def eo_op_##sym = {__VA_ARGS__}

#endif
