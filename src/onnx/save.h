/* IR -> ONNX file: writes a graph with the metadata of the model it was loaded from.
 *
 *     eo_graph g;
 *     eo_graph_clone(&model->graph, &g);       // the stages rewrite a copy
 *     eo_passes_run_default(&g, NULL);
 *     eo_model_save_graph(model, &g, "opt.onnx");
 *     eo_graph_free(&g);
 *
 * What is written: the original ModelProto's fields (ir_version, opset_import, producer, domain,
 * model_version, doc_string, metadata_props, functions, training_info) and GraphProto's (name,
 * doc_string, value_info and quantization_annotation of values that still exist), with the
 * nodes, initializers, inputs and outputs taken from `g`:
 *   - live nodes only (node->dead skipped), in the graph's order when that order is topological,
 *     else in a topological order; a Conv with fused_act is written as Conv + the activation node
 *     (ONNX has no fused form);
 *   - a node with `src` keeps its NodeProto (doc string, subgraphs, unknown fields); inputs,
 *     outputs, name, op_type and domain come from the IR; each IR attribute equal to the
 *     original one keeps the original AttributeProto, others are encoded from the IR;
 *   - a constant (initializer or a tensor with data and no live producer) read by a live node,
 *     a subgraph or a graph output is written as an initializer; unreferenced ones are dropped.
 *     Its original TensorProto is reused when `src` is set, was stored inline and still holds the
 *     same dtype, shape and bytes; otherwise it is encoded with raw_data (external data is
 *     inlined: the saved file is self-contained).
 *
 * CONTRACT for passes and later stages: a pass that changes a tensor's data, dtype or shape
 * clears that tensor's `src` (and a pass that changes a node's meaning beyond its IR fields clears
 * the node's `src`). Saving checks the bytes anyway and re-encodes a tensor whose bytes differ.
 *
 * The file is written to a temporary file in the same folder and renamed over `path` (atomic).
 * Returns EO_OK; EO_ERR_INVALID when `path` is the file the model was loaded from (refused) or the
 * graph reads a tensor no one defines; EO_ERR_UNSUPPORTED when the model would exceed protobuf's
 * 2 GiB (saving with external data is not supported) or an attribute/tensor cannot be encoded
 * from the IR; EO_ERR_IO when the file cannot be written; EO_ERR_NOMEM.
 * Nothing of `m` or `g` is modified; everything allocated here is freed before returning.
 */
#ifndef EO_ONNX_SAVE_H
#define EO_ONNX_SAVE_H

#include "onnx/onnx_internal.h"

eo_status eo_model_save_graph(const eo_model *m, const eo_graph *g, const char *path);

#endif
