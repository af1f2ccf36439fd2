/* NumPy .npy files: the tensor exchange format between edgeopt, its tests and the peer runtimes.
 *
 * Reads format versions 1.0, 2.0 and 3.0; writes 1.0 (the header of a rank <= EO_MAX_RANK array
 * always fits). Only little-endian, C-ordered arrays of these dtypes are accepted:
 *   '<f4' float32  '<f8' float64  '<f2' float16  '|b1' bool
 *   '|i1' '<i2' '<i4' '<i8' int8..int64      '|u1' '<u2' '<u4' '<u8' uint8..uint64
 * fortran_order=True, big-endian ('>f4'), structured/object dtypes and rank > EO_MAX_RANK are
 * refused with a status and a message naming the file. A malformed, truncated or oversized file
 * gives a status, never a crash; the declared shape is checked against the file size before any
 * data is allocated.
 *
 *     int dt, rank; int64_t dims[EO_MAX_RANK]; void *data; size_t nbytes;
 *     if (eo_npy_read("x.npy", &dt, &rank, dims, &data, &nbytes) != EO_OK)
 *       fprintf(stderr, "%s\n", eo_last_error());
 *     ... free(data);
 *     eo_npy_write("y.npy", EO_FLOAT, 2, (int64_t[]){2, 3}, values);
 */
#ifndef EO_NPY_H
#define EO_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "edgeopt/edgeopt.h"

/* Reads `path`. On success *dtype is an eo_dtype, dims[0..*rank) the shape, *data a malloc'd
 * buffer of *nbytes bytes in C order that the caller frees (a valid pointer even when empty).
 * On failure *data = NULL, *nbytes = 0, *rank = 0 and eo_last_error() says why. */
eo_status eo_npy_read(const char *path, int *dtype, int *rank, int64_t dims[EO_MAX_RANK], void **data,
                      size_t *nbytes);

/* Same as eo_npy_read for a file already in memory (`buf`, `size` borrowed); `name` is used in
 * messages only. *data is a fresh malloc'd copy. */
eo_status eo_npy_parse(const void *buf, size_t size, const char *name, int *dtype, int *rank,
                       int64_t dims[EO_MAX_RANK], void **data, size_t *nbytes);

/* Writes `data` (C order, numel(dims) elements of `dtype`, borrowed) to `path` as a version 1.0
 * file. dtype must be one of those listed above; 0 <= rank <= EO_MAX_RANK, dims >= 0. */
eo_status eo_npy_write(const char *path, int dtype, int rank, const int64_t *dims, const void *data);

/* The .npy descr for an eo_dtype ("<f4"), or NULL if the dtype has no .npy form here. */
const char *eo_npy_descr(int dtype);

#endif
