/* Element types for the elementwise templates (unary, binary, variadic, clip, cast, where).
 *
 * One X-macro list per class of dtype, so a kernel is written once per class and instantiated for
 * every dtype of that class (ARCHITECTURE rule 11):
 *
 *   X(dtype, sfx, T, C, U, CLS, LD, ST, LO, HI)
 *     dtype  eo_dtype value                 sfx  name suffix (f32, s8, ...)
 *     T      storage type                   C    compute type (float for float16/bfloat16)
 *     U      unsigned type for wrapping integer arithmetic (signed overflow is UB in C; integer
 *            ops wrap like numpy/ONNX Runtime). uint32_t for 8/16-bit types: uint16*uint16 would
 *            promote to int and overflow.
 *     CLS    F (float), S (signed int), U (unsigned int), B (bool, stored as uint8 0/1)
 *     LD/ST  storage <-> compute conversion     LO/HI  range of the compute type (Clip defaults)
 *
 *   #define GEN(dt, sfx, T, C, U, CLS, LD, ST, LO, HI) static void neg_##sfx(...) {...}
 *   EO_ELT_FLOAT_DTYPES(GEN) EO_ELT_SINT_DTYPES(GEN)
 */
#ifndef EO_KERNELS_REF_ELTWISE_H
#define EO_KERNELS_REF_ELTWISE_H

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>

#include "core/core.h"

#define EO_ELT_LD_ID(x) (x)
#define EO_ELT_ST_ID(x) (x)

#define EO_ELT_FLOAT_DTYPES(X)                                                                   \
  X(EO_FLOAT, f32, float, float, float, F, EO_ELT_LD_ID, EO_ELT_ST_ID, -INFINITY, INFINITY)      \
  X(EO_DOUBLE, f64, double, double, double, F, EO_ELT_LD_ID, EO_ELT_ST_ID, -INFINITY, INFINITY)  \
  X(EO_FLOAT16, f16, uint16_t, float, float, F, eo_f16_to_f32, eo_f32_to_f16, -INFINITY, INFINITY) \
  X(EO_BFLOAT16, bf16, uint16_t, float, float, F, eo_bf16_to_f32, eo_f32_to_bf16, -INFINITY, INFINITY)

#define EO_ELT_SINT_DTYPES(X)                                                                    \
  X(EO_INT8, s8, int8_t, int8_t, uint32_t, S, EO_ELT_LD_ID, EO_ELT_ST_ID, INT8_MIN, INT8_MAX)    \
  X(EO_INT16, s16, int16_t, int16_t, uint32_t, S, EO_ELT_LD_ID, EO_ELT_ST_ID, INT16_MIN, INT16_MAX) \
  X(EO_INT32, s32, int32_t, int32_t, uint32_t, S, EO_ELT_LD_ID, EO_ELT_ST_ID, INT32_MIN, INT32_MAX) \
  X(EO_INT64, s64, int64_t, int64_t, uint64_t, S, EO_ELT_LD_ID, EO_ELT_ST_ID, INT64_MIN, INT64_MAX)

#define EO_ELT_UINT_DTYPES(X)                                                                    \
  X(EO_UINT8, u8, uint8_t, uint8_t, uint32_t, U, EO_ELT_LD_ID, EO_ELT_ST_ID, 0, UINT8_MAX)       \
  X(EO_UINT16, u16, uint16_t, uint16_t, uint32_t, U, EO_ELT_LD_ID, EO_ELT_ST_ID, 0, UINT16_MAX)  \
  X(EO_UINT32, u32, uint32_t, uint32_t, uint32_t, U, EO_ELT_LD_ID, EO_ELT_ST_ID, 0, UINT32_MAX)  \
  X(EO_UINT64, u64, uint64_t, uint64_t, uint64_t, U, EO_ELT_LD_ID, EO_ELT_ST_ID, 0, UINT64_MAX)

#define EO_ELT_BOOL_DTYPES(X) \
  X(EO_BOOL, b8, uint8_t, uint8_t, uint32_t, B, EO_ELT_LD_ID, EO_ELT_ST_ID, 0, 1)

#define EO_ELT_INT_DTYPES(X) EO_ELT_SINT_DTYPES(X) EO_ELT_UINT_DTYPES(X)
#define EO_ELT_NUMERIC_DTYPES(X) EO_ELT_FLOAT_DTYPES(X) EO_ELT_INT_DTYPES(X)
#define EO_ELT_ALL_DTYPES(X) EO_ELT_NUMERIC_DTYPES(X) EO_ELT_BOOL_DTYPES(X)

/* "float32, float64, ..." of the dtypes for which ok(op, dtype) holds, into buf (for messages). */
static inline const char *eo_elt_dtype_list(bool (*ok)(int op, int dtype), int op, char *buf, size_t cap) {
  size_t k = 0;
  buf[0] = 0;
#define EO_ELT_LIST_(dt, ...)                                                                  \
  if (ok(op, dt) && k < cap) k += (size_t)snprintf(buf + k, cap - k, "%s%s", k ? ", " : "", \
                                                   eo_dtype_name(dt));
  EO_ELT_ALL_DTYPES(EO_ELT_LIST_)
#undef EO_ELT_LIST_
  return buf;
}

/* Float -> integer without UB: NaN -> 0, out of range saturates, otherwise truncates toward 0
 * (C semantics in range). Used by Cast, and by Pow with an integer base. */
#define EO_ELT_SAT_INT(C, LO, HI, v)                                                  \
  ((v) != (v) ? (C)0 : (double)(v) <= (double)(LO) ? (C)(LO)                          \
                     : (double)(v) >= (double)(HI) ? (C)(HI) : (C)(v))

#endif
