/* TensorProto <-> eo_tensor: every encoding ONNX allows (raw_data, typed fields, external data). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "onnx/onnx_internal.h"

/* Reads `want` bytes of external data into a new buffer *out (after checking the file holds them). */
static eo_status read_external(const Onnx__TensorProto *tp, const char *base_dir, const char *what,
                               size_t want, uint8_t **out) {
  *out = NULL;
  const char *location = NULL;
  int64_t offset = 0, length = -1;
  for (size_t i = 0; i < tp->n_external_data; i++) {
    const Onnx__StringStringEntryProto *e = tp->external_data[i];
    if (!e->key || !e->value) continue;
    char *end;
    if (strcmp(e->key, "location") == 0) location = e->value;
    else if (strcmp(e->key, "offset") == 0) offset = strtoll(e->value, &end, 10);
    else if (strcmp(e->key, "length") == 0) length = strtoll(e->value, &end, 10);
  }
  if (!location || !*location) return eo_error(EO_ERR_INVALID, "%s: external data without a location", what);
  // The spec requires a path relative to the model's folder that stays inside it: no absolute
  // path and no ".." component (names such as "w..bin" are fine).
  size_t len = strlen(location);
  bool parent = strcmp(location, "..") == 0 || strncmp(location, "../", 3) == 0 || strstr(location, "/../") ||
                (len >= 3 && strcmp(location + len - 3, "/..") == 0);
  if (location[0] == '/' || parent)
    return eo_error(EO_ERR_INVALID, "%s: external data location '%s' must be a relative path inside the model's folder",
                    what, location);
  if (!base_dir) return eo_error(EO_ERR_INVALID, "%s: external data '%s' but the model was not loaded from a file", what, location);
  if (offset < 0) return eo_error(EO_ERR_INVALID, "%s: negative external data offset", what);
  if (length >= 0 && (uint64_t)length != want)
    return eo_error(EO_ERR_INVALID, "%s: external data length %lld, expected %zu bytes", what, (long long)length, want);
  size_t plen = strlen(base_dir) + strlen(location) + 2;
  char *path = malloc(plen);
  if (!path) return eo_error(EO_ERR_NOMEM, "out of memory");
  snprintf(path, plen, "%s/%s", base_dir, location);
  FILE *f = fopen(path, "rb");
  if (!f) {
    eo_status st = eo_error(EO_ERR_IO, "%s: cannot open external data file %s: %s", what, path, strerror(errno));
    free(path);
    return st;
  }
  eo_status st = EO_OK;
  struct stat sb;
  uint8_t *dst = NULL;
  if (fstat(fileno(f), &sb) != 0 || (uint64_t)sb.st_size < (uint64_t)offset + want)
    st = eo_error(EO_ERR_IO, "%s: external data file %s is shorter than offset %lld + %zu bytes", what, path,
                  (long long)offset, want);
  else if (!(dst = eo_malloc(want)))
    st = eo_error(EO_ERR_NOMEM, "%s: cannot allocate %zu bytes", what, want);
  else if (fseeko(f, (off_t)offset, SEEK_SET) != 0 || fread(dst, 1, want, f) != want)
    st = eo_error(EO_ERR_IO, "%s: cannot read %zu bytes at offset %lld of %s", what, want, (long long)offset, path);
  fclose(f);
  free(path);
  if (st) free(dst);
  else *out = dst;
  return st;
}

/* Bytes the inline encoding of tp carries for dtype, and which field holds them. */
static size_t inline_bytes(const Onnx__TensorProto *tp, int dtype, const char **field) {
  if (tp->has_raw_data) {
    *field = "raw_data";
    return tp->raw_data.len;
  }
  switch (dtype) {
    case EO_FLOAT: case EO_COMPLEX64: *field = "float_data"; return tp->n_float_data * 4;
    case EO_DOUBLE: case EO_COMPLEX128: *field = "double_data"; return tp->n_double_data * 8;
    case EO_INT64: *field = "int64_data"; return tp->n_int64_data * 8;
    case EO_UINT32: case EO_UINT64: *field = "uint64_data"; return tp->n_uint64_data * eo_dtype_size(dtype);
    default:  // every narrower type travels in int32_data, one element (int4: one packed byte) each
      *field = "int32_data";
      return tp->n_int32_data * (dtype == EO_INT4 || dtype == EO_UINT4 ? 1 : eo_dtype_size(dtype));
  }
}

