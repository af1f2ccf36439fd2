/* Candidate-vs-reference agreement without labels: error statistics pooled per output over every
 * sample, top-1 agreement for class-score outputs, and detector mAP against the reference's
 * detections as pseudo-labels (through eo_det_metrics). Sums are kept in double. */
#include <math.h>
#include <string.h>

#include "eval/eval_internal.h"

typedef struct out_acc {
  int64_t count, nonfinite;
  double sum_abs, sum_ref_abs, max_abs;
  double sum_rr, sum_cc, sum_rc, sum_dd;
  double min_cos;
  int samples;
  int classes;  /* > 0: rows of this many class scores */
  int64_t rows, agree;
} out_acc;

struct eo_agree_metrics {
  eo_agree_options o;
  out_acc *outs;
  eo_det_metrics *det;
  eo_gt_box *pseudo;
  int pseudo_cap;
  int det_images;
};

static double cosine_of(double rc, double rr, double cc) {
  if (rr == 0 && cc == 0) return 1.0;
  if (rr == 0 || cc == 0) return 0.0;
  return rc / sqrt(rr * cc);
}

eo_status eo_agree_metrics_create(const eo_agree_options *opts, eo_agree_metrics **out) {
  *out = NULL;
  if (!opts || opts->num_outputs < 0 || opts->num_outputs > 4096 || opts->num_classes < 0)
    return eo_error(EO_ERR_INVALID, "agreement: %d outputs, %d classes", opts ? opts->num_outputs : -1,
                    opts ? opts->num_classes : -1);
  eo_agree_metrics *a = eo_calloc(1, sizeof *a);
  if (!a) return eo_error(EO_ERR_NOMEM, "out of memory");
  a->o = *opts;
  a->outs = eo_calloc((size_t)opts->num_outputs + 1, sizeof *a->outs);
  if (!a->outs) {
    eo_agree_metrics_free(a);
    return eo_error(EO_ERR_NOMEM, "out of memory");
  }
  for (int i = 0; i < opts->num_outputs; i++) a->outs[i].min_cos = 1.0;
  if (opts->num_classes > 0) {
    eo_status st = eo_det_metrics_create(opts->num_classes, opts->operating_conf, &a->det);
    if (st) {
      eo_agree_metrics_free(a);
      return st;
    }
  }
  *out = a;
  return EO_OK;
}

void eo_agree_metrics_free(eo_agree_metrics *a) {
  if (!a) return;
  free(a->outs);
  free(a->pseudo);
  eo_det_metrics_free(a->det);
  free(a);
}

eo_status eo_agree_metrics_set_classes(eo_agree_metrics *a, int output, int num_classes) {
  if (output < 0 || output >= a->o.num_outputs || num_classes < 1)
    return eo_error(EO_ERR_INVALID, "agreement: output %d (of %d) with %d classes", output, a->o.num_outputs,
                    num_classes);
  a->outs[output].classes = num_classes;
  return EO_OK;
}

eo_status eo_agree_metrics_add(eo_agree_metrics *a, int output, const float *ref, const float *cand,
                               size_t n) {
  if (output < 0 || output >= a->o.num_outputs)
    return eo_error(EO_ERR_INVALID, "agreement: output %d out of range (%d outputs)", output, a->o.num_outputs);
  if (n && (!ref || !cand)) return eo_error(EO_ERR_INVALID, "agreement: NULL data for output %d", output);
  out_acc *o = &a->outs[output];
  if (o->classes > 0 && n % (size_t)o->classes)
    return eo_error(EO_ERR_SHAPE, "agreement: output %d has %zu values, not rows of %d class scores", output, n,
                    o->classes);
  double rr = 0, cc = 0, rc = 0, dd = 0, sa = 0, sr = 0, mx = o->max_abs;
  int64_t bad = 0;
  for (size_t i = 0; i < n; i++) {
    double r = ref[i], c = cand[i];
    if (!isfinite(r) || !isfinite(c)) {
      bad++;
      continue;
    }
    double d = r - c, ad = fabs(d);
    sa += ad;
    sr += fabs(r);
    if (ad > mx) mx = ad;
    rr += r * r, cc += c * c, rc += r * c, dd += d * d;
  }
  o->count += (int64_t)n - bad;
  o->nonfinite += bad;
  o->sum_abs += sa, o->sum_ref_abs += sr, o->max_abs = mx;
  o->sum_rr += rr, o->sum_cc += cc, o->sum_rc += rc, o->sum_dd += dd;
  double cs = cosine_of(rc, rr, cc);
  if (cs < o->min_cos) o->min_cos = cs;
  o->samples++;
  if (o->classes > 0) {
    for (size_t r = 0; r < n / (size_t)o->classes; r++) {
      const float *pr = ref + r * (size_t)o->classes, *pc = cand + r * (size_t)o->classes;
      o->rows++;
      o->agree += eo_argmax(pr, o->classes) == eo_argmax(pc, o->classes);
    }
  }
  return EO_OK;
}

