/* NonMaxSuppression (opset 10+): boxes [B, N, 4] float, scores [B, C, N] float, optional
 * max_output_boxes_per_class (int64, default 0: nothing selected), iou_threshold (default 0),
 * score_threshold (default: none); center_point_box 0 ([y1, x1, y2, x2]) or 1 ([xc, yc, w, h]).
 * Output selected_indices [num_selected, 3] int64 rows (batch, class, box).
 *
 * num_selected depends on the data. When every input is constant (the executor then folds the
 * node at prepare) infer runs the selection and sets the exact count. Otherwise infer sets the
 * upper bound B * C * min(max_output_boxes_per_class, N) rows (N when that input is not
 * constant) and forward sets out[0]->dims[0] to the number selected (data_dependent_rows). */
#include <stdlib.h>

#include "runtime/kernels/ref/resize_kernels.h"
#include "runtime/op.h"

static const eo_tview *opt_in(const eo_op_ctx *c, int i) { return c->n_in > i ? c->in[i] : NULL; }

/* Reads the optional scalar inputs into p; *known is false when one is present but not constant. */
static eo_status nms_params(const eo_op_ctx *c, eo_nms_params *p, bool *known) {
  const eo_tview *bx = opt_in(c, 0), *sc = opt_in(c, 1);
  if (!bx || !sc) return eo_op_error(c, EO_ERR_INVALID, "inputs 'boxes' and 'scores' are required");
  if (bx->dtype != EO_FLOAT || sc->dtype != EO_FLOAT)
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "boxes and scores must be float32 (found %s, %s)",
                       eo_dtype_name(bx->dtype), eo_dtype_name(sc->dtype));
  if (bx->rank != 3 || bx->dims[2] != 4 || sc->rank != 3 || sc->dims[0] != bx->dims[0] || sc->dims[2] != bx->dims[1]) {
    char a[96], b[96];
    return eo_op_error(c, EO_ERR_SHAPE, "expected boxes [B,N,4] and scores [B,C,N]; found %s and %s",
                       eo_shape_str(bx->rank, bx->dims, a, sizeof a), eo_shape_str(sc->rank, sc->dims, b, sizeof b));
  }
  const int64_t cpb = eo_attr_i(c->node, "center_point_box", 0);
  if (cpb != 0 && cpb != 1)
    return eo_op_error(c, EO_ERR_INVALID, "center_point_box must be 0 or 1 (found %lld)", (long long)cpb);
  p->batches = bx->dims[0];
  p->boxes = bx->dims[1];
  p->classes = sc->dims[1];
  p->center_point_box = cpb;
  p->max_per_class = 0;
  p->iou_threshold = 0;
  p->score_threshold = 0;
  p->has_score_threshold = false;
  *known = true;
  const char *names[3] = {"max_output_boxes_per_class", "iou_threshold", "score_threshold"};
  for (int i = 2; i < 5; i++) {
    const eo_tview *t = opt_in(c, i);
    if (!t) continue;
    if (eo_tview_numel(t) != 1 || t->rank > 1)
      return eo_op_error(c, EO_ERR_SHAPE, "input '%s' must hold one value (found %lld)", names[i - 2],
                         (long long)eo_tview_numel(t));
    if (i == 2 ? t->dtype != EO_INT64 : t->dtype != EO_FLOAT)
      return eo_op_error(c, EO_ERR_SHAPE, "input '%s' must be %s (found %s)", names[i - 2],
                         i == 2 ? "int64" : "float32", eo_dtype_name(t->dtype));
    if (!t->data) {
      *known = false;
      continue;
    }
    if (i == 2) p->max_per_class = eo_tview_get_i64(t, 0);
    if (i == 3) p->iou_threshold = (float)eo_tview_get_f64(t, 0);
    if (i == 4) {
      p->score_threshold = (float)eo_tview_get_f64(t, 0);
      p->has_score_threshold = true;
    }
  }
  if (*known && !(p->iou_threshold >= 0 && p->iou_threshold <= 1))
    return eo_op_error(c, EO_ERR_INVALID, "iou_threshold must be in [0, 1] (found %g)", (double)p->iou_threshold);
  return EO_OK;
}

static eo_status nms_infer(eo_op_ctx *c) {
  eo_nms_params p;
  bool known;
  eo_status st = nms_params(c, &p, &known);
  if (st) return st;
  if (!c->out[0]) return eo_op_error(c, EO_ERR_INVALID, "output 'selected_indices' is required");
  int64_t rows;
  if (known && c->in[0]->data && c->in[1]->data) {
    void *scratch = malloc(eo_nms_scratch_bytes(p.boxes));
    if (!scratch) return eo_error(EO_ERR_NOMEM, "out of memory for NonMaxSuppression scratch");
    rows = eo_f32_nms__ref(&p, c->in[0]->data, c->in[1]->data, NULL, 0, scratch);
    free(scratch);
  } else {
    const eo_tview *m = opt_in(c, 2);
    int64_t per_class = p.boxes;
    if (m && m->data) per_class = p.max_per_class < 0 ? 0 : p.max_per_class < p.boxes ? p.max_per_class : p.boxes;
    else if (!m) per_class = 0;
    rows = p.batches * p.classes * per_class;
  }
  eo_tview_set_shape(c->out[0], EO_INT64, 2, (int64_t[]){rows, 3});
  return EO_OK;
}

static eo_status nms_prepare(eo_op_ctx *c) {
  int64_t *cap = malloc(sizeof *cap);  // the row bound: forward shrinks out[0]->dims[0] every run
  if (!cap) return eo_op_error(c, EO_ERR_NOMEM, "out of memory");
  *cap = c->out[0]->dims[0];
  c->state = cap;
  c->scratch_bytes = eo_nms_scratch_bytes(c->in[0]->dims[1]);
  return EO_OK;
}

static void nms_forward(eo_op_ctx *c) {
  eo_nms_params p;
  bool known;
  int64_t cap = *(const int64_t *)c->state, *sel = c->out[0]->data, n = 0;
  /* A threshold that was not constant at infer may turn out invalid: then nothing is selected. */
  if (!nms_params(c, &p, &known)) n = eo_f32_nms__ref(&p, c->in[0]->data, c->in[1]->data, sel, cap, c->scratch);
  c->out[0]->dims[0] = n < cap ? n : cap;
}

static double nms_flops(const eo_op_ctx *c) {
  return (double)eo_tview_numel(c->in[1]) * (double)(c->in[0]->dims[1] > 0 ? c->in[0]->dims[1] : 1);
}

EO_DEFINE_OP(non_max_suppression, .name = "NonMaxSuppression", .infer = nms_infer, .prepare = nms_prepare,
             .forward = nms_forward, .release = free, .flops = nms_flops, .data_dependent_rows = true);