/* Copies the typed field (sizes already checked by inline_bytes) into dst, narrowing as stored. */
static void copy_typed(const Onnx__TensorProto *tp, int dtype, uint8_t *dst) {
  switch (dtype) {
    case EO_FLOAT: case EO_COMPLEX64:
      if (tp->n_float_data) memcpy(dst, tp->float_data, tp->n_float_data * 4);
      return;
    case EO_DOUBLE: case EO_COMPLEX128:
      if (tp->n_double_data) memcpy(dst, tp->double_data, tp->n_double_data * 8);
      return;
    case EO_INT64:
      if (tp->n_int64_data) memcpy(dst, tp->int64_data, tp->n_int64_data * 8);
      return;
    case EO_UINT32: case EO_UINT64:
      for (size_t i = 0; i < tp->n_uint64_data; i++) {
        if (dtype == EO_UINT32) ((uint32_t *)dst)[i] = (uint32_t)tp->uint64_data[i];
        else ((uint64_t *)dst)[i] = tp->uint64_data[i];
      }
      return;
    default: {
      size_t es = (dtype == EO_INT4 || dtype == EO_UINT4) ? 1 : eo_dtype_size(dtype);
      for (size_t i = 0; i < tp->n_int32_data; i++) {
        int32_t v = tp->int32_data[i];
        if (es == 1) dst[i] = (uint8_t)v;
        else if (es == 2) ((uint16_t *)dst)[i] = (uint16_t)v;
        else ((int32_t *)dst)[i] = v;
      }
    }
  }
}

/* Decodes tp into t. With `take` (the caller owns tp), inline raw_data of exactly the expected size
 * is not copied: t->data points at tp's own buffer and *taken is set; the caller then owns that
 * buffer and must keep protobuf-c from freeing it (see eo_model_free). */
static eo_status decode(const Onnx__TensorProto *tp, const char *base_dir, const char *what, bool take,
                        eo_tensor *t, bool *taken) {
  if (taken) *taken = false;
  int dtype = tp->has_data_type ? tp->data_type : 0;
  if (tp->n_dims > EO_MAX_RANK)
    return eo_error(EO_ERR_UNSUPPORTED, "%s: rank %zu exceeds edgeopt's maximum %d", what, tp->n_dims, EO_MAX_RANK);
  for (size_t i = 0; i < tp->n_dims; i++)
    if (tp->dims[i] < 0) return eo_error(EO_ERR_INVALID, "%s: negative dimension %lld", what, (long long)tp->dims[i]);
  int64_t numel = eo_numel((int)tp->n_dims, tp->dims);
  if (numel < 0) return eo_error(EO_ERR_INVALID, "%s: element count overflows", what);
  t->dtype = dtype;
  t->rank = (int)tp->n_dims;
  for (int i = 0; i < t->rank; i++) t->dims[i] = tp->dims[i];
  t->data = NULL;
  t->nbytes = 0;
  if (dtype == EO_STRING) return EO_OK;  // kept in the proto for save; no op edgeopt runs reads strings
  size_t bytes;
  if (!eo_dtype_bytes(dtype, numel, &bytes))
    return eo_error(EO_ERR_UNSUPPORTED, "%s: data type %d (%s) is not supported", what, dtype, eo_dtype_name(dtype));
  if (bytes > ((size_t)1 << 40)) return eo_error(EO_ERR_INVALID, "%s: %zu bytes is implausibly large", what, bytes);
  bool external = tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  // Sizes are checked before allocating: a corrupt file must not make us allocate what its dims claim.
  if (!external) {
    const char *field;
    size_t have = inline_bytes(tp, dtype, &field);
    if (have != bytes)
      return eo_error(EO_ERR_INVALID, "%s: %s holds %zu bytes of %s, expected %zu for %lld elements", what, field, have,
                      eo_dtype_name(dtype), bytes, (long long)numel);
  }
  uint8_t *dst = NULL;
  if (external) {
    eo_status st = read_external(tp, base_dir, what, bytes, &dst);
    if (st) return st;
  } else if (take && tp->has_raw_data && bytes && tp->raw_data.data) {
    dst = tp->raw_data.data;  // malloc'd by protobuf-c's default allocator: as aligned as eo_malloc
    *taken = true;
  } else if (!(dst = eo_malloc(bytes))) {
    return eo_error(EO_ERR_NOMEM, "%s: cannot allocate %zu bytes", what, bytes);
  } else if (tp->has_raw_data) {
    if (bytes) memcpy(dst, tp->raw_data.data, bytes);
  } else {
    copy_typed(tp, dtype, dst);
  }
  t->data = dst;
  t->nbytes = bytes;
  return EO_OK;
}

