/* The IR: one graph of named tensors and nodes, shared by every stage (runtime, quant, train, export).
 *
 * Tensors and nodes live in growable arrays and refer to each other by index; names are owned
 * strings. A tensor with `data` is a constant (initializer, Constant node output or folded value).
 * Nodes keep every attribute (decoded) and a borrowed pointer to the NodeProto they came from, so
 * the ONNX writer can keep what the IR does not model (doc strings, subgraphs, unknown fields).
 */
#ifndef EO_IR_GRAPH_H
#define EO_IR_GRAPH_H

#include "core/core.h"
#include "onnx.pb-c.h"

enum {
  EO_T_INPUT = 1u << 0,       /* graph input (fed by the user) */
  EO_T_OUTPUT = 1u << 1,      /* graph output */
  EO_T_INITIALIZER = 1u << 2, /* from the model's initializer list */
  EO_T_BORROWED = 1u << 3,    /* `data` belongs to another graph that outlives this one: read only, never
                                 freed here (eo_graph_clone_shared, a session's unchanged weights) */
};

typedef struct eo_tensor {
  char *name;
  int dtype;                        /* eo_dtype; 0 when not yet inferred */
  int rank;                         /* -1 when not yet inferred */
  int64_t dims[EO_MAX_RANK];        /* -1 for a symbolic or unknown dim */
  char *dim_param[EO_MAX_RANK];     /* symbolic names declared by the model (inputs/outputs), owned */
  void *data;                       /* constant value, owned unless EO_T_BORROWED (NULL for activations) */
  size_t nbytes;
  int producer;                     /* node index, -1 for graph inputs and constants */
  unsigned flags;                   /* EO_T_* */
  const Onnx__TensorProto *src;     /* original initializer proto (borrowed), for lossless save */
} eo_tensor;

typedef enum eo_attr_type {
  EO_ATTR_UNDEFINED = 0, EO_ATTR_FLOAT = 1, EO_ATTR_INT = 2, EO_ATTR_STRING = 3, EO_ATTR_TENSOR = 4,
  EO_ATTR_GRAPH = 5, EO_ATTR_FLOATS = 6, EO_ATTR_INTS = 7, EO_ATTR_STRINGS = 8, EO_ATTR_TENSORS = 9,
  EO_ATTR_GRAPHS = 10, EO_ATTR_SPARSE_TENSOR = 11, EO_ATTR_SPARSE_TENSORS = 12, EO_ATTR_TYPE_PROTO = 13,
  EO_ATTR_TYPE_PROTOS = 14
} eo_attr_type;  /* values equal AttributeProto.AttributeType */

typedef struct eo_attr {
  char *name;
  int type;          /* eo_attr_type */
  float f;
  int64_t i;
  char *s;           /* STRING, NUL-terminated copy */
  size_t s_len;
  int n;             /* element count of FLOATS / INTS / STRINGS */
  float *floats;
  int64_t *ints;
  char **strings;
  eo_tensor *t;      /* TENSOR: a nameless constant tensor (dtype, rank, dims, data) */
} eo_attr;

typedef struct eo_node {
  char *name;
  char *op_type;
  char *domain;      /* "" for the default ONNX domain */
  int op;            /* eo_op_id, or -1 when edgeopt does not run this op */
  int n_in, n_out;
  int *in, *out;     /* tensor indices; -1 for an absent optional input/output */
  int n_attrs;
  eo_attr *attrs;
  /* Fusion mark set by the Conv+activation pass: activation applied in the Conv's epilogue. */
  int fused_act;     /* eo_op_id of the activation, or -1 */
  float act_alpha, act_beta;
  /* Set by the session's Conv + Add pass (eo_pass_fuse_residual): in[3] is added to the Conv's
   * output before fused_act. Never in a graph a writer takes. */
  bool fused_residual;
  bool dead;         /* removed by a pass; skipped everywhere, compacted by eo_graph_compact */
  const Onnx__NodeProto *src;  /* borrowed; NULL for nodes created by passes */
} eo_node;

typedef struct eo_graph {
  eo_tensor *tensors;
  int n_tensors, cap_tensors;
  eo_node *nodes;
  int n_nodes, cap_nodes;
  int *inputs, n_inputs, cap_inputs;     /* graph inputs fed by the user (initializers excluded) */
  int *outputs, n_outputs, cap_outputs;
  int64_t opset;                         /* default-domain opset */
  eo_strmap names;                       /* tensor name -> index */
} eo_graph;

/* Adds a tensor (name copied). Returns its index in *out. Duplicate names are an error. */
eo_status eo_graph_add_tensor(eo_graph *g, const char *name, int *out);
/* Index of a tensor by name, -1 if absent. */
int eo_graph_find(const eo_graph *g, const char *name);
/* Adds a node (name/op/domain copied, inputs/outputs copied); returns its index. */
eo_status eo_graph_add_node(eo_graph *g, const char *name, const char *op_type, const char *domain,
                            int n_in, const int *in, int n_out, const int *out, int *index);
/* Deep copy (the copy borrows the same src protos; constants' bytes are copied, even borrowed ones). */
eo_status eo_graph_clone(const eo_graph *g, eo_graph *out);
/* A copy whose constants share g's bytes (EO_T_BORROWED) instead of copying them: for work that
 * reads constants and adds new ones (shape inference with folding) but never writes or frees an
 * existing tensor's data. g must stay alive and unchanged while the copy lives. */
eo_status eo_graph_clone_shared(const eo_graph *g, eo_graph *out);
void eo_graph_free(eo_graph *g);
/* Removes dead nodes and unreferenced non-io tensors, renumbering indices. */
eo_status eo_graph_compact(eo_graph *g);
/* Node indices in a topological order (live nodes only); error naming a node on a cycle. */
eo_status eo_graph_topo_order(const eo_graph *g, int *order, int *count);
/* Sets tensor.producer from the node list; error if two nodes produce one tensor. */
eo_status eo_graph_link(eo_graph *g);

const eo_attr *eo_node_attr(const eo_node *n, const char *name);
eo_status eo_attr_copy(const eo_attr *a, eo_attr *out);
void eo_attr_clear(eo_attr *a);
void eo_tensor_clear(eo_tensor *t);

#endif