eo_status eo_agree_metrics_add_detections(eo_agree_metrics *a, const eo_detection *ref, int nref,
                                          const eo_detection *cand, int ncand) {
  if (!a->det)
    return eo_error(EO_ERR_STATE, "agreement: detections added but the options gave no num_classes");
  if (nref < 0 || (nref && !ref)) return eo_error(EO_ERR_INVALID, "agreement: %d reference detections", nref);
  eo_status st = eo_grow((void **)&a->pseudo, &a->pseudo_cap, nref, sizeof *a->pseudo);
  if (st) return st;
  int k = 0;
  for (int i = 0; i < nref; i++)
    if (ref[i].score >= a->o.pseudo_label_conf)
      a->pseudo[k++] = (eo_gt_box){ref[i].x1, ref[i].y1, ref[i].x2, ref[i].y2, ref[i].class_id};
  st = eo_det_metrics_add(a->det, cand, ncand, a->pseudo, k);
  if (st) return eo_error_wrap(st, "agreement (pseudo-labels from the reference)");
  a->det_images++;
  return EO_OK;
}

eo_status eo_agree_metrics_report(const eo_agree_metrics *a, eo_agree_report **out) {
  *out = NULL;
  eo_agree_report *r = eo_calloc(1, sizeof *r);
  if (r) r->outputs = eo_calloc((size_t)a->o.num_outputs + 1, sizeof *r->outputs);
  if (!r || !r->outputs) {
    eo_agree_report_free(r);
    return eo_error(EO_ERR_NOMEM, "out of memory");
  }
  r->num_outputs = a->o.num_outputs;
  for (int i = 0; i < a->o.num_outputs; i++) {
    const out_acc *o = &a->outs[i];
    eo_output_agreement *g = &r->outputs[i];
    g->count = o->count;
    g->nonfinite = o->nonfinite;
    g->mean_abs_diff = o->count ? o->sum_abs / (double)o->count : 0.0;
    g->mean_rel_diff = o->sum_ref_abs > 0 ? o->sum_abs / o->sum_ref_abs : (o->sum_abs > 0 ? INFINITY : 0.0);
    g->max_abs_diff = o->max_abs;
    g->cosine = cosine_of(o->sum_rc, o->sum_rr, o->sum_cc);
    g->min_cosine = o->samples ? o->min_cos : g->cosine;
    if (o->sum_dd == 0)
      g->sqnr_db = INFINITY;
    else if (o->sum_rr == 0)
      g->sqnr_db = -INFINITY;
    else
      g->sqnr_db = 10.0 * log10(o->sum_rr / o->sum_dd);
    g->top1_rows = o->rows;
    g->top1_agree = o->agree;
    g->top1_agreement = o->classes > 0 ? (o->rows ? (double)o->agree / (double)o->rows : 0.0) : -1.0;
  }
  if (a->det && a->det_images > 0) {
    eo_status st = eo_det_metrics_report(a->det, &r->detection);
    if (st) {
      eo_agree_report_free(r);
      return st;
    }
  }
  *out = r;
  return EO_OK;
}

void eo_agree_report_free(eo_agree_report *r) {
  if (!r) return;
  free(r->outputs);
  eo_det_report_free(r->detection);
  free(r);
}
