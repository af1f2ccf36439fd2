/* ConvTranspose (opsets 1-22): float32, 1-D/2-D/3-D, groups, strides, dilations, pads,
 * output_padding, output_shape, auto_pad (NOTSET, VALID, SAME_UPPER, SAME_LOWER), optional bias,
 * and a fused activation epilogue. Kernel: eo_f32_convt__ref (GEMM + col2im). */
#include <stdlib.h>

#include "runtime/kernels/ref/ref_kernels.h"
#include "runtime/op.h"
#include "runtime/ops/conv_attrs.h"

/* Python's t // 2 (the spec's formulas are written for it; total padding can be negative). */
static int64_t floor_half(int64_t t) { return t >= 0 ? t / 2 : -((-t + 1) / 2); }

static eo_status convt_geometry(const eo_op_ctx *c, eo_conv_params *p, int64_t *out_dims) {
  const eo_tview *x = c->in[0], *w = c->n_in > 1 ? c->in[1] : NULL, *b = c->n_in > 2 ? c->in[2] : NULL;
  char s1[160], s2[160];
  eo_status st;
  int nsp;
  int64_t group;
  if ((st = eo_conv_check_inputs(c, &nsp, &group))) return st;
  int64_t cin = x->dims[1], m = w->dims[1] * group;
  if (w->dims[0] != cin || cin % group != 0)
    return eo_op_error(c, EO_ERR_SHAPE, "W %s expects [C=%lld, M/group, k...] with C divisible by group %lld (X is %s)",
                       eo_shape_str(w->rank, w->dims, s1, sizeof s1), (long long)cin, (long long)group,
                       eo_shape_str(x->rank, x->dims, s2, sizeof s2));
  if (b && (b->rank != 1 || b->dims[0] != m))
    return eo_op_error(c, EO_ERR_SHAPE, "B has shape %s, expected [%lld]", eo_shape_str(b->rank, b->dims, s1, sizeof s1),
                       (long long)m);

  int64_t strides[EO_CONV_MAX_SPATIAL], dil[EO_CONV_MAX_SPATIAL], opad[EO_CONV_MAX_SPATIAL];
  int64_t pads[2 * EO_CONV_MAX_SPATIAL];
  if ((st = eo_conv_read_attrs(c, nsp, strides, dil, pads, opad))) return st;
  /* output_shape lists the spatial dims; some exporters write the full [N, C, ...] shape. */
  const int64_t *os = NULL;
  int n_os = eo_attr_ints(c->node, "output_shape", &os);
  if (n_os == nsp + 2) {
    os += 2;
  } else if (n_os >= 0 && n_os != nsp) {
    return eo_op_error(c, EO_ERR_INVALID, "attribute output_shape has %d values, expected %d", n_os, nsp);
  }
  if (n_os < 0) os = NULL;
  eo_auto_pad ap;
  if ((st = eo_read_auto_pad(c, &ap))) return st;
  bool upper = ap == EO_AUTO_PAD_SAME_UPPER, lower = ap == EO_AUTO_PAD_SAME_LOWER;

  int64_t out_sp[EO_CONV_MAX_SPATIAL], pad_begin[EO_CONV_MAX_SPATIAL];
  out_dims[0] = x->dims[0];
  out_dims[1] = m;
  for (int d = 0; d < nsp; d++) {
    int64_t in = x->dims[2 + d], k = w->dims[2 + d], s = strides[d];
    int64_t natural = s * (in - 1) + opad[d] + (k - 1) * dil[d] + 1;
    int64_t pb = pads[d], pe = pads[nsp + d], out;
    if (os || upper || lower) {
      /* Pads derived from the requested size: the odd one at the end for SAME_UPPER, else at the
       * beginning. Negative totals (output larger than natural) extend the end with bias only. */
      out = os ? os[d] : in * s;
      int64_t total = natural - out;
      pb = upper ? floor_half(total) : total - floor_half(total);
    } else {
      if (ap == EO_AUTO_PAD_VALID) pb = pe = 0;
      out = natural - pb - pe;
    }
    if (out < 1)
      return eo_op_error(c, EO_ERR_SHAPE, "spatial dim %d: output size %lld, expected >= 1 (input %lld, pads %lld+%lld)", d,
                         (long long)out, (long long)in, (long long)pb, (long long)pe);
    out_dims[2 + d] = out;
    out_sp[d] = out;
    pad_begin[d] = pb;
  }
  return eo_conv_params_fill(c, nsp, m, group, strides, dil, out_sp, pad_begin, p);
}

static eo_status convt_infer(eo_op_ctx *c) {
  eo_conv_params p;
  int64_t dims[EO_MAX_RANK];
  eo_status st = convt_geometry(c, &p, dims);
  if (st) return st;
  eo_tview_set_shape(c->out[0], EO_FLOAT, c->in[0]->rank, dims);
  return EO_OK;
}

static eo_status convt_prepare(eo_op_ctx *c) {
  eo_conv_params *p = malloc(sizeof *p);
  int64_t dims[EO_MAX_RANK];
  if (!p) return eo_op_error(c, EO_ERR_NOMEM, "out of memory");
  eo_status st = convt_geometry(c, p, dims);
  if (st) {
    free(p);
    return st;
  }
  c->state = p;
  c->scratch_bytes = eo_f32_convt_scratch__ref(p);
  return EO_OK;
}

static void convt_forward(eo_op_ctx *c) {
  const eo_tview *b = c->n_in > 2 ? c->in[2] : NULL;
  eo_f32_convt__ref(c->state, c->in[0]->data, c->in[1]->data, b ? b->data : NULL, c->out[0]->data, c->scratch);
}

static void convt_release(void *state) { free(state); }

/* 2 * MACs: every input element meets (M / group) * kvol weights. */
static double convt_flops(const eo_op_ctx *c) {
  const eo_tview *w = c->in[1];
  return 2.0 * (double)eo_tview_numel(c->in[0]) * (double)eo_numel(w->rank - 1, w->dims + 1);
}

EO_DEFINE_OP(conv_transpose, .name = "ConvTranspose", .infer = convt_infer, .prepare = convt_prepare,
             .forward = convt_forward, .release = convt_release, .flops = convt_flops);
