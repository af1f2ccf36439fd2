/* Internal helpers shared by every stage: error reporting, checked allocation, dtype and shape math. */
#ifndef EO_CORE_H
#define EO_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "edgeopt/edgeopt.h"

#if defined(__GNUC__)
#define EO_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define EO_PRINTF(a, b)
#endif

/* Sets this thread's error message and returns `code`, so failures read `return eo_error(...)`. */
eo_status eo_error(eo_status code, const char *fmt, ...) EO_PRINTF(2, 3);
/* Prepends "prefix: " to the current message (adds context while unwinding: file name, node). */
eo_status eo_error_wrap(eo_status code, const char *fmt, ...) EO_PRINTF(2, 3);

/* Invariant checks (never for untrusted input). */
#define EO_ASSERT(x)                                                                       \
  do {                                                                                     \
    if (!(x)) {                                                                            \
      fprintf(stderr, "edgeopt: internal invariant failed: %s (%s:%d)\n", #x, __FILE__,   \
              __LINE__);                                                                   \
      abort();                                                                             \
    }                                                                                      \
  } while (0)

void *eo_malloc(size_t n);             /* NULL on failure or n == 0 -> returns a unique 1-byte block */
void *eo_calloc(size_t n, size_t size); /* NULL on failure or overflow */
void *eo_realloc(void *p, size_t n);
char *eo_strdup(const char *s);         /* NULL-safe */
char *eo_strndup(const char *s, size_t n);
/* Grows *arr (element size `elem`) so that it holds at least `need` elements; status on failure. */
eo_status eo_grow(void **arr, int *cap, int need, size_t elem);

/* Overflow-checked size arithmetic: return false on overflow. */
bool eo_mul_size(size_t a, size_t b, size_t *out);
bool eo_mul_i64(int64_t a, int64_t b, int64_t *out);

/* Elements of a shape (1 for rank 0); -1 if a dim is negative or the product overflows. */
int64_t eo_numel(int rank, const int64_t *dims);
/* Bytes for `numel` elements of dtype (handles packed int4); 0 and false on overflow. */
bool eo_dtype_bytes(int dtype, int64_t numel, size_t *out);
bool eo_dtype_is_float(int dtype);  /* float, double, float16, bfloat16 */
bool eo_dtype_is_int(int dtype);    /* signed or unsigned integer (not bool) */
/* Formats "[1,3,224,224]" into buf; returns buf. */
const char *eo_shape_str(int rank, const int64_t *dims, char *buf, size_t cap);

/* float16 / bfloat16 conversion (round to nearest even; float16 NaNs as F16C converts them: the
 * scalar specification of the F16C kernels in runtime/kernels/ref/f16-cvt.h). */
float eo_f16_to_f32(uint16_t h);
uint16_t eo_f32_to_f16(float f);
float eo_bf16_to_f32(uint16_t h);
uint16_t eo_f32_to_bf16(float f);

/* Reads a whole file; *out is malloc'd. */
eo_status eo_read_file(const char *path, void **out, size_t *size);
/* Writes n bytes to path through a temporary file in the same folder, flushed and renamed over path, so
 * readers never see a partial file and a failure leaves path as it was. */
eo_status eo_write_file_atomic(const char *path, const void *data, size_t n);

/* String -> int map (open addressing). Keys are borrowed: they must outlive the map. */
typedef struct eo_strmap {
  const char **keys;
  int *vals;
  size_t cap, count;
} eo_strmap;
eo_status eo_strmap_put(eo_strmap *m, const char *key, int val);
int eo_strmap_get(const eo_strmap *m, const char *key); /* -1 if absent */
void eo_strmap_free(eo_strmap *m);

/* Environment flag: 1 if the variable is set to a non-empty value other than "0". */
bool eo_env_flag(const char *name);

#endif
