/* Data-movement kernels for the shape ops (Transpose, Slice, Expand, Tile, Pad, Gather), plus a few
 * static helpers those ops share for reading constant shape-like inputs.
 *
 * Kernels move elements of `es` bytes and never look at values, so one kernel serves every dtype
 * with a byte size (eo_dtype_size). Shapes and strides are in elements; the output is contiguous
 * row-major. Kernels cannot fail and never allocate.
 *
 *   // Transpose a [2,3] float matrix: output dims [3,2], input strides seen from the output.
 *   eo_xx_strided_copy__scalar(4, 2, (int64_t[]){3, 2}, (int64_t[]){1, 3}, x, y);
 */
#ifndef EO_RUNTIME_KERNELS_REF_MOVE_KERNELS_H
#define EO_RUNTIME_KERNELS_REF_MOVE_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/op.h"

/* Tile views a rank-r tensor as rank 2r (repeat, dim) pairs. */
#define EO_MOVE_MAX_RANK (2 * EO_MAX_RANK)

/* y[o] = x[sum_k o_k * x_strides[k]] for every o in dims (row-major). x points at the element for
 * o = 0; strides may be 0 (broadcast) or negative (reversed slice). rank <= EO_MOVE_MAX_RANK. */
void eo_xx_strided_copy__ref(size_t es, int rank, const int64_t *dims, const int64_t *x_strides,
                             const void *x, void *y);
/* Same result as __ref, portable C: merges dims, copies contiguous rows with memcpy, fills broadcast
 * rows, and transposes in cache blocks when the input's unit-stride axis is not the output's last. */
void eo_xx_strided_copy__scalar(size_t es, int rank, const int64_t *dims, const int64_t *x_strides,
                                const void *x, void *y);

/* Same result as __scalar, the copy cut along its first axis longer than 1 into chunks of about
 * 16 KiB (from 32 KiB on) run on the pool (NULL: the caller). The ops call it only for copies of
 * several MiB: smaller ones measured no faster split (ops/concat.c). */
struct eo_threadpool;
void eo_xx_strided_copy__mt(size_t es, int rank, const int64_t *dims, const int64_t *x_strides, const void *x,
                            void *y, struct eo_threadpool *pool);
/* Concat's and Split's copy: `whole` is `outer` rows, each the n parts' rows side by side (part i has
 * bytes[i] bytes per row, its rows contiguous in parts[i]). to_whole: parts -> whole (Concat), else
 * whole -> parts (Split; a NULL part is skipped). Cut like __mt above. */
void eo_xx_parts_copy__mt(int64_t outer, int n, const size_t *bytes, void *const *parts, void *whole, bool to_whole,
                          struct eo_threadpool *pool);

/* Pad modes (ONNX Pad 'mode'). */
enum { EO_PAD_CONSTANT = 0, EO_PAD_REFLECT, EO_PAD_EDGE, EO_PAD_WRAP };

/* One axis of a Pad: the input is first cropped to [lo, lo + len) (negative pads), then `before`
 * elements are added in front and out_dim - before - len after. */
typedef struct eo_pad_axis {
  int64_t in_dim, out_dim, before, lo, len;
} eo_pad_axis;

/* Source index along one axis for output index o; -1 means "the constant value". Requires len > 0
 * when mode != EO_PAD_CONSTANT and o falls outside the kept range. */
static inline int64_t eo_pad_src_index(const eo_pad_axis *a, int mode, int64_t o) {
  int64_t i = o - a->before, L = a->len;
  if (i >= 0 && i < L) return a->lo + i;
  switch (mode) {
    case EO_PAD_EDGE: i = i < 0 ? 0 : L - 1; break;
    case EO_PAD_WRAP: i %= L; if (i < 0) i += L; break;
    case EO_PAD_REFLECT:
      if (L == 1) {  // numpy: reflecting a single element repeats it
        i = 0;
      } else {       // reflection without repeating the border: period 2(L-1)
        int64_t p = 2 * (L - 1);
        i %= p;
        if (i < 0) i += p;
        if (i >= L) i = p - i;
      }
      break;
    default: return -1;
  }
  return a->lo + i;
}

