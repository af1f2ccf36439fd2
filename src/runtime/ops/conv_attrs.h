/* Attribute and geometry parsing shared by the windowed ops: Conv, ConvTranspose (eo_conv_*) and
 * the pools (eo_pool_geometry in ops/max_pool.c uses eo_read_ints_attr and the auto_pad rules).
 * One copy, so the ops cannot drift apart in what they accept or how they word their errors. */
#ifndef EO_RUNTIME_OPS_CONV_ATTRS_H
#define EO_RUNTIME_OPS_CONV_ATTRS_H

#include "runtime/kernels/ref/ref_kernels.h"
#include "runtime/op.h"

typedef enum eo_auto_pad { EO_AUTO_PAD_NOTSET, EO_AUTO_PAD_VALID, EO_AUTO_PAD_SAME_UPPER, EO_AUTO_PAD_SAME_LOWER } eo_auto_pad;

/* Reads an optional INTS attribute of exactly `n` values, each in [min_v, max_v]; absent -> def.
 * max_v == INT64_MAX means no upper bound (and the error says "expected >= min_v"). */
eo_status eo_read_ints_attr(const eo_op_ctx *c, const char *name, int n, int64_t min_v, int64_t max_v, int64_t def,
                            int64_t *out);

/* Parses auto_pad (absent or empty = NOTSET). */
eo_status eo_read_auto_pad(const eo_op_ctx *c, eo_auto_pad *out);

/* SAME_UPPER/SAME_LOWER: the output covers ceil(in / stride) windows of effective (dilated) size
 * ek; the padding needed is split, the odd one at the end (upper) or the beginning (lower).
 * Returns the output size, sets *pad_begin and *pad_total. */
int64_t eo_same_pad(int64_t in, int64_t stride, int64_t ek, bool upper, int64_t *pad_begin, int64_t *pad_total);

/* Output size of spatial dim d of a convolution (Conv, ConvInteger, QLinearConv): input `in`,
 * dilated kernel `ek`, stride, pads pb/pe as given, auto_pad applied; *pad_begin gets the begin
 * padding actually used. An output smaller than 1 is an error naming the dim. */
eo_status eo_conv_out_dim(const eo_op_ctx *c, int d, int64_t in, int64_t ek, int64_t stride, int64_t pb, int64_t pe,
                          eo_auto_pad ap, int64_t *out, int64_t *pad_begin);

/* Conv and ConvTranspose's common input checks: X and W present (and output Y), float32 X/W/B,
 * same rank with 1..EO_CONV_MAX_SPATIAL spatial dims, known non-empty dims, group >= 1.
 * Sets *nsp (spatial dims) and *group. */
eo_status eo_conv_check_inputs(const eo_op_ctx *c, int *nsp, int64_t *group);

/* Conv and ConvTranspose's INTS attributes: kernel_shape (must match W's spatial dims when given),
 * strides, dilations, pads (begin..., end...) and, when opad is not NULL, output_padding. */
eo_status eo_conv_read_attrs(const eo_op_ctx *c, int nsp, int64_t *strides, int64_t *dil, int64_t *pads,
                             int64_t *opad);

/* Fills p from the resolved geometry: spatial dims right-aligned into EO_CONV_MAX_SPATIAL (leading
 * extents of 1), out_sp/pad_begin per spatial dim, the fused activation (checked fusable). */
eo_status eo_conv_params_fill(const eo_op_ctx *c, int nsp, int64_t c_out, int64_t group, const int64_t *strides,
                              const int64_t *dil, const int64_t *out_sp, const int64_t *pad_begin, eo_conv_params *p);

/* Conv and QLinearConv (X at input 0, W at input 1 of c, both checked): the attributes and auto_pad,
 * out_dims = [N, c_out, output spatial dims], and p filled as eo_conv_params_fill does. */
eo_status eo_conv_forward_geometry(const eo_op_ctx *c, int nsp, int64_t c_out, int64_t group, int64_t *out_dims,
                                   eo_conv_params *p);

#endif
