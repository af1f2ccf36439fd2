/* Private to the onnx stage and its users inside the library: the model struct and TensorProto codec. */
#ifndef EO_ONNX_INTERNAL_H
#define EO_ONNX_INTERNAL_H

#include "edgeopt/model.h"
#include "ir/graph.h"
#include "onnx.pb-c.h"

/* Opsets before 7 differ in a few ops (legacy broadcast, PRelu per channel, BatchNormalization
 * is_test), which those ops handle; old PyTorch exports are opset 6. */
#define EO_OPSET_MIN 1
#define EO_OPSET_MAX 21

struct eo_model {
  char *path;                 /* as given, or the label of a buffer */
  char *base_dir;             /* for external data; NULL when none */
  int64_t file_bytes;
  Onnx__ModelProto *proto;    /* owned; IR nodes and tensors borrow from it */
  /* Per initializer of proto->graph: 1 when its raw_data bytes became the IR tensor's data (not
   * copied, to keep one copy of the weights). The graph owns those bytes; the proto field still
   * points at them (save reuses it) and is cleared before the proto is freed. */
  unsigned char *raw_taken;
  eo_graph graph;             /* as loaded, with shapes inferred at batch = 1 */
  bool runnable;              /* every node is supported */
  eo_value_desc *inputs, *outputs;
  int n_inputs, n_outputs;
  char *producer;
  eo_op_count *ops;
  int n_op_types;
  int64_t flops;
};

/* Decodes a TensorProto's value into t (dtype, rank, dims, data, nbytes); external data is read
 * relative to base_dir. `what` names the tensor in messages ("initializer 'w'", "file x.pb"). */
eo_status eo_onnx_decode_tensor(const Onnx__TensorProto *tp, const char *base_dir, const char *what,
                                eo_tensor *t);
/* The same, except that inline raw_data of the expected size is not copied: t->data is tp's own
 * buffer (malloc'd by protobuf-c's default allocator) and *taken is set; the caller then owns the
 * bytes and must clear tp->raw_data.data before freeing the proto. */
eo_status eo_onnx_decode_tensor_take(const Onnx__TensorProto *tp, const char *base_dir, const char *what,
                                     eo_tensor *t, bool *taken);
/* Encodes a constant tensor as a TensorProto with raw_data (name copied). Free with
 * eo_onnx_free_tensor_proto. */
eo_status eo_onnx_encode_tensor(const eo_tensor *t, Onnx__TensorProto **out);
void eo_onnx_free_tensor_proto(Onnx__TensorProto *tp);

/* Type of a ValueInfoProto: elem type, rank, dims (-1 symbolic) and dim_param names (borrowed). */
eo_status eo_onnx_value_type(const Onnx__ValueInfoProto *vi, int *dtype, int *rank, int64_t *dims,
                             const char **dim_param);

#endif