/* Pads x (dims ax[k].in_dim) into y (dims ax[k].out_dim); `value` is es bytes used by constant mode. */
void eo_xx_pad__ref(size_t es, int rank, const eo_pad_axis *ax, int mode, const void *value,
                    const void *x, void *y);

/* y[o, j, i] = x[o, idx[j], i] with x viewed as [outer, axis_dim, inner]; negative indices count
 * from the end; indices still out of range give zeros (ONNX leaves them undefined). */
void eo_xx_gather__ref(size_t es, int64_t outer, int64_t axis_dim, int64_t inner, const void *indices,
                       bool indices_i64, int64_t n_indices, const void *x, void *y);

/* Fills n elements of y with the es-byte value (doubling memcpy). */
void eo_xx_fill__ref(size_t es, int64_t n, const void *value, void *y);

/* ---- helpers for the shape ops (static: used by ops/ files only) ---- */

/* Element size of a dtype the op moves; error naming the op when it has none (string, int4). */
static inline eo_status eo_move_elem_size(const eo_op_ctx *c, int dtype, size_t *es) {
  *es = eo_dtype_size(dtype);
  if (!*es || dtype == EO_STRING)
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "data type %s is not supported (expected a fixed-size type)",
                       eo_dtype_name(dtype));
  return EO_OK;
}

/* For ops that copy whole buffers (Reshape, Flatten, Squeeze, Unsqueeze): any dtype with a byte
 * layout, packed int4 included. */
static inline eo_status eo_move_check_bytes(const eo_op_ctx *c, int dtype) {
  size_t b;
  if (dtype == EO_STRING || !eo_dtype_bytes(dtype, 1, &b))
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "data type %s is not supported", eo_dtype_name(dtype));
  return EO_OK;
}

/* Row-major strides (in elements) of dims. */
static inline void eo_move_strides(int rank, const int64_t *dims, int64_t *strides) {
  int64_t s = 1;
  for (int k = rank - 1; k >= 0; k--) {
    strides[k] = s;
    s *= dims[k];
  }
}

/* Reads input i (an integer tensor of rank 0 or 1, named `what` in messages) into vals[0..*n).
 * It must be constant at infer time (data known) and hold at most cap values. */
static inline eo_status eo_move_const_ints(const eo_op_ctx *c, int i, const char *what, int64_t *vals,
                                           int cap, int *n) {
  const eo_tview *t = i < c->n_in ? c->in[i] : NULL;
  if (!t) return eo_op_error(c, EO_ERR_INVALID, "input %d '%s' is missing", i, what);
  if (t->dtype != EO_INT64 && t->dtype != EO_INT32)
    return eo_op_error(c, EO_ERR_SHAPE, "input %d '%s' must be int64 (or int32), found %s", i, what,
                       eo_dtype_name(t->dtype));
  if (t->rank > 1)
    return eo_op_error(c, EO_ERR_SHAPE, "input %d '%s' must be a 1-D tensor, found rank %d", i, what,
                       t->rank);
  if (!t->data)
    return eo_op_error(c, EO_ERR_UNSUPPORTED,
                       "input %d '%s' must be a constant (initializer or folded value): "
                       "edgeopt needs its value to infer the output shape", i, what);
  int64_t cnt = eo_tview_numel(t);
  if (cnt < 0 || cnt > cap)
    return eo_op_error(c, EO_ERR_SHAPE, "input %d '%s' has %lld values, at most %d expected", i, what,
                       (long long)cnt, cap);
  for (int64_t k = 0; k < cnt; k++) vals[k] = eo_tview_get_i64(t, k);
  *n = (int)cnt;
  return EO_OK;
}

/* Data-movement ops do no arithmetic. */
static inline double eo_move_flops_zero(const eo_op_ctx *c) {
  (void)c;
  return 0;
}

#endif
