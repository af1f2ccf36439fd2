/* edgeopt — model optimization toolkit for edge deployment.
 *
 * Every call that can fail returns an eo_status; on failure the output handle (always the last
 * argument) is set to NULL, nothing leaks, and eo_last_error() returns a message that names the
 * file, node, op and what was expected versus found. The message is per thread.
 *
 *     eo_model *m;
 *     if (eo_model_load("net.onnx", NULL, &m) != EO_OK) { fprintf(stderr, "%s\n", eo_last_error()); ... }
 *
 * Library code never exits or aborts on bad input; only the CLI maps statuses to exit codes.
 */
#ifndef EDGEOPT_EDGEOPT_H
#define EDGEOPT_EDGEOPT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EO_VERSION_STRING "0.1.0"

typedef enum eo_status {
  EO_OK = 0,
  EO_ERR_IO,          /* file cannot be opened, read or written */
  EO_ERR_PARSE,       /* file is not a valid model (bad protobuf, truncated, wrong magic) */
  EO_ERR_INVALID,     /* structurally wrong input: model (cycle, missing tensor, bad attribute), data, argument */
  EO_ERR_UNSUPPORTED, /* valid, but outside what edgeopt runs (op, dtype, opset) */
  EO_ERR_SHAPE,       /* shapes or dtypes do not fit */
  EO_ERR_NOMEM,       /* allocation failed or size overflow */
  EO_ERR_STATE        /* call made in the wrong order (run before prepare, ...) */
} eo_status;

/* Numeric values equal ONNX TensorProto.DataType, so conversion is the identity. */
typedef enum eo_dtype {
  EO_DTYPE_UNDEFINED = 0,
  EO_FLOAT = 1, EO_UINT8 = 2, EO_INT8 = 3, EO_UINT16 = 4, EO_INT16 = 5, EO_INT32 = 6, EO_INT64 = 7,
  EO_STRING = 8, EO_BOOL = 9, EO_FLOAT16 = 10, EO_DOUBLE = 11, EO_UINT32 = 12, EO_UINT64 = 13,
  EO_COMPLEX64 = 14, EO_COMPLEX128 = 15, EO_BFLOAT16 = 16,
  EO_FLOAT8E4M3FN = 17, EO_FLOAT8E4M3FNUZ = 18, EO_FLOAT8E5M2 = 19, EO_FLOAT8E5M2FNUZ = 20,
  EO_UINT4 = 21, EO_INT4 = 22
} eo_dtype;

#define EO_MAX_RANK 8

/* Last error message of this thread ("" if none). Valid until the next failing call on this thread. */
const char *eo_last_error(void);
const char *eo_status_name(eo_status s);
/* "float32", "int64", ... ; "?" for unknown values. */
const char *eo_dtype_name(int dtype);
/* Size of one element in bytes; 0 for string, sub-byte (int4) and unknown types. */
size_t eo_dtype_size(int dtype);

#ifdef __cplusplus
}
#endif
#endif
