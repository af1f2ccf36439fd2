/* Test helper: reads one ONNX TensorProto file (the test_data_set_N/{input,output}_K.pb of ONNX's
 * backend tests) into an eo_tensor. Shared by the conformance runner and test_no_alloc. */
#ifndef EO_TESTS_ONNX_PB_H
#define EO_TESTS_ONNX_PB_H

#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_internal.h"

/* 0 on success (t owned by the caller: eo_tensor_clear); -1 with the last error set. */
static inline int load_pb(const char *path, eo_tensor *t) {
  void *buf;
  size_t size;
  memset(t, 0, sizeof *t);
  if (eo_read_file(path, &buf, &size)) return -1;
  Onnx__TensorProto *tp = onnx__tensor_proto__unpack(NULL, size, buf);
  free(buf);
  if (!tp) {
    eo_error(EO_ERR_PARSE, "%s: not a TensorProto", path);
    return -1;
  }
  eo_status st = eo_onnx_decode_tensor(tp, NULL, path, t);
  onnx__tensor_proto__free_unpacked(tp, NULL);
  return st ? -1 : 0;
}

#endif