eo_status eo_onnx_decode_tensor(const Onnx__TensorProto *tp, const char *base_dir, const char *what,
                                eo_tensor *t) {
  return decode(tp, base_dir, what, false, t, NULL);
}

eo_status eo_onnx_decode_tensor_take(const Onnx__TensorProto *tp, const char *base_dir, const char *what,
                                     eo_tensor *t, bool *taken) {
  return decode(tp, base_dir, what, true, t, taken);
}

eo_status eo_onnx_encode_tensor(const eo_tensor *t, Onnx__TensorProto **out) {
  *out = NULL;
  Onnx__TensorProto *tp = calloc(1, sizeof *tp);
  if (!tp) return eo_error(EO_ERR_NOMEM, "out of memory");
  onnx__tensor_proto__init(tp);
  tp->name = eo_strdup(t->name ? t->name : "");
  tp->dims = eo_calloc((size_t)(t->rank > 0 ? t->rank : 1), sizeof(int64_t));
  tp->raw_data.data = eo_malloc(t->nbytes);
  if (!tp->name || !tp->dims || !tp->raw_data.data) {
    eo_onnx_free_tensor_proto(tp);
    return eo_error(EO_ERR_NOMEM, "out of memory encoding tensor '%s'", t->name);
  }
  tp->n_dims = (size_t)(t->rank > 0 ? t->rank : 0);
  for (int i = 0; i < t->rank; i++) tp->dims[i] = t->dims[i];
  tp->has_data_type = 1;
  tp->data_type = t->dtype;
  tp->has_raw_data = 1;
  tp->raw_data.len = t->nbytes;
  if (t->nbytes) memcpy(tp->raw_data.data, t->data, t->nbytes);
  *out = tp;
  return EO_OK;
}

void eo_onnx_free_tensor_proto(Onnx__TensorProto *tp) {
  if (!tp) return;
  free(tp->name);
  free(tp->dims);
  free(tp->raw_data.data);
  free(tp);
}

eo_status eo_onnx_value_type(const Onnx__ValueInfoProto *vi, int *dtype, int *rank, int64_t *dims,
                             const char **dim_param) {
  const char *name = vi->name ? vi->name : "";
  *dtype = 0;
  *rank = -1;
  if (!vi->type || vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !vi->type->tensor_type)
    return eo_error(EO_ERR_UNSUPPORTED, "value '%s' is not a tensor (sequences, maps and optionals are not supported)", name);
  const Onnx__TypeProto__Tensor *tt = vi->type->tensor_type;
  *dtype = tt->has_elem_type ? tt->elem_type : 0;
  if (!tt->shape) return EO_OK;  // rank unknown
  if (tt->shape->n_dim > EO_MAX_RANK)
    return eo_error(EO_ERR_UNSUPPORTED, "value '%s' has rank %zu, more than edgeopt's maximum %d", name,
                    tt->shape->n_dim, EO_MAX_RANK);
  *rank = (int)tt->shape->n_dim;
  for (int i = 0; i < *rank; i++) {
    const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
    dims[i] = -1;
    dim_param[i] = NULL;
    if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && d->dim_value >= 0)
      dims[i] = d->dim_value;
    else if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM)
      dim_param[i] = d->dim_param;
  }
  return EO_OK;
}
